"""Open Inference Protocol (V2) REST: infer requests in, infer responses out.

A predictor script receives one input's data as nested lists of its shape, or a dict
``name → nested lists`` for several inputs. A ``package.py`` model receives a DataFrame with one
column per input (shape ``[n]`` or ``[n, 1]``; a single ``[n, k]`` input gives ``k`` columns).
A built-in framework receives one array (several inputs are stacked as columns).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from shipyard.errors import InferenceError, InvalidInput
from shipyard.runtime.codec import Tensor, encode_outputs, parse_tensor, to_nested, to_numpy
from shipyard.runtime.model import InputKind
from shipyard.wire import binary


@dataclass(frozen=True, slots=True)
class InferRequest:
    """A validated V2 inference request."""

    id: str | None
    inputs: list[Tensor]
    outputs: tuple[str, ...]
    """Names of the requested outputs (empty = all)."""
    binary_output: bool = False
    """Whether outputs are answered as binary data by default (``binary_data_output``)."""
    binary_by_name: tuple[tuple[str, bool], ...] = ()
    """Requested outputs' own ``binary_data`` choices."""

    def wants_binary(self, name: str) -> bool:
        """Whether output ``name`` is answered as binary data."""
        for output, choice in self.binary_by_name:
            if output == name:
                return choice
        return self.binary_output


def _flag(holder: Any, key: str, what: str) -> bool | None:
    parameters = holder.get("parameters") if isinstance(holder, dict) else None
    if not isinstance(parameters, dict) or key not in parameters:
        return None
    value = parameters[key]
    if type(value) is not bool:
        raise InvalidInput(f"{what}: parameters.{key} {value!r} must be true or false")
    return value


def _slices(raw_inputs: list[Any], section: memoryview | None) -> list[memoryview | None]:
    try:
        if section is None:
            return binary.slice_tensors(raw_inputs, memoryview(b""), framed=False)
        return binary.slice_tensors(raw_inputs, section, framed=True)
    except binary.FramingError as exc:
        raise InvalidInput(str(exc)) from None


def parse_request(body: Any, section: memoryview | None = None) -> InferRequest:
    """Validate a V2 inference request body (other ``parameters`` are accepted and ignored).

    Args:
        body: The decoded JSON (header).
        section: The bytes after the JSON header in the binary extension (None: plain JSON).

    Raises:
        InvalidInput: A field is missing, of the wrong type, or an input name repeats, or
            the binary framing is malformed.
    """
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object with 'inputs'")
    raw_inputs = body.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidInput("the request needs a non-empty 'inputs' list")
    buffers = _slices(raw_inputs, section)
    pairs = enumerate(zip(raw_inputs, buffers, strict=True))
    tensors = [parse_tensor(raw, index, buffer) for index, (raw, buffer) in pairs]
    if len({tensor.name for tensor in tensors}) != len(tensors):
        raise InvalidInput("input names must be unique")
    requested = body.get("outputs") or []
    if not isinstance(requested, list):
        raise InvalidInput("'outputs' must be a list of objects with a 'name'")
    named = [o for o in requested if isinstance(o, dict) and isinstance(o.get("name"), str)]
    choices = tuple(
        (out["name"], flag)
        for out in named
        if (flag := _flag(out, "binary_data", f"output {out['name']!r}")) is not None
    )
    request_id = body.get("id")
    return InferRequest(
        None if request_id is None else str(request_id),
        tensors,
        tuple(out["name"] for out in named),
        bool(_flag(body, "binary_data_output", "the request")),
        choices,
    )


def _stack(request: InferRequest, arrays: list[Any]) -> Any:
    if len(arrays) == 1:
        return arrays[0]
    import numpy as np

    for tensor, array in zip(request.inputs, arrays, strict=True):
        if array.ndim not in (1, 2):
            raise InvalidInput(f"input {tensor.name!r}: needs shape [n] or [n, k] to be stacked")
    try:
        return np.column_stack(arrays)
    except ValueError as exc:
        raise InvalidInput(f"inputs cannot be stacked as columns: {exc}") from None


def _dataframe(request: InferRequest, arrays: list[Any]) -> Any:
    import pandas as pd

    if len(arrays) == 1 and arrays[0].ndim == 2 and arrays[0].shape[1] > 1:
        return pd.DataFrame(arrays[0])
    columns: dict[str, Any] = {}
    for tensor, array in zip(request.inputs, arrays, strict=True):
        if array.ndim == 1 or (array.ndim == 2 and array.shape[1] == 1):
            columns[tensor.name] = array.reshape(-1)
        else:
            shape = list(tensor.shape)
            raise InvalidInput(
                f"input {tensor.name!r}: a column needs shape [n] or [n, 1], got {shape}"
            )
    try:
        return pd.DataFrame(columns)
    except ValueError as exc:
        raise InvalidInput(f"inputs are not columns of one table: {exc}") from None


def decode_inputs(request: InferRequest, kind: InputKind) -> Any:
    """The model input for a request.

    Args:
        request: The validated request.
        kind: What the model's ``predict`` takes.

    Raises:
        InvalidInput: The data do not match their shapes or datatypes.
    """
    if kind is InputKind.PYTHON:
        if len(request.inputs) == 1:
            return to_nested(request.inputs[0])
        return {tensor.name: to_nested(tensor) for tensor in request.inputs}
    arrays = [to_numpy(tensor) for tensor in request.inputs]
    if kind is InputKind.NDARRAY:
        return _stack(request, arrays)
    return _dataframe(request, arrays)


def _select(outputs: list[dict[str, Any]], requested: tuple[str, ...]) -> list[dict[str, Any]]:
    """Requested outputs, leniently: one unnamed output takes the single requested name."""
    if not requested:
        return outputs
    chosen = [out for out in outputs if out["name"] in requested]
    if chosen:
        return chosen
    if len(outputs) == 1 and len(requested) == 1:
        outputs[0]["name"] = requested[0]
    return outputs


def encode_response(
    result: Any, request: InferRequest, *, model_name: str, model_version: str
) -> dict[str, Any]:
    """The V2 response body for a prediction; the request's ``id`` is echoed (or generated).

    Raises:
        InferenceError: The prediction cannot be expressed as V2 tensors.
    """
    return {
        "model_name": model_name,
        "model_version": model_version,
        "id": request.id if request.id is not None else str(uuid.uuid4()),
        "outputs": _select(encode_outputs(result), request.outputs),
    }


def encode_request(result: Any, request: InferRequest) -> dict[str, Any]:
    """A V2 inference request carrying ``result`` (a transformer's preprocess output).

    Single tensors keep the name of the request's single input.

    Raises:
        InferenceError: The result cannot be expressed as V2 tensors.
    """
    tensors = encode_outputs(result)
    if len(tensors) == 1 and len(request.inputs) == 1:
        tensors[0]["name"] = request.inputs[0].name
    body: dict[str, Any] = {"inputs": tensors}
    if request.id is not None:
        body["id"] = request.id
    return body


def binary_outputs(answer: dict[str, Any], request: InferRequest) -> list[bytes]:
    """Move the outputs the request wants as binary data out of ``answer`` (in place).

    Each such output loses ``data`` and gains ``parameters.binary_data_size``; the returned
    buffers follow the JSON header, in order (none: the answer is plain JSON).

    Raises:
        InferenceError: An output's elements do not fit its datatype.
    """
    buffers: list[bytes] = []
    for output in answer["outputs"]:
        if not request.wants_binary(output["name"]):
            continue
        try:
            data = binary.pack(output["datatype"], output.pop("data"))
        except binary.FramingError as exc:
            raise InferenceError(f"output {output['name']!r}: {exc}") from None
        output["parameters"] = {**output.get("parameters", {}), "binary_data_size": len(data)}
        buffers.append(data)
    return buffers
