#!/usr/bin/env bash
# A private, throw-away PostgreSQL cluster for the test suite.
#
#   scripts/pg.sh start    # init once, start on a free 127.0.0.1 port, create db mlp_test
#   scripts/pg.sh url      # postgresql+psycopg://postgres@127.0.0.1:PORT/mlp_test
#   scripts/pg.sh status   # exit 0 when running
#   scripts/pg.sh stop     # fast shutdown; no-op when not running
#
# It never touches the system's clusters or port 5432: the data lives in
# ${MLP_PG_DIR:-<repo>/.pg}, the port is picked free each start, and nothing
# outside that directory is stopped. Durability is switched off (test data only).
# As root the server runs as the `postgres` system user (PostgreSQL refuses root).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DB=mlp_test

log() { printf '[pg] %s\n' "$*" >&2; }
die() { printf '[pg] ERROR: %s\n' "$*" >&2; exit 1; }

# --- binaries -------------------------------------------------------------------
find_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        [ -x "$PG_BIN/pg_ctl" ] || die "PG_BIN=$PG_BIN has no pg_ctl"
        printf '%s\n' "$PG_BIN"
        return
    fi
    local d
    d="$(for x in /usr/lib/postgresql/*/bin; do [ -x "$x/pg_ctl" ] && printf '%s\n' "$x"; done \
        | sort -V | tail -n 1)"
    [ -n "$d" ] || die "no PostgreSQL server in /usr/lib/postgresql/*/bin; run scripts/bootstrap.sh"
    printf '%s\n' "$d"
}

# --- who runs the server ----------------------------------------------------------
AS=()          # command prefix that runs a program as the cluster owner
if [ "$(id -u)" -eq 0 ]; then
    if ! id -u postgres >/dev/null 2>&1; then
        log "creating system user postgres"
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
    AS=(runuser -u postgres --)
fi
as_owner() { (cd / && "${AS[@]}" "$@"); }

# --- data directory ----------------------------------------------------------------
# Default: <repo>/.pg. When running as root the postgres user must be able to reach
# it; if the checkout lives somewhere it cannot traverse (e.g. under /root), fall
# back to a per-checkout directory in /tmp. The choice is deterministic so that
# start, url and stop always agree.
pick_dir() {
    local d="${MLP_PG_DIR:-$ROOT/.pg}"
    case "$d" in /*) ;; *) d="$PWD/$d" ;; esac
    if [ "${#AS[@]}" -gt 0 ] && [ -z "${MLP_PG_DIR:-}" ]; then
        if ! as_owner test -x "$(dirname "$d")"; then
            d="${TMPDIR:-/tmp}/mlp-pg-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1)"
        fi
    fi
    printf '%s\n' "$d"
}
DIR="$(pick_dir)"

pyexe() {
    if [ -x "$ROOT/.venv/bin/python" ]; then "$ROOT/.venv/bin/python" "$@"; else python3 "$@"; fi
}

free_port() {
    pyexe -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# pid of our postmaster if it is really running, else nothing. A postmaster.pid
# left by a killed run names a dead pid, or one reused by an unrelated process:
# both count as not running.
running_pid() {
    local pidfile="$DIR/postmaster.pid" pid
    [ -f "$pidfile" ] || return 1
    pid="$(head -n 1 "$pidfile" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    [ -r "/proc/$pid/cmdline" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -e 'postgres' -e 'postmaster' || return 1
    # the process must be the postmaster of *this* data directory
    [ "$(readlink -f "/proc/$pid/cwd" 2>/dev/null || true)" = "$(readlink -f "$DIR")" ] || return 1
    printf '%s\n' "$pid"
}

# port of the running server: line 4 of postmaster.pid, else DIR/port
current_port() {
    local p
    p="$(sed -n 4p "$DIR/postmaster.pid" 2>/dev/null || true)"
    [[ "$p" =~ ^[0-9]+$ ]] || p="$(cat "$DIR/port" 2>/dev/null || true)"
    [[ "$p" =~ ^[0-9]+$ ]] || return 1
    printf '%s\n' "$p"
}

url_for() { printf 'postgresql+psycopg://postgres@127.0.0.1:%s/%s\n' "$1" "$DB"; }

init_cluster() {
    local bin="$1" ver
    ver="$(basename "$(dirname "$bin")")"
    if [ -f "$DIR/PG_VERSION" ]; then
        if [ "$(cat "$DIR/PG_VERSION")" = "$ver" ]; then
            return 0
        fi
        log "data dir is from PostgreSQL $(cat "$DIR/PG_VERSION"), server is $ver: re-initializing (test data only)"
        rm -rf "$DIR"
    elif [ -d "$DIR" ] && [ -n "$(ls -A "$DIR" 2>/dev/null)" ]; then
        # a half-initialized dir from an interrupted initdb
        log "removing incomplete data dir $DIR"
        rm -rf "$DIR"
    fi
    mkdir -p "$DIR"
    [ "${#AS[@]}" -eq 0 ] || chown postgres: "$DIR"
    chmod 700 "$DIR"
    log "initdb $DIR (PostgreSQL $ver)"
    local out
    if ! out="$(as_owner "$bin/initdb" -D "$DIR" -A trust -U postgres --no-sync -E UTF8 --no-locale 2>&1)"; then
        printf '%s\n' "$out" >&2
        die "initdb failed"
    fi
}

ensure_db() {
    local bin="$1" port="$2" out
    if ! out="$(PGCONNECT_TIMEOUT=10 "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres -w "$DB" 2>&1)"; then
        case "$out" in
            *"already exists"*) ;;
            *) printf '%s\n' "$out" >&2; die "createdb $DB failed" ;;
        esac
    fi
}

cmd_start() {
    local bin pid port try out
    bin="$(find_bin)"
    if pid="$(running_pid)"; then
        port="$(current_port)" || die "server running (pid $pid) but its port is unknown"
        printf '%s\n' "$port" >"$DIR/port"
        ensure_db "$bin" "$port"
        log "already running (pid $pid) on 127.0.0.1:$port"
        url_for "$port"
        return 0
    fi

    init_cluster "$bin"
    # the owner must own everything (a previous run as another user, a copied dir)
    [ "${#AS[@]}" -eq 0 ] || chown -R postgres: "$DIR"

    if [ -f "$DIR/postmaster.pid" ]; then
        log "removing stale postmaster.pid (left by a killed run)"
        rm -f "$DIR/postmaster.pid"
    fi

    # unix socket in DIR when the path fits (sun_path is 107 bytes), else none:
    # clients here connect over TCP anyway.
    local sockdir="$DIR"
    [ "${#DIR}" -le 80 ] || sockdir=""

    for try in 1 2 3; do
        port="$(free_port)"
        if out="$(as_owner "$bin/pg_ctl" -w -t 60 -D "$DIR" -l "$DIR/log" \
            -o "-h 127.0.0.1 -p $port -k '$sockdir' -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start 2>&1)"; then
            printf '%s\n' "$port" >"$DIR/port"
            ensure_db "$bin" "$port"
            log "started on 127.0.0.1:$port (data: $DIR)"
            url_for "$port"
            return 0
        fi
        # a port race with another process is the likely cause: try another port
        log "start on port $port failed (try $try/3): ${out##*$'\n'}"
        rm -f "$DIR/postmaster.pid"
    done
    tail -n 30 "$DIR/log" >&2 2>/dev/null || true
    die "could not start PostgreSQL (log: $DIR/log)"
}

cmd_stop() {
    local bin pid
    if ! pid="$(running_pid)"; then
        if [ -f "$DIR/postmaster.pid" ]; then
            log "not running; removing stale postmaster.pid"
            rm -f "$DIR/postmaster.pid"
        else
            log "not running"
        fi
        rm -f "$DIR/port"
        return 0
    fi
    bin="$(find_bin)"
    if ! as_owner "$bin/pg_ctl" -D "$DIR" -m fast -w -t 60 stop >/dev/null 2>&1; then
        # last resort, and only for our own postmaster
        if pid="$(running_pid)"; then
            log "pg_ctl stop failed; sending SIGQUIT to our postmaster $pid"
            kill -QUIT "$pid" 2>/dev/null || true
            sleep 1
        fi
    fi
    rm -f "$DIR/port"
    log "stopped"
}

cmd_url() {
    local port
    running_pid >/dev/null || die "not running; run: scripts/pg.sh start"
    port="$(current_port)" || die "port unknown"
    url_for "$port"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    url) cmd_url ;;
    status)
        if pid="$(running_pid)"; then
            echo "running (pid $pid) on 127.0.0.1:$(current_port || echo '?'), data: $DIR"
        else
            echo "not running (data: $DIR)"
            exit 3
        fi
        ;;
    *)
        echo "usage: $0 start|stop|url|status" >&2
        exit 2
        ;;
esac
