"""Real processes logging to one store: exits, crashes, concurrency, import weight."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from mlp_server.config import MLP
from mlp_server.tracking import open_service


def run_script(code: str, home, *, env: dict | None = None, check: bool = True,
               **kw) -> subprocess.CompletedProcess:
    e = {**os.environ, "MLP_HOME": str(home), "MLP_SYSTEM_METRICS_INTERVAL": "0", **(env or {})}
    p = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=e, capture_output=True,
                       text=True, timeout=120, **kw)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def service(home):
    return open_service(MLP(home=str(home)))


def test_a_script_that_exits_without_end_run_loses_nothing(tmp_path):
    run_script("""
        import mlp
        run = mlp.start_run(experiment="exit", name="no-end")
        mlp.log_params({"lr": 0.1})
        for i in range(50_000):
            mlp.log_metric("loss", 1 / (i + 1), step=i)
        print(run.id)
    """, tmp_path)
    svc = service(tmp_path)
    run = svc.get_run("exit/no-end")
    assert run["status"] == "finished" and run["params"] == {"lr": "0.1"}
    assert run["metrics"]["loss"]["count"] == 50_000
    assert len(svc.metric_history(run["id"], "loss")["step"]) == 50_000


def test_an_uncaught_exception_ends_the_run_failed_with_its_points(tmp_path):
    p = run_script("""
        import mlp
        mlp.start_run(experiment="exit", name="boom")
        for i in range(1000):
            mlp.log_metric("loss", i, step=i)
        raise RuntimeError("diverged")
    """, tmp_path, check=False)
    assert p.returncode == 1 and "diverged" in p.stderr
    run = service(tmp_path).get_run("exit/boom")
    assert run["status"] == "failed" and run["metrics"]["loss"]["count"] == 1000


def test_the_script_is_captured_with_secrets_redacted(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent("""
        import mlp
        api_key = "sk-live-1234567890abcdefghijklmnop"
        with mlp.start_run(experiment="cap", name="script"):
            mlp.log_metric("x", 1.0)
    """))
    e = {**os.environ, "MLP_HOME": str(tmp_path / "home"), "MLP_SYSTEM_METRICS_INTERVAL": "0",
         "DATABASE_PASSWORD": "hunter2hunter2"}
    subprocess.run([sys.executable, str(script)], env=e, check=True, timeout=120)
    svc = service(tmp_path / "home")
    run = svc.get_run("cap/script")
    code = svc.get_capture(run["id"], "code")
    assert code["type"] == "script" and code["path"] == str(script)
    assert "mlp.log_metric" in code["source"] and "sk-live-1234567890" not in code["source"]
    assert run["source_name"] == str(script) and run["source_type"] == "script"
    deadline = time.time() + 10
    while (env := svc.get_capture(run["id"], "environment")) is None and time.time() < deadline:
        time.sleep(0.1)
    assert env is not None, "the environment was not captured"
    assert env["env"]["DATABASE_PASSWORD"] == "<redacted>"
    assert "hunter2hunter2" not in str(env)


def test_eight_processes_logging_at_once_lose_nothing(tmp_path):
    code = """
        import sys, mlp
        k = int(sys.argv[1])
        with mlp.start_run(experiment="many", name=f"w{k}") as run:
            mlp.log_params({"worker": k})
            for i in range(20_000):
                mlp.log_metric("loss", i, step=i)
                if i % 2000 == 0:
                    mlp.set_tag("progress", i)
                    mlp.flush()
    """
    e = {**os.environ, "MLP_HOME": str(tmp_path), "MLP_SYSTEM_METRICS_INTERVAL": "0",
         "MLP_FLUSH_INTERVAL": "0.02"}
    # Create the store first so every worker races on writes, not on the first migration too.
    service(tmp_path).store.dispose()
    procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), str(k)], env=e,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(8)]
    outs = [p.communicate(timeout=300) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
        assert "locked" not in err
    svc = service(tmp_path)
    rows = svc.search_runs("many", limit=None)["runs"]
    assert len(rows) == 8 and {r["status"] for r in rows} == {"finished"}
    for r in rows:
        h = svc.metric_history(r["id"], "loss")
        assert len(h["step"]) == 20_000 and (h["value"] == h["step"]).all()


def test_a_fresh_store_opened_by_eight_processes_at_once_migrates_once(tmp_path):
    code = "import mlp\nwith mlp.start_run(experiment='race'): pass"
    e = {**os.environ, "MLP_HOME": str(tmp_path), "MLP_SYSTEM_METRICS_INTERVAL": "0"}
    procs = [subprocess.Popen([sys.executable, "-c", code], env=e, stderr=subprocess.PIPE,
                              text=True) for _ in range(8)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert len(service(tmp_path).search_runs("race", limit=None)["runs"]) == 8


def test_a_sigkilled_writer_loses_at_most_one_flush_interval_and_ends_crashed(tmp_path):
    interval = 0.5
    e = {**os.environ, "MLP_HOME": str(tmp_path), "MLP_SYSTEM_METRICS_INTERVAL": "0",
         "MLP_FLUSH_INTERVAL": str(interval)}
    code = """
        import time, mlp
        run = mlp.start_run(experiment="kill", name="victim")
        print("run", run.id, flush=True)
        i = 0
        while True:
            mlp.log_metric("x", i, step=i)
            if i % 50 == 0:
                print(i, time.time(), flush=True)
            i += 1
            time.sleep(0.001)
    """
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], env=e,
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    run_id = p.stdout.readline().split()[1]
    logged: list[tuple[int, float]] = []
    start = time.time()
    while time.time() - start < 3.0:
        step, t = p.stdout.readline().split()
        logged.append((int(step), float(t)))
    p.send_signal(signal.SIGKILL)
    killed_at = time.time()
    p.wait(timeout=10)
    svc = service(tmp_path)
    run = svc.get_run(run_id)
    assert run["status"] == "crashed"
    assert "ended without ending the run" in run["status_reason"]
    stored = svc.metric_history(run_id, "x")["step"]
    # Everything logged more than one flush interval (plus a flush's own time) before the
    # kill was stored, in order, without gaps.
    must_have = max(s for s, t in logged if t <= killed_at - interval - 0.3)
    assert len(stored) > must_have and (stored == range(len(stored))).all()


def test_import_mlp_loads_no_heavy_package():
    p = subprocess.run([sys.executable, "-c", (
        "import sys, mlp; heavy = ['pandas', 'numpy', 'sqlalchemy', 'duckdb', 'ray', "
        "'jupyter_server', 'IPython', 'traitlets', 'psutil', 'alembic', 'fsspec', 'anywidget', "
        "'ipywidgets']; "
        "print(','.join(m for m in heavy if m in sys.modules))")],
        capture_output=True, text=True, timeout=60, check=True)
    assert p.stdout.strip() == ""


def test_without_the_server_packages_the_sdk_says_what_to_install(tmp_path):
    p = run_script("""
        import sys
        sys.modules["sqlalchemy"] = None  # as in a kernel-only install
        import mlp
        from mlp.errors import ServerDependencyMissing
        try:
            mlp.start_run()
        except ServerDependencyMissing as e:
            print(e)
    """, tmp_path)
    assert "sqlalchemy is missing): pip install 'jupyter-mlp[server]'" in p.stdout


@pytest.mark.parametrize("value", ["abc", "-1"])
def test_a_bad_flush_interval_is_named(tmp_path, value):
    p = run_script("""
        import mlp
        try:
            mlp.start_run()
        except mlp.errors.InvalidInput as e:
            print(e)
    """, tmp_path, env={"MLP_FLUSH_INTERVAL": value}, check=False)
    assert "MLP_FLUSH_INTERVAL" in p.stdout


def test_exit_ends_every_open_run_even_when_one_cannot_end(tmp_path):
    run_script("""
        import mlp
        parent = mlp.start_run(experiment="exit", name="parent")
        child = mlp.start_run(name="child", nested=True)
        for i in range(500):
            parent.log_metric("loss", i, step=i)
            child.log_metric("loss", i, step=i)
        mlp.delete_run(child.id)
    """, tmp_path)
    svc = service(tmp_path)
    parent = svc.get_run("exit/parent")
    assert parent["status"] == "finished" and parent["metrics"]["loss"]["count"] == 500
    child = svc.search_runs("exit", deleted_only=True)["runs"][0]
    assert child["status"] == "finished"


def test_a_plain_forked_child_does_not_end_its_parents_run(tmp_path):
    run_script("""
        import os, mlp
        run = mlp.start_run(experiment="fork", name="parent")
        pid = os.fork()
        if pid == 0:
            mlp.log_metric("child", 1.0)
            raise SystemExit(0)  # a normal exit: atexit runs in the child
        os.waitpid(pid, 0)
        assert mlp.get_run(run.id).status == "running"
        mlp.log_metric("parent", 2.0)
        mlp.end_run()
    """, tmp_path)
    run = service(tmp_path).get_run("fork/parent")
    assert run["status"] == "finished" and set(run["metrics"]) == {"child", "parent"}
