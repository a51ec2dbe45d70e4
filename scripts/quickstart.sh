#!/usr/bin/env bash
# The main job on the embedded default: set up, start Shipyard, deploy the iris example with
# 2 instances, show predictions (V1 and V2) and the addresses. The server keeps running until
# Ctrl-C (set SHIPYARD_QUICKSTART_EXIT=1 to stop right after the prediction).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

export SHIPYARD_HOME="${SHIPYARD_HOME:-$HOME/.shipyard}"
api_port="${SHIPYARD_API_PORT:-8470}"
export SHIPYARD_HOST="http://127.0.0.1:${api_port}"
server_pid=""

healthy() { uv run --frozen python -c "import httpx,sys; sys.exit(httpx.get('$SHIPYARD_HOST/healthz', timeout=1).status_code != 200)" 2>/dev/null; }

if healthy; then
    echo "== a Shipyard server already runs at $SHIPYARD_HOST: using it"
else
    echo "== starting shipyard server (data in $SHIPYARD_HOME)"
    uv run --frozen shipyard server &
    server_pid=$!
    trap '[ -n "$server_pid" ] && kill -INT "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null || true' EXIT
    for _ in $(seq 1 120); do healthy && break; sleep 0.5; done
    healthy || { echo "error: the server did not come up; see the output above" >&2; exit 1; }
fi

echo "== deploying the iris example"
name_file="$(mktemp)"
uv run --frozen python examples/quickstart.py --name-file "$name_file"
name="$(cat "$name_file")"
rm -f "$name_file"

cat <<MSG

Shipyard is up:
  web UI    $SHIPYARD_HOST/ui/  (sign in with the API key below)
  web API   $SHIPYARD_HOST/docs  (OpenAPI: $SHIPYARD_HOST/openapi.json)
  gateway   http://127.0.0.1:${SHIPYARD_GATEWAY_PORT:-8471}/v1/models/$name:predict
  API key   $SHIPYARD_HOME/api-key
  CLI       $PWD/.venv/bin/shipyard (put it on your PATH: source .venv/bin/activate)
  try       .venv/bin/shipyard deployments status $name
MSG

if [ -n "$server_pid" ] && [ "${SHIPYARD_QUICKSTART_EXIT:-0}" != "1" ]; then
    echo "(Ctrl-C stops the server and its replicas)"
    wait "$server_pid"
fi
