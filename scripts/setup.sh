# Sourced by the other scripts: make sure uv and the locked environment are there.
# Everything comes from PyPI (uv itself included); nothing is downloaded from anywhere else.
if ! command -v uv >/dev/null 2>&1; then
    echo "== installing uv (from PyPI)"
    python3 -m pip install --quiet --disable-pip-version-check uv
fi
echo "== syncing the locked environment"
uv sync --frozen --quiet
bash .ci/ui-build.sh || echo "warning: the web UI could not be built (see above); the API works, /ui says how to build it" >&2
