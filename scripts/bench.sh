#!/usr/bin/env bash
# Run the benchmarks against SQLite and a private PostgreSQL cluster (make bench).
#
#   scripts/bench.sh                     # == make bench
#   scripts/bench.sh --only sdk,search   # extra args go to bench/tracking.py (make bench ARGS="--quick")
#
# Bootstraps first, starts scripts/pg.sh, runs bench/tracking.py from .venv with
# --pg-url, which prints JSON lines and writes bench/results/tracking.jsonl. The
# cluster is stopped afterwards, unless it was already running when we began
# (a `make test` in another terminal keeps its cluster). Exits with tracking.py's
# code: 0 when every benchmark ran (missed targets are listed in the summary line),
# 1 when one crashed, or on a missed target with --strict.
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

rc=0
.venv/bin/python bench/tracking.py --pg-url "$PG_URL" "$@" || rc=$?
exit "$rc"
