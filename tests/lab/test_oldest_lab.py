"""The panel on the oldest JupyterLab it declares (labextension/package.json: ^4.0.0), in a
real browser: a separate venv with jupyterlab==OLDEST_LAB, jupyter_server==OLDEST_SERVER and
the project's wheel (built with the panel by `pip wheel`), a JupyterLab started from it, runs
logged by that venv's SDK, the ML Platform sidebar listing them in Debian's chromium and a run
opening in the main area, with no errors in the console.

Cached in .venv-oldest-lab/ (git-ignored): the venv is rebuilt when OLDEST_REQUIREMENTS or the
Python version change; the wheel is rebuilt and reinstalled when the sources it is built from
change (a hash of them), reusing the panel's production build unless labextension/ changed.
The first run takes about five minutes (PyPI, the panel's build), a change to Python code
about a minute, nothing changed about half a minute. The wheel is built in a copy of the
sources (.venv-oldest-lab/build/), so the checkout's own panel build is left alone."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import lab_browser
import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CACHE = ROOT / ".venv-oldest-lab"
VENV = CACHE / "venv"
PANEL_TAB = '.lm-TabBar-tab[data-id="jp-mlp-sidebar"]'
ROWS = "#jp-mlp-sidebar .jp-mlp-Run"

# The oldest JupyterLab 4 release, which the panel's ^4.0.0 promises, on the oldest Jupyter
# server the [server] extra allows (jupyter_server>=2.4). The rest is what pip resolves for
# them and the wheel's [server] extra.
OLDEST_LAB = "4.0.0"
OLDEST_SERVER = "2.4.0"
OLDEST_REQUIREMENTS = [f"jupyterlab=={OLDEST_LAB}", f"jupyter_server=={OLDEST_SERVER}"]

# What the wheel is built from: a change here rebuilds and reinstalls it.
WHEEL_SOURCES = ["pyproject.toml", "kernel_ext", "server", "jupyter-config", "labextension"]
NOT_SOURCES = {"node_modules", "lib", ".yarn", "__pycache__", "test", "tsconfig.tsbuildinfo",
               ".ipynb_checkpoints"}
BUILD_OUTPUT = ROOT / "server" / "mlp_server" / "labextension"  # the panel's build output

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]  # the first run builds the venv
chromium = lab_browser.chromium  # the shared fixture


def _source_files() -> list[Path]:
    files = []
    for name in WHEEL_SOURCES:
        top = ROOT / name
        if top.is_file():
            files.append(top)
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            here = Path(dirpath)
            dirnames[:] = sorted(d for d in dirnames
                                 if d not in NOT_SOURCES and here / d != BUILD_OUTPUT)
            files += [here / f for f in sorted(filenames)
                      if f not in NOT_SOURCES and not f.endswith((".pyc", ".log"))]
    return files


def _hash(parts: list[str | bytes]) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()


def _run(cmd: list[str], what: str, **kw) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n"
                           f"{proc.stderr[-4000:]}")


def _files_key(files: list[Path], *extra: str) -> str:
    return _hash([*extra, *(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes()
                            for f in files)])


def _build_wheel(files: list[Path]) -> Path:
    """`pip wheel .` in a copy of the sources. The panel's production build (jlpm, webpack: a
    minute or more) is kept in .venv-oldest-lab/panel/ and reused while labextension/, the
    build settings and the building JupyterLab are the same: a change to Python code only
    repackages it."""
    from importlib.metadata import version

    build, panel = CACHE / "build", CACHE / "panel"
    shutil.rmtree(build, ignore_errors=True)
    src = build / "src"
    for f in [*files, ROOT / "README.md"]:  # the readme is metadata: copied, not hashed
        dest = src / f.relative_to(ROOT)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f, dest)
    panel_key = _files_key([f for f in files if f.is_relative_to(ROOT / "labextension")
                            or f.name == "pyproject.toml"], version("jupyterlab"))
    # The build hook runs jlpm and `jupyter labextension build` from the main environment.
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    built_panel = src / BUILD_OUTPUT.relative_to(ROOT)
    reuse = (panel / "stamp").exists() and (panel / "stamp").read_text() == panel_key
    if reuse:
        shutil.copytree(panel / "labextension", built_panel)
        env["HATCH_JUPYTER_BUILDER_SKIP_NPM"] = "1"
    else:
        for name in ("node_modules", ".yarn"):  # jlpm install offline, as in the checkout
            if (ROOT / "labextension" / name).is_dir():
                shutil.copytree(ROOT / "labextension" / name, src / "labextension" / name,
                                symlinks=True)
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "--disable-pip-version-check", "-w", str(build / "dist"), str(src)],
         "pip wheel" + ("" if reuse else " (with the panel's production build)"),
         env=env, timeout=900)
    if not reuse:
        shutil.rmtree(panel, ignore_errors=True)
        shutil.copytree(built_panel, panel / "labextension")
        (panel / "stamp").write_text(panel_key)
    (wheel,) = (build / "dist").glob("jupyter_mlp-*.whl")
    print(f"[oldest lab] wheel built, {'reusing the built panel' if reuse else 'panel built'}",
          flush=True)
    return wheel


@pytest.fixture(scope="module")
def oldest_python() -> Path:
    """The cached venv's interpreter, with jupyterlab==OLDEST_LAB and this checkout's wheel."""
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / "lock", "w") as lock:  # two test runs at once build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        py = VENV / "bin" / "python"
        deps_key = _hash([*OLDEST_REQUIREMENTS, sys.version])
        files = _source_files()
        wheel_key = _files_key(files)
        deps_stamp, wheel_stamp = CACHE / "deps.stamp", CACHE / "wheel.stamp"
        fresh_deps = (py.exists() and deps_stamp.exists()
                      and deps_stamp.read_text() == deps_key)
        fresh_wheel = fresh_deps and wheel_stamp.exists() and wheel_stamp.read_text() == wheel_key
        print(f"\n[oldest lab] venv {'cached' if fresh_deps else 'to build'}, wheel "
              f"{'cached' if fresh_wheel else 'to build (its sources changed)'}", flush=True)
        if not fresh_wheel:
            wheel = _build_wheel(files)
            pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
            if not fresh_deps:
                shutil.rmtree(VENV, ignore_errors=True)
                deps_stamp.unlink(missing_ok=True)
                _run([sys.executable, "-m", "venv", str(VENV)], "python -m venv")
                _run([*pip, *OLDEST_REQUIREMENTS, f"{wheel}[server]"],
                     f"pip install {' '.join(OLDEST_REQUIREMENTS)} and the wheel", timeout=1200)
                deps_stamp.write_text(deps_key)
            else:  # the same dependencies: only the package changed
                _run([*pip, "--no-deps", "--force-reinstall", str(wheel)],
                     "pip install the wheel", timeout=600)
            wheel_stamp.write_text(wheel_key)
            shutil.rmtree(CACHE / "build", ignore_errors=True)
    return py


def _versions(py: Path) -> dict:
    out = subprocess.run([str(py), "-c", textwrap.dedent("""
        import json
        from importlib.metadata import version
        print(json.dumps({p: version(p) for p in ("jupyterlab", "jupyter_server",
                          "jupyterlab_server", "jupyter-mlp")}))
    """)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


class OldestLab:
    def __init__(self, py: Path, root: Path) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.py, self.root = py, root
        self.url, self.token = f"http://127.0.0.1:{port}", uuid.uuid4().hex
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MLP_")}
        self.env.update({"MLP_HOME": str(root / "home"), "MLP_DB_URL": f"sqlite:///{root}/mlp.db",
                         "MLP_AUTO_MIGRATE": "1", "MLP_ARTIFACT_ROOT": str(root / "artifacts")})
        settings = root / "settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
        self.log = root / "server.log"
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                [str(py), "-m", "jupyterlab", "--ServerApp.ip=127.0.0.1",
                 f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                 f"--IdentityProvider.token={self.token}", "--ServerApp.open_browser=False",
                 f"--ServerApp.root_dir={root}", "--allow-root", "--LabApp.news_url=None",
                 "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                 f"--LabApp.user_settings_dir={root / 'settings'}",
                 f"--LabApp.workspaces_dir={root / 'workspaces'}"],
                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline and self.proc.poll() is None:
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/mlp/api/v1/info", timeout=2,
                                headers={"Authorization": f"token {self.token}"}).ok:
                    return
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab {OLDEST_LAB} did not start:\n"
                           + self.log.read_text()[-4000:])

    def log_runs(self, runs: list[tuple[str, float, float]]) -> None:
        """Runs logged by the old venv's SDK over HTTP, as a user's script there would."""
        code = textwrap.dedent(f"""
            import mlp
            for name, acc, lr in {runs!r}:
                with mlp.start_run(experiment="oldest-lab", name=name, capture=False):
                    mlp.log_params({{"lr": lr}})
                    for step in range(50):
                        mlp.log_metric("acc", acc * (step + 1) / 50, step=step)
            assert mlp.status()["transport"] == "http", mlp.status()
        """)
        env = {**self.env, "MLP_SERVER_URL": self.url, "MLP_TOKEN": self.token,
               "MLP_SYSTEM_METRICS_INTERVAL": "0"}
        _run([str(self.py), "-c", code], "logging runs with the SDK", env=env, timeout=120)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def opened(chromium, oldest_python, tmp_path_factory):
    """The oldest JupyterLab with three runs, its page with the ML Platform sidebar open, and
    what the browser console said meanwhile. (The browser first: without one, outside CI, the
    tests skip before building the venv.)"""
    lab = OldestLab(oldest_python, tmp_path_factory.mktemp("oldest-lab"))
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    messages: list[tuple[str, str]] = []
    page.on("console", lambda m: messages.append((m.type, m.text)))
    page.on("pageerror", lambda e: messages.append(("pageerror", str(e))))
    try:
        lab.log_runs([("lr-0.1", 0.81, 0.1), ("lr-0.03", 0.88, 0.03), ("lr-0.01", 0.93, 0.01)])
        page.goto(f"{lab.url}/lab?token={lab.token}")
        page.locator(PANEL_TAB).click()
        page.locator(f"{ROWS} .jp-mlp-col-name", has_text="lr-0.1").wait_for()
        time.sleep(1)  # anything the console says right after the first render
        page.screenshot(path=str(ARTIFACTS / "oldest-lab.png"))
        yield lab, page, messages
    finally:
        (ARTIFACTS / "oldest-lab-console.log").write_text(
            "\n".join(f"{t}: {m}" for t, m in messages))
        context.close()
        lab.stop()


def test_the_panel_lists_the_runs_on_the_oldest_jupyterlab(opened, oldest_python):
    lab, page, messages = opened
    versions = _versions(oldest_python)
    print(f"\n[oldest lab] {versions}")
    assert versions["jupyterlab"] == OLDEST_LAB
    assert versions["jupyter_server"] == OLDEST_SERVER
    config = json.loads(page.locator("#jupyter-config-data").text_content())
    assert config["appVersion"] == OLDEST_LAB  # the page is that JupyterLab's
    listed = subprocess.run([str(oldest_python), "-m", "jupyter", "labextension", "list"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=lab.env).stdout  # it writes the list to stderr
    assert any("jupyter-mlp-labextension" in ln and "enabled" in ln and "OK" in ln
               for ln in listed.splitlines()), listed

    panel = page.locator("#jp-mlp-sidebar")
    names = page.locator(f"{ROWS} .jp-mlp-col-name").all_inner_texts()
    assert names == ["lr-0.01", "lr-0.03", "lr-0.1"]  # newest first
    assert panel.locator(".jp-mlp-StatusBadge").first.inner_text() == "finished"
    headers = {h.strip() for h in panel.locator("th").all_inner_texts()}
    assert {"Status", "Name", "Start", "Duration", "acc", "lr"} <= headers
    assert "oldest-lab" in panel.locator(".jp-mlp-Experiments").inner_text()
    assert panel.locator(".jp-mlp-Health.jp-mlp-mod-ok").count() == 1

    errors = [f"{t}: {m}" for t, m in messages if t in ("error", "pageerror")]
    assert not errors, "the browser console reported errors:\n" + "\n".join(errors)


def test_a_run_opens_in_the_main_area_on_the_oldest_jupyterlab(opened):
    _, page, messages = opened
    page.locator(ROWS, has_text="lr-0.01").dblclick()
    view = page.locator(".jp-mlp-RunWidget:not(.lm-mod-hidden) .jp-mlp-RunView")
    header = view.locator(".jp-mlp-RunHeader")
    header.wait_for()
    assert header.locator(".jp-mlp-RunHeader-name").inner_text() == "lr-0.01"
    assert header.locator(".jp-mlp-StatusBadge").inner_text() == "finished"
    params = {r.get_attribute("data-param"): r.locator("td").inner_text()
              for r in view.locator(".jp-mlp-Params tr").all()}
    assert params == {"lr": "0.01"}
    line = view.locator(".jp-mlp-Chart[data-mlp-metric='acc'] path.jp-mlp-Chart-line")
    page.wait_for_function("el => (el.getAttribute('d') || '').length > 100", arg=line.element_handle())
    page.screenshot(path=str(ARTIFACTS / "oldest-lab-run-view.png"))
    errors = [f"{t}: {m}" for t, m in messages if t in ("error", "pageerror")]
    assert not errors, "the browser console reported errors:\n" + "\n".join(errors)


def test_the_panel_asks_no_newer_jupyterlab_packages_than_it_declares(opened):
    """`jupyter labextension build` writes its own JupyterLab's package versions (^4.6.4) into
    the panel's shared-package requirements unless labextension/package.json's
    `jupyterlab.sharedPackages` gives them: an older lab would warn once per package."""
    _, _, messages = opened
    unsatisfied = [m for t, m in messages if "Unsatisfied version" in m]
    assert not unsatisfied, "\n".join(unsatisfied)
