"""Model deletion (REST, SDK, CLI), error answers in Shipyard's shape, and /docs offline."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import shipyard
from tests.integration.system.conftest import Server, deploy, own_server, upload, wait_state

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("registry")) as srv:
        yield srv


def cli(server: Server, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOST=server.api, SHIPYARD_API_KEY=server.key)
    return subprocess.run(
        [sys.executable, "-m", "shipyard", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_version_in_use_cannot_be_deleted_then_can(node: Server, iris_dir: Path) -> None:
    with node.client() as api:
        v1 = upload(api, "iris", iris_dir)
        v2 = upload(api, "iris", iris_dir)
        deploy(api, "iris", v1, script_file="predictor.py")
        wait_state(api, "iris", "RUNNING")
        refused = api.delete("/models/iris/versions/1")
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "conflict"
        message = error["message"]
        assert "model 'iris' version 1 is used by deployment(s) iris (version 1)" in message
        whole = api.delete("/models/iris")
        assert whole.status_code == 409 and "iris (version 1)" in whole.text
        gone = api.delete(f"/models/iris/versions/{v2['version']}")  # not in use
        assert gone.status_code == 200, gone.text
        assert gone.json()["version"] == 2
        missing = api.delete("/models/iris/versions/2")
        assert missing.status_code == 404
        assert missing.json()["error"]["message"] == "model 'iris' has no version 2"
        assert upload(api, "iris", iris_dir)["version"] == 3  # 2 is never given again
        assert api.delete("/deployments/iris").status_code in (200, 202, 204)


def test_sdk_and_cli_delete_versions_and_models(node: Server, iris_dir: Path) -> None:
    with shipyard.login(host=node.api, api_key=node.key) as project:
        mr = project.get_model_registry()
        first = mr.python.create_model("wine").save(str(iris_dir))
        mr.python.create_model("wine").save(str(iris_dir))
        first.delete()
        assert [m.version for m in mr.get_models("wine")] == [2]
        with pytest.raises(shipyard.NotFound):
            mr.get_model("wine", 1)
    done = cli(node, "models", "delete", "wine", "--version", "2")
    assert done.returncode == 0, done.stderr
    assert "deleted wine version 2" in done.stdout
    with shipyard.login(host=node.api, api_key=node.key) as project:
        project.get_model_registry().python.create_model("wine").save(str(iris_dir))
    done = cli(node, "models", "delete", "wine", "--yes")
    assert done.returncode == 0, done.stderr
    assert "deleted model wine (versions 3)" in done.stdout
    done = cli(node, "models", "delete", "wine", "--yes")
    assert done.returncode == 1
    assert "error: model 'wine' not found" in done.stderr


def test_routing_errors_answer_in_shipyards_shape(node: Server) -> None:
    with node.client() as api:
        unknown = api.get("/no-such-thing")
        assert unknown.status_code == 404
        assert unknown.json() == {
            "error": {
                "code": "not_found",
                "message": "no such endpoint: GET /api/v1/no-such-thing (the API is described "
                "at /docs and /openapi.json)",
                "details": {},
            }
        }
        wrong = api.patch("/deployments")
        assert wrong.status_code == 405
        assert wrong.json()["error"]["code"] == "method_not_allowed"
        assert "method PATCH is not allowed on /api/v1/deployments: use" in wrong.text
        invalid = api.post("/deployments", json={"spec": {"name": 5}})
        assert invalid.status_code == 422
        assert invalid.json()["error"]["code"] == "invalid_spec"
        assert "detail" not in invalid.json()


def test_docs_work_offline(node: Server) -> None:
    with httpx.Client(base_url=node.api) as plain:
        page = plain.get("/docs")
        assert page.status_code == 200
        assert "/docs-assets/swagger-ui-bundle.js" in page.text
        assert "cdn" not in page.text.lower() and "https://" not in page.text
        script = plain.get("/docs-assets/swagger-ui-bundle.js")
        assert script.status_code == 200 and "SwaggerUIBundle" in script.text
        assert plain.get("/docs-assets/swagger-ui.css").status_code == 200
        redoc = plain.get("/redoc")
        assert redoc.status_code == 200 and "https://" not in redoc.text
        assert plain.get("/docs-assets/redoc.standalone.js").status_code == 200
        assert plain.get("/openapi.json").json()["openapi"].startswith("3.")
