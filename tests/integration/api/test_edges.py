"""No 500 for any input (issue 18, item 6): the validation edges the fuzzer found answer 4xx
naming the field, over real HTTP against the real app (``tests.live_api``)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.live_api import LiveApi

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with LiveApi(tmp_path_factory.mktemp("edges") / "home") as live:
        headers = {"Authorization": f"ApiKey {live.api_key}"}
        with httpx.Client(base_url=f"{live.host}/api/v1", headers=headers) as client:
            yield client


@pytest.mark.parametrize(
    ("cores", "says"),
    [
        ("1e308", "less than or equal to 100000"),
        ("1e400", "finite number"),
        ("Infinity", "finite number"),
        ("-Infinity", "finite number"),
        ("NaN", "finite number"),
        ("123456789012345678901234567890", "less than or equal to 100000"),
        ("1e-300", "at least 0.001"),
        ("-1", "greater than 0"),
    ],
)
def test_odd_cores_are_422_naming_the_field(api: httpx.Client, cores: str, says: str) -> None:
    resources = '{"requests": {"cores": ' + cores + ', "memory": 512}}'
    body = (
        '{"spec": {"name": "d", "predictor": {"model_name": "m", "model_version": 1, '
        '"resources": ' + resources + "}}}"
    )
    answer = api.post("/deployments", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 422, answer.text
    message = answer.json()["error"]["message"]
    assert "predictor.resources.requests.cores" in message and says in message


@pytest.mark.parametrize("version", ["\u00b3", "\u0661", "99999999999999999999999", "0", "-1"])
def test_odd_version_numbers_are_422(api: httpx.Client, version: str) -> None:
    answer = api.get(f"/models/m/versions/{version}")
    assert answer.status_code == 422 and "is invalid: use a number" in answer.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("num_instances", 10**30), ("memory", 10**30), ("gpus", 10**9)],
)
def test_huge_integers_are_422(api: httpx.Client, field: str, value: int) -> None:
    requests = {"cores": 1, "memory": 512, "gpus": 0}
    resources: dict = {"requests": requests, "limits": dict(requests)}
    if field == "num_instances":
        resources[field] = value
    else:
        requests[field] = value
    spec = {"name": "d", "predictor": {"model_name": "m", "model_version": 1}}
    spec["predictor"]["resources"] = resources  # type: ignore[index]
    answer = api.post("/deployments", json={"spec": spec})
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["error"]["message"]
