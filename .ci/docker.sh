#!/usr/bin/env bash
# A throwaway Docker engine for Shipyard's DOCKER tests (no systemd needed).
#
#   eval "$(bash .ci/docker.sh start)"   # start; exports DOCKER_HOST
#   bash .ci/docker.sh stop              # stop it and undo what it changed on the host
#
# One engine per machine: start refuses when docker0 exists (another engine) or when the engine
# of the state file still runs; stop only stops the engine DOCKER_HOST names (the caller's own),
# so a run whose start was refused cannot stop someone else's engine.
#
# Installs Debian's docker.io (and debootstrap, which `shipyard images bootstrap` uses) with
# apt-get when dockerd is missing (fresh Debian CI machine, run as root). dockerd runs with its
# own data root, exec root, pid file and Unix socket in a mktemp folder, so it never touches a
# system engine's state. On this kind of machine it uses cgroup v1 with the cgroupfs driver and
# overlay2 (checked and printed at start). dockerd creates the docker0 bridge and its iptables
# chains and turns ip_forward on: stop removes the bridge (if it was not there before), every
# iptables rule and chain naming DOCKER or docker0, and restores ip_forward. Only the `export`
# line goes to stdout; progress goes to stderr. State is kept in $SHIPYARD_DOCKER_STATE.
set -euo pipefail

STATE_FILE="${SHIPYARD_DOCKER_STATE:-${TMPDIR:-/tmp}/shipyard-test-docker.state}"

log() { echo "docker.sh: $*" >&2; }
# shellcheck source=.ci/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_engine() {
    if [[ "$(id -u)" != 0 ]]; then
        log "dockerd not found and not root: install docker.io first"
        exit 1
    fi
    log "installing docker.io and debootstrap with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 update -qq >&2
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq docker.io debootstrap >&2
}

# Which of the tables docker touches exist before it starts (and the FORWARD policy it sets).
table_exists() {
    if command -v nft >/dev/null 2>&1; then
        nft list table ip "$1" >/dev/null 2>&1
    else  # legacy iptables: the built-in tables always exist
        true
    fi
}

record_iptables() {
    local table
    command -v iptables-save >/dev/null 2>&1 || return 0
    for table in filter nat; do
        if table_exists "$table"; then
            echo "$table" >>"$1/iptables-tables"
        fi
    done
    if table_exists filter; then
        iptables-save -t filter | awk '$1 == ":FORWARD" {print $2}' >"$1/forward-policy"
    fi
}

# A table docker created goes entirely; one that existed loses the lines naming docker's
# chains or bridge, and FORWARD gets its policy back.
undo_iptables() {
    local table policy
    command -v iptables-save >/dev/null 2>&1 || return 0
    for table in filter nat; do
        if ! grep -qx "$table" "$1/iptables-tables" 2>/dev/null; then
            if table_exists "$table" && command -v nft >/dev/null 2>&1; then
                nft delete table ip "$table"
            fi
        elif iptables-save -t "$table" | grep -q -e DOCKER -e docker0; then
            iptables-save -t "$table" | grep -v -e DOCKER -e docker0 | iptables-restore -T "$table"
        fi
    done
    policy="$(cat "$1/forward-policy" 2>/dev/null || true)"
    if [[ -n "$policy" ]]; then
        iptables -P FORWARD "$policy"
    fi
}

engine_ready() {
    DOCKER_HOST="unix://$1" docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

start() {
    local base had_bridge forward pid
    if [[ -f "$STATE_FILE" ]]; then
        pid="$(sed -n 's/^PID=//p' "$STATE_FILE")"
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then  # someone's engine: leave it be
            log "an engine registered in $STATE_FILE runs (pid $pid): use its DOCKER_HOST or stop it"
            exit 1
        fi
        log "a stale engine is registered in $STATE_FILE; cleaning it up first"
        stop
    fi
    command -v dockerd >/dev/null 2>&1 && command -v debootstrap >/dev/null 2>&1 || install_engine
    command -v docker >/dev/null 2>&1 || { log "the docker client is missing"; exit 1; }

    if ip link show docker0 >/dev/null 2>&1; then  # two engines fight over docker0 and iptables
        log "another Docker engine runs here (docker0 exists): use it through DOCKER_HOST, or stop it"
        exit 1
    fi
    base="$(mktemp -d "${TMPDIR:-/tmp}/shipyard-docker.XXXXXX")"
    mkdir -p "$base/data" "$base/exec"
    had_bridge=0
    forward="$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null || echo 0)"
    record_iptables "$base"
    printf 'BASE=%q\nHAD_BRIDGE=%q\nFORWARD=%q\n' "$base" "$had_bridge" "$forward" >"$STATE_FILE"

    log "starting dockerd in $base"
    dockerd --data-root "$base/data" --exec-root "$base/exec" -H "unix://$base/docker.sock" \
        --pidfile "$base/docker.pid" --storage-driver overlay2 --log-level warn \
        >"$base/dockerd.log" 2>&1 &
    pid=$!
    echo "PID=$pid" >>"$STATE_FILE"
    if ! wait_until_up dockerd 30 "$pid" "$base/dockerd.log" engine_ready "$base/docker.sock"; then
        stop; exit 1
    fi
    log "$(DOCKER_HOST="unix://$base/docker.sock" docker info --format \
        'engine {{.ServerVersion}}: cgroup v{{.CgroupVersion}}, {{.CgroupDriver}} driver, {{.Driver}} storage')"
    echo "export DOCKER_HOST=unix://$base/docker.sock"
}

stop() {
    if [[ ! -f "$STATE_FILE" ]]; then
        log "nothing to stop ($STATE_FILE not found)"
        return 0
    fi
    local BASE HAD_BRIDGE FORWARD PID="" id
    # shellcheck disable=SC1090
    source "$STATE_FILE"
    if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null \
        && [[ "${DOCKER_HOST:-}" != "unix://$BASE/docker.sock" ]] \
        && [[ -z "${SHIPYARD_DOCKER_FORCE_STOP:-}" ]]; then
        log "the running engine of $STATE_FILE is not the one DOCKER_HOST names: left running" \
            "(SHIPYARD_DOCKER_FORCE_STOP=1 stops it anyway)"
        return 0
    fi
    if [[ -S "$BASE/docker.sock" ]]; then  # containers first: their docker-proxy and mounts
        for id in $(DOCKER_HOST="unix://$BASE/docker.sock" docker ps -aq 2>/dev/null); do
            DOCKER_HOST="unix://$BASE/docker.sock" docker rm -f "$id" >/dev/null 2>&1 || true
        done
    fi
    terminate "$PID" 20  # bounded: 20 s, then KILL
    # dockerd's own containerd and shims, if any survived it (matched by our exec root only)
    for id in $(pgrep -f -- "$BASE/" 2>/dev/null || true); do
        kill -KILL "$id" 2>/dev/null || true
    done
    if [[ "$HAD_BRIDGE" == 0 ]] && ip link show docker0 >/dev/null 2>&1; then
        ip link delete docker0 || true
    fi
    undo_iptables "$BASE" || log "could not remove docker's iptables rules"
    if [[ -w /proc/sys/net/ipv4/ip_forward ]]; then
        echo "$FORWARD" >/proc/sys/net/ipv4/ip_forward
    fi
    grep -q " $BASE/" /proc/mounts 2>/dev/null && \
        awk -v b="$BASE/" 'index($2, b) == 1 {print $2}' /proc/mounts | sort -r | xargs -r umount -l
    rm -rf "$BASE"
    rm -f "$STATE_FILE"
    log "stopped the engine and removed $BASE"
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    *)
        echo "usage: $0 [start|stop]" >&2
        exit 2
        ;;
esac
