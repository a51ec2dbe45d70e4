#!/usr/bin/env bash
# Set up everything the tests need, then run them: lint, types, import layers, the test suite
# on SQLite and on a throwaway PostgreSQL server. Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh

eval "$(bash .ci/postgres.sh start)"
trap 'bash .ci/postgres.sh stop >/dev/null 2>&1 || true' EXIT

echo "== ruff"; uv run --frozen ruff check src tests
uv run --frozen ruff format --check src tests
echo "== mypy"; uv run --frozen mypy
echo "== import layers"; uv run --frozen lint-imports
echo "== pytest"; uv run --frozen pytest -q "$@"
