"""The cold-start breakdown on a real server: a cold deploy and a wake from zero each show
every phase, and the phases sum to within 10 % of the wall time measured outside."""

from __future__ import annotations

import time
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

pytestmark = pytest.mark.integration

SLOW = """
import time

time.sleep(1.0)  # a slow import

class Predictor:
    def __init__(self):
        time.sleep(1.5)  # a slow model load
    def predict(self, inputs):
        return inputs
"""
PHASES = ["environment", "capacity", "spawn", "imports", "model_load", "startup"]


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cache = Path.home() / ".cache" / "shipyard-tests" / "uv"  # shared with test_environments
    root = tmp_path_factory.mktemp("coldstarts")
    with own_server(root, SHIPYARD_UV_CACHE_DIR=str(cache)) as srv:
        yield srv


def starts_of(api: httpx.Client, name: str) -> list[dict]:
    answer = api.get(f"/deployments/{name}/coldstarts")
    assert answer.status_code == 200, answer.text
    return answer.json()["components"]


def test_a_cold_deploy_and_a_wake_from_zero_show_every_phase(node: Server, tmp_path: Path) -> None:
    folder = tmp_path / "slow"
    folder.mkdir()
    (folder / "predictor.py").write_text(SLOW)
    scaling = {"min_instances": 0, "max_instances": 1, "stable_window_s": 2.0,
               "panic_window_s": 1.0, "scale_to_zero_after_s": 3.0}  # fmt: skip
    with node.client() as api:
        model = upload(api, "slow", folder, framework="python")
        begun = time.monotonic()
        deploy(api, "slow", model, instances=1, script_file="predictor.py")
        wait_state(api, "slow", "RUNNING", timeout=60)
        wall = time.monotonic() - begun
        (cold,) = starts_of(api, "slow")
        latest = cold["latest"]
        assert list(latest["phases"]) == PHASES
        assert latest["runtime_reported"]  # the runtime timed its own import and model load
        assert 1.0 <= latest["phases"]["imports"] < 2.0
        assert 1.5 <= latest["phases"]["model_load"] < 2.5
        assert sum(latest["phases"].values()) == pytest.approx(latest["total_s"])
        assert latest["total_s"] == pytest.approx(wall, rel=0.1), (latest, wall)

        spec = api.get("/deployments/slow").json()["spec"]
        spec["predictor"]["resources"]["num_instances"] = 0
        spec["predictor"]["scaling"] = scaling
        assert api.put("/deployments/slow", json={"spec": spec}).status_code == 200
        wait_state(api, "slow", "IDLE", timeout=60)
        woke = time.monotonic()
        answer = httpx.post(
            f"{node.gateway}/v1/models/slow:predict",
            json={"instances": [[1]]},
            headers={"Authorization": f"ApiKey {node.key}"},
            timeout=60,
        )
        wall = time.monotonic() - woke
        assert answer.status_code == 200, answer.text
        waited = float(answer.headers["shipyard-cold-start-wait-s"])
        assert 0 < waited <= wall
        (warm,) = wait_until(
            lambda: (c := starts_of(api, "slow")) and c[0]["count"] >= 2 and c, 30, "the start"
        )
        latest = warm["latest"]
        assert list(latest["phases"]) == PHASES
        assert latest["total_s"] == pytest.approx(waited, rel=0.1), (latest, waited)
        assert set(warm["percentiles"]) == {*PHASES, "total"}
        metrics = httpx.get(
            f"{node.api}/metrics", headers={"Authorization": f"ApiKey {node.key}"}
        ).text
        assert 'shipyard_replica_start_phase_seconds_count{phase="model_load"} 2.0' in metrics


def test_a_cold_deploy_with_an_environment_build_shows_the_build(
    node: Server, tmp_path: Path
) -> None:
    folder = tmp_path / "built"
    folder.mkdir()
    (folder / "predictor.py").write_text("import six\n" + SLOW)
    (folder / "requirements.txt").write_text("six==1.16.0\n")
    with node.client() as api:
        model = upload(api, "built", folder, framework="python")
        begun = time.monotonic()
        deploy(api, "built", model, instances=1, script_file="predictor.py")
        status = wait_state(api, "built", "RUNNING", timeout=300)
        wall = time.monotonic() - begun
        (cold,) = starts_of(api, "built")
    latest = cold["latest"]
    assert list(latest["phases"]) == PHASES
    assert status["environments"]["predictor"]["reused"] is False
    assert latest["phases"]["environment"] > 0 and not latest["reused_environment"]
    assert latest["total_s"] == pytest.approx(wall, rel=0.1), (latest, wall)
