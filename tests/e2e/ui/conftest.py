"""The web UI driven by Debian's Chromium (Playwright for Python) against a real server with
real replicas. Chromium comes from ``.ci/chromium.sh`` (Playwright's own download cannot work
here); the UI's files from ``scripts/setup.sh`` (``npm ci && npm run build`` in ``ui/``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.integration.system.conftest import Server, kill_leftover_replicas, upload

REPO = Path(__file__).resolve().parents[3]
CHROMIUM = Path(os.environ.get("SHIPYARD_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
UI_BUILD = REPO / "src" / "shipyard" / "api" / "ui_static" / "index.html"

PREDICTOR = """
class Predictor:
    def __init__(self):
        print("ui-e2e: predictor loaded", flush=True)

    def predict(self, inputs):
        print(f"ui-e2e: predicting {len(inputs)} row(s)", flush=True)
        return [sum(row) for row in inputs]
"""
TRANSFORMER = """
class Transformer:
    def preprocess(self, inputs):
        return inputs

    def postprocess(self, outputs):
        return outputs
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for this module's tests. Module-scoped on purpose: Playwright's sync API runs an
    event loop in this thread while it lives, and pytest-asyncio cannot start one beside it for
    the async tests of the modules after this one."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `bash .ci/chromium.sh` (scripts/test.sh does)")
    if not UI_BUILD.is_file():
        pytest.fail("the UI is not built: run `bash scripts/setup.sh` (npm ci && npm run build)")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("shipyard-ui")
    srv = Server(home=root / "home", database_url=None)
    srv.start()
    try:
        yield srv
    finally:
        if srv.proc is not None:
            srv.stop()
        kill_leftover_replicas(srv.home)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("echo-model")
    (out / "predictor.py").write_text(PREDICTOR)
    (out / "transformer.py").write_text(TRANSFORMER)
    return out


@pytest.fixture(scope="module")
def api(server: Server) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


@pytest.fixture(scope="module")
def echo_model(api: httpx.Client, model_dir: Path) -> dict:
    return upload(api, "echo", model_dir, framework="python")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    tab = context.new_page()
    errors: list[str] = []
    elsewhere: list[str] = []  # the UI works offline: every request goes to the server
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on(
        "request",
        lambda r: None if r.url.startswith("http://127.0.0.1:") else elsewhere.append(r.url),
    )
    yield tab
    context.close()
    assert errors == [], f"errors in the page: {errors}"
    assert elsewhere == [], f"requests to other hosts: {elsewhere}"


def sign_in(page: Page, server: Server, key: str | None = None) -> None:
    page.goto(f"{server.api}/ui/")
    page.get_by_label("Project API key").fill(key or server.key)
    page.get_by_role("button", name="Sign in").click()
    if key is None:  # wait for the app, as a user does, before going anywhere
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def shot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
