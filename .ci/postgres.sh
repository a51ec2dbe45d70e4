#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for Shipyard's tests.
#
#   eval "$(.ci/postgres.sh)"          # start; exports SHIPYARD_TEST_POSTGRES_URL
#   .ci/postgres.sh stop               # stop it and delete its data directory
#
# Installs the server with apt-get when initdb/pg_ctl are missing (fresh Debian CI machine,
# run as root). The cluster lives in a mktemp directory, owned by the `postgres` user when run
# as root (initdb refuses root), listens on a free loopback port, trusts loopback connections
# and runs with fsync off: it is for tests only. Only the `export` line goes to stdout; progress
# goes to stderr. State (to stop it later) is kept in $SHIPYARD_PG_STATE.
set -euo pipefail

STATE_FILE="${SHIPYARD_PG_STATE:-${TMPDIR:-/tmp}/shipyard-test-postgres.state}"
DB_NAME="shipyard"
PG_USER="postgres"

log() { echo "postgres.sh: $*" >&2; }

find_bindir() {
    local candidate
    if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    # Debian keeps the server binaries off PATH; take the newest major version.
    candidate="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [[ -n "$candidate" && -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]]; then
        echo "$candidate"
        return 0
    fi
    return 1
}

install_postgres() {
    if [[ "$(id -u)" != 0 ]]; then
        log "initdb/pg_ctl not found and not root: install PostgreSQL first"
        exit 1
    fi
    log "installing PostgreSQL with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
}

ensure_user() {
    if id -u "$PG_USER" >/dev/null 2>&1; then
        return 0
    fi
    log "creating system user $PG_USER"
    if getent group "$PG_USER" >/dev/null 2>&1; then
        useradd --system --no-create-home --gid "$PG_USER" --shell /bin/sh "$PG_USER"
    else
        useradd --system --no-create-home --user-group --shell /bin/sh "$PG_USER"
    fi
}

# Run a command as the server's owner: the postgres user when we are root, else ourselves.
as_owner() {
    if [[ "$(id -u)" != 0 ]]; then
        "$@"
    elif command -v runuser >/dev/null 2>&1; then
        runuser -u "$PG_USER" -- "$@"
    else
        su -s /bin/sh "$PG_USER" -c "$(printf '%q ' "$@")"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    local bindir base port attempt
    if [[ -f "$STATE_FILE" ]]; then
        log "a server from $STATE_FILE is still registered; stopping it first"
        stop
    fi
    bindir="$(find_bindir || true)"
    if [[ -z "$bindir" ]]; then
        install_postgres
        bindir="$(find_bindir)" || { log "PostgreSQL binaries still not found"; exit 1; }
    fi
    if [[ "$(id -u)" == 0 ]]; then
        ensure_user
    fi

    base="$(mktemp -d "${TMPDIR:-/tmp}/shipyard-pg.XXXXXX")"
    mkdir -p "$base/data" "$base/socket"
    if [[ "$(id -u)" == 0 ]]; then
        chown -R "$PG_USER:" "$base"
    fi
    chmod 700 "$base/data"
    log "initdb in $base/data ($bindir)"
    as_owner "$bindir/initdb" -D "$base/data" -U "$PG_USER" -E UTF8 --locale=C \
        --auth-local=trust --auth-host=trust --no-sync >"$base/initdb.log" 2>&1 || {
        cat "$base/initdb.log" >&2
        exit 1
    }

    for attempt in 1 2 3 4 5; do
        port=$(( 20000 + RANDOM % 30000 ))
        port_in_use "$port" && continue
        if as_owner "$bindir/pg_ctl" -D "$base/data" -l "$base/server.log" -w -t 60 \
            -o "-p $port -k $base/socket -c listen_addresses=127.0.0.1 -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >&2; then
            break
        fi
        log "start on port $port failed (attempt $attempt)"
        tail -n 20 "$base/server.log" >&2 || true
        port=""
    done
    if [[ -z "${port:-}" ]]; then
        log "could not start PostgreSQL"
        exit 1
    fi
    printf 'BASE=%q\nBINDIR=%q\nPORT=%q\n' "$base" "$bindir" "$port" >"$STATE_FILE"

    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$PG_USER" "$DB_NAME"
    log "PostgreSQL $("$bindir/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$port"
    echo "export SHIPYARD_TEST_POSTGRES_URL=postgresql+psycopg://$PG_USER@127.0.0.1:$port/$DB_NAME"
}

stop() {
    if [[ ! -f "$STATE_FILE" ]]; then
        log "nothing to stop ($STATE_FILE not found)"
        return 0
    fi
    local BASE BINDIR PORT
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    if [[ -d "$BASE/data" ]]; then
        as_owner "$BINDIR/pg_ctl" -D "$BASE/data" -m fast -w stop >&2 || true
    fi
    rm -rf "$BASE"
    rm -f "$STATE_FILE"
    log "stopped the server on port $PORT and removed $BASE"
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 [start|stop]" >&2
        exit 2
        ;;
esac
