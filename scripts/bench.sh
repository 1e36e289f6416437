#!/usr/bin/env bash
# Run the benchmarks against SQLite and a private PostgreSQL cluster (make bench).
#
#   scripts/bench.sh                     # == make bench
#   scripts/bench.sh --only sdk,ingest   # extra args go to each script (make bench ARGS="--quick")
#
# Bootstraps first, starts scripts/pg.sh, runs bench/tracking.py, then bench/server.py
# (the same figures through a real Jupyter server), then bench/panel.py (the JupyterLab
# panel in chromium on 100k runs), from .venv with --pg-url; they print JSON lines and
# write bench/results/tracking.jsonl, server.jsonl and panel.jsonl.
# --only names benchmarks of any script (tracking.py: import, sdk, service, search,
# create; server.py: ingest, kernels; panel.py: sidebar, runview; compare.py: engine, http,
# panel; registry.py: registry; jobs.py: jobs); a script none of whose
# benchmarks is named is skipped. The cluster is stopped afterwards, unless it was
# already running when we began (a `make test` in another terminal keeps its cluster).
# Exit code: 0 when every benchmark of all three ran (missed targets are listed in the
# summary lines), 1 when one crashed, or on a missed target with --strict.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh >&2

started=0
if ! bash scripts/pg.sh status >/dev/null 2>&1; then
    started=1
fi
# EXIT runs on normal exit and on errors; turn INT/TERM/HUP into exits so it runs then too.
trap '[ "$started" -eq 0 ] || bash scripts/pg.sh stop || true' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

bash scripts/pg.sh start >/dev/null
PG_URL="$(bash scripts/pg.sh url)"
echo "[bench] PostgreSQL: $PG_URL" >&2

# Split --only between the scripts; every other argument goes to each.
only="" rest=()
while [ $# -gt 0 ]; do
    case "$1" in
        --only) only="${2:-}"; shift 2 || shift ;;
        --only=*) only="${1#--only=}"; shift ;;
        *) rest+=("$1"); shift ;;
    esac
done
tracking_only="" server_only="" panel_only="" compare_only="" registry_only="" jobs_only=""
if [ -n "$only" ]; then
    IFS=',' read -r -a names <<<"$only"
    for n in "${names[@]}"; do
        case "$n" in
            ingest|kernels) server_only="${server_only:+$server_only,}$n" ;;
            sidebar|runview) panel_only="${panel_only:+$panel_only,}$n" ;;
            engine|http|panel) compare_only="${compare_only:+$compare_only,}$n" ;;
            registry) registry_only=1 ;;
            jobs) jobs_only=1 ;;
            *) tracking_only="${tracking_only:+$tracking_only,}$n" ;;
        esac
    done
fi

rc=0
if [ -z "$only" ] || [ -n "$tracking_only" ]; then
    .venv/bin/python bench/tracking.py --pg-url "$PG_URL" ${tracking_only:+--only "$tracking_only"} \
        ${rest[@]+"${rest[@]}"} || rc=$?
fi
if [ -z "$only" ] || [ -n "$server_only" ]; then
    src=0
    .venv/bin/python bench/server.py --pg-url "$PG_URL" ${server_only:+--only "$server_only"} \
        ${rest[@]+"${rest[@]}"} || src=$?
    [ "$src" -eq 0 ] || rc=$src
fi
if [ -z "$only" ] || [ -n "$panel_only" ]; then
    prc=0
    .venv/bin/python bench/panel.py --pg-url "$PG_URL" ${panel_only:+--only "$panel_only"} \
        ${rest[@]+"${rest[@]}"} || prc=$?
    [ "$prc" -eq 0 ] || rc=$prc
fi
if [ -z "$only" ] || [ -n "$compare_only" ]; then
    crc=0
    .venv/bin/python bench/compare.py --pg-url "$PG_URL" ${compare_only:+--only "$compare_only"} \
        ${rest[@]+"${rest[@]}"} || crc=$?
    [ "$crc" -eq 0 ] || rc=$crc
fi
if [ -z "$only" ] || [ -n "$registry_only" ]; then
    rrc=0
    .venv/bin/python bench/registry.py --pg-url "$PG_URL" ${rest[@]+"${rest[@]}"} || rrc=$?
    [ "$rrc" -eq 0 ] || rc=$rrc
fi
[ -n "$only" ] || { .venv/bin/python bench/features.py ${rest[@]+"${rest[@]}"} || rc=$?; }
if [ -z "$only" ] || [ -n "$jobs_only" ]; then
    .venv/bin/python bench/jobs.py ${rest[@]+"${rest[@]}"} || rc=$?
fi
exit "$rc"
