"""The replica's HTTP endpoints, in process (V1, V2, errors, readiness)."""

from __future__ import annotations

import asyncio
import logging

import numpy as np
import pandas as pd
import pytest

from shipyard.runtime.app import create_app
from shipyard.runtime.config import RuntimeConfig
from shipyard.runtime.model import InputKind

from .conftest import FakeModel, client_for

pytestmark = pytest.mark.unit

ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
FLAT = [x for row in ROWS for x in row]


def row_sums(rows):
    return [round(sum(row), 1) for row in rows]


def infer_body(data, shape=(2, 4), **extra):
    tensor = {"name": "input-0", "shape": list(shape), "datatype": "FP32", "data": data}
    return {"inputs": [tensor], **extra}


async def test_v1_model_status_and_predict(serve):
    client = await serve(FakeModel(row_sums))
    assert (await client.get("/v1/models/iris")).json() == {"name": "iris", "ready": True}
    response = await client.post("/v1/models/iris:predict", json={"instances": ROWS})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"predictions": [15.8, 15.5]}
    response = await client.post("/v1/models/iris:predict", json={"inputs": ROWS})
    assert response.json() == {"predictions": [15.8, 15.5]}


@pytest.mark.parametrize("prefix", ["/v2/models/iris", "/v2/models/iris/versions/3"])
async def test_v2_infer_metadata_and_ready(serve, prefix):
    client = await serve(FakeModel(lambda rows: np.array(row_sums(rows), dtype=np.float32)))
    body = infer_body(FLAT, id="42", parameters={"binary_data": False})
    response = await client.post(f"{prefix}/infer", json=body)
    assert response.status_code == 200
    answer = response.json()
    assert answer["outputs"][0]["data"] == pytest.approx([15.8, 15.5])
    answer["outputs"][0]["data"] = None
    assert answer == {
        "model_name": "iris",
        "model_version": "3",
        "id": "42",
        "outputs": [{"name": "predict", "datatype": "FP32", "shape": [2], "data": None}],
    }
    assert (await client.get(f"{prefix}/ready")).json() == {"name": "iris", "ready": True}
    metadata = (await client.get(prefix)).json()
    assert metadata == {
        "name": "iris",
        "versions": ["3"],
        "platform": "python",
        "inputs": [],
        "outputs": [],
    }


async def test_server_health_and_metadata(serve):
    client = await serve(FakeModel())
    assert (await client.get("/v2/health/live")).json() == {"live": True}
    ready = {"ready": True, "timings": {"imports": 0.01, "model_load": 0.02}}
    assert (await client.get("/v2/health/ready")).json() == ready  # with its load timings
    server = (await client.get("/v2")).json()
    assert (server["name"], server["extensions"]) == ("shipyard", [])
    assert isinstance(server["version"], str)


async def test_dataframe_model_over_v1_and_v2(serve):
    def predict(frame):
        return pd.DataFrame({"total": frame.sum(axis=1), "label": ["a"] * len(frame)})

    client = await serve(FakeModel(predict, InputKind.DATAFRAME))
    records = [{"x": 1, "y": 2}, {"x": 3, "y": 4}]
    response = await client.post("/v1/models/iris:predict", json={"instances": records})
    assert response.json() == {
        "predictions": [{"total": 3, "label": "a"}, {"total": 7, "label": "a"}]
    }
    columns = [
        {"name": "x", "shape": [2], "datatype": "INT64", "data": [1, 3]},
        {"name": "y", "shape": [2, 1], "datatype": "INT64", "data": [[2], [4]]},
    ]
    outputs = (await client.post("/v2/models/iris/infer", json={"inputs": columns})).json()[
        "outputs"
    ]
    assert outputs == [
        {"name": "total", "datatype": "INT64", "shape": [2], "data": [3, 7]},
        {"name": "label", "datatype": "BYTES", "shape": [2], "data": ["a", "a"]},
    ]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v1/models/iris:predict", b'{"instances": [[1, 2]', "not valid JSON"),
        ("/v1/models/iris:predict", b"\xff\xfe\x00", "not valid JSON"),
        ("/v1/models/iris:predict", b'{"rows": []}', "neither 'instances' nor 'inputs'"),
        ("/v2/models/iris/infer", b"[1, 2", "not valid JSON"),
        ("/v2/models/iris/infer", b'{"inputs": 1}', "non-empty 'inputs'"),
    ],
)
async def test_malformed_requests_are_400_and_the_replica_keeps_serving(serve, path, body, message):
    client = await serve(FakeModel(row_sums))
    response = await client.post(path, content=body)
    assert response.status_code == 400
    assert message in response.json()["error"]
    ok = await client.post("/v1/models/iris:predict", json={"instances": ROWS})
    assert ok.status_code == 200


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode(),
        lambda text: text.encode("utf-8-sig"),  # with a BOM
        lambda text: text.encode("utf-16-le"),
        lambda text: text.encode("utf-32"),
    ],
    ids=["utf-8", "utf-8 with BOM", "utf-16", "utf-32"],
)
async def test_json_bodies_are_read_in_any_encoding_json_allows(serve, encode):
    client = await serve(FakeModel(row_sums))
    body = encode('{"instances": [[1, 2], [3, 4.5]], "note": "é"}')
    response = await client.post("/v1/models/iris:predict", content=body)
    assert response.json() == {"predictions": [3, 7.5]}


async def test_wrong_shape_is_400_naming_the_input(serve):
    client = await serve(FakeModel(row_sums))
    response = await client.post("/v2/models/iris/infer", json=infer_body([1.0, 2.0, 3.0]))
    assert response.status_code == 400
    assert response.json() == {"error": "input 'input-0': shape [2, 4] needs 8 elements, got 3"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v1/models/other"),
        ("POST", "/v1/models/other:predict"),
        ("GET", "/v2/models/other"),
        ("GET", "/v2/models/other/versions/1/ready"),
        ("POST", "/v2/models/other/infer"),
    ],
)
async def test_unknown_model_is_404(serve, method, path):
    client = await serve(FakeModel())
    response = await client.request(method, path, json={"instances": [1]})
    assert response.status_code == 404
    assert "model 'other' is not served here" in response.json()["error"]


async def test_any_name_answers_every_model_name(serve):
    client = await serve(FakeModel(), any_name=True)
    response = await client.post("/v1/models/other:predict", json={"instances": [1]})
    assert response.json() == {"predictions": [1]}


async def test_unknown_route_and_method_are_json_errors(serve):
    client = await serve(FakeModel())
    response = await client.get("/nope")
    assert (response.status_code, response.json()) == (404, {"error": "Not Found: GET /nope"})
    response = await client.get("/v2/models/iris/infer")
    assert response.status_code == 405
    assert "Method Not Allowed" in response.json()["error"]


async def test_user_exception_is_500_with_type_and_message_and_logged(serve, caplog):
    def broken(rows):
        raise RuntimeError("model exploded")

    client = await serve(FakeModel(broken))
    with caplog.at_level(logging.ERROR, logger="shipyard.runtime"):
        response = await client.post("/v1/models/iris:predict", json={"instances": ROWS})
    assert response.status_code == 500
    assert response.json() == {"error": "RuntimeError: model exploded"}
    assert "model exploded" in caplog.text
    assert caplog.records[-1].exc_info is not None


async def test_unencodable_prediction_is_500(serve):
    client = await serve(FakeModel(lambda rows: object()))
    response = await client.post("/v1/models/iris:predict", json={"instances": ROWS})
    assert response.status_code == 500
    assert "cannot be encoded as JSON" in response.json()["error"]
    response = await client.post("/v2/models/iris/infer", json=infer_body(FLAT))
    assert response.status_code == 500


class SlowModel(FakeModel):
    def __init__(self):
        super().__init__()
        self.release = asyncio.Event()

    async def load(self):
        await self.release.wait()


async def test_not_ready_while_loading_is_503_then_ready():
    model = SlowModel()
    loaded = []
    app = create_app(RuntimeConfig(name="iris"), model, on_loaded=lambda e, s: loaded.append(e))
    async with app.running(), client_for(app) as client:
        assert (await client.get("/v2/health/live")).json() == {"live": True}
        response = await client.get("/v2/health/ready")
        assert (response.status_code, response.json()) == (503, {"ready": False})
        response = await client.get("/v1/models/iris")
        assert (response.status_code, response.json()) == (503, {"name": "iris", "ready": False})
        assert (await client.get("/v2/models/iris/ready")).status_code == 503
        for path, body in [
            ("/v1/models/iris:predict", {"instances": ROWS}),
            ("/v2/models/iris/infer", infer_body(FLAT)),
        ]:
            response = await client.post(path, json=body)
            assert response.status_code == 503
            assert response.json() == {"error": "model 'iris' is still loading"}
        model.release.set()
        for _ in range(100):
            if loaded:
                break
            await asyncio.sleep(0.01)
        assert loaded == [None]
        assert (await client.get("/v2/health/ready")).status_code == 200


async def test_load_failure_is_reported_to_the_callback():
    class Broken(FakeModel):
        async def load(self):
            raise ImportError("no module named torch")

    outcome = asyncio.Event()
    errors = []

    def on_loaded(error, seconds):
        errors.append(error)
        outcome.set()

    app = create_app(RuntimeConfig(), Broken(), on_loaded=on_loaded)
    async with app.running(), client_for(app) as client:
        await asyncio.wait_for(outcome.wait(), 5)
        assert isinstance(errors[0], ImportError)
        assert (await client.get("/v2/health/ready")).status_code == 503
