"""Benchmarks through a real Jupyter server with the mlp_server extension (issue #3).

    .venv/bin/python bench/server.py                          # SQLite only
    .venv/bin/python bench/server.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/db
    .venv/bin/python bench/server.py --only ingest --quick

`make bench` runs it after bench/tracking.py (scripts/bench.sh). It shares that file's
helpers (result lines, fresh stores, the summary) and its conventions: one JSON line per
figure, with its target, to stdout and to ``bench/results/server.jsonl`` (``--out``); the
last line (``"bench": "summary"``) lists the figures that miss their target.

For each figure and backend the parent starts a fresh store (``Fresh``) and a real
``jupyter server`` on a free port with the extension on it, then runs the measurement
``--reps`` times, each in a fresh interpreter (a child process of this script) talking to
that server over HTTP; a figure is the median over the repetitions. Every line carries
the machine's load (``os.getloadavg()``) at each repetition: on a shared 2-core machine
the figures are noisy. The exit code is 0 when every benchmark ran (missed targets
included), 1 when one crashed; ``--strict`` also exits 1 on a missed target.
See bench/README.md for what each figure measures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from tracking import (  # noqa: E402
    ROOT,
    Fresh,
    Runner,
    _context,
    emit,
    free_port,
    line,
    loadavg,
    log,
    pct,
)

DEFAULT_OUT = HERE / "results" / "server.jsonl"

# Full-scale sizes (the targets are stated for these); --quick divides them by 10.
POINTS = 1_000_000  # server_ingest_* and server_log_metric_caller_us
KEYS = 10           # ingest: 10 keys x 100k steps
BATCH = 10_000      # calls per timed batch of the caller-cost loop
KERNELS = 8
KERNEL_POINTS = 200_000
REPS = 3
ROUNDS = 5            # load rounds (and as many control rounds) per repetition
IDLE_S = 15.0         # /api/contents sampled this long with the kernels idle
PROBE_PAUSE_S = 0.02  # between two /api/contents requests of the probe thread
NOTEBOOKS = 12        # in the folder /api/contents lists (plus the kernels' own)
# what the probe times: JupyterLab's file browser listing (--probe-path, for diagnosis)
PROBE_PATH = os.environ.get("MLP_BENCH_PROBE_PATH", "api/contents/work?content=1")

KINDS = ("ingest", "kernels")
# names bench/tracking.py takes in --only: accepted here and ignored (scripts/bench.sh
# passes one --only to both)
TRACKING_KINDS = ("import", "sdk", "service", "search", "create")


# =====================================================================================
# the Jupyter server (parent side)
# =====================================================================================


class JupyterServer:
    """``python -m jupyter_server`` with the extension, on a fresh store (as tests/conftest.py
    starts it), with a root folder holding notebooks for /api/contents to list."""

    def __init__(self, fresh: Fresh, db_workers: int | None = None) -> None:
        self.fresh = fresh
        self.token = uuid.uuid4().hex
        self.root = Path(fresh.home) / "root"
        self.runtime = Path(fresh.home) / "runtime"
        self.log_path = Path(fresh.home) / "server.log"
        self.db_workers = db_workers
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> JupyterServer:
        import requests

        from mlp_server.store import Store

        make_notebooks(self.root / "work", NOTEBOOKS)
        self.runtime.mkdir(parents=True, exist_ok=True)
        Store(self.fresh.url, auto_migrate=True).dispose()  # migrated before it starts
        env = self.fresh.env()
        env.update({"MLP_DB_URL": self.fresh.url, "MLP_AUTO_MIGRATE": "1",
                    "MLP_ARTIFACT_ROOT": str(Path(self.fresh.home) / "artifacts"),
                    "JUPYTER_RUNTIME_DIR": str(self.runtime)})
        extra = ([f"--MLPExtension.db_workers={self.db_workers}"] if self.db_workers else [])
        for _attempt in range(3):  # a free port can be taken meanwhile: try another
            port = free_port()
            self.url = f"http://127.0.0.1:{port}"
            with open(self.log_path, "ab") as out:
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1",
                     f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
                     f"--IdentityProvider.token={self.token}", "--ServerApp.open_browser=False",
                     f"--ServerApp.root_dir={self.root}", "--ServerApp.allow_root=True",
                     "--ServerApp.jpserver_extensions={'mlp_server': True}", *extra],
                    env=env, stdout=out, stderr=subprocess.STDOUT, cwd=str(self.root))
            deadline = time.time() + 90
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    if requests.get(f"{self.url}/mlp/api/v1/info", timeout=2,
                                    headers={"Authorization": f"token {self.token}"}).ok:
                        return self
                except requests.RequestException:
                    pass
                time.sleep(0.2)
            self.stop()
        raise RuntimeError("the Jupyter server did not start:\n"
                           + self.log_path.read_text(errors="replace")[-3000:])

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def child_env(self) -> dict[str, str]:
        """What a child needs: the SDK logs over HTTP with the login token (which the server
        accepts on /mlp/api), and the bench reads back through the REST API with it."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLP_")}
        env.update({"MLP_SERVER_URL": self.url, "MLP_TOKEN": self.token,
                    "MLP_HOME": tempfile.mkdtemp(prefix="mlp-bench-client-"),
                    "JUPYTER_RUNTIME_DIR": str(self.runtime),
                    "MLP_BENCH_SERVER_PID": str(self.proc.pid if self.proc else 0),
                    "MLP_BENCH_SERVER_LOG": str(self.log_path),
                    "MLP_BENCH_ROOT": str(self.root),
                    "MLP_BENCH_PROBE_PATH": os.environ.get("MLP_BENCH_PROBE_PATH", PROBE_PATH)})
        return env


def make_notebooks(folder: Path, n: int) -> None:
    """A realistic folder for /api/contents: notebooks of a few dozen cells, data, a README."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        cells = []
        for c in range(30):
            cells.append(new_markdown_cell(f"## Step {c}\nSome explanation of step {c}."))
            cells.append(new_code_cell(
                "import numpy as np\n"
                f"x = np.linspace(0, 1, {100 + c})\n"
                f"y = np.sin(x * {c}) + 0.1 * np.random.default_rng({c}).random(len(x))\n"
                "y.mean()"))
        nbformat.write(new_notebook(cells=cells), str(folder / f"analysis-{i:02d}.ipynb"))
    for i in range(KERNELS):
        nbformat.write(new_notebook(cells=[new_code_cell("import mlp")]),
                       str(folder / f"train-{i}.ipynb"))
    (folder / "data.csv").write_text("\n".join(f"{i},{i * 0.5},{i % 7}" for i in range(5000)))
    (folder / "README.md").write_text("# work\n\nNotebooks of a project.\n")
    (folder / "src").mkdir(exist_ok=True)
    (folder / "src" / "model.py").write_text("def f(x):\n    return x\n")


# =====================================================================================
# children: each runs in its own interpreter, talking to the server over HTTP
# =====================================================================================


def _rest(method: str, path: str, **kw: Any):
    import requests

    resp = requests.request(method, f"{os.environ['MLP_SERVER_URL']}/{path}", timeout=120,
                            headers={"Authorization": f"token {os.environ['MLP_TOKEN']}"}, **kw)
    resp.raise_for_status()
    return resp


def stored_counts(run_id: str) -> dict[str, int]:
    """Points per metric key of a run, as the server's REST API reports them."""
    run = _rest("GET", f"mlp/api/v1/runs/{run_id}").json()
    return {k: int(v["count"]) for k, v in run["metrics"].items()
            if not k.startswith("system/")}


class ServerCPU:
    """CPU seconds the Jupyter server process (and its threads) used between two reads."""

    def __init__(self) -> None:
        import psutil

        pid = int(os.environ.get("MLP_BENCH_SERVER_PID") or 0)
        self.proc = psutil.Process(pid) if pid else None

    def read(self) -> float:
        if self.proc is None:
            return float("nan")
        t = self.proc.cpu_times()
        return t.user + t.system


def child_ingest(args) -> None:
    """One repetition: the caller's cost of log_metric over HTTP, durable ingest of 1M points
    from the first log to mlp.flush() returning, and the same 1M points flushed alone."""
    import mlp
    from mlp._client import get_client
    from mlp.transport import wire

    n = args.points
    steps = n // KEYS
    keys = [f"metric-{k}" for k in range(KEYS)]
    values = [1.0 / (i + 1) for i in range(n)]

    client = get_client()
    transport = client.transport  # connects: version handshake with the server
    assert transport.kind == "http", transport.kind
    server_cpu = ServerCPU()

    # Count what goes on the wire and where the flusher's time goes (client side).
    sent = {"bytes": 0, "requests": 0, "request_s": 0.0, "encode_s": 0.0}
    orig_call, orig_encode = transport._call, wire.encode

    def counting_call(method, path, **kw):
        if path != "metrics":
            return orig_call(method, path, **kw)
        t = time.perf_counter()
        try:
            return orig_call(method, path, **kw)
        finally:
            sent["request_s"] += time.perf_counter() - t
            sent["bytes"] += len(kw.get("data") or b"")
            sent["requests"] += 1

    def timed_encode(*a, **kw):
        t = time.perf_counter()
        try:
            return orig_encode(*a, **kw)
        finally:
            sent["encode_s"] += time.perf_counter() - t

    transport._call = counting_call
    wire.encode = timed_encode

    def reset_counters() -> dict:
        for k in sent:
            sent[k] = 0 if k in ("bytes", "requests") else 0.0
        return {"cpu": time.process_time(), "server_cpu": server_cpu.read()}

    def counters(start: dict) -> dict:
        return {"body_bytes": sent["bytes"], "requests": sent["requests"],
                "request_s": sent["request_s"], "encode_s": sent["encode_s"],
                "client_cpu_s": time.process_time() - start["cpu"],
                "server_cpu_s": server_cpu.read() - start["server_cpu"]}

    out: dict[str, Any] = {"kind": "ingest", "load_start": loadavg(), "points": n}

    # --- 1. caller's cost: 1M calls on one key, flusher running (as bench/tracking.py) ----
    def _noop(key, value, step=None):
        pass
    t = time.perf_counter()
    for i in range(n):
        _noop("loss", values[i], step=i)
    out["noop_call_us"] = (time.perf_counter() - t) / n * 1e6

    batch = min(BATCH, n // 10)
    run = mlp.start_run(experiment="bench", name="caller")
    c0 = reset_counters()
    per_batch: list[float] = []
    cpu0 = time.thread_time()
    t0 = prev = time.perf_counter()
    for b in range(0, n, batch):
        for i in range(b, b + batch):
            mlp.log_metric("loss", values[i], step=i)
        now = time.perf_counter()
        per_batch.append((now - prev) / batch * 1e6)
        prev = now
    loop_s = time.perf_counter() - t0
    loop_cpu_s = time.thread_time() - cpu0
    mlp.flush()
    total_s = time.perf_counter() - t0
    mlp.end_run()
    p50 = statistics.median(per_batch)
    out["caller"] = {"us_per_call": loop_s / n * 1e6, "p50_batch_us": p50,
                     "thread_cpu_us_per_call": loop_cpu_s / n * 1e6,
                     "max_batch_us": max(per_batch),
                     "batches_over_20x_p50": sum(1 for x in per_batch if x > 20 * p50),
                     "loop_s": loop_s, "total_s": total_s,
                     "stored": sum(stored_counts(run.id).values()), **counters(c0)}

    # --- 2. durable ingest, loop included: 10 keys x 100k, first log -> flush() returned --
    run = mlp.start_run(experiment="bench", name="ingest")
    c0 = reset_counters()
    cpu0 = time.thread_time()
    t0 = time.perf_counter()
    for s in range(steps):
        v = values[s]
        for k in keys:
            mlp.log_metric(k, v, step=s)
    t_loop = time.perf_counter()
    loop_cpu_s = time.thread_time() - cpu0
    mlp.flush()
    t_flushed = time.perf_counter()
    counts = stored_counts(run.id)
    mlp.end_run()
    out["ingest"] = {"points_per_s": n / (t_flushed - t0), "loop_s": t_loop - t0,
                     "loop_thread_cpu_s": loop_cpu_s,
                     "final_flush_s": t_flushed - t_loop, "total_s": t_flushed - t0,
                     "stored": sum(counts.values()), "keys": len(counts), **counters(c0)}

    # --- 3. the same 1M points already buffered, made durable by mlp.flush() alone -------
    run = mlp.start_run(experiment="bench", name="flush-only")
    client.flusher.stop()  # after start_run, which (re)starts it
    client.buffer.capacity = 4 * n
    for s in range(steps):
        v = values[s]
        for k in keys:
            mlp.log_metric(k, v, step=s)
    c0 = reset_counters()
    t = time.perf_counter()
    mlp.flush()
    flush_s = time.perf_counter() - t
    c = counters(c0)
    counts = stored_counts(run.id)
    mlp.end_run()
    out["flush_only"] = {"points_per_s": n / flush_s, "flush_s": flush_s,
                         "stored": sum(counts.values()), "keys": len(counts), **c}
    out["load_end"] = loadavg()
    emit(out)


KERNEL_CODE = """\
import json, time, mlp
from mlp._client import get_client
t0 = time.time()
with mlp.start_run(experiment={exp!r}, name={name!r}) as run:
    for s in range({n}):
        mlp.log_metric("loss", 1.0 / (s + 1), step=s)
    t_loop = time.time()
    mlp.flush()
    t_flush = time.time()
print("RESULT " + json.dumps({{"run_id": run.id, "t0": t0, "t_loop": t_loop,
      "t_flush": t_flush, "t_end": time.time(), "transport": get_client().transport.kind}}))
"""


# The control: each kernel keeps a core as busy for as long, without logging anything.
CONTROL_CODE = """\
import time
t_end = time.time() + {secs}
while time.time() < t_end:
    pass
"""


class Probe(threading.Thread):
    """GET /api/contents/work?content=1 (JupyterLab's file browser) back to back, with a
    short pause, recording each latency in ms, until stopped."""

    def __init__(self) -> None:
        super().__init__(daemon=True, name="contents-probe")
        import requests

        self.session = requests.Session()
        self.session.headers["Authorization"] = f"token {os.environ['MLP_TOKEN']}"
        self.url = f"{os.environ['MLP_SERVER_URL']}/{PROBE_PATH}"
        self.samples: list[float] = []
        self.failures: list[str] = []
        self.entries = 0
        self._stop_evt = threading.Event()

    def run(self) -> None:
        while not self._stop_evt.is_set():
            t = time.perf_counter()
            try:
                r = self.session.get(self.url, timeout=60)
                dt = (time.perf_counter() - t) * 1e3
                if r.status_code != 200:
                    self.failures.append(f"HTTP {r.status_code}")
                else:
                    body = r.json()
                    if isinstance(body, dict) and isinstance(body.get("content"), list):
                        self.entries = len(body["content"])
                    self.samples.append(dt)
            except Exception as e:
                self.failures.append(f"{type(e).__name__}: {e}")
            self._stop_evt.wait(PROBE_PAUSE_S)

    def stop(self) -> None:
        self._stop_evt.set()
        self.join(60)

    def stats(self) -> dict:
        s = self.samples
        return {"p50_ms": statistics.median(s) if s else None,
                "p99_ms": pct(s, 99) if s else None, "max_ms": max(s) if s else None,
                "samples": len(s), "failures": len(self.failures)}


def _server_log_errors(path: str, offset: int) -> tuple[int, list[str]]:
    """Error lines ("[E ..." and tracebacks) the server logged after ``offset`` bytes."""
    with open(path, "rb") as f:
        f.seek(offset)
        text = f.read().decode(errors="replace")
    bad = [ln for ln in text.splitlines()
           if ln.startswith("[E ") or ln.startswith("Traceback") or " 500 " in ln]
    return len(bad), bad[:5]


def child_kernels(args) -> None:
    """One repetition: 8 kernels started through the REST API log at once while a thread
    times /api/contents; idle latency measured first with the same kernels started."""
    from jupyter_client import BlockingKernelClient

    default_hook = sys.unraisablehook

    def quiet(u):  # jupyter_client's per-thread event loops, collected after their thread
        if not (isinstance(u.exc_value, ValueError) and "Invalid file descriptor" in
                str(u.exc_value)):
            default_hook(u)
    sys.unraisablehook = quiet

    n, k = args.kernel_points, args.kernels
    runtime = Path(os.environ["JUPYTER_RUNTIME_DIR"])
    log_path = os.environ["MLP_BENCH_SERVER_LOG"]
    exp = f"kernels-{uuid.uuid4().hex[:6]}"
    server_cpu = ServerCPU()
    out: dict[str, Any] = {"kind": "kernels", "kernels": k, "points_per_kernel": n,
                           "load_start": loadavg()}

    sessions: list[dict] = []
    try:
        t = time.perf_counter()

        def new_session(i: int) -> dict:
            return _rest("POST", "api/sessions", json={
                "path": f"work/train-{i}.ipynb", "name": f"train-{i}.ipynb", "type": "notebook",
                "kernel": {"name": "python3"}}).json()

        def connect(session: dict, timeout: float):
            conn = runtime / f"kernel-{session['kernel']['id']}.json"
            deadline = time.time() + timeout
            while not conn.exists() and time.time() < deadline:
                time.sleep(0.2)
            kc = BlockingKernelClient(connection_file=str(conn))
            kc.load_connection_file()
            # No heartbeat channel: under load a kernel still starting misses heartbeats, and
            # wait_for_ready would take it for dead ("Kernel died before replying").
            kc.start_channels(hb=False)
            try:
                kc.wait_for_ready(timeout=max(1.0, deadline - time.time()))
            except RuntimeError:
                kc.stop_channels()
                raise
            return kc

        for i in range(k):
            sessions.append(new_session(i))
        clients = []
        replaced = 0
        for i in range(k):
            # A kernel can fail to start for reasons outside the bench (another process took
            # the port it was given: "Address already in use"); start another in its place.
            for attempt in range(3):
                try:
                    clients.append(connect(sessions[i], 120))
                    break
                except RuntimeError as e:
                    if attempt == 2:
                        raise
                    log(f"kernel {i} did not start ({e}); starting another")
                    replaced += 1
                    with contextlib.suppress(Exception):  # already gone with its kernel
                        _rest("DELETE", f"api/sessions/{sessions[i]['id']}")
                    sessions[i] = new_session(i)
        out["kernels_replaced"] = replaced

        def execute(kc, code: str, timeout: float = 600) -> tuple[str, str, dict]:
            stdout: list[str] = []
            stderr: list[str] = []

            def hook(m):
                c = m["content"]
                if m["msg_type"] == "stream":
                    (stdout if c.get("name") == "stdout" else stderr).append(c.get("text", ""))
                elif m["msg_type"] == "error":
                    stderr.append(f"{c.get('ename')}: {c.get('evalue')}")
            reply = kc.execute_interactive(code, timeout=timeout, output_hook=hook)
            return "".join(stdout), "".join(stderr), reply["content"]

        # warm up: the SDK imported and connected in every kernel before anything is timed
        for kc in clients:
            _, err, rep = execute(kc, "import mlp, json, time\n"
                                      "from mlp._client import get_client\n"
                                      "print(get_client().transport.kind)")
            assert rep["status"] == "ok", err
        out["kernels_ready_s"] = time.perf_counter() - t
        time.sleep(2.0)  # let the start-up settle

        # idle: the same server with its 8 kernels started and doing nothing
        out["load_idle"] = loadavg()
        probe = Probe()
        probe.start()
        time.sleep(IDLE_S)
        probe.stop()
        out["idle"] = probe.stats()
        out["contents_entries"] = probe.entries
        probe_samples_idle = probe.samples
        if probe.failures:
            raise RuntimeError(f"/api/contents failed while idle: {probe.failures[:5]}")

        log_offset = os.path.getsize(log_path)  # errors count from here on
        # load: all kernels log at once, ``rounds`` times (new runs each time); the probe's
        # samples of every round are pooled, so the p99 rests on a few hundred samples
        errors: list[str] = []
        busy: list[float] = []
        probe_failures: list[str] = []
        rounds = []
        for rnd in range(args.rounds):
            rounds.append(_load_round(clients, execute, exp, rnd, n, busy, probe_failures,
                                      server_cpu, errors))
            time.sleep(1.0)
        out["rounds"] = rounds
        # control: the same CPU demand (8 kernels spinning for as long as a round took)
        # without any mlp traffic, to tell the server's share from the machine's
        spin_s = statistics.median(r.get("span_s", 1.0) for r in rounds)
        control: list[float] = []
        control_rounds = []
        for rnd in range(args.rounds):
            control_rounds.append(_load_round(clients, execute, exp, rnd, n, control,
                                              probe_failures, server_cpu, errors,
                                              spin_s=spin_s))
            time.sleep(1.0)
        out["control_spin_s"] = spin_s
        out["control_samples_ms"] = [round(x, 3) for x in control]
        out["load_control"] = [r["load"] for r in control_rounds]
        out["idle_samples_ms"] = [round(x, 3) for x in probe_samples_idle]
        out["busy_samples_ms"] = [round(x, 3) for x in busy]
        out["busy"] = {"p50_ms": statistics.median(busy) if busy else None,
                       "p99_ms": pct(busy, 99) if busy else None,
                       "max_ms": max(busy) if busy else None, "samples": len(busy)}
        out["load_busy"] = [r["load"] for r in rounds]
        nlog, lines = _server_log_errors(log_path, log_offset)
        if nlog:
            errors.append(f"server log: {nlog} error line(s): {lines}")
        if probe_failures:
            errors.append(f"/api/contents failures: {probe_failures[:5]}")
        out["stored"] = sum(r["stored"] for r in rounds)
        out["errors"] = errors
        for kc in clients:
            kc.stop_channels()
    finally:
        for s in sessions:
            try:
                _rest("DELETE", f"api/sessions/{s['id']}")
            except Exception as e:
                log(f"could not shut down session {s['id']}: {e}")
    out["load_end"] = loadavg()
    emit(out)


def _load_round(clients, execute, exp: str, rnd: int, n: int, busy: list[float],
                probe_failures: list[str], server_cpu: ServerCPU, errors: list[str],
                spin_s: float | None = None) -> dict:
    """All kernels run KERNEL_CODE at once while the probe times /api/contents; with
    ``spin_s``, the control instead: CONTROL_CODE, as much CPU and no mlp at all."""
    k = len(clients)
    results: list[dict | None] = [None] * k
    barrier = threading.Barrier(k + 1)

    def work(i: int) -> None:
        code = (KERNEL_CODE.format(exp=exp, name=f"k{i}-r{rnd}", n=n) if spin_s is None
                else CONTROL_CODE.format(secs=spin_s))
        barrier.wait()
        try:
            stdout, stderr, rep = execute(clients[i], code)
        except Exception as e:
            errors.append(f"round {rnd} kernel {i}: {type(e).__name__}: {e}")
            return
        if rep["status"] != "ok":
            errors.append(f"round {rnd} kernel {i}: {rep.get('ename')}: {rep.get('evalue')}")
        if stderr.strip():  # e.g. "mlp: could not store metrics ... retried"
            errors.append(f"round {rnd} kernel {i} stderr: {stderr.strip()[:300]}")
        for ln in stdout.splitlines():
            if ln.startswith("RESULT "):
                results[i] = json.loads(ln[len("RESULT "):])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(k)]
    for th in threads:
        th.start()
    cpu0 = server_cpu.read()
    probe = Probe()
    probe.start()
    barrier.wait()
    t_load = time.perf_counter()
    for th in threads:
        th.join()
    wall_s = time.perf_counter() - t_load
    probe.stop()
    busy += probe.samples
    probe_failures += probe.failures
    out: dict[str, Any] = {"load": loadavg(), "wall_s": wall_s,
                           "server_cpu_s": server_cpu.read() - cpu0,
                           "probe": probe.stats()}

    if spin_s is not None:
        return out

    # everything stored? (through the REST API)
    stored = 0
    for i, r in enumerate(results):
        if r is None:
            errors.append(f"round {rnd} kernel {i}: no result")
            continue
        if r["transport"] != "http":
            errors.append(f"round {rnd} kernel {i}: transport {r['transport']}")
        got = stored_counts(r["run_id"]).get("loss")
        stored += got or 0
        if got != n:
            errors.append(f"round {rnd} kernel {i}: {got} points stored, not {n}")
        run = _rest("GET", f"mlp/api/v1/runs/{r['run_id']}").json()
        if run["status"] != "finished":
            errors.append(f"round {rnd} kernel {i}: run {run['status']}")
    done = [r for r in results if r]
    if done:
        span = max(r["t_flush"] for r in done) - min(r["t0"] for r in done)
        out.update({"points_per_s": len(done) * n / span, "span_s": span,
                    "kernel_loop_s": statistics.median(r["t_loop"] - r["t0"] for r in done),
                    "kernel_flush_s": statistics.median(r["t_flush"] - r["t_loop"]
                                                        for r in done),
                    "start_skew_s": max(r["t0"] for r in done) - min(r["t0"] for r in done)})
    out["stored"] = stored
    return out


CHILDREN = {"ingest": child_ingest, "kernels": child_kernels}


# =====================================================================================
# parent: fresh stores and servers, child processes, figures
# =====================================================================================


def run_child(kind: str, server: JupyterServer, args,
              timeout: float) -> dict | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
           "--points", str(args.points), "--kernel-points", str(args.kernel_points),
           "--kernels", str(args.kernels), "--rounds", str(args.rounds)]
    env = server.child_env()
    try:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=str(ROOT),
                              timeout=timeout)
    finally:
        import shutil

        shutil.rmtree(env["MLP_HOME"], ignore_errors=True)
    rec = None
    for raw in proc.stdout.splitlines():
        raw = raw.strip()
        if raw.startswith("{"):
            rec = json.loads(raw)
        elif raw:
            print(raw, file=sys.stderr)
    if proc.returncode != 0 or rec is None:
        raise RuntimeError(f"{kind} child: exit code {proc.returncode}")
    return rec


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def ingest_figures(runner: Runner, backend: str, reps: list[dict], quick: bool) -> None:
    n = reps[0]["points"]
    loads = [r["load_start"] for r in reps]
    common = {"reps": len(reps), "load_avg_per_rep": loads, "load_now": loadavg()}
    if quick:
        common["quick"] = True
    for r in reps:
        for phase in ("caller", "ingest", "flush_only"):
            if r[phase]["stored"] != n:
                raise RuntimeError(f"{phase}: {r[phase]['stored']} points stored, not {n}")

    c = [r["caller"] for r in reps]
    runner.record(line(
        "server_log_metric_caller_us", backend, med(x["us_per_call"] for x in c), "us/call",
        "<= 5", calls=n, per_rep=[x["us_per_call"] for x in c],
        p50_batch_us=med(x["p50_batch_us"] for x in c),
        thread_cpu_us_per_call=med(x["thread_cpu_us_per_call"] for x in c),
        max_batch_us=max(x["max_batch_us"] for x in c),
        batches_over_20x_p50=[x["batches_over_20x_p50"] for x in c],
        noop_call_us=med(r["noop_call_us"] for r in reps),
        flush_after_loop_s=med(x["total_s"] - x["loop_s"] for x in c),
        requests=[x["requests"] for x in c], **common,
        note="mean us per mlp.log_metric call over a 1M-call loop (one key), HTTP "
             "transport and background flusher active; median over reps"))

    g = [r["ingest"] for r in reps]
    runner.record(line(
        "server_ingest_flush", backend, med(x["points_per_s"] for x in g), "points/s",
        ">= 200000", points=n, keys=KEYS, per_rep=[x["points_per_s"] for x in g],
        loop_s=med(x["loop_s"] for x in g), final_flush_s=med(x["final_flush_s"] for x in g),
        loop_thread_cpu_s=med(x["loop_thread_cpu_s"] for x in g),
        total_s=med(x["total_s"] for x in g), stored=[x["stored"] for x in g],
        caller_us_per_call=med(x["loop_s"] / n * 1e6 for x in g),
        bytes_per_point=med(x["body_bytes"] / n for x in g),
        requests=[x["requests"] for x in g], request_s=med(x["request_s"] for x in g),
        encode_s=med(x["encode_s"] for x in g), client_cpu_s=med(x["client_cpu_s"] for x in g),
        server_cpu_s=med(x["server_cpu_s"] for x in g), **common,
        note="loop-inclusive: from the first log_metric (10 keys x 100k steps) until "
             "mlp.flush() returns, background flusher on; count checked via GET /runs/{id}"))

    f = [r["flush_only"] for r in reps]
    runner.record(line(
        "server_ingest_flush_only", backend, med(x["points_per_s"] for x in f), "points/s",
        ">= 200000", points=n, keys=KEYS, per_rep=[x["points_per_s"] for x in f],
        flush_s=med(x["flush_s"] for x in f), stored=[x["stored"] for x in f],
        bytes_per_point=med(x["body_bytes"] / n for x in f),
        requests=[x["requests"] for x in f], request_s=med(x["request_s"] for x in f),
        encode_s=med(x["encode_s"] for x in f), client_cpu_s=med(x["client_cpu_s"] for x in f),
        server_cpu_s=med(x["server_cpu_s"] for x in f), **common,
        note="the same 1M points already buffered (flusher stopped), made durable by "
             "mlp.flush(): encode, HTTP, the handler and the store, without the loop"))


def kernel_figures(runner: Runner, backend: str, reps: list[dict], quick: bool) -> None:
    idle = [x for r in reps for x in r["idle_samples_ms"]]
    busy = [x for r in reps for x in r["busy_samples_ms"]]
    per_rep = [pct(r["busy_samples_ms"], 99) / pct(r["idle_samples_ms"], 99) for r in reps]
    rounds = [x for r in reps for x in r["rounds"]]
    errors = [e for r in reps for e in r["errors"]]
    kernels, per_kernel = reps[0]["kernels"], reps[0]["points_per_kernel"]
    n_expected = len(rounds) * kernels * per_kernel
    stored = sum(r["stored"] for r in reps)
    ctx = {"probe": os.environ.get("MLP_BENCH_PROBE_PATH", PROBE_PATH),
           "reps": len(reps), "rounds": len(rounds), "kernels": kernels,
           "points_per_kernel": per_kernel,
           "load_avg_idle_per_rep": [r["load_idle"] for r in reps],
           "load_avg_busy_per_round": [x["load"] for x in rounds],
           "load_avg_control_per_rep": [r["load_control"] for r in reps], "load_now": loadavg()}
    if quick:
        ctx["quick"] = True
    control = [x for r in reps for x in r["control_samples_ms"]]
    idle_p99, busy_p99 = pct(idle, 99), pct(busy, 99)
    runner.record(line(
        "server_8_kernels", backend, busy_p99 / idle_p99, "p99 busy/idle", "<= 2",
        idle_p50_ms=statistics.median(idle), idle_p99_ms=idle_p99,
        busy_p50_ms=statistics.median(busy), busy_p99_ms=busy_p99, busy_max_ms=max(busy),
        idle_samples=len(idle), busy_samples=len(busy), per_rep_ratio=per_rep,
        control_p50_ms=statistics.median(control), control_p99_ms=pct(control, 99),
        control_ratio=pct(control, 99) / idle_p99, control_samples=len(control),
        busy_vs_control_p99=busy_p99 / pct(control, 99),
        control_spin_s=med(r["control_spin_s"] for r in reps),
        contents_entries=reps[0].get("contents_entries"),
        points_per_s=med(x.get("points_per_s") for x in rounds),
        per_round_points_per_s=[x.get("points_per_s") for x in rounds],
        span_s=med(x.get("span_s") for x in rounds),
        kernel_loop_s=med(x.get("kernel_loop_s") for x in rounds),
        kernel_flush_s=med(x.get("kernel_flush_s") for x in rounds),
        start_skew_s=med(x.get("start_skew_s") for x in rounds),
        server_cpu_s_per_round=med(x["server_cpu_s"] for x in rounds),
        errors=len(errors), stored=stored, expected=n_expected, **ctx,
        note="p99 of GET /api/contents/work?content=1 while 8 kernels log at once over its "
             "p99 with the same kernels idle; samples pooled over every rep and round. "
             "control_*: the same 8 kernels spinning on the CPU as long, logging nothing"))
    runner.record(line(
        "server_8_kernels_errors", backend, len(errors) + (n_expected - stored), "errors",
        "<= 0", kernel_or_server_errors=errors[:10], stored=stored, expected=n_expected,
        points_per_s=med(x.get("points_per_s") for x in rounds), **ctx,
        note="failed executions, SDK warnings on a kernel's stderr, error lines in the server "
             "log, runs not finished, failed /api/contents requests, plus points missing "
             "from the store"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("MLP_BENCH_PG_URL"),
                   help="SQLAlchemy URL of a PostgreSQL server whose user may CREATE DATABASE "
                        "(default $MLP_BENCH_PG_URL; without it only SQLite runs)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON lines file (overwritten)")
    p.add_argument("--only", default=",".join(KINDS),
                   help="comma list of: ingest, kernels (bench/tracking.py's names are "
                        "ignored)")
    p.add_argument("--reps", type=int, default=REPS, help="repetitions per figure (median)")
    p.add_argument("--probe-path", default=PROBE_PATH,
                   help="what server_8_kernels times (default %(default)s)")
    p.add_argument("--db-workers", type=int, default=None,
                   help="the server's c.MLPExtension.db_workers (default: the extension's)")
    p.add_argument("--quick", action="store_true",
                   help="a tenth of the points, one repetition: a smoke test, not the figures")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    p.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    p.add_argument("--points", type=int, default=POINTS, help=argparse.SUPPRESS)
    p.add_argument("--kernel-points", type=int, default=KERNEL_POINTS, help=argparse.SUPPRESS)
    p.add_argument("--kernels", type=int, default=KERNELS, help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=ROUNDS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        CHILDREN[args.child](args)
        return 0

    # SIGTERM/SIGHUP as exceptions, so the servers, stores and temporary folders go too
    import signal

    def _exit(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, _exit)
    signal.signal(signal.SIGHUP, _exit)

    os.environ["MLP_BENCH_PROBE_PATH"] = args.probe_path  # the children read it
    if args.quick:
        args.points, args.kernel_points, args.reps = POINTS // 10, KERNEL_POINTS // 10, 1
    asked = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = asked - set(KINDS) - set(TRACKING_KINDS)
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}")
    only = [k for k in KINDS if k in asked]
    backends = ["sqlite"] + (["postgres"] if args.pg_url else [])
    if not args.pg_url:
        log("no --pg-url (or MLP_BENCH_PG_URL): PostgreSQL figures are skipped")

    t0 = time.perf_counter()
    runner = Runner(args.out)
    ctx = _context(args.pg_url)
    log(f"context: {json.dumps(ctx)}")
    figures = {"ingest": ingest_figures, "kernels": kernel_figures}
    for kind in only:
        for backend in backends:
            label = f"{kind}/{backend}"
            t = time.perf_counter()
            try:
                with Fresh(backend, args.pg_url) as fresh, JupyterServer(fresh, args.db_workers) as server:
                    log(f"{label}: server at {server.url} (log {server.log_path})")
                    try:
                        reps = []
                        for rep in range(args.reps):
                            log(f"{label} rep {rep + 1}/{args.reps} (load {loadavg()}) ...")
                            rec = run_child(kind, server, args, timeout=900)
                            reps.append(rec)
                            log(f"{label} rep {rep + 1}: " + json.dumps(_brief(rec)))
                        figures[kind](runner, backend, reps, args.quick)
                    except Exception:
                        shutil.copy(server.log_path, "/tmp/mlp-bench-server-failed.log")
                        log("server log (end):\n"
                            + server.log_path.read_text(errors="replace")[-4000:])
                        raise
            except Exception as e:  # a broken benchmark must not hide the others
                runner.errors.append(f"{label}: {type(e).__name__}: {e}")
                log(f"{label} FAILED: {type(e).__name__}: {e}")
            log(f"{label} done in {time.perf_counter() - t:.1f}s")

    failing = [f"{x['bench']}[{x['backend']}]={x['value']} (target {x['target']})"
               for x in runner.results if not x["ok"]]
    runner.record({"bench": "summary", "backend": None, "ok": not failing and not runner.errors,
                   "failing": failing, "errors": runner.errors, "figures": len(runner.results),
                   "elapsed_s": round(time.perf_counter() - t0, 1), "backends": backends,
                   "reps": args.reps, "db_workers": args.db_workers,
                   "probe_path": args.probe_path, "quick": args.quick,
                   "load_end": loadavg(), **ctx})
    if runner.errors:
        return 1
    return 1 if args.strict and failing else 0


def _brief(rec: dict) -> dict:
    if rec["kind"] == "ingest":
        return {"caller_us": round(rec["caller"]["us_per_call"], 2),
                "ingest_pps": round(rec["ingest"]["points_per_s"]),
                "flush_only_pps": round(rec["flush_only"]["points_per_s"])}
    return {"idle_p99_ms": rec["idle"]["p99_ms"], "busy_p99_ms": rec["busy"]["p99_ms"],
            "busy_samples": rec["busy"]["samples"],
            "points_per_s": [r.get("points_per_s") for r in rec["rounds"]],
            "errors": rec["errors"][:3]}


if __name__ == "__main__":
    sys.exit(main())
