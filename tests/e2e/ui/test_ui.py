"""The web UI end to end: Chromium against a real server with real replicas (issue 21).

One server per module; the tests run in file order and build on each other (the deployments
the form tests create are the ones the page tests drive), as a user would."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.ui.conftest import PREDICTOR, shot, sign_in
from tests.integration.system.conftest import Server, deploy, upload, wait_state, wait_until
from tests.integration.system.test_limits import HOG

pytestmark = pytest.mark.e2e
RUNNING = 120_000  # ms: replicas start on a busy machine
MISSING = "shipyard-no-such-package-7f3a"  # on no index: its build fails resolving


# pixels of the limit line's red (#c62828, dashed) on a chart's canvas: the line is drawn, not
# only described (no OOM mark, also red, exists on these charts)
LIMIT_PIXELS = """(figure) => {
  const canvas = figure.querySelector("canvas");
  const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i] > 150 && d[i + 1] < 110 && d[i + 2] < 110 && d[i + 3] > 200) n++;
  }
  return n;
}"""


def field_problems(page: Page, path: str):
    return page.locator(f'.field[data-field="{path}"] .problems')


def test_sign_in_keeps_the_key_in_the_tab_and_shows_the_empty_state(
    page: Page, server: Server
) -> None:
    page.goto(f"{server.api}/ui/")
    expect(page.get_by_role("heading", name="Sign in to Shipyard")).to_be_visible()
    shot(page, "01-sign-in")
    sign_in(page, server, key="not-a-key")
    expect(page.get_by_role("alert")).to_contain_text("not valid")
    sign_in(page, server)
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    expect(page.get_by_role("link", name="New deployment", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Create new deployment")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    for name in ("Deployments", "Models", "Environments"):
        expect(nav.get_by_role("link", name=name)).to_be_visible()
    shot(page, "02-deployments-empty")
    assert page.evaluate("sessionStorage.getItem('shipyard.apiKey')") == server.key
    assert page.evaluate("localStorage.length") == 0
    assert server.key not in page.url
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_label("Project API key")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('shipyard.apiKey')") is None


def test_simple_form_creates_a_deployment_that_runs(
    page: Page, server: Server, echo_model: dict
) -> None:
    sign_in(page, server)
    page.get_by_role("link", name="New deployment", exact=True).click()
    expect(page.get_by_role("heading", name="Create new deployment")).to_be_visible()
    page.get_by_label("Name", exact=True).fill("simple")
    expect(page.get_by_label("Model", exact=True)).to_have_value("echo")
    page.get_by_label("Predictor script").select_option("predictor.py")
    page.get_by_label("Instances", exact=True).fill("1")
    expect(page.locator("#resolution")).to_contain_text("What LOCAL applies")
    shot(page, "03-form-simple")
    page.get_by_role("button", name="Create new deployment").click()
    expect(page.get_by_role("heading", name=re.compile("simple"))).to_be_visible()
    expect(page.locator("h1 [data-state]")).to_have_text("RUNNING", timeout=RUNNING)


def new_form(page: Page, server: Server, name: str) -> None:
    sign_in(page, server)
    page.get_by_role("link", name="Create new deployment").click()
    page.get_by_label("Name", exact=True).fill(name)
    expect(page.get_by_label("Model", exact=True)).to_have_value("echo")
    page.get_by_label("Predictor script").select_option("predictor.py")
    page.get_by_role("button", name="Advanced options").click()


def test_a_request_above_its_limit_shows_the_fields_error(
    page: Page, server: Server, echo_model: dict
) -> None:
    new_form(page, server, "too-big")
    page.locator('[name="predictor.resources.requests.memory"]').fill("2048")
    page.locator('[name="predictor.resources.limits.memory"]').fill("512")
    problems = field_problems(page, "predictor.resources.requests.memory")
    expect(problems).to_contain_text("requested 2048 MiB is above the limit of 512 MiB")
    expect(page.locator('[name="predictor.resources.requests.memory"]')).to_have_attribute(
        "aria-invalid", "true"
    )
    shot(page, "04-form-field-error")
    page.locator('[name="predictor.resources.requests.memory"]').fill("256")
    expect(problems).to_be_empty()


def test_docker_shows_its_warning_and_refuses_a_transformer_before_submitting(
    page: Page, server: Server, echo_model: dict, api: httpx.Client
) -> None:
    new_form(page, server, "on-docker")
    page.get_by_label("Serving tool").select_option("DOCKER")
    page.locator('[name="predictor.resources.requests.cores"]').fill("0.5")
    warning = page.locator(".deploy-form .warning").first
    expect(warning).to_contain_text(re.compile("limit", re.I))
    expect(page.locator("#resolution")).to_contain_text("What DOCKER applies")
    shot(page, "05-form-docker-warning")
    page.get_by_label("Serving tool").select_option("KUBERNETES")
    limits = field_problems(page, "predictor.resources.limits.cores")
    expect(limits).to_contain_text("is not applied")
    page.get_by_label("Serving tool").select_option("DOCKER")
    page.get_by_label("Add a transformer").check()
    page.get_by_label("Transformer script").select_option("transformer.py")
    expect(page.locator(".deploy-form .error").first).to_contain_text("transformer")
    assert api.get("/deployments/on-docker").status_code == 404  # nothing was submitted


def test_advanced_form_with_predictor_and_transformer_resources_runs(
    page: Page, server: Server, echo_model: dict, api: httpx.Client
) -> None:
    new_form(page, server, "advanced")
    values = {
        "predictor.resources.requests.cores": "0.25",
        "predictor.resources.requests.memory": "64",
        "predictor.resources.limits.cores": "1",
        "predictor.resources.limits.memory": "384",
    }
    for name, value in values.items():
        page.locator(f'[name="{name}"]').fill(value)
    page.get_by_label("Add a transformer").check()
    page.get_by_label("Transformer script").select_option("transformer.py")
    transformer = {
        "transformer.resources.requests.cores": "0.1",
        "transformer.resources.requests.memory": "48",
        "transformer.resources.limits.cores": "0.5",
        "transformer.resources.limits.memory": "256",
    }
    for name, value in transformer.items():
        page.locator(f'[name="{name}"]').fill(value)
    expect(page.locator("#resolution")).to_contain_text("transformer")
    shot(page, "06-form-advanced")
    page.get_by_role("button", name="Create new deployment").click()
    expect(page.locator("h1 [data-state]")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Deployments").click()
    row = page.locator('tr[data-deployment="advanced"]')
    expect(row.locator("[data-state]")).to_have_text("RUNNING", timeout=RUNNING)
    expect(row).to_contain_text("transformer 1/1")
    shot(page, "07-deployments-list")
    spec = api.get("/deployments/advanced").json()["spec"]
    assert spec["predictor"]["resources"]["limits"] == {"cores": 1.0, "memory": 384, "gpus": 0}
    assert spec["transformer"]["resources"]["requests"] == {"cores": 0.1, "memory": 48, "gpus": 0}


def test_deployment_page_charts_logs_scale_stop_start_and_predict(
    page: Page, server: Server, echo_model: dict, api: httpx.Client
) -> None:
    wait_state(api, "simple", "RUNNING", timeout=120)
    sign_in(page, server)
    page.locator('tr[data-deployment="simple"] a').click()
    expect(page.locator("h1 [data-state]")).to_have_text("RUNNING", timeout=RUNNING)

    memory = page.locator('.chart[data-metric="memory"]').first
    expect(memory).to_have_attribute("data-limit", "1024", timeout=30_000)
    expect(memory).to_contain_text("limit 1024 MiB")
    expect(memory.locator("canvas")).to_be_visible()
    expect(memory).not_to_have_attribute("data-samples", "0", timeout=30_000)
    assert memory.evaluate(LIMIT_PIXELS) > 50, "no limit line drawn on the memory chart"
    expect(page.locator('.chart[data-metric="cpu"]').first).to_contain_text("limit 2 cores")

    logs = page.locator("pre.logs")
    expect(logs).to_contain_text("ui-e2e: predictor loaded")
    page.get_by_label("Follow").check()
    expect(logs).to_contain_text("ui-e2e: predictor loaded")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_label("Answer")).to_contain_text("predictions", timeout=60_000)
    expect(logs).to_contain_text("ui-e2e: predicting 1 row(s)", timeout=30_000)
    expect(page.get_by_label("curl")).to_contain_text("/v1/models/simple:predict")
    shot(page, "08-deployment-page")

    page.get_by_label("Predictor instances").fill("2")
    page.get_by_role("button", name="Scale predictor").click()
    expect(page.locator("[data-counts]")).to_have_text("predictor 2/2", timeout=RUNNING)
    expect(page.locator(".instance-charts[data-instance]")).to_have_count(2, timeout=30_000)
    expect(page.locator('tr[data-revision="2"]')).to_contain_text("num_instances")

    page.get_by_role("button", name="Stop").click()
    expect(page.locator("h1 [data-state]")).to_have_text("STOPPED", timeout=RUNNING)
    page.get_by_role("button", name="Start").click()
    expect(page.locator("h1 [data-state]")).to_have_text("RUNNING", timeout=RUNNING)
    expect(page.locator("[data-counts]")).to_have_text("predictor 2/2", timeout=RUNNING)
    expect(page.locator(".instance-charts[data-instance]")).to_have_count(2, timeout=30_000)
    expect(page.get_by_label("Usage events")).to_contain_text("SCALE")
    shot(page, "09-deployment-scaled")


UNLABELLED = """[...document.querySelectorAll('input, select, textarea')]
  .filter((el) => el.type !== 'hidden' && !el.closest('[hidden]'))
  .filter((el) => !el.labels?.length && !el.getAttribute('aria-label'))
  .map((el) => el.name || el.outerHTML)"""


def test_edit_resources_rolls_out_and_rollback_restores(
    page: Page, server: Server, echo_model: dict, api: httpx.Client
) -> None:
    wait_state(api, "simple", "RUNNING", timeout=120)
    before = api.get("/deployments/simple").json()["revision"]
    sign_in(page, server)
    page.goto(f"{server.api}/ui/#/deployments/simple")
    page.get_by_role("link", name="Edit resources").click()
    expect(page.get_by_role("heading", name="Edit deployment simple")).to_be_visible()
    limit = page.locator('[name="predictor.resources.limits.memory"]')
    expect(limit).to_have_value("1024")
    expect(page.get_by_label("Name", exact=True)).to_have_value("simple")
    assert page.evaluate(UNLABELLED) == []
    limit.fill("640")
    expect(page.locator("#resolution")).to_contain_text("640 MiB")
    shot(page, "13-edit-form")
    page.get_by_role("button", name="Save (rolling update)").click()
    expect(page.locator(f'tr[data-revision="{before + 1}"]')).to_contain_text("1024 -> 640")
    memory = page.locator('.chart[data-metric="memory"]').first
    expect(memory).to_have_attribute("data-limit", "640", timeout=RUNNING)
    expect(page.locator("h1 [data-state]")).to_have_text("RUNNING", timeout=RUNNING)
    shot(page, "13-after-edit")
    page.locator(f'tr[data-revision="{before}"]').get_by_role("button", name="Roll back").click()
    expect(page.locator(f'tr[data-revision="{before + 2}"]')).to_contain_text(
        f"rollback to revision {before}"
    )
    spec = api.get("/deployments/simple").json()["spec"]
    assert spec["predictor"]["resources"]["limits"]["memory"] == 1024


def test_an_oom_kill_shows_in_the_instances_and_is_marked_on_the_memory_chart(
    page: Page, server: Server, api: httpx.Client, tmp_path
) -> None:
    (tmp_path / "predictor.py").write_text(HOG)
    model = upload(api, "hog", tmp_path, framework="python")
    limits = {"cores": 1, "memory": 200}
    resources = {"num_instances": 1, "requests": {"cores": 0.1, "memory": 64}, "limits": limits}
    deploy(api, "hog", model, script_file="predictor.py", resources=resources)
    wait_state(api, "hog", "RUNNING", timeout=120)
    sign_in(page, server)
    page.goto(f"{server.api}/ui/#/deployments/hog")
    memory = page.locator('.chart[data-metric="memory"]').first
    expect(memory).to_have_attribute("data-limit", "200", timeout=30_000)
    page.get_by_label("V1 request body (JSON)").fill('{"instances": [1]}')
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_label("Answer")).to_contain_text("50", timeout=60_000)  # a 5xx
    expect(page.locator("tr[data-replica]").first).to_contain_text("OOMKilled", timeout=30_000)
    expect(page.get_by_label("Usage events")).to_contain_text("OOM", timeout=30_000)
    expect(page.locator('.chart[data-metric="memory"][data-ooms="1"]')).to_have_count(
        1, timeout=30_000
    )
    expect(page.locator('.chart[data-metric="memory"]').first).to_contain_text("OOM kill")
    shot(page, "14-oom-marked")
    api.delete("/deployments/hog")


def test_scaling_an_autoscaled_deployment_changes_its_range(
    page: Page, server: Server, api: httpx.Client, echo_model: dict
) -> None:
    scaling = {"min_instances": 1, "max_instances": 2}
    deploy(api, "auto", echo_model, script_file="predictor.py", scaling=scaling)
    sign_in(page, server)
    page.goto(f"{server.api}/ui/#/deployments/auto")
    expect(page.locator("[data-counts]")).to_have_text("predictor 1/1-2", timeout=RUNNING)
    page.get_by_label("Predictor maximum instances").fill("3")
    page.get_by_role("button", name="Scale predictor").click()
    expect(page.locator('tr[data-revision="2"]')).to_contain_text("max_instances: 2 -> 3")
    expect(page.locator("[data-counts]")).to_contain_text("1-3")
    page.get_by_label("Predictor minimum instances").fill("-1")
    page.get_by_role("button", name="Scale predictor").click()
    expect(page.get_by_role("status").first).to_contain_text("whole numbers")
    assert api.get("/deployments/auto").json()["revision"] == 2
    api.delete("/deployments/auto")


def test_keyboard_only_sign_in_and_navigation(page: Page, server: Server) -> None:
    page.goto(f"{server.api}/ui/")
    page.keyboard.type(server.key)  # the key field has the focus
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    nav = page.get_by_role("navigation", name="Main")
    nav.get_by_role("link", name="Deployments").focus()
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Models")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Models")).to_be_visible()
    assert page.evaluate(UNLABELLED) == []
    page.goto(f"{server.api}/ui/#/deployments/new")
    page.get_by_role("button", name="Advanced options").press("Enter")
    expect(page.get_by_role("heading", name="Resource allocation")).to_be_visible()
    assert page.evaluate(UNLABELLED) == []


def test_models_and_environments_pages(
    page: Page, server: Server, echo_model: dict, model_dir
) -> None:
    sign_in(page, server)
    page.get_by_role("link", name="Models").click()
    expect(page.locator('tr[data-model="echo"]')).to_be_visible()
    shot(page, "10-models")
    page.get_by_label("Model name").fill("from-folder")
    page.get_by_label("Folder").set_input_files(model_dir)
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_role("heading", name=re.compile("from-folder"))).to_be_visible()
    version = page.locator('[data-version="1"]')
    expect(version).to_contain_text("2 file(s)")
    version.get_by_text("2 file(s)").click()
    expect(version).to_contain_text("transformer.py")
    shot(page, "10-model")
    page.get_by_role("link", name="Environments").click()
    expect(page.locator("[data-environment]").first).to_be_visible()
    shot(page, "11-environments")


def test_environment_builds_and_their_logs(
    page: Page, server: Server, api: httpx.Client, echo_model: dict, tmp_path
) -> None:
    (tmp_path / "predictor.py").write_text(PREDICTOR)
    (tmp_path / "requirements.txt").write_text("six==1.16.0\n")
    model = upload(api, "with-reqs", tmp_path, framework="python")
    deploy(api, "with-reqs", model, script_file="predictor.py")
    wait_until(lambda: api.get("/environments/builds").json(), 60, "the build to be listed")
    sign_in(page, server)
    page.get_by_role("link", name="Environments").click()
    row = page.locator("tr[data-build]", has=page.get_by_role("link", name="with-reqs"))
    expect(row).to_have_attribute("data-build-state", "READY", timeout=RUNNING)  # polls itself
    expect(row).to_contain_text("shipyard/python:1.0.0 + 1 requirement(s)")
    row.locator("td").first.get_by_role("link").click()
    log = page.get_by_label("Build log")
    expect(log).to_contain_text("$ uv pip compile")
    expect(log).to_contain_text("--- ready: built in")
    expect(page.locator("[data-build-log] details")).to_contain_text("locked package(s)")
    shot(page, "15-environment-build-log")
    wait_state(api, "with-reqs", "RUNNING", timeout=120)

    # a base pinning a package no index has: the deployment fails and links to the resolver's text
    base = {"name": "team/broken", "version": "1", "packages": [f"{MISSING}==1.0"]}
    assert api.post("/environments", json=base).status_code == 201
    deploy(api, "broken-env", echo_model, script_file="predictor.py", environment="team/broken:1")
    wait_state(api, "broken-env", "FAILED", timeout=120)
    page.goto(f"{server.api}/ui/#/deployments/broken-env")
    expect(page.locator("pre.env-error")).to_contain_text(f"Because {MISSING} was not found")
    shot(page, "16-deployment-environment-failed")
    page.get_by_role("link", name="Build log (why it failed)").click()
    expect(page.locator("[data-log-state]")).to_have_text("FAILED")
    expect(page.get_by_label("Build log")).to_contain_text(f"Because {MISSING} was not found")
    expect(page.get_by_role("alert")).to_contain_text(MISSING)
    shot(page, "17-environment-build-failed")
    for name in ("with-reqs", "broken-env"):
        assert api.delete(f"/deployments/{name}").status_code in (202, 204)


def test_phone_width_keeps_the_navigation_and_the_list_readable(
    page: Page, server: Server, echo_model: dict
) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, server)
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Models")).to_be_visible()
    expect(page.get_by_role("link", name="Create new deployment")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the page scrolls sideways on a phone ({width}px)"
    shot(page, "12-phone")
    for route, name in (("deployments/simple", "12-phone-deployment"), ("deployments/new", None)):
        page.goto(f"{server.api}/ui/#/{route}")
        expect(page.locator("main h1")).to_be_visible()
        if name:
            expect(page.locator('.chart[data-metric="memory"]').first).to_be_visible()
        else:
            page.get_by_role("button", name="Advanced options").click()
            name = "12-phone-form"
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 400, f"{route} scrolls sideways on a phone ({width}px)"
        shot(page, name)


def test_a_hash_change_while_signing_in_shows_the_page_once(page: Page, server: Server) -> None:
    """The sign-in's key check answers after a link was followed: the page already shown is
    kept (it was replaced, detaching an open dialog, in a CI run)."""
    held: list = []
    page.route("**/api/v1/project", lambda r: held.append(r) if not held else r.continue_())
    page.goto(f"{server.api}/ui/")
    page.get_by_label("Project API key").fill(server.key)
    page.get_by_role("button", name="Sign in").click()
    wait_until(lambda: page.evaluate("1") and held, 30, "the sign-in's key check")
    page.goto(f"{server.api}/ui/#/deployments/advanced")
    expect(page.get_by_role("heading", name="Status")).to_be_visible()
    page.evaluate("document.getElementById('main').dataset.shown = 'first'")
    page.get_by_role("button", name="Delete").click()
    with page.expect_response(lambda r: r.url.endswith("/api/v1/project")):
        held[0].continue_()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Cancel").click(timeout=5_000)
    expect(dialog).to_be_hidden()
    assert page.evaluate("document.getElementById('main').dataset.shown") == "first"
    page.unroute("**/api/v1/project")


def test_delete_asks_for_confirmation(page: Page, server: Server, api: httpx.Client) -> None:
    sign_in(page, server)
    page.goto(f"{server.api}/ui/#/deployments/advanced")
    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("Delete deployment advanced?")
    dialog.get_by_role("button", name="Cancel").click()
    assert api.get("/deployments/advanced").status_code == 200
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Deployments")).to_be_visible()
    expect(page.locator('tr[data-deployment="advanced"]')).to_have_count(0, timeout=60_000)
