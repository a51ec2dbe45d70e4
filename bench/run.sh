#!/usr/bin/env bash
# The benchmark suite in one command: bash bench/run.sh [--quick] [--only TARGET ...]
# Installs wrk (Debian) when missing, then runs python -m bench in the project's environment,
# which installs the peers' pinned virtualenvs under bench/_work/ and writes bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
    echo "== installing wrk (Debian package)"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq wrk >/dev/null
fi
source scripts/setup.sh  # uv and the project's locked environment, as the other scripts do
exec uv run --frozen python -m bench "$@"
