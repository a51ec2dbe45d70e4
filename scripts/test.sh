#!/usr/bin/env bash
# Set up everything the tests need, then run them: lint, types, import layers, the web UI's unit
# tests, and the test suite on SQLite and on a throwaway PostgreSQL server, with a throwaway
# Docker engine for the DOCKER tests and Debian's Chromium for the UI's end-to-end tests.
# Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh   # the locked Python environment and the built web UI

bash .ci/chromium.sh      # Debian's Chromium (Playwright drives it; no browser download)

docker_started=""
cleanup() {
    if [[ -n "$docker_started" ]]; then
        bash .ci/registry.sh stop >/dev/null 2>&1 || true
        bash .ci/docker.sh stop >/dev/null 2>&1 || true
    fi
    bash .ci/postgres.sh stop >/dev/null 2>&1 || true
}
trap cleanup EXIT

eval "$(bash .ci/postgres.sh start)"
# The DOCKER tests need an engine: CI must have one (the tests fail without it there); elsewhere
# they are skipped with the reason when none can be started (not root, no apt-get).
if engine=$(bash .ci/docker.sh start); then
    eval "$engine"
    docker_started=1
    # Debian's docker-registry on loopback for the push test (skipped without it, except in CI)
    if registry=$(bash .ci/registry.sh start); then eval "$registry"; elif [[ "${CI:-}" == "true" ]]; then exit 1; fi
elif [[ "${CI:-}" == "true" ]]; then
    echo "error: could not start the Docker engine for the DOCKER tests" >&2
    exit 1
else
    echo "warning: no Docker engine: the DOCKER tests will be skipped" >&2
fi

echo "== ruff"; uv run --frozen ruff check src tests
uv run --frozen ruff format --check src tests
echo "== mypy"; uv run --frozen mypy
echo "== import layers"; uv run --frozen lint-imports
if [[ -d ui/node_modules ]]; then
    echo "== ui unit tests"; (cd ui && npm test --silent)
elif [[ "${CI:-}" == "true" ]]; then
    echo "error: the web UI was not built (npm missing?)" >&2
    exit 1
fi
echo "== pytest"; uv run --frozen pytest -q "$@"
