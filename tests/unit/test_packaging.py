"""The wheel a user installs: both packages, the migrations, the built JupyterLab panel, a
light kernel-only core."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    # The build hook runs jlpm and `jupyter labextension build` from this environment.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(out), str(ROOT)], check=True, timeout=600, env=env)
    (whl,) = out.glob("jupyter_mlp-*.whl")
    return zipfile.ZipFile(whl)


def test_wheel_ships_the_sdk_the_server_and_its_migrations(wheel):
    names = set(wheel.namelist())
    for required in ("mlp/__init__.py", "mlp/transport/local.py", "mlp_server/cli.py",
                     "mlp_server/store/migrations/env.py",
                     "mlp_server/store/migrations/versions/0001_initial.py",
                     "mlp/widgets/chart.py", "mlp/widgets/static/chart.js",
                     "mlp/widgets/static/chart.css", "mlp/widgets/static/table.js",
                     "mlp/widgets/static/table.css"):
        assert required in names
    assert not any(n.startswith(("tests/", "bench/", "kernel_ext/", "server/")) for n in names)


def test_wheel_ships_the_built_labextension_as_shared_data(wheel):
    names = set(wheel.namelist())
    data = next(n.split("/")[0] for n in names if n.split("/")[0].endswith(".data"))
    ext = f"{data}/data/share/jupyter/labextensions/jupyter-mlp-labextension"
    meta = json.loads(wheel.read(f"{ext}/package.json"))
    assert meta["name"] == "jupyter-mlp-labextension"
    assert meta["jupyterlab"]["_build"]["load"].startswith("static/remoteEntry.")
    for required in (f"{ext}/{meta['jupyterlab']['_build']['load']}", f"{ext}/static/style.js",
                     f"{ext}/install.json",
                     f"{ext}/schemas/jupyter-mlp-labextension/plugin.json"):
        assert required in names
    assert json.loads(wheel.read(f"{ext}/install.json"))["packageName"] == "jupyter-mlp"
    # sources and build tooling stay out of the wheel
    assert not any("node_modules/" in n or n.endswith((".ts", ".tsx")) for n in names)


def test_kernel_only_install_needs_none_of_the_server_packages(wheel):
    meta = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    requires = Parser().parsestr(wheel.read(meta).decode()).get_all("Requires-Dist")
    base = [r for r in requires if "extra ==" not in r]
    assert base and not any(r.lower().startswith(("sqlalchemy", "alembic", "jupyter", "psycopg"))
                            for r in base)
    server = [r for r in requires if "extra == 'server'" in r or 'extra == "server"' in r]
    assert any(r.lower().startswith("sqlalchemy") for r in server)


def test_jupyter_mlp_command_is_installed(wheel):
    ep = next(n for n in wheel.namelist() if n.endswith("entry_points.txt"))
    assert "jupyter-mlp = mlp_server.cli:main" in wheel.read(ep).decode()
