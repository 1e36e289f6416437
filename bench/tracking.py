"""Tracking fast-path benchmarks: one JSON line per figure, each with its target.

    .venv/bin/python bench/tracking.py                        # SQLite only
    .venv/bin/python bench/tracking.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/db
    .venv/bin/python bench/tracking.py --only sdk,search --quick

`make bench` runs it against a private PostgreSQL cluster (scripts/bench.sh).
Every line is ``{"bench", "backend", "value", "unit", "target", "ok", ...context}``;
the last line (``"bench": "summary"``) lists the figures that miss their target.
Lines go to stdout and to ``bench/results/tracking.jsonl`` (``--out``).

Each benchmark runs in a fresh interpreter (a child process of this script)
on a fresh store: a new ``MLP_HOME`` for SQLite, a new database (CREATE
DATABASE on the given server, dropped afterwards) for PostgreSQL. Progress goes
to stderr. The exit code is 0 when every benchmark ran (missed targets
included), 1 when one crashed; ``--strict`` also exits 1 on a missed target.
See bench/README.md for what each figure measures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_OUT = HERE / "results" / "tracking.jsonl"

# Full-scale sizes (the targets are stated for these); --quick divides them.
POINTS = 1_000_000
BATCH = 10_000
SEARCH_RUNS = 100_000
DF_RUNS = 5_000
CREATE_RUNS = 100
HISTORY_READS = 5
SEARCH_REPS = 30
SEARCH_WARMUP = 2
IMPORT_REPS = 7

# experiment name -> share of the runs outside "sweep-5k", which holds DF_RUNS runs.
EXPERIMENTS = {"churn": 0.40, "ranking": 0.30, "forecast": 0.18, "vision": 0.12}
DF_EXPERIMENT = "sweep-5k"
SEARCH_EXPERIMENT = "churn"  # the largest: the worst case for a per-experiment search

QUERIES = [
    ("mixed", "metrics.loss < 0.5 and (params.depth = 6 or tags.team = 'ads')", "-start_time"),
    ("param_eq_order_metric", "params.optimizer = 'adam'", "-metrics.acc"),
    ("selective_metric", "metrics.acc > 0.99", "-start_time"),
    ("no_filter_order_metric", None, "metrics.loss"),
    ("param_range_in", "params.lr < 0.001 and params.model in ('xgb', 'lgbm')", "-metrics.auc"),
    ("attr_like_status", "name like 'run-1%' and status = 'finished'", "-start_time"),
]


def log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def line(bench: str, backend: str | None, value: float, unit: str, target: str,
         **context: Any) -> dict:
    """One result; ``target`` is "<= X" or ">= X" (None: informational, always ok)."""
    ok = True
    if target:
        op, _, bound = target.partition(" ")
        b = float(bound)
        ok = bool(value <= b) if op == "<=" else bool(value >= b)
    out = {"bench": bench, "backend": backend, "value": _round(value), "unit": unit,
           "target": target, "ok": ok}
    out.update({k: _round(v) for k, v in context.items()})
    return out


def _round(v: Any) -> Any:
    if isinstance(v, float):
        return float(f"{v:.4g}") if abs(v) < 1e4 else round(v, 1)
    if isinstance(v, dict):
        return {k: _round(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_round(x) for x in v]
    return v


def emit(rec: dict) -> None:
    """Children print result lines on stdout; the parent collects them."""
    print(json.dumps(rec), flush=True)


def loadavg() -> list[float]:
    """The machine's load (1, 5, 15 min): every figure says how busy the machine was."""
    return [round(x, 2) for x in os.getloadavg()]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): p95 of 30 samples is the 29th smallest."""
    s = sorted(samples)
    k = max(1, -(-len(s) * q // 100))  # ceil
    return s[int(k) - 1]


# =====================================================================================
# children: each runs in its own interpreter, configured by environment variables
# =====================================================================================


def child_sdk(args) -> None:
    """log_metric caller cost, durable ingest through mlp.flush(), metric_history reads."""
    t_import = time.perf_counter()
    import mlp
    t_import = time.perf_counter() - t_import

    n, backend = args.points, args.backend
    batch = min(BATCH, n // 10)
    values = [1.0 / (i + 1) for i in range(n)]  # precomputed so the loop times log_metric

    # the bare loop, for context: what the loop costs without log_metric
    def _noop(key, value, step=None):
        pass
    t = time.perf_counter()
    for i in range(n):
        _noop("loss", values[i], step=i)
    noop_us = (time.perf_counter() - t) / n * 1e6

    run = mlp.start_run(experiment="bench", name="ingest")  # capture on, as by default
    batches: list[float] = []
    t0 = prev = time.perf_counter()
    for b in range(0, n, batch):
        for i in range(b, b + batch):
            mlp.log_metric("loss", values[i], step=i)
        now = time.perf_counter()
        batches.append(now - prev)
        prev = now
    t_loop = time.perf_counter()
    mlp.flush()
    t_flushed = time.perf_counter()
    loop_s, flush_s, total_s = t_loop - t0, t_flushed - t_loop, t_flushed - t0
    per_batch_us = [x / batch * 1e6 for x in batches]
    waited = sum(1 for x in per_batch_us if x > 20 * statistics.median(per_batch_us))
    mlp.end_run()

    if backend == "sqlite":
        emit(line("log_metric_call_us", backend, loop_s / n * 1e6, "us/call", "<= 5",
                  calls=n, p50_batch_us=statistics.median(per_batch_us),
                  max_batch_us=max(per_batch_us), batch=batch,
                  batches_over_20x_p50=waited, noop_call_us=noop_us, import_mlp_ms=t_import * 1e3))
    emit(line("ingest_points_per_s", backend, n / total_s, "points/s", ">= 500000",
              points=n, loop_s=loop_s, final_flush_s=flush_s, total_s=total_s,
              caller_us_per_call=loop_s / n * 1e6))

    # The same million points through the SDK's flush path alone (buffer -> transport ->
    # store, committed), with the loop's Python cost left out: the store side of ingest.
    from mlp._client import get_client

    client = get_client()
    client.buffer.capacity = 4 * n
    with mlp.start_run(experiment="bench", name="ingest-flush"):
        # Stopped after start_run, which starts it: the timed flush then sends all n points.
        client.flusher.stop()
        for i in range(n):
            mlp.log_metric("loss", values[i], step=i)
        t = time.perf_counter()
        mlp.flush()
        flush_only_s = time.perf_counter() - t
    emit(line("ingest_flush_points_per_s", backend, n / flush_only_s, "points/s", ">= 500000",
              points=n, flush_s=flush_only_s,
              note="1M buffered points made durable by mlp.flush(): the SDK's conversion, "
                   "the transport and the store, without the logging loop"))

    reads = []
    for _ in range(1 + HISTORY_READS):
        t = time.perf_counter()
        df = mlp.get_run(run.id).metric_history("loss")
        reads.append((time.perf_counter() - t) * 1e3)
        assert len(df) == n, len(df)
    emit(line("history_read_ms", backend, statistics.median(reads[1:]), "ms", "<= 100",
              points=n, reads_ms=reads[1:], first_read_ms=reads[0],
              note="median of 5 after a first read (which also imports pandas)"))


def child_service(args) -> None:
    """TrackingService.log_metrics with one 1M-point series (no SDK, no buffer)."""
    import numpy as np

    from mlp_server.store import Store
    from mlp_server.tracking import Series, TrackingService
    from mlp_server.tracking.artifacts import ArtifactStore

    svc = TrackingService(Store(args.db_url, auto_migrate=True),
                          ArtifactStore(os.path.join(args.home, "artifacts")))
    n = args.points
    rng = np.random.default_rng(0)
    rates = []
    for rep in range(3):
        rid = svc.create_run("bench", f"service-{rep}")["id"]
        s = Series(rid, "loss", np.arange(n, dtype=np.int64),
                   time.time() + np.arange(n) * 1e-3, rng.random(n))
        t = time.perf_counter()
        stored = svc.log_metrics([s])
        rates.append(n / (time.perf_counter() - t))
        assert stored == n
    emit(line("ingest_service_points_per_s", args.backend, statistics.median(rates), "points/s",
              ">= 500000", points=n, rates=rates, note="median of 3, each a new run"))
    svc.store.dispose()


def _build_search_store(url: str, n_runs: int, n_df: int, seed: int = 7) -> dict:
    """Bulk-load runs/experiments/params/tags/metric_latest with SQLAlchemy Core."""
    import numpy as np
    from sqlalchemy import text

    from mlp_server.store import Store
    from mlp_server.store.schema import experiments, metric_latest, params, runs, tags
    from mlp_server.tracking.service import param_text

    store = Store(url, auto_migrate=True)
    rng = np.random.default_rng(seed)
    now = time.time()
    t_build = time.perf_counter()

    exp_names = list(EXPERIMENTS) + [DF_EXPERIMENT]
    rest = n_runs - n_df
    sizes = [int(rest * w) for w in EXPERIMENTS.values()]
    sizes[0] += rest - sum(sizes)
    sizes.append(n_df)
    exp_of = np.repeat(np.arange(1, len(exp_names) + 1), sizes)
    n = len(exp_of)

    hexes = rng.bytes(16 * n).hex()
    ids = [hexes[32 * i:32 * i + 32] for i in range(n)]
    start = now - rng.uniform(0, 90 * 86400, n)
    dur = rng.lognormal(np.log(600), 1.2, n)  # ~10 min median
    status = rng.choice(["finished", "failed", "killed", "crashed"], n, p=[.9, .07, .02, .01])
    users = rng.choice(["ana", "bo", "chen", "dmitri", "eve", "farah", "gus", "hiro"], n)
    hosts = rng.choice([f"gpu-node-{i}" for i in range(6)], n)
    src = rng.choice(["notebook", "script"], n, p=[.7, .3])
    # params
    lr = 10 ** rng.uniform(-5, -1, n)
    depth = rng.integers(2, 13, n)
    optimizer = rng.choice(["adam", "sgd", "adamw", "rmsprop"], n, p=[.45, .25, .2, .1])
    batch_size = 2 ** rng.integers(4, 10, n)
    epochs = rng.integers(5, 101, n)
    dropout = np.round(rng.uniform(0, .5, n), 2)
    model = rng.choice(["xgb", "lgbm", "mlp", "resnet18", "bert-base"], n)
    seed_p = rng.integers(0, 10_000, n)
    wd = np.round(10 ** rng.uniform(-6, -2, n), 8)
    dataset = rng.choice([f"v{i}" for i in range(1, 6)], n)
    # metrics: loss tied to lr and depth; acc tied to loss; acc > 0.99 is ~1% of runs
    quality = np.clip(rng.normal(0, 1, n) - 0.3 * np.abs(np.log10(lr) + 3)
                      + 0.05 * (depth - 7) * -np.sign(depth - 7), -4, 4)
    loss = np.clip(np.exp(-0.6 * quality - 0.5) + rng.normal(0, .05, n), 0.01, None)
    acc = np.clip(0.9 + 0.04 * quality + rng.normal(0, .02, n), 0.3, 0.9999)
    f1 = np.clip(acc - rng.uniform(0, .08, n), 0, 1)
    auc = np.clip(acc + rng.uniform(0, .05, n), 0, 1)
    val_loss = loss * rng.uniform(1.0, 1.4, n)
    team = rng.choice(["ads", "search", "growth", "risk", "infra"], n, p=[.2, .3, .2, .2, .1])
    stage = rng.choice(["dev", "staging", "prod"], n, p=[.7, .2, .1])

    ends = (start + dur).tolist()
    ep = epochs.tolist()
    st, us, ho, sr, ex, sl = (status.tolist(), users.tolist(), hosts.tolist(), src.tolist(),
                              exp_of.tolist(), start.tolist())
    run_rows = [
        (ids[i], ex[i], f"run-{i + 1}", st[i], None, sl[i], ends[i], ends[i], us[i], ho[i],
         1000 + i % 30000, sl[i] - 1, None, sr[i],
         f"/home/{us[i]}/{exp_names[ex[i] - 1]}/train." + ("ipynb" if sr[i] == "notebook"
                                                           else "py"), None)
        for i in range(n)]
    pcols = {"lr": lr, "depth": depth, "optimizer": optimizer, "batch_size": batch_size,
             "epochs": epochs, "dropout": dropout, "model": model, "seed": seed_p,
             "weight_decay": wd, "dataset.version": dataset}
    param_rows = []
    for key, col in pcols.items():
        for rid, v in zip(ids, col.tolist(), strict=True):
            param_rows.append((rid, key, *param_text(v)))
    mcols = {"loss": loss, "acc": acc, "f1": f1, "auc": auc, "val_loss": val_loss}
    metric_rows = []
    for key, col in mcols.items():
        for i, v in enumerate(col.tolist()):
            # tail_id, tail_n: no chunks are needed for search
            metric_rows.append((ids[i], key, v, ep[i] - 1, ends[i], v * 0.9, v * 3 + 1, ep[i],
                                None, 0))
    tag_rows = [(ids[i], k, v) for k, col in (("team", team), ("stage", stage))
                for i, v in enumerate(col.tolist())]
    exp_rows = [(k + 1, name, None, now - 91 * 86400, None) for k, name in enumerate(exp_names)]
    t_rows = time.perf_counter() - t_build

    # in primary-key order, as B-trees like it
    run_rows.sort()
    param_rows.sort()
    metric_rows.sort()
    tag_rows.sort()
    t_ins = time.perf_counter()
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":  # a bulk load's settings, this connection only
            conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB
        for table, rows in ((experiments, exp_rows), (runs, run_rows), (params, param_rows),
                            (metric_latest, metric_rows), (tags, tag_rows)):
            _bulk_insert(conn, table, rows)
    t_ins = time.perf_counter() - t_ins

    t_an = time.perf_counter()
    if store.dialect == "postgresql":
        if exp_names:  # keep the id sequence ahead of the explicit ids
            with store.engine.begin() as conn:
                conn.execute(text("SELECT setval(pg_get_serial_sequence('experiments', 'id'), "
                                  "(SELECT max(id) FROM experiments))"))
        with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    t_an = time.perf_counter() - t_an
    store.dispose()
    return {"runs": n, "params": len(param_rows), "metric_latest": len(metric_rows),
            "tags": len(tag_rows), "experiments": dict(zip(exp_names, sizes, strict=True)),
            "rows_s": t_rows, "insert_s": t_ins, "analyze_s": t_an,
            "build_s": time.perf_counter() - t_build}


def _bulk_insert(conn, table, rows: list[tuple]) -> None:
    """Rows (tuples in the table's column order) in one go: executemany on SQLite, COPY on
    PostgreSQL (psycopg's executemany does ~15k rows/s, COPY ~500k)."""
    q = conn.dialect.identifier_preparer.quote
    cols = ", ".join(q(c.name) for c in table.columns)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {q(table.name)} ({cols}) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
    else:
        marks = ", ".join("?" for _ in table.columns)
        conn.exec_driver_sql(f"INSERT INTO {q(table.name)} ({cols}) VALUES ({marks})", rows)


def child_search(args) -> None:
    """search_runs p95 on a 100k-run store; mlp.runs() of a 5k-run experiment as a DataFrame."""
    backend = args.backend
    n_runs = args.runs
    n_df = max(1, DF_RUNS * n_runs // SEARCH_RUNS)
    log(f"{backend}: bulk-loading {n_runs} runs ...")
    built = _build_search_store(args.db_url, n_runs, n_df)
    log(f"{backend}: built in {built['build_s']:.1f}s (insert {built['insert_s']:.1f}s, "
        f"analyze {built['analyze_s']:.1f}s)")

    from mlp_server.store import Store
    from mlp_server.tracking import TrackingService
    from mlp_server.tracking.artifacts import ArtifactStore

    svc = TrackingService(Store(args.db_url, auto_migrate=False),
                          ArtifactStore(os.path.join(args.home, "artifacts")))
    all_samples: list[float] = []
    per_query = {}
    for name, where, order in QUERIES:
        samples = []
        for rep in range(SEARCH_WARMUP + SEARCH_REPS):
            t = time.perf_counter()
            page = svc.search_runs(SEARCH_EXPERIMENT, where=where, order_by=order, limit=100)
            dt = (time.perf_counter() - t) * 1e3
            if rep >= SEARCH_WARMUP:
                samples.append(dt)
        all_samples += samples
        p95 = pct(samples, 95)
        per_query[name] = p95
        emit(line("search_p95_ms", backend, p95, "ms", "<= 100", query=name, where=where,
                  order_by=order, experiment=SEARCH_EXPERIMENT,
                  experiment_runs=built["experiments"][SEARCH_EXPERIMENT],
                  returned=len(page["runs"]), p50_ms=statistics.median(samples),
                  max_ms=max(samples), reps=SEARCH_REPS))
    overall = pct(all_samples, 95)
    emit(line("search_p95_ms", backend, overall, "ms", "<= 100", query="overall",
              per_query_p95_ms=per_query, p50_ms=statistics.median(all_samples),
              store={k: built[k] for k in ("runs", "params", "metric_latest", "tags")},
              build_s=built["build_s"], insert_s=built["insert_s"], analyze_s=built["analyze_s"]))
    svc.store.dispose()

    # mlp.runs(): every run of a 5k-run experiment, as a DataFrame, through the SDK
    import mlp  # MLP_HOME (SQLite) or MLP_DB_URL (PostgreSQL) name the store just built

    times = []
    for _ in range(4):
        t = time.perf_counter()
        df = mlp.runs(experiment=DF_EXPERIMENT)
        times.append(time.perf_counter() - t)
        assert len(df) == n_df, (len(df), n_df)
    emit(line("search_all_as_dataframe_s", backend, statistics.median(times[1:]), "s",
              "<= 3.6", runs=n_df, columns=len(df.columns), first_call_s=times[0],
              calls_s=times[1:], note="median of 3 after a first call (imports, store open); "
              "target: MLflow's 3.6 s"))


def child_create(args) -> None:
    """Runs created per second with mlp.start_run()/end, capture on (the default)."""
    import threading

    import mlp

    n = args.create_runs
    with mlp.start_run(experiment="create", name="warm-up"):  # opens and migrates the store
        pass
    _drain("mlp-capture", threading)
    t0 = time.perf_counter()
    for _ in range(n):
        with mlp.start_run(experiment="create"):  # default name run-N, as most users do
            pass
    t_caller = time.perf_counter() - t0
    pending = sum(1 for t in threading.enumerate() if t.name == "mlp-capture")
    _drain("mlp-capture", threading)
    t_all = time.perf_counter() - t0
    emit(line("create_runs_per_s", args.backend, n / t_all, "runs/s", ">= 64", runs=n,
              caller_runs_per_s=n / t_caller, capture_threads_pending_at_loop_end=pending,
              note="value counts until every run's background capture (git, packages) is "
                   "stored; caller_runs_per_s is the loop alone. Target: MLflow's 64/s"))


def _drain(name: str, threading) -> None:
    for t in [t for t in threading.enumerate() if t.name == name]:
        t.join(60)


CHILDREN = {"sdk": child_sdk, "service": child_service, "search": child_search,
            "create": child_create}


# =====================================================================================
# parent: fresh stores, child processes, collection
# =====================================================================================


class Fresh:
    """A fresh MLP_HOME, and for PostgreSQL a fresh database, for one benchmark."""

    def __init__(self, backend: str, pg_url: str | None) -> None:
        self.backend, self.pg_url = backend, pg_url
        self.home = tempfile.mkdtemp(prefix="mlp-bench-")
        self.db_name: str | None = None
        self.admin = None

    def __enter__(self) -> Fresh:
        if self.backend == "sqlite":
            self.url = f"sqlite:///{self.home}/mlp.db"
            return self
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        self.admin = create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        self.db_name = f"mlp_bench_{uuid.uuid4().hex[:10]}"
        with self.admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{self.db_name}"'))
        self.url = make_url(self.pg_url).set(database=self.db_name).render_as_string(
            hide_password=False)
        return self

    def __exit__(self, *exc) -> None:
        if self.admin is not None:
            from sqlalchemy import text

            try:
                with self.admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)'))
            finally:
                self.admin.dispose()
        shutil.rmtree(self.home, ignore_errors=True)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLP_")}
        env["MLP_HOME"] = self.home
        if self.backend == "postgres":
            env["MLP_DB_URL"] = self.url
            env["MLP_AUTO_MIGRATE"] = "1"
        return env


def script_parser(doc: str, out: Path, only: str | None = None) -> argparse.ArgumentParser:
    """The options every benchmark script shares: --pg-url, --out, --quick, --reps, --strict
    (and --only when the script has several benchmarks)."""
    p = argparse.ArgumentParser(description=doc.split("\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("MLP_BENCH_PG_URL"),
                   help="SQLAlchemy URL of a PostgreSQL server whose user may CREATE DATABASE "
                        "(default $MLP_BENCH_PG_URL; without it only SQLite runs)")
    p.add_argument("--out", type=Path, default=out, help="JSON lines file (overwritten)")
    if only:
        p.add_argument("--only", default=only, help=f"comma list of: {only.replace(',', ', ')}")
    p.add_argument("--quick", action="store_true", help="a tenth of the work, one repetition")
    p.add_argument("--reps", type=int, default=5, help="repetitions per figure (default 5)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    return p


def run_script(args, run_backend: Callable[[Runner, str], None]) -> int:
    """Run ``run_backend`` on SQLite (and PostgreSQL with --pg-url), a broken backend not
    hiding the other; end with the summary line. The exit code as bench/tracking.py's."""
    backends = ["sqlite"] + (["postgres"] if args.pg_url else [])
    t0 = time.perf_counter()
    r = Runner(args.out)
    if args.quick:  # every line says so
        record = r.record
        r.record = lambda rec: record({**rec, "quick": True})  # type: ignore[method-assign]
    ctx = _context(args.pg_url)
    for backend in backends:
        t = time.perf_counter()
        try:
            run_backend(r, backend)
        except Exception as e:
            r.errors.append(f"{backend}: {type(e).__name__}: {e}")
            log(f"{backend} FAILED: {type(e).__name__}: {e}")
        log(f"{backend} done in {time.perf_counter() - t:.1f}s")
    failing = [f"{x['bench']}[{x['backend']}]={x['value']} (target {x['target']})"
               for x in r.results if x.get("ok") is False]
    pending = [f"{x['bench']}[{x['backend']}]" for x in r.results if x.get("pending")]
    r.record({"bench": "summary", "backend": None, "ok": not failing and not r.errors,
              "failing": failing, "pending": pending, "errors": r.errors,
              "figures": len(r.results), "elapsed_s": round(time.perf_counter() - t0, 1),
              "backends": backends, **ctx})
    if r.errors:
        return 1
    return 1 if args.strict and failing else 0


class Runner:
    def __init__(self, out: Path) -> None:
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out = out.open("w")
        self.results: list[dict] = []
        self.errors: list[str] = []

    def record(self, rec: dict) -> None:
        self.results.append(rec)
        text = json.dumps(rec)
        print(text, flush=True)
        self.out.write(text + "\n")
        self.out.flush()

    def child(self, kind: str, backend: str, pg_url: str | None, args, timeout: float) -> None:
        label = f"{kind}/{backend}"
        log(f"{label} ...")
        t = time.perf_counter()
        try:
            with Fresh(backend, pg_url) as fresh:
                cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind,
                       "--backend", backend, "--db-url", fresh.url, "--home", fresh.home,
                       "--points", str(args.points), "--runs", str(args.runs),
                       "--create-runs", str(args.create_runs)]
                proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True,
                                        env=fresh.env(), cwd=str(ROOT))
                assert proc.stdout is not None
                for raw in proc.stdout:
                    raw = raw.strip()
                    if raw.startswith("{"):
                        rec = json.loads(raw)
                        if args.quick:
                            rec["quick"] = True
                        self.record(rec)
                    elif raw:
                        print(raw, file=sys.stderr)
                rc = proc.wait(timeout=timeout)
                if rc != 0:
                    self.errors.append(f"{label}: exit code {rc}")
                    log(f"{label} FAILED (exit code {rc})")
        except Exception as e:  # a broken benchmark must not hide the others
            self.errors.append(f"{label}: {type(e).__name__}: {e}")
            log(f"{label} FAILED: {type(e).__name__}: {e}")
        log(f"{label} done in {time.perf_counter() - t:.1f}s")

    def import_time(self) -> None:
        log("import/- ...")
        code = ("import sys, time\n"
                "t = time.perf_counter()\n"
                "import mlp\n"
                "dt = time.perf_counter() - t\n"
                "heavy = sorted(m for m in ('pandas', 'numpy', 'sqlalchemy', 'alembic', "
                "'mlp_server', 'psutil', 'IPython') if m in sys.modules)\n"
                "print(dt, ','.join(heavy), len(sys.modules))\n")
        with tempfile.TemporaryDirectory() as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith("MLP_")}
            env["MLP_HOME"] = home
            samples, walls = [], []
            heavy, nmods = "", 0
            for _ in range(IMPORT_REPS):
                t = time.perf_counter()
                out = subprocess.run([sys.executable, "-c", code], env=env, cwd=home,
                                     capture_output=True, text=True, check=True).stdout.split()
                walls.append((time.perf_counter() - t) * 1e3)
                samples.append(float(out[0]) * 1e3)
                heavy = out[1] if len(out) > 2 else ""
                nmods = int(out[-1])
        self.record(line("import_mlp_ms", None, statistics.median(samples), "ms", "<= 300",
                         samples_ms=samples, process_wall_ms=statistics.median(walls),
                         heavy_modules_loaded=heavy.split(",") if heavy else [],
                         modules_loaded=nmods))


def _context(pg_url: str | None) -> dict:
    import sqlite3

    ctx: dict[str, Any] = {"python": platform.python_version(), "cpus": os.cpu_count(),
                           "machine": platform.machine(), "sqlite": sqlite3.sqlite_version}
    with contextlib.suppress(OSError):
        ctx["commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                                       capture_output=True, text=True).stdout.strip() or None
    if pg_url:
        try:
            from sqlalchemy import create_engine, text

            eng = create_engine(pg_url)
            with eng.connect() as c:
                ctx["postgres"] = c.execute(text("SHOW server_version")).scalar()
            eng.dispose()
        except Exception as e:
            ctx["postgres"] = f"unreachable: {e}"
    return ctx


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pg-url", default=os.environ.get("MLP_BENCH_PG_URL"),
                   help="SQLAlchemy URL of a PostgreSQL server whose user may CREATE DATABASE "
                        "(default $MLP_BENCH_PG_URL; without it only SQLite runs)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON lines file (overwritten)")
    p.add_argument("--only", default="import,sdk,service,search,create",
                   help="comma list of: import, sdk, service, search, create")
    p.add_argument("--quick", action="store_true",
                   help="a tenth of the points and runs: a smoke test, not the figures")
    p.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    # child mode (internal)
    p.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    p.add_argument("--backend", help=argparse.SUPPRESS)
    p.add_argument("--db-url", help=argparse.SUPPRESS)
    p.add_argument("--home", help=argparse.SUPPRESS)
    p.add_argument("--points", type=int, default=POINTS, help=argparse.SUPPRESS)
    p.add_argument("--runs", type=int, default=SEARCH_RUNS, help=argparse.SUPPRESS)
    p.add_argument("--create-runs", type=int, default=CREATE_RUNS, help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.child:
        CHILDREN[args.child](args)
        return 0

    if args.quick:
        args.points, args.runs, args.create_runs = POINTS // 10, SEARCH_RUNS // 10, 20
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - {"import", *CHILDREN}
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}")
    backends = ["sqlite"] + (["postgres"] if args.pg_url else [])
    if not args.pg_url:
        log("no --pg-url (or MLP_BENCH_PG_URL): PostgreSQL figures are skipped")

    t0 = time.perf_counter()
    r = Runner(args.out)
    ctx = _context(args.pg_url)
    log(f"context: {json.dumps(ctx)}")
    if "import" in only:
        try:
            r.import_time()
        except Exception as e:
            r.errors.append(f"import: {type(e).__name__}: {e}")
    for kind in ("sdk", "service", "search"):
        if kind in only:
            for backend in backends:
                r.child(kind, backend, args.pg_url, args, timeout=600)
    if "create" in only:
        r.child("create", "sqlite", None, args, timeout=600)

    failing = [f"{x['bench']}[{x['backend']}{'/' + x['query'] if 'query' in x else ''}]="
               f"{x['value']} (target {x['target']})" for x in r.results if not x["ok"]]
    r.record({"bench": "summary", "backend": None, "ok": not failing and not r.errors,
              "failing": failing, "errors": r.errors, "figures": len(r.results),
              "elapsed_s": round(time.perf_counter() - t0, 1),
              "backends": backends, "quick": args.quick, **ctx})
    if r.errors:
        return 1
    return 1 if args.strict and failing else 0


if __name__ == "__main__":
    sys.exit(main())
