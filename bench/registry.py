"""Model registry benchmarks (issue #6): listing 1,000 models x 50 versions. JSON lines.

    .venv/bin/python bench/registry.py                   # SQLite only
    .venv/bin/python bench/registry.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/db
    .venv/bin/python bench/registry.py --quick           # 100 models, 1 repetition

For each backend, a fresh store bulk-loaded with 1,000 models of 50 versions each (every
version linked to a run; a production and a staging version, two aliases and an open
request per model; the audit rows registering them), then:

- ``registry_list_ms``: ``RegistryService.list_models`` — the server time of ``%mlp models``
  and of the panel's registry list — median of 5 after a first call (target ≤ 200 ms);
- ``registry_list_http_ms``: ``GET /mlp/api/v1/registry/models`` through JupyterLab's
  server, response parsed;
- ``registry_magic_ms``: ``%mlp models`` in an IPython shell on the same store, in process,
  to its view (text and HTML rendered);
- ``registry_model_ms``: ``get_model`` of one model (50 versions, its requests).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "lab"))

from panel import Lab  # noqa: E402
from tracking import (  # noqa: E402
    Fresh,
    Runner,
    _bulk_insert,
    line,
    loadavg,
    log,
    run_script,
    script_parser,
)

DEFAULT_OUT = HERE / "results" / "registry.jsonl"
MODELS, VERSIONS = 1000, 50


def build(url: str, home: str, n_models: int) -> dict:
    from mlp_server.store import Store
    from mlp_server.store.schema import (
        experiments,
        model_aliases,
        model_versions,
        registered_models,
        registry_audit,
        runs,
        transition_requests,
    )

    store = Store(url, auto_migrate=True)
    t = time.perf_counter()
    now = time.time()
    policy = json.dumps({"production": {"approvals": 1, "checks": [], "validation": None}})
    with store.write() as conn:
        conn.execute(experiments.insert().values(id=1, name="registry", created_at=now))
        run_rows = [(f"{i:032x}", 1, f"train-{i}", "finished", None, now - i, now - i + 60,
                     now - i + 60, "ana", "host", 1, None, None, "script", "train.py", None)
                    for i in range(n_models)]
        _bulk_insert(conn, runs, run_rows)
        _bulk_insert(conn, registered_models, [
            (m + 1, f"model-{m:04d}", f"model number {m}", None, now, "ana", now)
            for m in range(n_models)])
        vrows, arows, audit = [], [], []
        for m in range(n_models):
            for v in range(1, VERSIONS + 1):
                stage = ("production" if v == VERSIONS - 1 else "staging" if v == VERSIONS
                         else "archived" if v < VERSIONS - 5 else "none")
                vrows.append((m + 1, v, f"{m:032x}", "model", stage, None,
                              '{"flavors": ["sklearn", "python_function"]}', now, "ana", now))
                audit.append((len(audit) + 1, now, "ana", m + 1, f"model-{m:04d}", v, "version_created",
                               None, f"runs:/{m:032x}/model", None, None))
            arows += [(m + 1, "champion", VERSIONS - 1, now), (m + 1, "candidate", VERSIONS, now)]
        _bulk_insert(conn, model_versions, vrows)
        _bulk_insert(conn, model_aliases, arows)
        _bulk_insert(conn, registry_audit, audit)
        _bulk_insert(conn, transition_requests, [
            (m + 1, m + 1, VERSIONS, "staging", "production", "pending", "ana", now, None,
             policy, None, None, None) for m in range(n_models)])
    store.dispose()
    return {"models": n_models, "versions": n_models * VERSIONS,
            "build_s": time.perf_counter() - t}


def timed(fn, reps: int) -> tuple[list[float], Any]:
    out, times = None, []
    for _ in range(1 + reps):
        t = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t) * 1e3)
    return times, out


def bench_service(r: Runner, backend: str, fresh: Fresh, built: dict, reps: int) -> None:
    from mlp_server.registry import open_registry
    from mlp_server.store import Store
    from mlp_server.tracking import TrackingService
    from mlp_server.tracking.artifacts import ArtifactStore

    svc = TrackingService(Store(fresh.url, auto_migrate=False),
                          ArtifactStore(os.path.join(fresh.home, "a")))
    reg = open_registry(svc)
    load0 = loadavg()
    times, out = timed(reg.list_models, reps)
    assert len(out) == built["models"], len(out)
    r.record(line("registry_list_ms", backend, statistics.median(times[1:]), "ms", "<= 200",
                  first_ms=times[0], calls_ms=times[1:], models=built["models"],
                  versions=built["versions"], load_avg=load0, load_avg_end=loadavg(),
                  note="RegistryService.list_models: the server time of %mlp models and the "
                       f"panel's registry list; median of {reps} after a first call"))
    times, out = timed(lambda: reg.get_model("model-0007"), reps)
    assert len(out["versions"]) == VERSIONS
    r.record(line("registry_model_ms", backend, statistics.median(times[1:]), "ms", "<= 200",
                  first_ms=times[0], calls_ms=times[1:], versions=VERSIONS,
                  note="RegistryService.get_model of one model: its versions, aliases, tags, "
                       "policy and open requests"))
    svc.store.dispose()


def bench_magic(r: Runner, backend: str, fresh: Fresh, reps: int, n_models: int) -> None:
    """%mlp models in process on the store (the SDK's LocalTransport), rendered."""
    import subprocess

    code = f"""
import json, statistics, time
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "mlp")
times = []
for _ in range({1 + reps}):
    t = time.perf_counter()
    view = ip.run_line_magic("mlp", "models")
    html, text = view._repr_html_(), repr(view)
    times.append((time.perf_counter() - t) * 1e3)
assert len(view.models) == {n_models}, len(view.models)
print(json.dumps(times))
"""
    env = {**fresh.env(), "MLP_DB_URL": fresh.url, "MLP_ARTIFACT_ROOT": fresh.home + "/a",
           "IPYTHONDIR": tempfile.mkdtemp()}
    env.pop("MLP_SERVER_URL", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=600)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    times = json.loads(out.stdout.strip().splitlines()[-1])
    r.record(line("registry_magic_ms", backend, statistics.median(times[1:]), "ms", "<= 200",
                  first_ms=times[0], calls_ms=times[1:], models=n_models,
                  note="%mlp models in an IPython shell on the store (in process), its HTML and "
                       f"text rendered; median of {reps} after a first call"))


def bench_http(r: Runner, backend: str, lab: Lab, reps: int, n_models: int) -> None:
    load0 = loadavg()

    def call():
        resp = lab.http.get(f"{lab.url}/mlp/api/v1/registry/models", timeout=120)
        resp.raise_for_status()
        return resp.json()

    times, out = timed(call, reps)
    assert len(out["models"]) == n_models
    r.record(line("registry_list_http_ms", backend, statistics.median(times[1:]), "ms",
                  "<= 200", first_ms=times[0], calls_ms=times[1:], load_avg=load0,
                  load_avg_end=loadavg(),
                  note="GET /mlp/api/v1/registry/models through JupyterLab's server, parsed"))


def run_backend(r: Runner, backend: str, args) -> None:
    with Fresh(backend, args.pg_url) as fresh, tempfile.TemporaryDirectory(
            prefix="mlp-bench-registry-") as tmp:
        log(f"{backend}: {args.models} models x {VERSIONS} versions ...")
        built = build(fresh.url, fresh.home, args.models)
        log(f"{backend}: built in {built['build_s']:.1f}s")
        bench_service(r, backend, fresh, built, args.reps)
        bench_magic(r, backend, fresh, args.reps, args.models)
        lab = Lab(fresh, Path(tmp))
        try:
            bench_http(r, backend, lab, args.reps, args.models)
        finally:
            lab.stop()


def main(argv: list[str] | None = None) -> int:
    args = script_parser(__doc__, DEFAULT_OUT).parse_args(argv)
    args.models = MODELS // 10 if args.quick else MODELS
    if args.quick:
        args.reps = 1
    return run_script(args, lambda r, backend: run_backend(r, backend, args))


if __name__ == "__main__":
    sys.exit(main())
