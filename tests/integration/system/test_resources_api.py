"""Resources and serving tools through the real REST API: dry runs for every tool, refusals."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import Server, upload

pytestmark = pytest.mark.integration

REQUESTS = {"cores": 0.25, "memory": 256, "gpus": 0}
LIMITS = {"cores": 1.5, "memory": 512, "gpus": 0}


@pytest.fixture(scope="module")
def model(server: Server, tmp_path_factory: pytest.TempPathFactory) -> dict:
    root: Path = tmp_path_factory.mktemp("echo")
    (root / "predictor.py").write_text(
        "class Predictor:\n    def predict(self, inputs):\n        return inputs\n"
    )
    (root / "transformer.py").write_text(
        "class Transformer:\n"
        "    def preprocess(self, inputs):\n        return inputs\n"
        "    def postprocess(self, outputs):\n        return outputs\n"
    )
    with server.client() as api:
        return upload(api, "echo", root, framework="python")


def body(model: dict, tool: str, *, dry_run: bool, instances: int = 1, **extra) -> dict:
    spec = {
        "name": f"res-{tool.lower()}",
        "serving_tool": tool,
        "predictor": {
            "model_name": model["name"],
            "model_version": model["version"],
            "resources": {"num_instances": instances, "requests": REQUESTS, "limits": LIMITS},
        },
        **extra,
    }
    return {"spec": spec, "dry_run": dry_run}


def post(server: Server, payload: dict) -> httpx.Response:
    with server.client() as api:
        return api.post("/deployments", json=payload)


@pytest.mark.parametrize(
    ("tool", "requests", "limits", "warning"),
    [
        ("LOCAL", REQUESTS, LIMITS, None),
        ("KSERVE", REQUESTS, LIMITS, None),
        ("DOCKER", LIMITS, LIMITS, "predictor.resources.requests"),
        ("KUBERNETES", REQUESTS, None, "predictor.resources.limits"),
    ],
)
def test_dry_run_shows_what_each_tool_applies(
    server: Server, model: dict, tool: str, requests: dict, limits: dict | None, warning
) -> None:
    answer = post(server, body(model, tool, dry_run=True, instances=2))
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["dry_run"] is True
    resolution = data["resolution"]
    assert resolution["serving_tool"] == tool and resolution["errors"] == []
    [predictor] = resolution["components"]
    assert predictor["component"] == "predictor" and predictor["instances"] == 2
    assert (predictor["requests"], predictor["limits"]) == (requests, limits)
    assert [w["field"] for w in resolution["warnings"]] == ([warning] if warning else [])
    with server.client() as api:  # nothing was stored
        assert api.get(f"/deployments/res-{tool.lower()}").status_code == 404


def test_dry_run_of_kserve_transformer_and_scale_to_zero(server: Server, model: dict) -> None:
    transformer = {"script_file": "transformer.py"}
    answer = post(server, body(model, "KSERVE", dry_run=True, instances=0, transformer=transformer))
    assert answer.status_code == 200, answer.text
    components = answer.json()["resolution"]["components"]
    assert [(c["component"], c["instances"]) for c in components] == [
        ("predictor", 0),
        ("transformer", 1),
    ]
    assert components[1]["applied"] == "requests 0.2 cores / 32 MiB, limits 2 cores / 1024 MiB"


def test_what_a_tool_cannot_honour_is_422_with_every_field(server: Server, model: dict) -> None:
    transformer = {"script_file": "transformer.py"}
    payload = body(model, "KUBERNETES", dry_run=True, instances=0, transformer=transformer)
    answer = post(server, payload)
    assert answer.status_code == 422, answer.text
    errors = {e["field"]: e for e in answer.json()["error"]["details"]["errors"]}
    assert set(errors) == {"predictor.resources.num_instances", "transformer"}
    assert errors["predictor.resources.num_instances"]["value"] == 0
    assert (
        "scale-to-zero needs KSERVE or LOCAL"
        in errors["predictor.resources.num_instances"]["message"]
    )
    assert errors["transformer"]["value"] == "transformer.py"


def test_real_create_on_a_tool_without_a_backend_is_refused(server: Server, model: dict) -> None:
    # no cluster is configured on the test server (SHIPYARD_KUBE_SHIPYARD_URL unset)
    answer = post(server, body(model, "KUBERNETES", dry_run=False))
    assert answer.status_code == 422, answer.text
    error = answer.json()["error"]
    assert error["code"] == "invalid_spec"
    [refusal] = [e for e in error["details"]["errors"] if e["field"] == "serving_tool"]
    assert refusal["value"] == "KUBERNETES"
    assert refusal["message"].startswith(
        "serving tool KUBERNETES has no backend on this server yet; use one of: "
    )
    assert "LOCAL" in refusal["message"]
    with server.client() as api:
        assert api.get("/deployments/res-kubernetes").status_code == 404


def test_real_create_on_local_returns_the_resolution(server: Server, model: dict) -> None:
    payload = body(model, "LOCAL", dry_run=False)
    payload["start"] = False
    answer = post(server, payload)
    assert answer.status_code == 201, answer.text
    resolution = answer.json()["resolution"]
    assert resolution["components"][0]["applied"] == (
        "requests 0.25 cores / 256 MiB, limits 1.5 cores / 512 MiB"
    )
    with server.client() as api:
        fetched = api.get("/deployments/res-local").json()
        assert fetched["resolution"] == resolution
        # a dry run of an update to KUBERNETES: resolved and warned about, nothing changes
        change = body(model, "KUBERNETES", dry_run=True)["spec"] | {"name": "res-local"}
        answer = api.put("/deployments/res-local", json={"spec": change, "dry_run": True})
        assert answer.status_code == 200, answer.text
        assert answer.json()["revision"] == fetched["revision"] + 1
        assert answer.json()["resolution"]["components"][0]["limits"] is None
        assert api.get("/deployments/res-local").json()["revision"] == fetched["revision"]
        real = api.put("/deployments/res-local", json={"spec": change})
        assert real.status_code == 422 and "no backend" in real.text
        assert api.delete("/deployments/res-local").status_code == 204
