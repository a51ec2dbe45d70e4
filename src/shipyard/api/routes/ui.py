"""The web UI's files, served by the control plane under ``/ui`` (same port as the API).

The UI's source is in ``ui/`` at the repository root; ``scripts/setup.sh`` builds it (``npm ci
&& npm run build``) into ``shipyard/api/ui_static/``, which this router serves as it is. The UI
is a single page that talks to the public REST API only. Without a build, ``/ui`` answers 503
with the command to run. No file is served from outside the folder; every answer carries a
Content-Security-Policy that allows only this origin (the UI works offline, nothing from a CDN).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

DEFAULT_UI_DIR = Path(__file__).resolve().parents[1] / "ui_static"
MAX_PATH = 512  # longer asset paths are not ours
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
NOT_BUILT = """<!doctype html><meta charset="utf-8"><title>Shipyard UI not built</title>
<h1>The Shipyard web UI has not been built</h1>
<p>Build it once with <code>bash scripts/setup.sh</code> (it runs <code>npm ci &amp;&amp;
npm run build</code> in <code>ui/</code>; needs Node.js 20), then reload this page.
The REST API works without it: see <a href="/docs">/docs</a>.</p>"""


def resolve_file(folder: Path, path: str) -> Path | None:
    """The file ``path`` names inside ``folder`` (``""`` = index.html), or None when it is
    missing or would lie outside the folder."""
    if len(path) > MAX_PATH or "\x00" in path:
        return None
    root = folder.resolve()
    try:
        target = (root / (path or "index.html")).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            return None
    except (OSError, ValueError):  # a name too long for the file system, and the like
        return None
    return target


def ui_router(folder: Path = DEFAULT_UI_DIR) -> APIRouter:
    """Routes for ``/ui`` (redirect), ``/ui/`` (the page) and ``/ui/<asset>``."""
    router = APIRouter(include_in_schema=False)

    @router.get("/ui")
    def ui_root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=307)

    @router.get("/ui/{path:path}")
    def ui_file(path: str) -> Response:
        if not (folder / "index.html").is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers=HEADERS)
        found = resolve_file(folder, path)
        if found is None:
            if "." not in path.rsplit("/", 1)[-1]:  # a page address: the single page
                found = folder / "index.html"
            else:
                return Response("not found", status_code=404, headers=HEADERS)
        cache = "no-cache" if found.name == "index.html" else "public, max-age=31536000, immutable"
        return FileResponse(found, headers={**HEADERS, "Cache-Control": cache})

    return router
