"""The UI router serves the built files only from its folder, and says when there is no build."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shipyard.api.routes.ui import resolve_file, ui_router

pytestmark = pytest.mark.unit


def client_for(folder: Path) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(ui_router(folder))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://ui")


async def test_without_a_build_the_ui_says_how_to_build_it(tmp_path: Path) -> None:
    async with client_for(tmp_path / "missing") as client:
        answer = await client.get("/ui/")
    assert answer.status_code == 503
    assert "scripts/setup.sh" in answer.text


async def test_serves_index_assets_and_page_addresses(tmp_path: Path) -> None:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<title>Shipyard</title>")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    async with client_for(tmp_path) as client:
        redirect = await client.get("/ui", follow_redirects=False)
        index = await client.get("/ui/")
        asset = await client.get("/ui/assets/app.js")
        page = await client.get("/ui/deployments/iris")
        missing = await client.get("/ui/assets/missing.js")
    assert redirect.headers["location"] == "/ui/"
    assert index.status_code == 200 and "Shipyard" in index.text
    assert "default-src 'self'" in index.headers["content-security-policy"]
    assert index.headers["cache-control"] == "no-cache"
    assert asset.status_code == 200 and "immutable" in asset.headers["cache-control"]
    assert page.text == index.text
    assert missing.status_code == 404


async def test_never_serves_outside_its_folder(tmp_path: Path) -> None:
    built = tmp_path / "built"
    built.mkdir()
    (built / "index.html").write_text("ok")
    (tmp_path / "secret.txt").write_text("secret")
    assert resolve_file(built, "../secret.txt") is None
    assert resolve_file(built, "") == (built / "index.html").resolve()
    for hostile in ("/etc/passwd", "a\x00b", "a" * 5000, "x/" * 300, "assets/../../secret.txt"):
        assert resolve_file(built, hostile) is None
    async with client_for(built) as client:
        answer = await client.get("/ui/..%2Fsecret.txt")
        nul = await client.get("/ui/a%00b.js")
        long = await client.get("/ui/" + "a" * 5000 + ".js")
    assert "secret" not in answer.text
    assert nul.status_code == 404 and long.status_code == 404
