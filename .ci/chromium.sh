#!/usr/bin/env bash
# Debian's Chromium for the web UI's end-to-end tests (Playwright for Python drives it through
# executable_path; Playwright's own browser download cannot work here). Installs it with
# apt-get when /usr/bin/chromium is missing (fresh Debian CI machine, run as root; ~50 s).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
echo "== installing chromium (apt-get) for the UI's end-to-end tests" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq chromium >&2
