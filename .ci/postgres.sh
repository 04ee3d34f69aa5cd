#!/usr/bin/env bash
# Start (and stop) a throwaway PostgreSQL cluster for the store tests and benchmarks.
#
# The cluster lives in a fresh mktemp directory, listens on 127.0.0.1 on a free port with trust
# auth (no password: for local tests only), and has a database `dstack_gov_test`. The server runs
# as a non-root user: `postgres` when it exists, else a system user `dstackpg` created on demand.
#
# On a developer machine:
#     eval "$(.ci/postgres.sh start)"     # exports DSTACK_GOV_TEST_PG_URL and DSTACK_GOV_PG_DIR
#     .venv/bin/pytest -q tests/store      # now runs every store test on SQLite and PostgreSQL
#     .venv/bin/python bench/store.py      # benchmarks both backends
#     .ci/postgres.sh stop                 # stops the server by its PID and deletes the directory
# PostgreSQL's server binaries must be installed (Debian: `apt-get install postgresql`); as root
# this script installs them itself when none are found.
#
# From another script, source it and use the functions (this is what .ci/run does):
#     source .ci/postgres.sh; pg_start; trap pg_stop EXIT

_pg_log() { echo "postgres.sh: $*" >&2; }

_pg_bindir() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -z "$dir" && $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
        _pg_log "no PostgreSQL server binaries found: installing Debian's postgresql package"
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >&2
        dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    fi
    [[ -n "$dir" && -x "$dir/initdb" ]] || { _pg_log "PostgreSQL server binaries not found under /usr/lib/postgresql"; return 1; }
    echo "$dir"
}

# The server refuses to run as root: pick (or create) an unprivileged account.
_pg_runas_user() {
    if [[ $(id -u) -ne 0 ]]; then
        id -un
    elif id postgres >/dev/null 2>&1; then
        echo postgres
    else
        id dstackpg >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin dstackpg
        echo dstackpg
    fi
}

_pg_as() {
    local user=$1
    shift
    if [[ $(id -u) -eq 0 ]]; then runuser -u "$user" -- "$@"; else "$@"; fi
}

_pg_free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# pg_start: initdb + start; sets and exports DSTACK_GOV_TEST_PG_URL, DSTACK_GOV_PG_DIR, DSTACK_GOV_PG_PID.
pg_start() {
    local bindir user dir port attempt
    bindir=$(_pg_bindir) || return 1
    user=$(_pg_runas_user) || return 1
    # Not $TMPDIR: it may be private to the caller, and the server runs as another user.
    dir=$(mktemp -d /tmp/dstack-gov-pg.XXXXXX) || return 1
    chmod 0755 "$dir"
    chown "$user" "$dir"
    _pg_as "$user" "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
    for attempt in 1 2 3 4 5; do
        port=$(_pg_free_port)
        # Durability is worthless for a throwaway cluster; skipping fsync keeps CREATE DATABASE fast.
        if _pg_as "$user" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start -o \
            "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            >/dev/null; then
            break
        fi
        _pg_log "start on port $port failed (attempt $attempt)"
        port=""
    done
    if [[ -z "$port" ]]; then
        cat "$dir/server.log" >&2
        return 1
    fi
    DSTACK_GOV_PG_PID=$(head -n 1 "$dir/data/postmaster.pid")
    DSTACK_GOV_PG_DIR=$dir
    echo "$DSTACK_GOV_PG_PID" >"$dir/server.pid"
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres dstack_gov_test || { pg_stop; return 1; }
    DSTACK_GOV_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:$port/dstack_gov_test"
    export DSTACK_GOV_TEST_PG_URL DSTACK_GOV_PG_DIR DSTACK_GOV_PG_PID
    _pg_log "PostgreSQL $(basename "$(dirname "$bindir")") running as $user, PID $DSTACK_GOV_PG_PID, port $port, in $dir"
    echo "export DSTACK_GOV_TEST_PG_URL=$DSTACK_GOV_TEST_PG_URL"
    echo "export DSTACK_GOV_PG_DIR=$DSTACK_GOV_PG_DIR"
}

# pg_stop [DIR]: fast-shut-down the server started in DIR (by its PID) and delete DIR.
pg_stop() {
    local dir=${1:-${DSTACK_GOV_PG_DIR:-}} pid
    [[ -n "$dir" && -d "$dir" ]] || return 0
    if [[ -f "$dir/server.pid" ]]; then
        pid=$(cat "$dir/server.pid")
        # SIGINT is PostgreSQL's "fast" shutdown: roll back open sessions, then exit.
        if kill -INT "$pid" 2>/dev/null; then
            for _ in $(seq 1 100); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -0 "$pid" 2>/dev/null && { _pg_log "PID $pid still up after 10 s: SIGQUIT"; kill -QUIT "$pid" 2>/dev/null; }
        fi
    fi
    case "$dir" in
        */dstack-gov-pg.*) rm -rf "$dir" ;;
    esac
    unset DSTACK_GOV_PG_DIR DSTACK_GOV_PG_PID DSTACK_GOV_TEST_PG_URL
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    case "${1:-}" in
        start) pg_start ;;
        stop) pg_stop "${2:-}" ;;
        *)
            echo "usage: eval \"\$($0 start)\"  ...  $0 stop [DIR]" >&2
            exit 2
            ;;
    esac
fi
