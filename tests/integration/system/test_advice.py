"""Right-sizing advice on a real server with real replicas: a model settling at ~150 MiB under
a 1 GiB limit, one OOM-killed at its 200 MiB limit, one busy at its 0.5-core limit; "not
enough data" right after a start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import (
    Server,
    deploy,
    own_server,
    upload,
    wait_state,
    wait_until,
)
from tests.integration.system.test_limits import BUSY, HOG, script_model

pytestmark = pytest.mark.integration

SETTLED = """
class Predictor:
    def __init__(self):
        self.ballast = bytearray(140 * 1024 * 1024)
        self.ballast[::4096] = b"x" * len(self.ballast[::4096])  # resident, not just mapped
    def predict(self, inputs):
        return inputs
"""


def resources(cores: float, memory: int, lim_cores: float, lim_memory: int) -> dict:
    return {
        "script_file": "predictor.py",
        "resources": {
            "num_instances": 1,
            "requests": {"cores": cores, "memory": memory},
            "limits": {"cores": lim_cores, "memory": lim_memory},
        },
    }


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("advice")) as srv:
        yield srv


def advice_of(api: httpx.Client, name: str) -> dict:
    answer = api.get(f"/deployments/{name}/advice")
    assert answer.status_code == 200, answer.text
    return answer.json()["components"][0]


def test_advice_from_real_usage(node: Server, tmp_path: Path) -> None:
    models = {"settled": SETTLED, "hog": HOG, "busy": BUSY}
    sizes = {
        "settled": resources(0.5, 1024, 2, 1024),
        "hog": resources(0.1, 64, 1, 200),
        "busy": resources(0.1, 64, 0.5, 256),
    }
    with node.client() as api:
        for name, source in models.items():
            model = upload(api, name, script_model(tmp_path, name, source), framework="python")
            deploy(api, name, model, **sizes[name])
        for name in models:
            wait_state(api, name, "RUNNING")
        early = advice_of(api, "settled")
        assert not early["enough_data"] and early["reasons"][0].startswith("not enough data")

        killed = httpx.post(
            f"{node.gateway}/v1/models/hog:predict",
            json={"instances": [1]},
            headers={"Authorization": f"ApiKey {node.key}"},
            timeout=60,
        )
        assert killed.status_code >= 500
        hog = wait_until(
            lambda: (a := advice_of(api, "hog"))["evidence"]["oom_kills"] and a, 30, "the OOM"
        )
        settled = wait_until(
            lambda: (a := advice_of(api, "settled"))["enough_data"] and a, 180, "enough data"
        )
        busy = wait_until(
            lambda: (a := advice_of(api, "busy"))["enough_data"] and a, 60, "enough data"
        )

    memory = settled["evidence"]["memory_mb"]
    assert 130 <= memory["p50"] <= 200, memory  # settles at about 150 MiB
    assert 180 <= settled["limits"]["memory"] <= 400, settled
    assert settled["requests"]["memory"] < 1024
    assert any("frees" in e and "of memory on the node" in e for e in settled["effects"])
    assert settled["command"].startswith("shipyard deployments update settled ")

    assert hog["limits"]["memory"] > 200 and hog["limits"]["memory"] >= 300
    assert hog["limits"]["memory"] > settled["limits"]["memory"]
    assert any("OOM kill" in e for e in hog["effects"])

    assert busy["limits"]["cores"] > 0.5, busy
    assert any("busy at its 0.5-core limit" in r for r in busy["reasons"]), busy
