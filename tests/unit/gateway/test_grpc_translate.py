"""V2 gRPC messages to and from REST (shipyard.gateway.grpcv2.translate), no network."""

from __future__ import annotations

import json
import struct

import grpc
import pytest

from shipyard.gateway.grpcv2 import grpc_predict_v2_pb2 as pb
from shipyard.gateway.grpcv2 import translate
from shipyard.http1 import Response
from shipyard.wire import binary

pytestmark = pytest.mark.unit


def request_with(*tensors, raw=()):
    message = pb.ModelInferRequest(model_name="iris", id="9")
    for name, datatype, shape in tensors:
        message.inputs.add(name=name, datatype=datatype, shape=shape)
    message.raw_input_contents.extend(raw)
    return message


def test_raw_contents_follow_the_json_header_as_is():
    fp32 = struct.pack("<2f", 1.5, -2.0)
    words = binary.join_bytes([b"ab", b""])
    message = request_with(("x", "FP32", [1, 2]), ("w", "BYTES", [2]), raw=[fp32, words])
    message.outputs.add(name="predict")
    body, length = translate.infer_body(message)
    header = json.loads(body[:length])
    assert body[length:] == fp32 + words
    assert [t["parameters"]["binary_data_size"] for t in header["inputs"]] == [8, len(words)]
    assert header["parameters"] == {"binary_data_output": True}
    assert header["outputs"] == [{"name": "predict", "parameters": {"binary_data": True}}]
    assert header["id"] == "9"


def test_typed_contents_are_packed_once():
    message = request_with(("ids", "INT64", [2]))
    message.inputs[0].contents.int64_contents.extend([3, -4])
    body, length = translate.infer_body(message)
    assert struct.unpack("<2q", body[length:]) == (3, -4)


@pytest.mark.parametrize(
    ("message", "wanted"),
    [
        (request_with(("a", "FP32", [1]), ("b", "FP32", [1]), raw=[b"\0" * 4]), "1 entries"),
        (request_with(("h", "FP16", [1])), "FP16 needs raw_input_contents"),
    ],
)
def test_requests_without_a_rest_form_are_refused(message, wanted):
    with pytest.raises(translate.TranslationError, match=wanted):
        translate.infer_body(message)


def test_binary_and_json_outputs_become_raw_output_contents():
    header = {
        "model_name": "iris",
        "model_version": "1",
        "id": "9",
        "outputs": [
            {
                "name": "p",
                "datatype": "INT64",
                "shape": [2],
                "parameters": {"binary_data_size": 16},
            },
            {"name": "j", "datatype": "FP64", "shape": [1], "data": [0.5]},
        ],
    }
    encoded = json.dumps(header).encode()
    raw = struct.pack("<2q", 1, 0)
    framing = [(binary.HEADER_LENGTH, b"%d" % len(encoded))]
    message = translate.infer_response(Response(200, encoded + raw, None, framing))
    assert (message.model_name, message.model_version, message.id) == ("iris", "1", "9")
    assert [o.name for o in message.outputs] == ["p", "j"]
    assert list(message.outputs[0].shape) == [2]
    assert message.raw_output_contents == [raw, struct.pack("<d", 0.5)]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (401, grpc.StatusCode.UNAUTHENTICATED),
        (400, grpc.StatusCode.INVALID_ARGUMENT),
        (404, grpc.StatusCode.NOT_FOUND),
        (503, grpc.StatusCode.UNAVAILABLE),
        (418, grpc.StatusCode.UNKNOWN),
    ],
)
def test_error_answers_become_status_codes_with_the_message(status, code):
    failed = translate.failure(Response(status, b'{"error":"why"}'))
    assert failed == translate.Failure(code, "why")
    assert translate.failure(Response(200, b"{}")) is None


def test_model_paths_quote_names():
    assert translate.model_path("a/b", "", "/infer") == "/v2/models/a%2Fb/infer"
    assert translate.model_path("m", "2", "/ready") == "/v2/models/m/versions/2/ready"
