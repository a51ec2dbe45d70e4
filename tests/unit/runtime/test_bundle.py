"""A gateway's bundle at the replica: each part answered as if alone, model calls merged."""

from __future__ import annotations

import json

import pytest

from shipyard.http1 import Request
from shipyard.runtime.model import InputKind
from shipyard.wire.bundle import BUNDLE_TYPE, PREAMBLE, decode_responses, encode_requests

from .conftest import FakeModel

pytestmark = pytest.mark.unit

JSON = [(b"content-type", b"application/json")]


def v1(rows: object, name: str = "iris") -> Request:
    return Request(
        "POST", f"/v1/models/{name}:predict", JSON, json.dumps({"instances": rows}).encode()
    )


def v2(data: list[float], shape: list[int]) -> Request:
    tensor = {"name": "x", "shape": shape, "datatype": "FP64", "data": data}
    body = json.dumps({"id": "r1", "inputs": [tensor]}).encode()
    return Request("POST", "/v2/models/iris/infer", JSON, body)


class Recording(FakeModel):
    """Doubles each row's first value; records every model call's rows."""

    def __init__(self, kind: InputKind = InputKind.PYTHON) -> None:
        super().__init__(self._double, kind)
        self.calls: list[int] = []

    def _double(self, rows):
        self.calls.append(len(rows))
        if any(row == ["boom"] for row in rows):
            raise RuntimeError("boom row")
        return [row[0] * 2 for row in rows]


async def send(client, parts: list[Request]):
    response = await client.post(
        "/internal/bundle",
        content=encode_requests(parts),
        headers={"content-type": BUNDLE_TYPE.decode()},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == BUNDLE_TYPE.decode()
    return [(a.status, json.loads(a.body)) for a in decode_responses(response.content)]


async def test_parts_are_answered_in_order_each_as_if_alone(serve) -> None:
    model = Recording()
    client = await serve(model, max_batch_size=8)
    parts = [
        v1([[1], [2]]),
        Request("POST", "/v1/models/iris:predict", JSON, b"{not json"),
        v1([[3]], name="other"),
        Request("GET", "/v2/health/ready", [], b""),
        v1([[4]]),
        Request("GET", "/nowhere", [], b""),
        Request("DELETE", "/v2/health/live", [], b""),
        Request("POST", "/v1/models/iris:predict", [(b"x-shipyard-stage", b"sideways")], b"{}"),
    ]
    answers = await send(client, parts)
    assert [status for status, _ in answers] == [200, 400, 404, 200, 200, 404, 405, 400]
    assert answers[0][1] == {"predictions": [2, 4]}
    assert "not valid JSON" in answers[1][1]["error"]
    assert "'other' is not served here" in answers[2][1]["error"]
    assert answers[3][1]["ready"] is True
    assert answers[4][1] == {"predictions": [8]}
    assert "unknown x-shipyard-stage 'sideways'" in answers[7][1]["error"]
    assert model.calls == [3]  # the two good model calls shared one call


async def test_calls_are_capped_at_max_batch_size_rows_and_a_failure_stays_in_its_call(
    serve,
) -> None:
    model = Recording()
    client = await serve(model, max_batch_size=4)
    parts = [v1([[1], [2]]), v1([[3], [4]]), v1([["boom"]]), v1([[5]]), v1([[6]] * 5)]
    answers = await send(client, parts)
    assert model.calls == [4, 2, 5]  # 2+2 rows; boom + 5; the 5-row request alone
    assert answers[0] == (200, {"predictions": [2, 4]})
    assert answers[1] == (200, {"predictions": [6, 8]})
    assert answers[2][0] == 500 and "boom row" in answers[2][1]["error"]
    assert answers[3][0] == 500  # shared the failing call (batching's documented trade-off)
    assert answers[4] == (200, {"predictions": [12] * 5})


async def test_v2_tensors_of_one_shape_share_a_call_and_keep_their_own_outputs(serve) -> None:
    model = FakeModel(lambda rows: rows.sum(axis=1), InputKind.NDARRAY)
    calls: list[int] = []
    predict = model.predict

    async def counted(payload):
        calls.append(len(payload))
        return await predict(payload)

    model.predict = counted  # type: ignore[method-assign]
    client = await serve(model, max_batch_size=16)
    answers = await send(client, [v2([1, 2, 3, 4], [2, 2]), v2([5, 6], [1, 2])])
    assert calls == [3]
    outputs = [body["outputs"][0] for _, body in answers]
    assert [o["data"] for o in outputs] == [[3, 7], [11]]
    assert [o["shape"] for o in outputs] == [[2], [1]]
    assert all(body["id"] == "r1" and body["model_name"] == "iris" for _, body in answers)


async def test_without_batching_each_part_is_its_own_call(serve) -> None:
    model = Recording()
    client = await serve(model)
    answers = await send(client, [v1([[1]]), v1([[2]])])
    assert answers == [(200, {"predictions": [2]}), (200, {"predictions": [4]})]
    assert model.calls == [1, 1]


async def test_a_bad_bundle_is_refused_whole(serve) -> None:
    client = await serve(Recording(), max_batch_size=8)
    response = await client.post("/internal/bundle", content=PREAMBLE + b"POST /x 9 0\r\n{}")
    assert response.status_code == 400 and "cut off" in response.json()["error"]
    nested = encode_requests([Request("POST", "/internal/bundle", [], b"")])
    response = await client.post("/internal/bundle", content=nested)
    assert response.status_code == 400 and "another bundle" in response.json()["error"]
    assert (await client.get("/internal/bundle")).status_code == 405
