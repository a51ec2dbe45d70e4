"""Quotas per project (issue 18, item 4), over real HTTP against the real app
(``tests.live_api``): an administrator sets them; a deployment (or update) that would take the
project over one is refused 422 naming the quota; what fits is accepted."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Iterator

import httpx
import pytest

from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    with LiveApi(tmp_path_factory.mktemp("quotas") / "home") as api:
        yield api


def client(live: LiveApi, key: str) -> httpx.Client:
    return httpx.Client(base_url=f"{live.host}/api/v1", headers={"Authorization": f"ApiKey {key}"})


def _model(api: httpx.Client) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        payload = b"class Predictor:\n    def predict(self, x):\n        return x\n"
        info = tarfile.TarInfo("predictor.py")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    answer = api.post(
        "/models/m/versions",
        files={"artifact": ("a.tgz", data.getvalue())},
        data={"metadata": json.dumps({"framework": "python"})},
    )
    assert answer.status_code == 201, answer.text


def _spec(name: str, instances: int, cores: float) -> dict:
    resources = {
        "num_instances": instances,
        "requests": {"cores": cores, "memory": 256, "gpus": 0},
        "limits": {"cores": cores, "memory": 256, "gpus": 0},
    }
    predictor = {"model_name": "m", "model_version": 1, "script_file": "predictor.py"}
    return {"spec": {"name": name, "predictor": {**predictor, "resources": resources}}}


def test_a_deployment_over_the_quota_is_refused_naming_it(live: LiveApi) -> None:
    with client(live, live.api_key) as admin:
        made = admin.post("/projects", json={"name": "tenant"}).json()
        key = made["api_key"]
        with client(live, key) as tenant:
            assert tenant.put("/projects/tenant/quota", json={"cores": 1}).status_code == 403
        quota = {"cores": 1.5, "memory": 4096, "gpus": 0, "instances": 3}
        set_ = admin.put("/projects/tenant/quota", json=quota)
        assert set_.status_code == 200 and set_.json()["quota"] == quota
        assert admin.put("/projects/tenant/quota", json={"cores": -1}).status_code == 422
    with client(live, key) as tenant:
        _model(tenant)
        assert tenant.get("/project").json()["quota"]["cores"] == 1.5
        first = tenant.post("/deployments", json=_spec("one", 1, 1))
        assert first.status_code == 201, first.text
        over = tenant.post("/deployments", json=_spec("two", 1, 1))
        assert over.status_code == 422
        message = over.json()["error"]["message"]
        assert "quota of 1.5 cores" in message and "other deployments 1" in message
        many = tenant.post("/deployments", json=_spec("many", 3, 0.1))
        assert many.status_code == 422 and "quota of 3" in many.text and "instances" in many.text
        fits = tenant.post("/deployments", json=_spec("small", 2, 0.25))
        assert fits.status_code == 201, fits.text
        # an update of an existing deployment counts without its own old reservation
        grown = tenant.put("/deployments/one", json=_spec("one", 1, 1.5))
        assert grown.status_code == 422 and "quota of 1.5 cores" in grown.text
