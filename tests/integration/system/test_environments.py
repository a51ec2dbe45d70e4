"""Environments on a real server: two scikit-learn versions side by side, reuse, early failures.

The environments are real virtualenvs built by uv from PyPI (or whatever index the machine
uses); uv's cache is kept between runs under ~/.cache so that a second run downloads nothing.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import (
    Server,
    deploy,
    own_server,
    state_of,
    upload,
    wait_state,
    wait_until,
)

pytestmark = pytest.mark.integration

VERSIONED = """
import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression


class Predictor:
    def __init__(self):
        x = np.array([[0.0], [1.0], [2.0], [3.0]])
        self.model = LogisticRegression().fit(x, [0, 0, 1, 1])

    def predict(self, inputs):
        labels = self.model.predict(np.asarray(inputs, dtype=float)).tolist()
        return [{"label": label, "sklearn": sklearn.__version__} for label in labels]
"""

BUILD_TIMEOUT = 600  # a cold cache downloads scikit-learn, numpy and scipy twice


def versioned_model(root: Path, name: str, requirements: str) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "predictor.py").write_text(VERSIONED)
    (folder / "requirements.txt").write_text(requirements)
    return folder


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    cache = Path.home() / ".cache" / "shipyard-tests" / "uv"
    root = tmp_path_factory.mktemp("environments")
    with own_server(root, SHIPYARD_UV_CACHE_DIR=str(cache)) as srv:
        yield srv


def predict(node: Server, name: str, rows: list[list[float]]) -> list[dict]:
    answer = httpx.post(
        f"{node.gateway}/v1/models/{name}:predict",
        json={"instances": rows},
        headers={"Authorization": f"ApiKey {node.key}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["predictions"]


@pytest.fixture(scope="module")
def side_by_side(node: Server, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    root = tmp_path_factory.mktemp("models")
    old = versioned_model(root, "old", "scikit-learn==1.3.2\nnumpy<2  # 1.3 wheels need numpy 1\n")
    new = versioned_model(root, "new", "scikit-learn==1.5.2\n")
    with node.client() as api:
        for name, folder in (("sk-old", old), ("sk-new", new)):
            deploy(api, name, upload(api, name, folder, framework="python"))
        return {
            name: wait_state(api, name, "RUNNING", timeout=BUILD_TIMEOUT)
            for name in ("sk-old", "sk-new")
        }


def test_two_versions_of_a_library_serve_side_by_side(node: Server, side_by_side) -> None:
    rows = [[0.0], [3.0]]
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        calls = {pool.submit(predict, node, name, rows): name for name in ("sk-old", "sk-new") * 10}
        answers = {(calls[f], str(f.result())) for f in concurrent.futures.as_completed(calls)}
    assert answers == {
        ("sk-old", str([{"label": 0, "sklearn": "1.3.2"}, {"label": 1, "sklearn": "1.3.2"}])),
        ("sk-new", str([{"label": 0, "sklearn": "1.5.2"}, {"label": 1, "sklearn": "1.5.2"}])),
    }
    old = side_by_side["sk-old"]["environments"]["predictor"]
    new = side_by_side["sk-new"]["environments"]["predictor"]
    assert old["phase"] == new["phase"] == "READY"
    assert old["base"] == new["base"] == "shipyard/python:1.0.0"
    assert "scikit-learn==1.3.2" in old["packages"] and "scikit-learn==1.5.2" in new["packages"]
    assert any(p.startswith("numpy==1.") for p in old["packages"])
    # the replica runtime needs only the stdlib: nothing of its own is installed beside the model's
    assert not any(p.startswith(("starlette==", "uvicorn==")) for p in old["packages"])
    assert old["key"] != new["key"]
    assert old["reused"] is False and old["build_seconds"] > 0


def test_the_same_requirements_reuse_the_environment(
    node: Server, side_by_side, tmp_path: Path
) -> None:
    first = side_by_side["sk-old"]["environments"]["predictor"]
    again = versioned_model(tmp_path, "again", "numpy<2\nscikit-learn==1.3.2\n")
    with node.client() as api:
        deploy(api, "sk-again", upload(api, "sk-again", again, framework="python"))
        status = wait_state(api, "sk-again", "RUNNING", timeout=120)
        env = status["environments"]["predictor"]
        assert env["key"] == first["key"]
        assert env["reused"] is True and env["build_seconds"] is None
        assert predict(node, "sk-again", [[3.0]]) == [{"label": 1, "sklearn": "1.3.2"}]
        api.delete("/deployments/sk-again").raise_for_status()
    builds = httpx.get(
        f"{node.api}/api/v1/environments/builds",
        headers={"Authorization": f"ApiKey {node.key}"},
    ).json()
    same = [b for b in builds if b["environment"] == first["key"]]
    (built,) = [b for b in same if not b["reused"]]  # built once ...
    assert built["image"] == "python:3.11-slim" and "scikit-learn==1.3.2" in built["packages"]
    reused = next(b for b in builds if b["id"] == env["build"])  # ... its twin reused it
    assert reused["reused"] is True and reused["environment"] == first["key"]


def test_conflicts_are_refused_at_upload_with_the_resolver_explanation(
    node: Server, tmp_path: Path
) -> None:
    cases = {
        "unsat": ("scikit-learn==1.3.2\nnumpy>=2\n", ["unsatisfiable", "numpy"]),
        "option": ("-e ./src\n", ["line 1", "not supported"]),
        "garbage": ("scikit learn 1.3\n", ["line 1", "not a valid requirement"]),
    }
    with node.client() as api:
        for name, (text, needles) in cases.items():
            folder = versioned_model(tmp_path, name, text)
            answer = api.post(
                f"/models/{name}/versions",
                files={"artifact": ("m.tar.gz", _pack(folder), "application/gzip")},
                data={"metadata": '{"framework": "python"}'},
            )
            assert answer.status_code == 422, answer.text
            message = answer.json()["error"]["message"]
            assert all(n in message for n in needles), message
            assert api.get(f"/models/{name}/versions").status_code == 404  # nothing was stored


def test_unknown_base_environment_is_a_422_naming_the_field(node: Server, tmp_path) -> None:
    folder = versioned_model(tmp_path, "plain", "")
    with node.client() as api:
        model = upload(api, "plain", folder, framework="python")
        spec = {
            "name": "plain",
            "predictor": {
                "model_name": "plain",
                "model_version": model["version"],
                "environment": "md-base/python/nope:9",
            },
        }
        answer = api.post("/deployments", json={"spec": spec})
        assert answer.status_code == 422
        error = answer.json()["error"]["details"]["errors"][0]
        assert error["field"] == "predictor.environment"
        assert "shipyard/machine-learning:1.0.0" in error["message"]
        listed = api.get("/environments").json()
        ml = next(e for e in listed if e["name"] == "shipyard/machine-learning")
        assert "scikit-learn==1.9.1" in ml["packages"]
        alias = api.get("/environments/md-base/python/machine-learning:1.1.0").json()
        assert alias["name"] == "shipyard/machine-learning"


def test_a_failing_environment_update_keeps_the_old_version_serving(
    node: Server, side_by_side, tmp_path: Path
) -> None:
    with node.client() as api:
        # an administrator's base that pins an old scipy, which needs numpy < 1.28 ...
        base = {"name": "team/old-scipy", "version": "1", "packages": ["scipy==1.11.4"]}
        assert api.post("/environments", json=base).status_code == 201
        # ... and a new version whose requirements resolve alone but not on that base
        folder = versioned_model(tmp_path, "v2", "numpy>=2\n")
        model = upload(api, "sk-old", folder, framework="python")
        current = api.get("/deployments/sk-old").json()["spec"]
        current["predictor"].update(model_version=model["version"], environment="team/old-scipy:1")
        answer = api.put("/deployments/sk-old", json={"spec": current})
        assert answer.status_code == 200, answer.text

        def failed():
            status = state_of(api, "sk-old")
            return status if status["state"] == "FAILED" else None

        status = wait_until(failed, 120, "the update to fail")
        init = next(c for c in status["conditions"] if c["type"] == "INITIALIZED")
        assert init["reason"] == "EnvironmentBuildFailed"
        assert "scipy" in init["message"] and "numpy" in init["message"]
        assert "keeps serving" in status["message"]
        for _ in range(20):  # the old version still answers, with its own library
            assert predict(node, "sk-old", [[0.0]]) == [{"label": 0, "sklearn": "1.3.2"}]


def test_a_stopped_deployment_keeps_its_build_listed_across_a_server_restart(
    node: Server, side_by_side
) -> None:
    build = side_by_side["sk-new"]["environments"]["predictor"]["build"]
    with node.client() as api:
        api.post("/deployments/sk-new/stop").raise_for_status()
        wait_state(api, "sk-new", "STOPPED", timeout=60)
    node.stop()
    node.start()
    with node.client() as api:

        def listed() -> dict | None:
            builds = api.get("/environments/builds").json()
            return next((b for b in builds if b["id"] == build), None)

        found = wait_until(listed, 30, "the stopped deployment's build in the project's list")
        assert found["deployments"] == ["sk-new"] and found["state"] == "READY"
        assert api.get(f"/environments/builds/{build}/log").status_code == 200
        stopped = state_of(api, "sk-new")
        assert stopped["state"] == "STOPPED"
        assert stopped["environments"]["predictor"]["phase"] == "READY"
        api.post("/deployments/sk-new/start").raise_for_status()
        status = wait_state(api, "sk-new", "RUNNING", timeout=120)  # the kept venv: no build
        assert status["environments"]["predictor"]["key"] == found["environment"]
    assert predict(node, "sk-new", [[3.0]]) == [{"label": 1, "sklearn": "1.5.2"}]


def _pack(folder: Path) -> bytes:
    from tests.integration.system.conftest import pack

    return pack(folder)
