"""The binary tensor data extension on the replica, framed by tritonclient's own encoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tritonclient.http as triton

from shipyard.runtime.model import InputKind

from .conftest import FakeModel

pytestmark = pytest.mark.unit

URL = "/v2/models/iris/infer"
ROWS = np.array([[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]], dtype=np.float32)


def tensor(name, array, datatype, *, binary_data=True):
    infer_input = triton.InferInput(name, list(array.shape), datatype)
    infer_input.set_data_from_numpy(array, binary_data=binary_data)
    return infer_input


async def infer(client, inputs, outputs=None):
    """POST tritonclient's encoding of a request; the answer decoded by tritonclient."""
    body, json_size = triton.InferenceServerClient.generate_request_body(inputs, outputs)
    headers = {} if json_size is None else {"Inference-Header-Content-Length": str(json_size)}
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 200, response.text
    length = response.headers.get("inference-header-content-length")
    return response, triton.InferResult.from_response_body(
        response.content, header_length=None if length is None else int(length)
    )


def doubled(payload):
    return {name: np.asarray(array) * 2 for name, array in payload.items()}


@pytest.mark.parametrize("kind", [InputKind.NDARRAY, InputKind.PYTHON])
async def test_binary_and_json_requests_get_the_same_answers(serve, kind):
    client = await serve(FakeModel(lambda rows: np.asarray(rows).sum(axis=1), kind))
    answers = []
    for binary_data in (True, False):
        inputs = [tensor("x", ROWS, "FP32", binary_data=binary_data)]
        outputs = [triton.InferRequestedOutput("predict", binary_data=binary_data)]
        response, result = await infer(client, inputs, outputs)
        assert ("inference-header-content-length" in response.headers) is binary_data
        answers.append(result.as_numpy("predict"))
    np.testing.assert_allclose(answers[0], answers[1], rtol=1e-6)
    np.testing.assert_allclose(answers[0], ROWS.sum(axis=1), rtol=1e-5)


async def test_fp32_int64_and_bytes_round_trip_with_tritonclient_defaults(serve):
    seen = {}

    def echo(payload):
        seen.update(payload)
        return payload

    client = await serve(FakeModel(echo))
    ids = np.array([[1, -(2**62)], [3, 2**40]], dtype=np.int64)
    words = np.array([b"alpha", "b\u00e9ta".encode(), b"", b"\xff\x00"], dtype=np.object_)
    inputs = [tensor("rows", ROWS, "FP32"), tensor("ids", ids, "INT64")]
    inputs.append(tensor("words", words, "BYTES"))
    _, result = await infer(client, inputs)  # no outputs named: binary_data_output
    np.testing.assert_array_equal(result.as_numpy("rows"), ROWS)
    np.testing.assert_array_equal(result.as_numpy("ids"), ids)
    assert result.as_numpy("words").tolist() == list(words)
    assert seen["words"] == ["alpha", "b\u00e9ta", "", b"\xff\x00"]  # UTF-8 as text, as JSON
    assert seen["ids"] == ids.tolist()


async def test_numpy_models_get_a_view_of_the_body_not_a_copy(serve):
    received = []

    def keep(array):
        received.append(array)
        return array.sum(axis=1)

    client = await serve(FakeModel(keep, InputKind.NDARRAY))
    await infer(client, [tensor("x", ROWS, "FP32")])
    (array,) = received
    assert array.dtype == np.float32 and array.shape == (2, 4)
    assert not array.flags.owndata and not array.flags.writeable  # frombuffer on the body
    np.testing.assert_array_equal(array, ROWS)


def framed(tensors, payload, *, header_length=None):
    header = json.dumps({"inputs": tensors}).encode()
    length = len(header) if header_length is None else header_length
    return header + payload, {"Inference-Header-Content-Length": str(length)}


def fp32(name="x", size=8, shape=(2,)):
    parameters = {"binary_data_size": size}
    return {"name": name, "datatype": "FP32", "shape": list(shape), "parameters": parameters}


@pytest.mark.parametrize(
    ("body_headers", "message"),
    [
        (framed([fp32(size=16)], b"\0" * 8), "binary_data_size 16 goes beyond the body"),
        (framed([fp32()], b"\0" * 8, header_length=10_000), "beyond the body's"),
        (framed([fp32()], b"\0" * 8, header_length=-1), "is not a non-negative integer"),
        (framed([fp32(size=-8)], b"\0" * 8), "must be a non-negative integer"),
        (framed([fp32()], b"\0" * 12), "4 bytes after the tensors' binary data"),
        (framed([fp32(size=4)], b"\0" * 4), "binary_data_size 4 does not fit shape [2] of FP32"),
        (
            framed([{**fp32(size=6), "datatype": "BYTES", "shape": [1]}], b"\x09\0\0\0ab"),
            "BYTES element 0 says 9 bytes, 2 are left",
        ),
        (
            (json.dumps({"inputs": [fp32()]}).encode(), {}),
            "has no Inference-Header-Content-Length header",
        ),
        (
            (json.dumps({"inputs": [fp32()]}).encode() + b"\0" * 8, {}),
            "needs an Inference-Header-Content-Length header",
        ),
    ],
)
async def test_malformed_binary_framing_is_400_naming_it(serve, body_headers, message):
    client = await serve(FakeModel())
    body, headers = body_headers
    response = await client.post(URL, content=body, headers=headers)
    assert response.status_code == 400
    assert message in response.json()["error"]
    plain = {"name": "x", "datatype": "FP32", "shape": [2], "data": [1.0, 2.0]}
    ok = await client.post(URL, json={"inputs": [plain]})
    assert ok.status_code == 200


async def test_binary_output_choice_per_output_overrides_the_request(serve):
    client = await serve(FakeModel(lambda rows: {"a": rows, "b": rows}))
    body = {
        "inputs": [{"name": "x", "datatype": "INT64", "shape": [2], "data": [1, 2]}],
        "outputs": [{"name": "a"}, {"name": "b", "parameters": {"binary_data": False}}],
        "parameters": {"binary_data_output": True},
    }
    response = await client.post(URL, json=body)
    length = int(response.headers["inference-header-content-length"])
    header = json.loads(response.content[:length])
    a, b = header["outputs"]
    assert a["parameters"] == {"binary_data_size": 16} and "data" not in a
    assert b["data"] == [1, 2]
    assert np.frombuffer(response.content[length:], "<i8").tolist() == [1, 2]
