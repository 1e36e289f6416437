"""Feature store benchmarks: point-in-time training frames, spilling, online lookups. JSON lines.

    .venv/bin/python bench/features.py                   # the figures (~10 min on 2 cores)
    .venv/bin/python bench/features.py --quick           # a smoke run (< 1 min)
    .venv/bin/python bench/features.py --only online --iters 5000
    .venv/bin/python bench/features.py --entities 2000000 --features-rows 20000000

Data: Parquet files written by DuckDB ``COPY`` into a temporary folder. A view of 5 features
(2 float, 2 int, 1 string) over ``--customers`` keys, ``--features-rows`` rows with random
event times over 2024 and a created time up to an hour later; ``--entities`` entity rows
(random customer and time in 2024, a label). Everything runs on a fresh ``MLP_HOME`` in that
folder (SQLite store, online store ``online.db``), never ``~/.mlp``.

- ``features_frame_s``: ``mlp.features.get_training_frame(entity_df, ["train_stats:*"],
  timestamp="event_timestamp")`` with ``entity_df`` a DataFrame read from the entity Parquet,
  timed around that call, in a fresh interpreter per repetition (median of ``--reps``, 3);
  against ``features_frame_duckdb_s``, the hand-written ``ASOF LEFT JOIN`` of the same files
  fetched with ``.df()`` (default DuckDB settings). Target: ours ≤ 2 × DuckDB
  (``features_frame_vs_duckdb``).
- ``features_frame_peak_rss_mb``: the peak RSS of the process computing our frame (imports,
  the entity DataFrame and the result included), from ``os.wait4`` on the child; max over the
  repetitions. Target ≤ 3 GB. The hand-written side's is reported too.
- ``features_frame_spill_s``: the frame of ``--spill-entities`` entity rows given as a Parquet
  path with ``output=`` a Parquet path and ``memory_limit=`` ``--memory-limit`` (300MB): time,
  the row count written (checked), the peak bytes DuckDB spilled to its temp folder (sampled
  every 50 ms) and the child's peak RSS.
- ``features_online_p99_ms`` (one entity, in process: ≤ 0.1 ms), ``features_online_100_p99_ms``
  (100 entities, in process: ≤ 1 ms), ``features_online_rest_p99_ms`` (one entity over REST
  against a real Jupyter server, on one kept-alive ``http.client`` connection: ≤ 2 ms;
  ``features_online_rest_requests_p99_ms`` is the same through ``requests.Session``), and
  ``features_online_rest_sdk_p99_ms`` (the same through ``mlp.connect``): ``get_online`` of 10
  features of a view of ``--online-keys`` keys, materialized; ``--iters`` calls after a
  warm-up, random keys. ``features_online_sqlite_pk_p99_ms``: a bare ``sqlite3`` primary-key
  read of the same table, for scale.

Lines go to stdout and bench/results/features.jsonl (``--out``), each with the load average.
The store's backend does not matter here (training frames never touch it; online lookups read
``online.db``): ``--pg-url`` is accepted and ignored.
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from tracking import (  # noqa: E402
    Runner,
    free_port,
    line,
    loadavg,
    log,
    pct,
    run_script,
    script_parser,
)

DEFAULT_OUT = HERE / "results" / "features.jsonl"
VIEW, ONLINE_VIEW = "train_stats", "online_stats"
FEATS = ["spend_avg", "spend_max", "orders", "days_active", "segment"]
ONLINE_FEATS = [f"f{i}" for i in range(10)]
YEAR_US = 366 * 86_400 * 1_000_000
START = "TIMESTAMP '2024-01-01'"


# =====================================================================================
# data
# =====================================================================================


def gen_features(path: str, rows: int, customers: int) -> None:
    """``rows`` feature rows, ``rows / customers`` per key, random times over 2024."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"""COPY (SELECT
        (i % {customers})::BIGINT AS customer_id,
        {START} + to_microseconds((hash(i, 'ev') % {YEAR_US})::BIGINT) AS event_timestamp,
        {START} + to_microseconds((hash(i, 'ev') % {YEAR_US} + hash(i, 'cr') % 3600000000)::BIGINT)
            AS created,
        (hash(i, 'a') % 100000) / 100.0 AS spend_avg,
        (hash(i, 'b') % 1000000) / 100.0 AS spend_max,
        (hash(i, 'c') % 500)::BIGINT AS orders,
        (hash(i, 'd') % 366)::INTEGER AS days_active,
        'seg_' || (hash(i, 'e') % 40)::VARCHAR AS segment
        FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet)""")
    con.close()


def gen_entities(path: str, rows: int, customers: int, seed: str = "x") -> None:
    import duckdb

    con = duckdb.connect()
    con.execute(f"""COPY (SELECT
        (hash(i, '{seed}k') % {customers})::BIGINT AS customer_id,
        {START} + to_microseconds((hash(i, '{seed}t') % {YEAR_US})::BIGINT) AS event_timestamp,
        (hash(i, '{seed}l') % 10 = 0)::INTEGER AS label
        FROM range({rows}) t(i)) TO '{path}' (FORMAT parquet)""")
    con.close()


def gen_online(path: str, keys: int) -> None:
    """Two rows per key, 10 features (float, int, string in turn)."""
    import duckdb

    cols = []
    for j in range(10):
        kind = j % 3
        expr = (f"(hash(i, 'o{j}') % 100000) / 100.0" if kind == 0 else
                f"(hash(i, 'o{j}') % 1000)::BIGINT" if kind == 1 else
                f"'v' || (hash(i, 'o{j}') % 100)::VARCHAR")
        cols.append(f"{expr} AS f{j}")
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT (i % {keys})::BIGINT AS customer_id,
        {START} + to_microseconds((hash(i, 'oev') % {YEAR_US})::BIGINT) AS event_timestamp,
        {', '.join(cols)} FROM range({2 * keys}) t(i)) TO '{path}' (FORMAT parquet)""")
    con.close()


def _mlp(home: str):
    os.environ["MLP_HOME"] = home
    for k in [k for k in os.environ if k.startswith("MLP_") and k != "MLP_HOME"]:
        os.environ.pop(k)
    import mlp

    return mlp


def child_define(a) -> dict:
    mlp = _mlp(a.home)
    fs = mlp.features
    fs.entity("customer", join_keys=["customer_id"])
    v = fs.feature_view(VIEW, entities=["customer"], source=fs.parquet(a.features_path),
                        event_time="event_timestamp", created_time="created")
    out = {"view": VIEW, "version": v["version"], "features": [f["name"] for f in v.features]}
    if a.online_path:
        fs.feature_view(ONLINE_VIEW, entities=["customer"], source=fs.parquet(a.online_path),
                        event_time="event_timestamp")
    return out


# =====================================================================================
# children (fresh interpreters)
# =====================================================================================


def _summary(df) -> dict:
    """Enough to tell the two joins found the same rows."""
    return {"rows": len(df), "nulls_spend_avg": int(df["spend_avg"].isna().sum()),
            "sum_orders": int(df["orders"].fillna(0).sum()),
            "sum_spend_avg": round(float(df["spend_avg"].fillna(0).sum()), 2)}


def child_frame_ours(a) -> dict:
    mlp = _mlp(a.home)
    import pandas as pd

    t0 = time.perf_counter()
    entity_df = pd.read_parquet(a.entities_path)
    read_s = time.perf_counter() - t0
    t = time.perf_counter()
    frame = mlp.features.get_training_frame(entity_df, [f"{VIEW}:*"],
                                            timestamp="event_timestamp", progress=False)
    dt = time.perf_counter() - t
    assert len(frame) == len(entity_df), (len(frame), len(entity_df))
    out = {"s": dt, "read_entities_s": read_s, **_summary(frame),
           "columns": list(map(str, frame.columns))}
    del frame
    gc.collect()
    t = time.perf_counter()  # again in the same process: the client and DuckDB warm
    mlp.features.get_training_frame(entity_df, [f"{VIEW}:*"], timestamp="event_timestamp",
                                    progress=False)
    return {**out, "second_s": time.perf_counter() - t}


def duckdb_sql(a) -> str:
    cols = ", ".join(f"f.{c}" for c in FEATS)
    return (f"SELECT e.*, {cols} FROM '{a.entities_path}' e ASOF LEFT JOIN "
            f"'{a.features_path}' f ON e.customer_id = f.customer_id "
            f"AND e.event_timestamp >= f.event_timestamp")


def child_frame_duckdb(a) -> dict:
    import duckdb

    con = duckdb.connect()
    t = time.perf_counter()
    df = con.sql(duckdb_sql(a)).df()
    dt = time.perf_counter() - t
    out = {"s": dt, **_summary(df), "columns": list(map(str, df.columns))}
    del df
    gc.collect()
    con.close()
    con = duckdb.connect()  # a new connection, as the engine makes one per frame
    t = time.perf_counter()
    con.sql(duckdb_sql(a)).df()
    return {**out, "second_s": time.perf_counter() - t}


def child_frame_variant(a) -> dict:
    """Diagnostics: the hand-written join with one of the engine's choices added, to say
    which of them costs what (same DuckDB settings as the engine's unless said)."""
    import duckdb

    con = duckdb.connect()
    v = a.variant
    if v != "duckdb_default":
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET memory_limit = '2GB'")
        con.execute("SET preserve_insertion_order = false")
    feats = ", ".join(FEATS)
    fcols = ", ".join(f"f.{c}" for c in FEATS)
    e_src, f_src = f"'{a.entities_path}'", f"'{a.features_path}'"
    if v in ("duckdb_default", "engine_settings"):
        sql = (f"SELECT e.*, {fcols} FROM {e_src} e ASOF LEFT JOIN {f_src} f ON "
               "e.customer_id = f.customer_id AND e.event_timestamp >= f.event_timestamp")
    elif v == "order_by_row":
        sql = (f"SELECT e.*, {fcols} FROM (SELECT *, row_number() OVER () AS __row FROM "
               f"{e_src}) e ASOF LEFT JOIN {f_src} f ON e.customer_id = f.customer_id AND "
               "e.event_timestamp >= f.event_timestamp ORDER BY e.__row")
    elif v == "struct_order":  # the engine's (event, created, hash) struct as the ASOF key
        sql = (f"SELECT e.*, {fcols} FROM (SELECT *, struct_pack(a := event_timestamp, "
               "b := 'infinity'::TIMESTAMP, c := 18446744073709551615::UBIGINT) AS __probe "
               f"FROM {e_src}) e ASOF LEFT JOIN (SELECT *, struct_pack(a := event_timestamp, "
               f"b := created, c := hash({feats})) AS __o FROM {f_src}) f ON "
               "e.customer_id = f.customer_id AND e.__probe >= f.__o")
    elif v == "struct_no_hash":  # the struct of (event, created) only
        sql = (f"SELECT e.*, {fcols} FROM (SELECT *, struct_pack(a := event_timestamp, "
               f"b := 'infinity'::TIMESTAMP) AS __probe FROM {e_src}) e ASOF LEFT JOIN "
               f"(SELECT *, struct_pack(a := event_timestamp, b := created) AS __o FROM "
               f"{f_src}) f ON e.customer_id = f.customer_id AND e.__probe >= f.__o")
    elif v == "utc_casts":  # the engine's CAST(CAST(x AS TIMESTAMPTZ) AS TIMESTAMP) on times
        utc = "CAST(CAST({} AS TIMESTAMPTZ) AS TIMESTAMP)"
        sql = (f"SELECT e.*, {fcols} FROM (SELECT *, {utc.format('event_timestamp')} AS __t "
               f"FROM {e_src}) e ASOF LEFT JOIN (SELECT *, {utc.format('event_timestamp')} "
               f"AS __ev FROM {f_src}) f ON e.customer_id = f.customer_id AND "
               "e.__t >= f.__ev")
    else:
        raise SystemExit(f"unknown variant {v}")
    t = time.perf_counter()
    df = con.sql(sql).df()
    return {"s": time.perf_counter() - t, "rows": len(df)}


def child_engine_sql(a) -> dict:
    """The engine's own query for the frame, run on its connection, timed in parts: the
    DuckDB query alone (``.df()``) and the pandas work get_training_frame does around it."""
    mlp = _mlp(a.home)
    import pandas as pd

    from mlp.features import _make_engine, _plan

    entity_df = pd.read_parquet(a.entities_path)
    plan, _ = _plan([f"{VIEW}:*"], False, None, list(entity_df.columns))
    eng = _make_engine(None)
    t = time.perf_counter()
    res = eng.training_frame(entity_df, plan, "event_timestamp")
    query_s = time.perf_counter() - t
    t = time.perf_counter()
    frame = entity_df.copy()
    for _, o in plan[0]["features"]:
        frame[o] = res[o].to_numpy()
    post_s = time.perf_counter() - t
    eng.close()
    del mlp
    return {"s": query_s, "query_s": query_s, "copy_and_assign_s": post_s, "rows": len(frame)}


def child_spill(a) -> dict:
    mlp = _mlp(a.home)
    spill_dir = os.path.join(tempfile.gettempdir(), "mlp-duckdb")  # the engine's temp_dir
    peak = {"bytes": 0, "files": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            total = files = 0
            for dirpath, _, names in os.walk(spill_dir):
                for n in names:
                    try:
                        total += os.path.getsize(os.path.join(dirpath, n))
                        files += 1
                    except OSError:
                        pass
            if total > peak["bytes"]:
                peak["bytes"], peak["files"] = total, files
            stop.wait(0.05)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    t = time.perf_counter()
    info = mlp.features.get_training_frame(a.entities_path, [f"{VIEW}:*"],
                                           timestamp="event_timestamp", output=a.output_path,
                                           memory_limit=a.memory_limit, progress=False)
    dt = time.perf_counter() - t
    stop.set()
    th.join()
    import pyarrow.parquet as pq

    md = pq.ParquetFile(a.output_path).metadata
    uncompressed = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
    return {"s": dt, "rows": int(info["rows"]), "parquet_rows": md.num_rows,
            "frame_uncompressed_bytes": uncompressed,
            "output_bytes": os.path.getsize(a.output_path),
            "spill_peak_bytes": peak["bytes"], "spill_peak_files": peak["files"],
            "spill_dir": spill_dir}


def _lat(fn, args_list: list, warm: int) -> tuple[list[float], list[float]]:
    """Per-call wall latencies and the calling thread's CPU time, in ms, after ``warm``
    calls. The CPU time leaves out waiting for a core: on a loaded 2-core machine the wall
    p99 is mostly other processes' time slices (~4 ms each)."""
    for x in args_list[:warm]:
        fn(x)
    wall, cpu = [], []
    pc, tt = time.perf_counter_ns, time.thread_time_ns
    for x in args_list[warm:]:
        c = tt()
        t = pc()
        fn(x)
        e = pc()
        cpu.append((tt() - c) / 1e6)
        wall.append((e - t) / 1e6)
    return wall, cpu


def _stats(lat: tuple[list[float], list[float]]) -> dict:
    ms, cpu = lat
    return {"p50_ms": statistics.median(ms), "p90_ms": pct(ms, 90), "p99_ms": pct(ms, 99),
            "p999_ms": pct(ms, 99.9), "max_ms": max(ms), "mean_ms": statistics.fmean(ms),
            "n": len(ms), "slow_over_1ms": sum(1 for x in ms if x > 1),
            "thread_cpu_p50_ms": statistics.median(cpu), "thread_cpu_p99_ms": pct(cpu, 99)}


def _breakdown(svc, feats: list[str], keys: list[int]) -> dict:
    """Mean µs per one-entity lookup of each step FeatureService.get_online takes."""
    from mlp_server.features import service as S

    view = svc._online_view(ONLINE_VIEW)
    n = len(keys)

    def each(fn) -> float:
        t = time.perf_counter_ns()
        for k in keys:
            fn(k)
        return (time.perf_counter_ns() - t) / n / 1e3

    dtypes = [f["dtype"] for f in view["features"]]
    return {
        "total_us": each(lambda k: svc.get_online({"customer_id": [k]}, feats)),
        "plan_us": each(lambda k: svc._online_plan(tuple(feats))),
        "entity_rows_us": each(lambda k: S._entity_rows({"customer_id": [k]})),
        "lookup_keys_us": each(lambda k: S._lookup_keys([{"customer_id": k}], view)),
        "online_read_us": each(lambda k: svc.online.read(ONLINE_VIEW, view["version"], dtypes,
                                                         [k], None, view["_int_key"])),
        "clock_us": each(lambda k: svc.clock()),
    }


def child_online(a) -> None:
    """In process, then over REST against a Jupyter server on the same MLP_HOME. Prints one
    JSON record per figure (``fig``)."""
    import random

    mlp = _mlp(a.home)
    fs = mlp.features
    failures: list[str] = []
    for _ in range(3):  # a failed materialization is reported, and retried
        t = time.perf_counter()
        try:
            rec = fs.materialize(ONLINE_VIEW, progress=False)
            break
        except mlp.errors.MLPError as e:
            failures.append(str(e)[-300:])
            print(f"[bench] materialize failed, retrying: {e}", file=sys.stderr, flush=True)
    else:
        raise RuntimeError(f"materialize failed 3 times: {failures[-1]}")
    emit({"fig": "materialize", "s": time.perf_counter() - t, "keys": rec["keys"],
          "written": rec["written"], "failures": failures})
    feats = [f"{ONLINE_VIEW}:{f}" for f in ONLINE_FEATS]
    rnd = random.Random(7)
    n, warm = a.iters, max(50, a.iters // 10)
    one = [rnd.randrange(a.online_keys) for _ in range(n + warm)]
    res = fs.get_online({"customer_id": [one[0]]}, feats)
    assert res.status[0] == ["present"] * 10, res.status
    # in process: the SDK -> LocalTransport -> FeatureService -> OnlineStore (sqlite3)
    ms = _lat(lambda k: fs.get_online({"customer_id": [k]}, feats), one, warm)
    emit({"fig": "inproc_1", **_stats(ms)})
    n100 = max(200, n // 5)
    batches = [[rnd.randrange(a.online_keys) for _ in range(100)]
               for _ in range(n100 + warm // 5)]
    ms = _lat(lambda ks: fs.get_online({"customer_id": ks}, feats), batches, warm // 5)
    emit({"fig": "inproc_100", **_stats(ms)})
    # the service alone (no SDK wrapper), to split the in-process cost
    from mlp._client import get_client

    svc = get_client().transport.feature_service
    ms = _lat(lambda k: svc.get_online({"customer_id": [k]}, feats), one, warm)
    emit({"fig": "service_1", **_stats(ms)})
    dtypes = ["float"] * len(ONLINE_FEATS)
    ms = _lat(lambda k: svc.online.read(ONLINE_VIEW, 1, dtypes, [k], None, True), one, warm)
    emit({"fig": "online_store_read_1", **_stats(ms)})
    emit({"fig": "breakdown", **_breakdown(svc, feats, one[:2000])})
    # bare sqlite3 primary-key read of the same table, for scale
    import sqlite3

    conn = sqlite3.connect(os.path.join(a.home, "online.db"))
    from mlp_server.features.online import table_name

    sql = f"SELECT * FROM {table_name(ONLINE_VIEW, 1)} WHERE key = ?"
    ms = _lat(lambda k: conn.execute(sql, (k,)).fetchone(), one, warm)
    emit({"fig": "sqlite_pk", **_stats(ms)})
    conn.close()
    if a.no_rest:
        return
    server = start_server(a.home, Path(a.dir) / "jupyter-root")
    try:
        import http.client
        from urllib.parse import urlparse

        import requests

        auth = {"Authorization": f"token {server['token']}"}
        u = urlparse(server["url"])
        path = "/mlp/api/v1/features/online"
        # The client a service (or the SDK) uses for point lookups: one kept-alive HTTP/1.1
        # connection. requests.Session costs ~1 ms of client CPU per call on this machine,
        # which would be most of what is measured; it is reported as its own figure.
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        headers = {**auth, "Content-Type": "application/json"}

        def post(keys):
            conn.request("POST", path, body=json.dumps({"entities": {"customer_id": keys},
                                                        "features": feats}), headers=headers)
            r = conn.getresponse()
            raw = r.read()
            if r.status != 200:
                raise RuntimeError(f"{r.status}: {raw[:300]!r}")
            return json.loads(raw)

        def status(_):
            conn.request("GET", "/api/status", headers=auth)
            r = conn.getresponse()
            r.read()
            assert r.status == 200

        got = post([one[0]])
        assert got["status"][0] == ["present"] * 10, got
        pid = server["proc"].pid
        cpu0 = server_cpu(pid)
        ms = _lat(lambda k: post([k]), one, warm)
        per = (server_cpu(pid) - cpu0) / len(one) * 1e3
        emit({"fig": "rest_1", **_stats(ms), "server_cpu_ms_per_request": per})
        cpu0 = server_cpu(pid)
        ms = _lat(status, one, warm)
        per = (server_cpu(pid) - cpu0) / len(one) * 1e3
        emit({"fig": "rest_status", **_stats(ms), "server_cpu_ms_per_request": per})
        ms = _lat(post, batches, warm // 5)
        emit({"fig": "rest_100", **_stats(ms)})
        conn.close()
        s = requests.Session()
        s.headers.update(auth)

        def post_requests(keys):
            r = s.post(f"{server['url']}{path}",
                       json={"entities": {"customer_id": keys}, "features": feats})
            r.raise_for_status()
            return r.json()

        ms = _lat(lambda k: post_requests([k]), one, warm)
        emit({"fig": "rest_requests_1", **_stats(ms)})
        s.close()
        mlp.connect(server["url"], server["token"])
        res = fs.get_online({"customer_id": [one[0]]}, feats)
        assert res.status[0] == ["present"] * 10, res.status
        ms = _lat(lambda k: fs.get_online({"customer_id": [k]}, feats), one, warm)
        emit({"fig": "rest_sdk_1", **_stats(ms)})
    finally:
        server["proc"].terminate()
        try:
            server["proc"].wait(timeout=20)
        except subprocess.TimeoutExpired:
            server["proc"].kill()


def server_cpu(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            parts = fh.read().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return None


def start_server(home: str, root: Path) -> dict:
    """A real ``jupyter server`` with the extension on ``home``'s store (as tests/conftest.py
    ``JupyterServer.start``)."""
    import uuid

    import requests

    root.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLP_")}
    env.update({"MLP_HOME": home, "MLP_DB_URL": f"sqlite:///{home}/mlp.db",
                "MLP_AUTO_MIGRATE": "1", "JUPYTER_CONFIG_DIR": str(root / ".jupyter"),
                "JUPYTER_RUNTIME_DIR": str(root / ".runtime")})
    logf = open(root / "server.log", "wb")  # noqa: SIM115 - the child keeps its own handle
    proc = subprocess.Popen(
        [sys.executable, "-m", "jupyter_server", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
         f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False",
         f"--ServerApp.root_dir={root}", "--ServerApp.allow_root=True",
         "--ServerApp.jpserver_extensions={'mlp_server': True}"],
        env=env, stdout=logf, stderr=subprocess.STDOUT)
    logf.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if requests.get(f"{url}/mlp/api/v1/info", timeout=2,
                            headers={"Authorization": f"token {token}"}).ok:
                return {"proc": proc, "url": url, "token": token}
        except requests.RequestException:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("the Jupyter server did not start:\n"
                       + (root / "server.log").read_text()[-3000:])


def emit(rec: dict) -> None:
    print(json.dumps(rec, default=str), flush=True)


CHILDREN = {"define": child_define, "frame_ours": child_frame_ours,
            "frame_duckdb": child_frame_duckdb, "frame_variant": child_frame_variant,
            "engine_sql": child_engine_sql, "spill": child_spill, "online": child_online}


# =====================================================================================
# parent
# =====================================================================================


class Child:
    """A fresh interpreter running one child; its JSON lines, and its peak RSS (wait4)."""

    def __init__(self, a, kind: str, env_extra: dict | None = None, timeout: float = 1800,
                 **extra: Any) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", kind, "--dir", a.dir,
               "--home", a.home, "--entities-path", a.entities_path,
               "--features-path", a.features_path, "--online-path", a.online_path or "",
               "--online-keys", str(a.online_keys), "--iters", str(a.iters),
               "--memory-limit", a.memory_limit]
        for k, v in extra.items():
            cmd += [f"--{k.replace('_', '-')}", str(v)]
        if a.no_rest:
            cmd.append("--no-rest")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLP_")}
        env["MLP_HOME"] = a.home
        env["MLP_CACHE_DIR"] = os.path.join(a.dir, "cache")
        env.update(env_extra or {})
        self.load = loadavg()
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=str(ROOT))
        self.records: list[dict] = []
        assert proc.stdout is not None
        for raw in proc.stdout:
            raw = raw.strip()
            if raw.startswith("{"):
                self.records.append(json.loads(raw))
            elif raw:
                print(raw, file=sys.stderr)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        self.wall_s = time.perf_counter() - t
        self.peak_rss_mb = usage.ru_maxrss / 1024  # KiB on Linux
        self.load_end = loadavg()
        if proc.returncode != 0:
            raise RuntimeError(f"child {kind} exited with {proc.returncode}")
        self.rec = self.records[-1] if self.records else {}


def prepare(a) -> None:
    a.entities_path = os.path.join(a.dir, "entities.parquet")
    a.features_path = os.path.join(a.dir, "features.parquet")
    a.online_path = os.path.join(a.dir, "online.parquet") if "online" in a.only else ""
    t = time.perf_counter()
    if {"frame", "spill"} & a.only:
        log(f"writing {a.features_rows:,} feature rows over {a.customers:,} customers ...")
        gen_features(a.features_path, a.features_rows, a.customers)
    if "frame" in a.only:
        gen_entities(a.entities_path, a.entities, a.customers)
    if a.online_path:
        gen_online(a.online_path, a.online_keys)
    if not os.path.exists(a.features_path):  # the view needs a source that exists
        gen_features(a.features_path, 1000, 100)
    a.gen_s = time.perf_counter() - t
    log(f"data written in {a.gen_s:.1f}s")
    c = Child(a, "define")
    log(f"defined: {c.rec}")


def _sizes(a) -> dict:
    return {"entities": a.entities, "feature_rows": a.features_rows, "customers": a.customers,
            "features_parquet_mb": round(os.path.getsize(a.features_path) / 2**20, 1),
            "entities_parquet_mb": round(os.path.getsize(a.entities_path) / 2**20, 1)}


def bench_frame(r: Runner, a) -> None:
    ours, duck = [], []
    for i in range(a.reps):  # alternate, so drifting load hits both sides alike
        log(f"frame: repetition {i + 1}/{a.reps} ...")
        ours.append(Child(a, "frame_ours"))
        duck.append(Child(a, "frame_duckdb"))
        log(f"  ours {ours[-1].rec['s']:.2f}s ({ours[-1].peak_rss_mb:.0f} MB), duckdb "
            f"{duck[-1].rec['s']:.2f}s ({duck[-1].peak_rss_mb:.0f} MB)")
    o = [c.rec["s"] for c in ours]
    d = [c.rec["s"] for c in duck]
    mo, md = statistics.median(o), statistics.median(d)
    same = {k: ours[0].rec[k] == duck[0].rec[k] for k in
            ("rows", "nulls_spend_avg", "sum_orders", "sum_spend_avg")}
    sizes = _sizes(a)
    loads = [c.load for c in ours + duck]
    r.record(line("features_frame_s", None, mo, "s", None, runs_s=o,
                  read_entities_s=[c.rec["read_entities_s"] for c in ours],
                  child_wall_s=[c.wall_s for c in ours], **sizes, load_avg=loads,
                  note="mlp.features.get_training_frame(entity_df, ['train_stats:*']) in a "
                       f"fresh interpreter, timed around the call; median of {a.reps}"))
    r.record(line("features_frame_duckdb_s", None, md, "s", None, runs_s=d,
                  child_wall_s=[c.wall_s for c in duck], sql=duckdb_sql(a),
                  note="the hand-written ASOF LEFT JOIN of the same files, .df(), default "
                       f"DuckDB settings, fresh interpreter; median of {a.reps}"))
    o2 = [c.rec["second_s"] for c in ours]
    d2 = [c.rec["second_s"] for c in duck]
    r.record(line("features_frame_vs_duckdb", None, mo / md, "x", "<= 2",
                  ours_s=mo, duckdb_s=md, ours_second_call_s=o2, duckdb_second_call_s=d2,
                  second_call_ratio=statistics.median(o2) / statistics.median(d2), same_result=same, ours_summary=_pick(ours[0].rec),
                  duckdb_summary=_pick(duck[0].rec), load_avg=loadavg(),
                  note="value: the first call in a fresh interpreter, ours over DuckDB's "
                       "(medians); second_call_ratio: a second call in the same process "
                       "(ours: client and DuckDB warm; DuckDB: a new connection)"))
    r.record(line("features_frame_peak_rss_mb", None, max(c.peak_rss_mb for c in ours), "MB",
                  "<= 3072", runs_mb=[c.peak_rss_mb for c in ours],
                  duckdb_runs_mb=[c.peak_rss_mb for c in duck],
                  note="peak RSS of the child computing our frame (os.wait4 ru_maxrss; "
                       "interpreter, imports, entity DataFrame and result included); max of "
                       f"{a.reps}. duckdb_runs_mb: the hand-written side's children"))
    if a.diagnose:
        diagnose(r, a)


def _pick(rec: dict) -> dict:
    return {k: rec[k] for k in ("rows", "nulls_spend_avg", "sum_orders", "sum_spend_avg")}


def diagnose(r: Runner, a) -> None:
    """Where our frame's time goes: the hand-written join with one engine choice at a time,
    and the engine's query without the SDK around it; median of --reps fresh interpreters."""
    variants = ["engine_settings", "order_by_row", "utc_casts", "struct_no_hash",
                "struct_order"]
    out: dict[str, Any] = {}
    for v in variants:
        runs = [Child(a, "frame_variant", variant=v) for _ in range(a.reps)]
        out[v] = [c.rec["s"] for c in runs]
        log(f"variant {v}: {statistics.median(out[v]):.2f}s")
    runs = [Child(a, "engine_sql") for _ in range(a.reps)]
    eng = statistics.median(c.rec["query_s"] for c in runs)
    log(f"engine query: {eng:.2f}s")
    r.record(line("features_frame_diagnose", None, eng, "s", None,
                  engine_query_runs_s=[c.rec["query_s"] for c in runs],
                  copy_and_assign_s=[c.rec["copy_and_assign_s"] for c in runs],
                  variants_median_s={k: statistics.median(v) for k, v in out.items()},
                  variants_runs_s=out, load_avg=loadavg(),
                  note="value: Engine.training_frame alone (the DuckDB query + .df()); "
                       "variants: the hand-written ASOF join plus one of the engine's "
                       "choices (engine_settings: UTC, 2GB, preserve_insertion_order=false; "
                       "order_by_row: numbered and sorted back to input order; utc_casts: "
                       "CAST(CAST(t AS TIMESTAMPTZ) AS TIMESTAMP) on both times; "
                       "struct_no_hash: the ASOF key a struct (event, created); "
                       "struct_order: the engine's struct (event, created, hash(features)))"))


def bench_spill(r: Runner, a) -> None:
    spill_entities = os.path.join(a.dir, "entities_spill.parquet")
    if not os.path.exists(a.features_path) or os.path.getsize(a.features_path) < 10_000:
        gen_features(a.features_path, a.features_rows, a.customers)
    gen_entities(spill_entities, a.spill_entities, a.customers, seed="s")
    out = os.path.join(a.dir, "frame_spill.parquet")
    tmp = os.path.join(a.dir, "tmp-spill")
    os.makedirs(tmp, exist_ok=True)
    log(f"spill: {a.spill_entities:,} entity rows x {a.features_rows:,} feature rows, "
        f"memory_limit={a.memory_limit} ...")
    sub = argparse_copy(a, entities_path=spill_entities)
    c = Child(sub, "spill", env_extra={"TMPDIR": tmp}, output_path=out)
    rec = c.rec
    ok = rec["rows"] == a.spill_entities == rec["parquet_rows"]
    r.record(line("features_frame_spill_s", None, rec["s"], "s", None,
                  completed=True, rows=rec["rows"], expected_rows=a.spill_entities,
                  rows_ok=ok, memory_limit=a.memory_limit,
                  frame_uncompressed_mb=round(rec["frame_uncompressed_bytes"] / 2**20, 1),
                  output_mb=round(rec["output_bytes"] / 2**20, 1),
                  spill_peak_mb=round(rec["spill_peak_bytes"] / 2**20, 1),
                  spill_peak_files=rec["spill_peak_files"], peak_rss_mb=c.peak_rss_mb,
                  feature_rows=a.features_rows, customers=a.customers,
                  features_parquet_mb=round(os.path.getsize(a.features_path) / 2**20, 1),
                  load_avg=c.load, load_avg_end=c.load_end,
                  note="get_training_frame(entity Parquet path, output=Parquet path, "
                       "memory_limit=...) in a fresh interpreter; spill_peak_mb: the most "
                       "bytes in DuckDB's temp folder, sampled every 50 ms"))
    if not ok:
        r.errors.append(f"spill: wrote {rec['rows']} rows, expected {a.spill_entities}")


def argparse_copy(a, **kw):
    import argparse

    return argparse.Namespace(**{**vars(a), **kw})


ONLINE_FIGS = {  # child figure -> (bench, target, note)
    "inproc_1": ("features_online_p99_ms", "<= 0.1",
                 "mlp.features.get_online({'customer_id': [k]}, 10 features) in process "
                 "(LocalTransport -> FeatureService -> SQLite online store)"),
    "inproc_100": ("features_online_100_p99_ms", "<= 1",
                   "the same for 100 random entities per call, in process"),
    "service_1": ("features_online_service_p99_ms", None,
                  "FeatureService.get_online alone (no SDK wrapper), one entity"),
    "online_store_read_1": ("features_online_store_read_p99_ms", None,
                            "OnlineStore.read of one key (the service's storage call)"),
    "sqlite_pk": ("features_online_sqlite_pk_p99_ms", None,
                  "bare sqlite3 primary-key read of the view's online table (own connection), "
                  "for scale"),
    "rest_1": ("features_online_rest_p99_ms", "<= 2",
               "POST /mlp/api/v1/features/online, one entity, 10 features, on one kept-alive "
               "http.client connection with the server's token, against a real Jupyter "
               "server with the extension"),
    "rest_status": ("features_online_rest_baseline_status_p99_ms", None,
                    "GET /api/status (Jupyter's own authenticated route, no store) on the "
                    "same connection: Jupyter's cost for any request"),
    "rest_requests_1": ("features_online_rest_requests_p99_ms", None,
                        "the one-entity lookup through requests.Session (keep-alive): "
                        "requests adds ~1 ms of client CPU per call here"),
    "rest_100": ("features_online_rest_100_p99_ms", None,
                 "the same for 100 entities per call"),
    "rest_sdk_1": ("features_online_rest_sdk_p99_ms", "<= 2",
                   "mlp.connect(url, token) then mlp.features.get_online, one entity"),
}


def bench_online(r: Runner, a) -> None:
    log(f"online: {a.online_keys:,} keys x 10 features, {a.iters} iterations ...")
    c = Child(a, "online")
    for rec in c.records:
        fig = rec.pop("fig")
        if fig == "materialize":
            if rec["failures"]:
                r.errors.append(f"materialize failed {len(rec['failures'])} time(s) before "
                                f"succeeding: {rec['failures'][0]}")
            r.record(line("features_materialize_s", "sqlite", rec["s"], "s", None,
                          keys=rec["keys"], written=rec["written"], load_avg=c.load,
                          failed_attempts=len(rec["failures"]), failures=rec["failures"],
                          note="mlp.features.materialize of the online view, in process"))
            continue
        if fig == "breakdown":
            r.record(line("features_online_breakdown_us", "sqlite", rec["total_us"], "us",
                          None, **rec, note="mean µs per one-entity, 10-feature lookup of "
                          "each step of FeatureService.get_online (service.py), in process"))
            continue
        bench, target, note = ONLINE_FIGS[fig]
        r.record(line(bench, "sqlite", rec["p99_ms"], "ms", target, **rec,
                      online_keys=a.online_keys, load_avg=c.load, load_avg_end=loadavg(),
                      note=note))


def run_backend(r: Runner, backend: str, a) -> None:
    if backend != "sqlite":
        log(f"{backend}: the feature store's figures do not depend on the store: skipped")
        return
    log(f"load average {loadavg()}")
    base = tempfile.mkdtemp(prefix="mlp-bench-features-")
    a.dir = base
    a.home = os.path.join(base, "home")
    os.makedirs(a.home)
    try:
        prepare(a)
        for name, fn in (("frame", bench_frame), ("spill", bench_spill),
                         ("online", bench_online)):
            if name in a.only:
                t = time.perf_counter()
                try:
                    fn(r, a)
                except Exception as e:  # one broken benchmark must not hide the others
                    r.errors.append(f"{name}: {type(e).__name__}: {e}")
                    log(f"{name} FAILED: {type(e).__name__}: {e}")
                log(f"{name} done in {time.perf_counter() - t:.1f}s")
    finally:
        if a.keep:
            log(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = script_parser(__doc__, DEFAULT_OUT, only="frame,spill,online")
    p.set_defaults(reps=3)
    p.add_argument("--entities", type=int, default=1_000_000, help="entity rows (1M)")
    p.add_argument("--features-rows", type=int, default=10_000_000, help="feature rows (10M)")
    p.add_argument("--customers", type=int, default=500_000, help="distinct keys (500k)")
    p.add_argument("--spill-entities", type=int, default=5_000_000,
                   help="entity rows of the spilling frame (5M)")
    p.add_argument("--memory-limit", default="300MB", help="DuckDB memory_limit when spilling")
    p.add_argument("--online-keys", type=int, default=100_000, help="keys of the online view")
    p.add_argument("--iters", type=int, default=5000, help="online lookups per figure")
    p.add_argument("--diagnose", action="store_true",
                   help="also time the engine's choices one by one (where the frame's time goes)")
    p.add_argument("--no-rest", action="store_true", help="skip the Jupyter server")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    # child mode (internal)
    import argparse

    for flag in ("--child", "--dir", "--home", "--entities-path", "--features-path",
                 "--online-path", "--output-path", "--variant"):
        p.add_argument(flag, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        out = CHILDREN[a.child](a)
        if out is not None:
            emit(out)
        return 0
    a.only = {s.strip() for s in a.only.split(",") if s.strip()}
    unknown = a.only - {"frame", "spill", "online"}
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(sorted(unknown))}")
    if a.quick:
        a.entities, a.features_rows, a.customers = 100_000, 1_000_000, 50_000
        a.spill_entities, a.memory_limit = 500_000, "100MB"
        a.online_keys, a.iters, a.reps = 10_000, 1000, 1
    return run_script(a, lambda r, backend: run_backend(r, backend, a))


if __name__ == "__main__":
    sys.exit(main())
