#!/usr/bin/env bash
# A throwaway image registry on 127.0.0.1 for Shipyard's push tests (SHIPYARD_IMAGE_REGISTRY).
#
#   eval "$(bash .ci/registry.sh start)"   # start; exports SHIPYARD_TEST_REGISTRY=127.0.0.1:PORT
#   bash .ci/registry.sh stop              # stop it and delete its storage
#
# Installs Debian's docker-registry (the CNCF distribution registry, v2 API) with apt-get when
# it is missing (fresh Debian CI machine, run as root). It runs from its own config file with
# its own storage folder in a mktemp directory, on a free loopback port: never the package's
# /etc/docker/registry/config.yml or /var/lib/docker-registry, and never its service (no
# systemd here; the package's init script is left alone). Docker engines treat registries on
# 127.0.0.0/8 as insecure-allowed by default, so plain HTTP works without engine settings.
# Idempotent: a registry already registered in the state file and running is reused. Only the
# `export` line goes to stdout; progress goes to stderr. State is kept in
# $SHIPYARD_REGISTRY_STATE.
set -euo pipefail

STATE_FILE="${SHIPYARD_REGISTRY_STATE:-${TMPDIR:-/tmp}/shipyard-test-registry.state}"

log() { echo "registry.sh: $*" >&2; }
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

find_binary() {
    command -v docker-registry 2>/dev/null || command -v registry 2>/dev/null \
        || { [[ -x /usr/bin/docker-registry ]] && echo /usr/bin/docker-registry; } || true
}

install_registry() {
    if [[ "$(id -u)" != 0 ]]; then
        log "docker-registry not found and not root: install Debian's docker-registry first"
        exit 1
    fi
    log "installing docker-registry with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    # policy-rc.d 101: the package's service must not start (it would take port 5000)
    local policy=/usr/sbin/policy-rc.d had_policy=0
    [[ -e "$policy" ]] && had_policy=1
    [[ "$had_policy" == 1 ]] || printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    apt-get -o DPkg::Lock::Timeout=300 update -qq >&2 || true
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
        docker-registry >&2 || { [[ "$had_policy" == 1 ]] || rm -f "$policy"; exit 1; }
    [[ "$had_policy" == 1 ]] || rm -f "$policy"
}

answers() {  # the v2 API's base endpoint: 200 (no auth configured)
    python3 - "$1" <<'EOF'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://{sys.argv[1]}/v2/", timeout=2) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    local binary base port pid ADDRESS="" PID=""
    if [[ -f "$STATE_FILE" ]]; then
        # shellcheck disable=SC1090
        source "$STATE_FILE"
        if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null && answers "$ADDRESS"; then
            log "reusing the registry of $STATE_FILE at $ADDRESS"
            echo "export SHIPYARD_TEST_REGISTRY=$ADDRESS"
            return 0
        fi
        log "a stale registry is registered in $STATE_FILE; cleaning it up first"
        stop
    fi
    binary="$(find_binary)"
    if [[ -z "$binary" ]]; then
        install_registry
        binary="$(find_binary)"
    fi
    [[ -n "$binary" ]] || { log "docker-registry is still missing after the install"; exit 1; }
    base="$(mktemp -d "${TMPDIR:-/tmp}/shipyard-registry.XXXXXX")"
    mkdir -p "$base/storage"
    port="$(free_port)"
    cat >"$base/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $base/storage
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
EOF
    log "starting $binary on 127.0.0.1:$port (storage $base/storage)"
    "$binary" serve "$base/config.yml" >"$base/registry.log" 2>&1 &
    pid=$!
    printf 'BASE=%q\nPID=%q\nADDRESS=%q\n' "$base" "$pid" "127.0.0.1:$port" >"$STATE_FILE"
    if ! wait_until_up "the registry" 20 "$pid" "$base/registry.log" answers "127.0.0.1:$port"; then
        stop; exit 1
    fi
    echo "export SHIPYARD_TEST_REGISTRY=127.0.0.1:$port"
}

stop() {
    if [[ ! -f "$STATE_FILE" ]]; then
        log "nothing to stop ($STATE_FILE not found)"
        return 0
    fi
    local BASE="" PID="" ADDRESS=""
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    terminate "$PID" 10  # bounded: 10 s, then KILL
    [[ -n "$BASE" && "$BASE" == */shipyard-registry.* ]] && rm -rf "$BASE"
    rm -f "$STATE_FILE"
    log "stopped the registry${ADDRESS:+ at $ADDRESS}"
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 [start|stop]" >&2
        exit 2
        ;;
esac
