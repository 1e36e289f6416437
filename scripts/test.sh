#!/usr/bin/env bash
# Run the test suite against a private PostgreSQL cluster (quick-start command #2).
#
#   scripts/test.sh                 # == make test
#   scripts/test.sh -k foo -x       # extra args go to pytest (make test ARGS="-k foo")
#
# Bootstraps first, starts scripts/pg.sh, exports MLP_TEST_PG_URL, runs pytest from
# .venv and stops the cluster afterwards if it started it. Exits with pytest's code; "no tests
# collected" (5) counts as a failure.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh

# A cluster this run starts is stopped afterwards; one already running (a developer's,
# another test run's) is left alone. EXIT runs on normal exit and on errors; INT/TERM/HUP
# become exits so it runs then too.
if bash scripts/pg.sh status >/dev/null 2>&1; then
    trap '' EXIT
else
    trap 'bash scripts/pg.sh stop || true' EXIT
fi
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

bash scripts/pg.sh start >/dev/null
MLP_TEST_PG_URL="$(bash scripts/pg.sh url)"
export MLP_TEST_PG_URL
echo "[test] MLP_TEST_PG_URL=$MLP_TEST_PG_URL"

rc=0
.venv/bin/python -m pytest "$@" || rc=$?

if [ "$rc" -eq 5 ]; then
    echo "[test] ERROR: pytest collected no tests (exit 5); treating as a failure" >&2
    rc=1
fi
exit "$rc"
