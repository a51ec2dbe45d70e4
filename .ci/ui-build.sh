#!/usr/bin/env bash
# Build the web UI (ui/) into src/shipyard/api/ui_static/ when the build is missing or older
# than its sources: `npm ci` (from ui/package-lock.json, the npm registry) then `npm run build`.
# The sources' hash is kept in ui_static/.source-hash, so an unchanged UI costs one hash.
# Without Node.js 20 and npm it says so and leaves the UI unbuilt (/ui then explains how to
# build it; the API works without it). Sourced or run from the repository root.
set -euo pipefail
ui_dir="ui"
out_dir="src/shipyard/api/ui_static"
[ -d "$ui_dir" ] || exit 0
hash=$(find "$ui_dir" -path "$ui_dir/node_modules" -prune -o -type f \
        \( -path "$ui_dir/src/*" -o -name package.json -o -name package-lock.json \
           -o -name index.html -o -name 'vite.config.ts' -o -name tsconfig.json \) -print \
    | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1)
if [ -f "$out_dir/index.html" ] && [ "$(cat "$out_dir/.source-hash" 2>/dev/null)" = "$hash" ]; then
    exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "warning: npm (Node.js 20) not found: the web UI is not built (the API works; /ui says how to build it)" >&2
    exit 0
fi
echo "== building the web UI (npm ci && npm run build in ui/)"
(cd "$ui_dir" && npm ci --no-audit --no-fund --loglevel=error && npm run --silent build >/dev/null)
echo "$hash" > "$out_dir/.source-hash"
