"""V2 gRPC messages to and from the gateway's REST requests and answers (pure functions).

A ``ModelInferRequest`` becomes ``POST /v2/models/<m>[/versions/<v>]/infer`` in the binary tensor
data extension (:mod:`shipyard.wire.binary`): each input's ``raw_input_contents`` (or its typed
``contents``, packed once) follows the JSON header as is, and every output is asked as binary
data, whose bytes become ``raw_output_contents``. An error answer becomes a gRPC status code
with the REST error's message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import grpc

from shipyard.gateway.grpcv2 import grpc_predict_v2_pb2 as pb
from shipyard.http1 import Request, Response
from shipyard.wire import binary

_STATUS_CODES = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    405: grpc.StatusCode.UNIMPLEMENTED,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    413: grpc.StatusCode.RESOURCE_EXHAUSTED,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    500: grpc.StatusCode.INTERNAL,
    502: grpc.StatusCode.UNAVAILABLE,
    503: grpc.StatusCode.UNAVAILABLE,
    504: grpc.StatusCode.DEADLINE_EXCEEDED,
}

_CONTENTS = {
    "BOOL": "bool_contents",
    "INT8": "int_contents",
    "INT16": "int_contents",
    "INT32": "int_contents",
    "INT64": "int64_contents",
    "UINT8": "uint_contents",
    "UINT16": "uint_contents",
    "UINT32": "uint_contents",
    "UINT64": "uint64_contents",
    "FP32": "fp32_contents",
    "FP64": "fp64_contents",
    "BYTES": "bytes_contents",
}
"""Which typed ``InferTensorContents`` field carries each datatype (FP16 has none: raw only)."""


class TranslationError(ValueError):
    """A gRPC request that has no REST equivalent (an INVALID_ARGUMENT, message says why)."""


@dataclass(frozen=True, slots=True)
class Failure:
    """A REST error answer as a gRPC status."""

    code: grpc.StatusCode
    message: str


def model_path(name: str, version: str, action: str = "") -> str:
    """The REST path of a model (``action``: ``/infer``, ``/ready`` or empty)."""
    path = f"/v2/models/{quote(name, safe='')}"
    if version:
        path += f"/versions/{quote(version, safe='')}"
    return path + action


def repository_path(name: str, action: str) -> str:
    """The REST path of a repository ``load`` or ``unload`` of model ``name``."""
    return f"/v2/repository/models/{quote(name, safe='')}/{action}"


def rest_request(method: str, target: str, key: bytes | None, body: bytes = b"") -> Request:
    """An in-process REST request carrying the gRPC caller's ``authorization``."""
    headers = [(b"authorization", key)] if key is not None else []
    return Request(method, target, headers, body)


def failure(response: Response) -> Failure | None:
    """The gRPC status of an error answer (None for a success)."""
    if response.status < 300:
        return None
    code = _STATUS_CODES.get(response.status, grpc.StatusCode.UNKNOWN)
    try:
        message = str(json.loads(response.body)["error"])
    except (ValueError, KeyError, TypeError):
        message = response.body[:500].decode("utf-8", "replace")
    return Failure(code, message)


def _parameter(value: Any) -> Any:
    choice = value.WhichOneof("parameter_choice")
    return None if choice is None else getattr(value, choice)


def _parameters(mapping: Any) -> dict[str, Any]:
    return {key: _parameter(value) for key, value in mapping.items()}


def _tensor_bytes(tensor: Any, raw: list[bytes], index: int) -> bytes:
    if index < len(raw):
        return raw[index]
    field = _CONTENTS.get(tensor.datatype)
    if field is None:
        raise TranslationError(f"input {tensor.name!r}: {tensor.datatype} needs raw_input_contents")
    try:
        return binary.pack(tensor.datatype, list(getattr(tensor.contents, field)))
    except binary.FramingError as exc:
        raise TranslationError(f"input {tensor.name!r}: {exc}") from None


def infer_body(message: Any) -> tuple[bytes, int]:
    """A ``ModelInferRequest`` as a body of the binary extension and its JSON header's length.

    Raises:
        TranslationError: Some inputs use raw contents and others not, or a datatype has no
            typed contents.
    """
    raw = list(message.raw_input_contents)
    if raw and len(raw) != len(message.inputs):
        raise TranslationError(
            f"raw_input_contents has {len(raw)} entries for {len(message.inputs)} inputs: "
            "send raw contents for every input or for none"
        )
    buffers = [_tensor_bytes(t, raw, i) for i, t in enumerate(message.inputs)]
    inputs = [
        {
            "name": t.name,
            "datatype": t.datatype,
            "shape": list(t.shape),
            "parameters": {**_parameters(t.parameters), "binary_data_size": len(data)},
        }
        for t, data in zip(message.inputs, buffers, strict=True)
    ]
    outputs = [
        {"name": o.name, "parameters": {**_parameters(o.parameters), "binary_data": True}}
        for o in message.outputs
    ]
    header: dict[str, Any] = {
        "inputs": inputs,
        "parameters": {**_parameters(message.parameters), "binary_data_output": True},
    }
    if message.id:
        header["id"] = message.id
    if outputs:
        header["outputs"] = outputs
    encoded = json.dumps(header, separators=(",", ":")).encode()
    return binary.join_body(encoded, buffers), len(encoded)


def _set_parameter(target: Any, value: Any) -> None:
    if isinstance(value, bool):
        target.bool_param = value
    elif isinstance(value, int):
        target.int64_param = value
    elif isinstance(value, float):
        target.double_param = value
    else:
        target.string_param = str(value)


def infer_response(response: Response) -> Any:
    """A ``ModelInferResponse`` from the REST answer (binary outputs or JSON ``data``).

    Raises:
        ValueError: The answer is not a well-formed V2 response.
    """
    framing = next((v for n, v in response.headers if n == binary.HEADER_LENGTH), None)
    length = binary.header_length(framing, len(response.body))
    header_view, section = binary.split_body(response.body, length)
    answer = json.loads(bytes(header_view))
    outputs = answer.get("outputs") or []
    slices = binary.slice_tensors(outputs, section, framed=length is not None, kind="output")
    message = pb.ModelInferResponse(
        model_name=str(answer.get("model_name", "")),
        model_version=str(answer.get("model_version", "")),
        id=str(answer.get("id") or ""),
    )
    for output, data in zip(outputs, slices, strict=True):
        tensor = message.outputs.add(
            name=output["name"], datatype=output["datatype"], shape=output["shape"]
        )
        for key, value in (output.get("parameters") or {}).items():
            if key != "binary_data_size":
                _set_parameter(tensor.parameters[key], value)
        raw = bytes(data) if data is not None else binary.pack(output["datatype"], output["data"])
        message.raw_output_contents.append(raw)
    return message


def model_metadata(body: Any) -> Any:
    """A ``ModelMetadataResponse`` from the REST metadata answer."""

    def tensors(key: str) -> list[Any]:
        return [
            pb.ModelMetadataResponse.TensorMetadata(
                name=str(t.get("name", "")),
                datatype=str(t.get("datatype", "")),
                shape=[int(d) for d in t.get("shape", [])],
            )
            for t in body.get(key) or []
            if isinstance(t, dict)
        ]

    return pb.ModelMetadataResponse(
        name=str(body.get("name", "")),
        versions=[str(v) for v in body.get("versions") or []],
        platform=str(body.get("platform", "")),
        inputs=tensors("inputs"),
        outputs=tensors("outputs"),
    )
