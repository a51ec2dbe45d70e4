# Shared by the .ci scripts that start a service (source it after defining `log`).

# wait_until_up NAME SECONDS PID LOGFILE CHECK...: run CHECK every 0.25 s until it succeeds (0),
# the process PID exits, or SECONDS pass (1, with the end of LOGFILE on stderr).
wait_until_up() {
    local name=$1 seconds=$2 pid=$3 logfile=$4
    shift 4
    local attempt
    for attempt in $(seq 1 $((seconds * 4))); do
        "$@" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            log "$name exited:"
            tail -n 30 "$logfile" >&2
            return 1
        fi
        sleep 0.25
    done
    "$@" && return 0
    log "$name did not answer within $seconds s:"
    tail -n 30 "$logfile" >&2
    return 1
}

# terminate PID SECONDS: SIGTERM, wait up to SECONDS for the exit, then SIGKILL (no-op when gone).
terminate() {
    local pid=$1 seconds=$2 attempt
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid"
    for attempt in $(seq 1 $((seconds * 4))); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.25
    done
    kill -KILL "$pid" 2>/dev/null || true
}
