"""The environment a model needs: pinned requirements, ``python_env.yaml`` and ``conda.yaml``
as MLflow writes them, and what differs from them where the model is loaded."""

from __future__ import annotations

import importlib.metadata as md
import pickletools
import platform
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..errors import InvalidInput

REQUIREMENTS_FILE = "requirements.txt"
PYTHON_ENV_FILE = "python_env.yaml"
CONDA_FILE = "conda.yaml"

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
#: Needed by MLflow's tools only: their absence where our loader runs is no difference.
_TOOLING = {"mlflow", "mlflow-skinny"}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_version(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def pin(dist: str) -> str | None:
    """``name==version`` of an installed distribution (its local label dropped, as pip
    cannot install it from an index), or None when it is not installed."""
    version = installed_version(dist)
    if version is None:
        return None
    name = md.distribution(dist).metadata["Name"] or dist
    return f"{name}=={version.split('+', 1)[0]}"


def referenced_distributions(pickled: bytes) -> set[str]:
    """Distributions whose modules a pickle names: its globals, and the modules cloudpickle
    re-imports for functions defined in a notebook (``np`` in a function's globals)."""
    owners = md.packages_distributions()
    found = set()
    for op, arg, _ in pickletools.genops(pickled):
        if op.name == "GLOBAL" or "UNICODE" in op.name:
            name = str(arg).split(" ", 1)[0] if op.name == "GLOBAL" else str(arg)
            parts = name.split(".")
            top = parts[0]
            if all(p.isidentifier() for p in parts) and top in sys.modules and top in owners:
                found.update(owners[top])
    return found


def requirements(packages: Iterable[str], extra: Sequence[str] | None = None) -> list[str]:
    """Pinned requirements for ``packages`` (distribution names; those not installed are
    left out), then each of ``extra``, which replaces a pin of the same package."""
    pins: dict[str, str] = {}
    # MLflow's model servers need MLflow in the model's environment; it pins itself first.
    mlflow = installed_version("mlflow") or installed_version("mlflow-skinny")
    if mlflow:
        pins["mlflow"] = f"mlflow=={mlflow}"
    for dist in sorted(set(packages), key=canonical):
        p = pin(dist)
        if p is not None:
            pins.setdefault(canonical(dist), p)
    for req in extra or ():
        m = _NAME.match(req) if isinstance(req, str) else None
        if m is None:
            raise InvalidInput(f"requirement {req!r} is not a pip requirement: use strings like "
                               "'xgboost==2.0.3' or 'pandas>=2'", field="requirements")
        pins.pop(canonical(m.group(1)), None)
        pins[canonical(m.group(1))] = req.strip()
    return list(pins.values())


def python_version() -> str:
    return platform.python_version()


def yaml_module():
    """PyYAML, which reads and writes MLmodel files (in jupyter-mlp[models])."""
    try:
        import yaml
    except ImportError:
        raise InvalidInput("MLmodel files are YAML: pip install 'jupyter-mlp[models]' (or "
                           "pyyaml)", field="model") from None
    return yaml


def write_env_files(folder: Path, reqs: list[str]) -> None:
    """``requirements.txt``, ``python_env.yaml`` and ``conda.yaml``, as MLflow lays them out."""
    yaml = yaml_module()
    (folder / REQUIREMENTS_FILE).write_text("\n".join(reqs))
    build = [f"{p}=={v}" if (v := installed_version(p)) else p
             for p in ("pip", "setuptools", "wheel")]
    with open(folder / PYTHON_ENV_FILE, "w") as f:
        yaml.safe_dump({"python": python_version(), "build_dependencies": build,
                        "dependencies": [f"-r {REQUIREMENTS_FILE}"]},
                       f, sort_keys=False, default_flow_style=False)
    pip_version = installed_version("pip")
    conda = {"name": "mlflow-env", "channels": ["conda-forge"],
             "dependencies": [f"python={python_version()}",
                              f"pip<={pip_version}" if pip_version else "pip", {"pip": reqs}]}
    with open(folder / CONDA_FILE, "w") as f:
        yaml.safe_dump(conda, f, default_flow_style=False)


def differences(folder: Path, model_python: str | None) -> list[str]:
    """How this environment differs from the one a model pinned: ``scikit-learn 1.5.0 here,
    model pinned 1.4.2``, a package missing, another Python (major.minor)."""
    out = []
    if model_python:
        here = python_version()
        if model_python.split(".")[:2] != here.split(".")[:2]:
            out.append(f"Python {here} here, model pinned {model_python}")
    path = folder / REQUIREMENTS_FILE
    lines = path.read_text().splitlines() if path.is_file() else []
    for line in lines:
        m = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*==\s*([^\s;#]+)", line)
        if m is None or canonical(m.group(1)) in _TOOLING:
            continue
        name, pinned = m.groups()
        version = installed_version(name)
        if version is None:
            out.append(f"{name} not installed here, model pinned {pinned}")
        elif version.split("+", 1)[0] != pinned.split("+", 1)[0]:
            out.append(f"{name} {version} here, model pinned {pinned}")
    return out
