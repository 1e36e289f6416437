#!/usr/bin/env bash
# Start JupyterLab on the demo notebook (quick-start command #1).
#
#   scripts/lab.sh                      # == make lab; http://127.0.0.1:8888
#   PORT=9999 scripts/lab.sh            # another port
#   scripts/lab.sh --no-browser         # extra args go to jupyter lab (make lab ARGS=...)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/bootstrap.sh

open=()
if [ -f binder/demo.ipynb ]; then
    open=(binder/demo.ipynb)
else
    echo "[lab] binder/demo.ipynb not found; opening the file browser only" >&2
fi

exec .venv/bin/jupyter lab --allow-root --ip=127.0.0.1 --port="${PORT:-8888}" \
    --notebook-dir="$ROOT" "${open[@]}" "$@"
