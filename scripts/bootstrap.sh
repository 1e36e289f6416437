#!/usr/bin/env bash
# Bring this checkout to a runnable state: system packages, .venv, editable install.
# Idempotent and fast (< 5 s) when nothing changed: pip is skipped while the stamp
# in .venv matches pyproject.toml.
#
#   scripts/bootstrap.sh            # what `make lab` / `make test` run first
#   MLP_BOOTSTRAP_FORCE=1 scripts/bootstrap.sh   # reinstall the Python deps anyway
#   PYTHON=python3.12 scripts/bootstrap.sh       # interpreter used to create .venv
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

VENV="$ROOT/.venv"
EXTRAS="all,test"
STAMP="$VENV/.bootstrap-stamp"
PYTHON="${PYTHON:-python3}"

log() { printf '[bootstrap] %s\n' "$*"; }
die() { printf '[bootstrap] ERROR: %s\n' "$*" >&2; exit 1; }

# Two bootstraps at once (make lab in one terminal, make test in another) would
# fight over pip; serialize them per checkout.
if command -v flock >/dev/null 2>&1; then
    LOCK="${TMPDIR:-/tmp}/mlp-bootstrap-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1).lock"
    exec 9>"$LOCK"
    if ! flock -n 9; then
        log "another bootstrap of $ROOT is running; waiting for it"
        flock 9
    fi
fi

# --- (a) system packages ------------------------------------------------------
# postgresql: server binaries for the private test cluster (scripts/pg.sh);
# git, make: the developer workflow; chromium: the panel's browser tests (tests/lab).
# python3 / python3-venv only when the interpreter is missing or cannot create a venv
# (Debian splits ensurepip out); nodejs and npm only when there is no Node.js 18+ to
# build the JupyterLab panel with (pip install runs its build).
apt_pkgs=(postgresql git make chromium)
if ! command -v node >/dev/null 2>&1; then
    apt_pkgs+=(nodejs npm)
elif [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 18 ]; then
    die "Node.js $(node --version) is too old to build the JupyterLab panel: install Node.js 18 or newer"
fi
if ! command -v "$PYTHON" >/dev/null 2>&1; then
    [ "$PYTHON" = python3 ] || die "interpreter '$PYTHON' not found"
    apt_pkgs+=(python3 python3-venv)
elif ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then
    apt_pkgs+=(python3-venv)
fi

missing=()
for p in "${apt_pkgs[@]}"; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing+=("$p")
    fi
done
# The server binaries are what matters; accept any installed major version.
if ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null \
    && [[ ! " ${missing[*]-} " == *" postgresql "* ]]; then
    missing+=(postgresql)
fi

if [ "${#missing[@]}" -eq 0 ]; then
    log "system packages present (${apt_pkgs[*]})"
elif ! command -v apt-get >/dev/null 2>&1; then
    log "WARNING: not a Debian-like system; install yourself: ${missing[*]}"
elif [ "$(id -u)" -ne 0 ]; then
    log "WARNING: not root; please run: sudo apt-get install -y --no-install-recommends ${missing[*]}"
else
    log "installing system packages: ${missing[*]}"
    t0=$SECONDS
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-o DPkg::Lock::Timeout=600 -o Dpkg::Use-Pty=0)
    aptlog="$(mktemp "${TMPDIR:-/tmp}/mlp-apt.XXXXXX")"
    if ! apt-get "${apt_opts[@]}" update -qq >"$aptlog" 2>&1; then
        cat "$aptlog" >&2
        die "apt-get update failed"
    fi
    if ! apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" >"$aptlog" 2>&1; then
        tail -n 40 "$aptlog" >&2
        die "apt-get install ${missing[*]} failed"
    fi
    rm -f "$aptlog"
    log "system packages installed in $((SECONDS - t0)) s"
fi

# --- (b) virtualenv -------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    command -v "$PYTHON" >/dev/null 2>&1 || die "no '$PYTHON' to create .venv with"
    log "creating .venv with $("$PYTHON" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
    "$PYTHON" -m venv "$VENV"
    rm -f "$STAMP"
elif ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    die ".venv is broken (its interpreter does not run); remove it and run again: rm -rf '$VENV'"
fi

# --- (c) Python dependencies and the editable install ---------------------------
# The stamp records what was installed: pyproject.toml, the extras, the checkout
# path (editable installs point at it), the venv's Python version and the panel's
# sources (the install builds labextension/ and copies the result into .venv).
want="$( {
    cat "$ROOT/pyproject.toml"
    find "$ROOT/labextension" \( -name node_modules -o -name lib -o -name .yarn \) -prune \
        -o -type f ! -name tsconfig.tsbuildinfo -print 2>/dev/null | LC_ALL=C sort | xargs -r sha256sum
    printf '\nextras=%s\nroot=%s\n' "$EXTRAS" "$ROOT"
    "$VENV/bin/python" -c 'import sys; print(sys.version)'
} | sha256sum | cut -d' ' -f1)"

if [ -z "${MLP_BOOTSTRAP_FORCE:-}" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then
    log ".venv up to date (pyproject.toml unchanged)"
    exit 0
fi

pip=("$VENV/bin/python" -m pip --disable-pip-version-check)
piplog="$VENV/bootstrap-pip.log"
t0=$SECONDS
log "upgrading pip"
if ! "${pip[@]}" install -q --upgrade pip >"$piplog" 2>&1; then
    grep -v "^WARNING: Location 'file:" "$piplog" | tail -n 40 >&2
    die "pip upgrade failed (full log: $piplog)"
fi
log "installing -e .[$EXTRAS] (log: ${piplog#"$ROOT"/})"
if ! "${pip[@]}" install -q -e ".[$EXTRAS]" >"$piplog" 2>&1; then
    grep -v "^WARNING: Location 'file:" "$piplog" | tail -n 60 >&2
    die "pip install -e .[$EXTRAS] failed (full log: $piplog)"
fi
printf '%s\n' "$want" >"$STAMP"
log "Python dependencies installed in $((SECONDS - t0)) s"
