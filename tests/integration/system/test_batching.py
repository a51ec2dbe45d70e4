"""Adaptive batching on a real replica: concurrent requests share model calls, answers stay
each request's own."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.system.conftest import Server, deploy, own_server, upload, wait_state

pytestmark = pytest.mark.integration

COUNTING = """
import time


class Predictor:
    def predict(self, inputs):
        time.sleep(0.02)  # a model call costs something: batching pays off
        return [{"echo": row[0], "batch": len(inputs)} for row in inputs]
"""


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with own_server(tmp_path_factory.mktemp("batching")) as srv:
        yield srv


def test_concurrent_requests_are_batched_and_split_back(node: Server, tmp_path: Path) -> None:
    folder = tmp_path / "counting"
    folder.mkdir()
    (folder / "predictor.py").write_text(COUNTING)
    with node.client() as api:
        model = upload(api, "counting", folder, framework="python")
        batching = {"enabled": True, "max_batch_size": 16, "max_latency": 20}
        deploy(api, "counting", model, script_file="predictor.py", batching=batching)
        wait_state(api, "counting", "RUNNING")

    def ask(i: int) -> dict:
        body = {"instances": [[i], [i + 1000]]} if i % 7 else {"rows": "not instances"}
        answer = httpx.post(
            f"{node.gateway}/v1/models/counting:predict",
            json=body,
            headers={"Authorization": f"ApiKey {node.key}"},
            timeout=60,
        )
        if i % 7 == 0:  # a bad request among good ones fails alone, with its own message
            assert answer.status_code == 400, answer.text
            assert "neither 'instances' nor 'inputs'" in answer.json()["error"]
            return {}
        assert answer.status_code == 200, answer.text
        return answer.json()["predictions"]

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(ask, range(64)))
    for i, predictions in enumerate(answers):
        if i % 7:  # each its own rows, in order
            assert [p["echo"] for p in predictions] == [i, i + 1000]
    sizes = [p["batch"] for predictions in answers if predictions for p in predictions]
    assert max(sizes) > 2  # rows of several requests went through one call
    assert max(sizes) <= 16
