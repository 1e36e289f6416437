"""Models as run artifacts, in MLflow's MLmodel format.

    with mlp.start_run(experiment="churn"):
        mlp.log_model(model, "model", example=X.head())
    model = mlp.load_model("runs:/3f2a.../model")

A model folder holds ``MLmodel`` (flavors, signature, input example info), the pickled model,
``requirements.txt``/``python_env.yaml``/``conda.yaml`` pinned to the packages installed
when it was logged, and the input example. MLflow's tools load what is written here
(``mlflow.pyfunc.load_model``), and ``mlp.load_model`` loads what MLflow wrote.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import Conflict, EnvironmentMismatch, InvalidInput, NotFound
from . import _env, _flavors, _signature
from .pyfunc import MODEL_FILE, FunctionModel

if TYPE_CHECKING:
    from .._run import Run

__all__ = ["FunctionModel", "load_model", "log_model"]

MLMODEL = "MLmodel"


def log_model(run: Run, model: Any, artifact_path: str = "model", *, example: Any = None,
              requirements: Sequence[str] | None = None, signature: Any = None) -> dict:
    """Write ``model`` as an MLflow model under ``artifact_path`` of ``run`` (see
    ``mlp.log_model``). Everything is written to a temporary folder and stored in one step,
    so a refused model leaves the run as it was."""
    if not isinstance(artifact_path, str) or not artifact_path.strip("/ "):
        raise InvalidInput(f"artifact_path must be a folder name like 'model', got "
                           f"{artifact_path!r}", field="artifact_path")
    artifact_path = artifact_path.strip("/")
    kind = _flavors.kind_of(model)
    _env.yaml_module()
    if isinstance(requirements, str):
        raise InvalidInput("requirements must be a list of pip requirements, e.g. "
                           "['xgboost==2.0.3']", field="requirements")
    transport = run._client.transport
    if transport.list_artifacts(run.id, f"{artifact_path}/{MLMODEL}"):
        raise Conflict(f"run {run.ref} already has a model at {artifact_path!r}: log this one "
                       "under another artifact_path", field="artifact_path")
    example_info: dict | None = None
    example_files: dict[str, str] = {}
    sig: dict | None = None
    if example is not None:
        example_info, example_files = _signature.example_files(example)
        sig = _signature.infer(example, _predict(model, kind, example))
    if signature is not None:
        sig = _signature.normalize(signature)
    pickled = _flavors.dumps(model)
    needed = _flavors.packages(kind) | _env.referenced_distributions(pickled)
    if example_info is not None:  # predict is called with the example's kind of data
        needed.add("pandas" if example_info["type"] == "dataframe" else "numpy")
    reqs = _env.requirements(needed, requirements)
    mlmodel: dict[str, Any] = {
        "artifact_path": artifact_path, "flavors": _flavors.flavors(kind),
        "model_uuid": uuid.uuid4().hex, "run_id": run.id,
        # MLflow writes a naive UTC time, printed by str()
        "utc_time_created": str(datetime.now(timezone.utc).replace(tzinfo=None)),
    }
    mlflow_version = _env.installed_version("mlflow") or _env.installed_version("mlflow-skinny")
    if mlflow_version:
        mlmodel["mlflow_version"] = mlflow_version
    if sig is not None:
        mlmodel.update(signature=sig, is_signature_from_type_hint=False,
                       type_hint_from_example=False)
    if example_info is not None:
        mlmodel["saved_input_example_info"] = example_info
    with tempfile.TemporaryDirectory(prefix="mlp-model-") as tmp:
        folder = Path(tmp) / "model"
        folder.mkdir()
        (folder / MODEL_FILE).write_bytes(pickled)
        for name, text in example_files.items():
            (folder / name).write_text(text)
        _env.write_env_files(folder, reqs)
        mlmodel["model_size_bytes"] = sum(f.stat().st_size for f in folder.iterdir())
        with open(folder / MLMODEL, "w") as f:
            _env.yaml_module().safe_dump(mlmodel, f, default_flow_style=False)
        run.log_artifact(folder, artifact_path)
    return {"run_id": run.id, "artifact_path": artifact_path,
            "flavor": _flavors.SKLEARN if kind == _flavors.SKLEARN else _flavors.PYFUNC,
            "uri": f"runs:/{run.id}/{artifact_path}", "signature": sig,
            "requirements": reqs}


def _predict(model: Any, kind: str, example: Any) -> Any:
    """The model's output on the example, which the signature describes."""
    import copy

    try:
        data = copy.deepcopy(example)  # predict must not change the example that is saved
        return model(data) if kind == "function" else model.predict(data)
    except Exception as e:
        raise InvalidInput(f"the model failed on the example ({type(e).__name__}: {e}): pass "
                           "an example it can predict on, e.g. example=X_train.head()",
                           field="example") from None


def _read_mlmodel(folder: Path, label: str) -> dict:
    yaml = _env.yaml_module()
    path = folder / MLMODEL
    if not path.is_file():
        raise InvalidInput(f"{label} is not a model folder (it has no MLmodel file): give the "
                           "folder mlp.log_model or MLflow wrote", field="ref")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise InvalidInput(f"the MLmodel file of {label} is not a YAML mapping", field="ref")
    return data


def load_model(ref: str | os.PathLike) -> Any:
    """Load a model by reference (see ``mlp.load_model``)."""
    if isinstance(ref, os.PathLike) or (isinstance(ref, str) and ":/" not in ref
                                         and Path(ref).is_dir()):
        folder, label = Path(ref), str(ref)
    elif isinstance(ref, str) and ref.startswith("runs:/"):
        run_ref, _, path = ref[len("runs:/"):].partition("/")
        if not run_ref or not path.strip("/"):
            raise InvalidInput(f"{ref!r} names no model: use runs:/<run id>/<artifact path>, "
                               "e.g. runs:/3f2a9c/model", field="ref")
        folder, label = _fetch(run_ref, path.strip("/")), ref
    elif isinstance(ref, str) and ref.startswith("models:/"):
        from .._registry import resolve_model_uri

        run_id, path = resolve_model_uri(ref)
        folder, label = _fetch(run_id, path), ref
    else:
        raise InvalidInput(f"cannot load a model from {ref!r}: use runs:/<run id>/<path>, "
                           "models:/<name>/<version>, models:/<name>@<alias>, or a local "
                           "model folder", field="ref")
    mlmodel = _read_mlmodel(folder, label)
    model_python = (mlmodel.get("flavors") or {}).get(_flavors.PYFUNC, {}).get("python_version")
    diffs = _env.differences(folder, model_python)
    if diffs:
        warnings.warn(EnvironmentMismatch(label, diffs), stacklevel=3)
    return _flavors.load(folder, mlmodel, label)


def _cache_root() -> Path:
    home = os.environ.get("MLP_HOME", "").strip()
    return (Path(home).expanduser() if home else Path.home() / ".mlp") / "cache" / "models"


def _fetch(run_ref: str, path: str) -> Path:
    """The model folder of a run, downloaded once: the cache is keyed by run, path and the
    digest of the files, so a changed artifact is fetched again."""
    from .._client import get_client

    if any(part in ("", ".", "..") for part in path.split("/")):
        raise InvalidInput(f"{path!r} is not an artifact path: use one like 'model'",
                           field="ref")
    transport = get_client().transport
    run_id = transport.resolve_run(run_ref)
    items = transport.list_artifacts(run_id, path)
    if not any(a["path"] == f"{path}/{MLMODEL}" for a in items):
        found = sorted({a["path"].rsplit("/", 1)[0] for a in transport.list_artifacts(run_id)
                        if a["path"].endswith(f"/{MLMODEL}") or a["path"] == MLMODEL})
        raise InvalidInput(f"run {run_id[:8]} has no model at {path!r}"
                           + (f" (its models: {', '.join(found)})" if found else
                              " (it has no model: log one with mlp.log_model(model, 'model'))"),
                           field="ref")
    digest = hashlib.sha256("\n".join(f"{a['path']} {a['digest']}" for a in items)
                            .encode()).hexdigest()[:16]
    target = _cache_root() / run_id / path / digest
    if (target / MLMODEL).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    try:
        try:
            local = transport.download_artifacts(run_id, path, tmp)
        except NotFound as e:
            raise InvalidInput(f"{e.message}: check the run and path", field="ref") from None
        try:
            os.replace(local, target)
        except OSError:  # another process cached it first
            if not (target / MLMODEL).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target
