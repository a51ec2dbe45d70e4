"""Open Inference Protocol (V2) tensors to and from Python values, and JSON of predictions.

Pure functions used by ``shipyard.runtime.protocols``. Plain-Python paths never import numpy
(a bare-python predictor must work without it); numpy is imported only when a tensor is decoded
for a numpy/pandas model or when a prediction already is a numpy or pandas object.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.errors import InferenceError, InvalidInput
from shipyard.wire import binary

NUMPY_DTYPES: dict[str, str] = {
    "BOOL": "bool",
    "UINT8": "uint8",
    "UINT16": "uint16",
    "UINT32": "uint32",
    "UINT64": "uint64",
    "INT8": "int8",
    "INT16": "int16",
    "INT32": "int32",
    "INT64": "int64",
    "FP16": "float16",
    "FP32": "float32",
    "FP64": "float64",
    "BYTES": "object",
}
"""V2 datatype → numpy dtype name."""

_V2_BY_NUMPY = {dtype: datatype for datatype, dtype in NUMPY_DTYPES.items() if dtype != "object"}
_SEQUENCES = (list, tuple)


@dataclass(frozen=True, slots=True)
class Tensor:
    """One validated V2 input tensor, data as received (flat or nested), or its binary data."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    data: list[Any]
    raw: memoryview | None = None
    """Its slice of the body in the binary extension (``data`` is then empty)."""


def _invalid(name: str, message: str) -> InvalidInput:
    return InvalidInput(f"input {name!r}: {message}")


def parse_tensor(raw: Any, index: int, buffer: memoryview | None = None) -> Tensor:
    """Validate one element of a V2 request's ``inputs``.

    Args:
        raw: The decoded JSON object.
        index: Its position, to name it in errors when it has no name.
        buffer: Its binary data (binary extension), if it has ``binary_data_size``.

    Returns:
        The tensor (data is not copied).

    Raises:
        InvalidInput: A field is missing or has the wrong type.
    """
    if not isinstance(raw, dict):
        raise InvalidInput(f"inputs[{index}] must be an object with name, shape, datatype, data")
    name = raw.get("name")
    if not isinstance(name, str):
        raise InvalidInput(f"inputs[{index}] needs a string 'name'")
    datatype = raw.get("datatype")
    if datatype not in NUMPY_DTYPES:
        known = ", ".join(NUMPY_DTYPES)
        raise _invalid(name, f"datatype {datatype!r} is not one of {known}")
    shape = raw.get("shape")
    if not isinstance(shape, list) or any(type(d) is not int or d < 0 for d in shape):
        raise _invalid(name, f"'shape' must be a list of non-negative integers, got {shape!r}")
    if buffer is not None:
        return Tensor(name, datatype, tuple(shape), [], buffer)
    if "data" not in raw:
        raise _invalid(name, "has neither 'data' nor parameters.binary_data_size")
    data = raw["data"]
    return Tensor(name, datatype, tuple(shape), data if type(data) is list else [data])


_INT_RANGES: dict[str, tuple[int, int]] = {
    "INT8": (-(1 << 7), (1 << 7) - 1),
    "INT16": (-(1 << 15), (1 << 15) - 1),
    "INT32": (-(1 << 31), (1 << 31) - 1),
    "INT64": (-(1 << 63), (1 << 63) - 1),
    "UINT8": (0, (1 << 8) - 1),
    "UINT16": (0, (1 << 16) - 1),
    "UINT32": (0, (1 << 32) - 1),
    "UINT64": (0, (1 << 64) - 1),
}
_FLOAT_MAX = {"FP16": 65504.0, "FP32": 3.4028234663852886e38, "FP64": math.inf}


def _bad_value(tensor: Tensor, index: int, value: Any, why: str) -> InvalidInput:
    return _invalid(
        tensor.name, f"element {index} ({value!r:.40}) is not a valid {tensor.datatype}: {why}"
    )


def check_values(tensor: Tensor, flat: Sequence[Any]) -> None:
    """Refuse elements that do not fit the tensor's datatype (type and range).

    Raises:
        InvalidInput: naming the input, the element, its value and the datatype.
    """
    datatype = tensor.datatype
    bounds = _INT_RANGES.get(datatype)
    for index, value in enumerate(flat):
        kind = type(value)
        if bounds is not None:
            if kind is not int:
                raise _bad_value(tensor, index, value, "integers only")
            if not bounds[0] <= value <= bounds[1]:
                raise _bad_value(tensor, index, value, f"outside [{bounds[0]}, {bounds[1]}]")
        elif datatype in _FLOAT_MAX:
            if kind is not float and kind is not int:
                raise _bad_value(tensor, index, value, "numbers only")
            if abs(value) > _FLOAT_MAX[datatype] and not math.isinf(value):
                raise _bad_value(tensor, index, value, "too large for the datatype")
        elif datatype == "BOOL":
            if kind is not bool:
                raise _bad_value(tensor, index, value, "true or false only")
        elif kind is not str:
            raise _bad_value(tensor, index, value, "strings only")


def _flatten(data: Sequence[Any]) -> list[Any]:
    out: list[Any] = []
    for item in data:
        if type(item) in _SEQUENCES:
            out.extend(_flatten(item))
        else:
            out.append(item)
    return out


def _has_shape(data: list[Any], shape: tuple[int, ...]) -> bool:
    """Whether ``data`` is nested exactly as ``shape`` (checks list lengths, not leaves)."""
    level: list[Any] = [data]
    last = len(shape) - 1
    for depth, dim in enumerate(shape):
        for item in level:
            if type(item) is not list or len(item) != dim:
                return False
        if depth < last:
            level = [x for item in level for x in item]
    if not shape or math.prod(shape) == 0:
        return bool(shape)
    return type(level[0][0]) is not list


def _reshape(flat: list[Any], shape: tuple[int, ...]) -> Any:
    """Nested lists of ``shape`` from a flat row-major list of the right length."""
    if not shape:
        return flat[0]
    if 0 in shape:
        return [] if shape[0] == 0 else [_reshape([], shape[1:]) for _ in range(shape[0])]
    out = flat
    for dim in reversed(shape[1:]):
        out = [out[i : i + dim] for i in range(0, len(out), dim)]
    return out


def _text(item: memoryview) -> str | bytes:
    """A BYTES element as text when it is UTF-8 (as JSON would carry it), else as bytes."""
    data = bytes(item)
    try:
        return data.decode()
    except UnicodeDecodeError:
        return data


def _check_size(tensor: Tensor, raw: memoryview) -> None:
    """Refuse binary data of a fixed-size datatype whose length does not fit the shape."""
    expected = math.prod(tensor.shape)
    size = binary.ITEM_SIZES[tensor.datatype]
    if len(raw) != expected * size:
        raise _invalid(
            tensor.name,
            f"binary_data_size {len(raw)} does not fit shape {list(tensor.shape)} of "
            f"{tensor.datatype} ({expected} x {size} = {expected * size} bytes)",
        )


def _binary_flat(tensor: Tensor, raw: memoryview) -> list[Any]:
    """The flat elements of a tensor's binary data, their count checked against its shape."""
    what = f"input {tensor.name!r}"
    expected = math.prod(tensor.shape)
    try:
        if tensor.datatype == "BYTES":
            flat: list[Any] = [_text(item) for item in binary.split_bytes(raw, what)]
        else:
            _check_size(tensor, raw)
            flat = list(binary.unpack(tensor.datatype, raw))
    except binary.FramingError as exc:
        raise InvalidInput(str(exc)) from None
    if len(flat) != expected:
        raise _invalid(
            tensor.name, f"shape {list(tensor.shape)} needs {expected} elements, got {len(flat)}"
        )
    return flat


def to_nested(tensor: Tensor) -> Any:
    """The tensor's data as nested Python lists of its shape (as received when already so).

    Raises:
        InvalidInput: The element count does not match the shape.
    """
    if tensor.raw is not None:
        return _reshape(_binary_flat(tensor, tensor.raw), tensor.shape)
    data = tensor.data
    flat = data if data and type(data[0]) is not list else _flatten(data)
    check_values(tensor, flat)
    if _has_shape(data, tensor.shape):
        return data
    expected = math.prod(tensor.shape)
    if len(flat) != expected:
        raise _invalid(
            tensor.name,
            f"shape {list(tensor.shape)} needs {expected} elements, got {len(flat)}",
        )
    return _reshape(flat, tensor.shape)


def _fits(np: Any, tensor: Tensor) -> bool:
    """Whether the data surely fits the datatype, checked by numpy in bulk (False: check each
    element, to refuse the first that does not fit, or to find that all do)."""
    try:
        raw = np.asarray(tensor.data)
    except (ValueError, TypeError):
        return False
    kind, datatype = raw.dtype.kind, tensor.datatype
    if raw.size == 0:
        return True
    bounds = _INT_RANGES.get(datatype)
    if bounds is not None:
        return kind in "iu" and bounds[0] <= int(raw.min()) and int(raw.max()) <= bounds[1]
    if datatype in _FLOAT_MAX:
        if kind not in "iuf":
            return False
        finite = raw[np.isfinite(raw)] if kind == "f" else raw
        return finite.size == 0 or float(np.abs(finite).max()) <= _FLOAT_MAX[datatype]
    return (kind == "b") if datatype == "BOOL" else False


def to_numpy(tensor: Tensor) -> Any:
    """The tensor as a ``numpy.ndarray`` of its datatype and shape.

    Raises:
        InvalidInput: The data does not fit the datatype or the shape.
    """
    import numpy as np

    if tensor.raw is not None:
        return _binary_numpy(np, tensor, tensor.raw)
    if not _fits(np, tensor):
        data = tensor.data
        check_values(tensor, data if data and type(data[0]) is not list else _flatten(data))
    dtype = NUMPY_DTYPES[tensor.datatype]
    try:
        array = np.asarray(tensor.data, dtype=dtype)
    except (ValueError, TypeError, OverflowError):
        try:  # ragged nesting: count the elements as the plain-Python path does
            array = np.asarray(_flatten(tensor.data), dtype=dtype)
        except (ValueError, TypeError, OverflowError) as exc:
            message = f"data is not {tensor.datatype} of shape {list(tensor.shape)}: {exc}"
            raise _invalid(tensor.name, message) from None
    expected = math.prod(tensor.shape)
    if array.size != expected:
        raise _invalid(
            tensor.name,
            f"shape {list(tensor.shape)} needs {expected} elements, got {array.size}",
        )
    return array.reshape(tensor.shape)


def _binary_numpy(np: Any, tensor: Tensor, raw: memoryview) -> Any:
    """A tensor's binary data as an array: a view of the body for fixed-size datatypes."""
    if tensor.datatype == "BYTES":
        flat = _binary_flat(tensor, raw)
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(tensor.shape)
    _check_size(tensor, raw)
    dtype = np.dtype(NUMPY_DTYPES[tensor.datatype]).newbyteorder("<")
    return np.frombuffer(raw, dtype=dtype).reshape(tensor.shape)


def _python_datatype(flat: list[Any]) -> str | None:
    """The V2 datatype of plain Python scalars, or ``None`` if they are not all plain."""
    kinds = set(map(type, flat))
    if not kinds:
        return "FP64"
    if kinds <= {bool}:
        return "BOOL"
    if kinds <= {int, bool}:
        return "INT64"
    if kinds <= {int, float, bool}:
        return "FP64"
    if kinds <= {str, bytes}:
        return "BYTES"
    return None


def _encode_array(name: str, value: Any) -> dict[str, Any]:
    import numpy as np

    try:
        array = np.asarray(value)
    except ValueError as exc:
        raise InferenceError(f"output {name!r} is not a tensor: {exc}") from None
    if array.ndim == 0:
        array = array.reshape(1)
    flat = array.reshape(-1).tolist()
    datatype = _V2_BY_NUMPY.get(array.dtype.name)
    if datatype is None and array.dtype.kind in "SU":
        datatype = "BYTES"
    elif datatype is None and array.dtype.kind == "O":
        datatype = _python_datatype(flat)
    if datatype is None:
        raise InferenceError(f"output {name!r}: cannot encode dtype {array.dtype} as a V2 tensor")
    return {"name": name, "datatype": datatype, "shape": list(array.shape), "data": flat}


def _encode_sequence(name: str, value: list[Any] | tuple[Any, ...]) -> dict[str, Any]:
    shape: list[int] = []
    level: Any = value
    while type(level) in _SEQUENCES:
        shape.append(len(level))
        if not level:
            break
        level = level[0]
    flat = value if isinstance(value, list) and len(shape) == 1 else _flatten(value)
    if len(flat) != math.prod(shape):
        raise InferenceError(f"output {name!r} is a ragged nested list, not a tensor")
    datatype = _python_datatype(flat)
    if datatype is None:
        try:
            return _encode_array(name, flat) | {"shape": shape}
        except ImportError:  # numpy is not installed: the elements are not plain Python
            kinds = ", ".join(sorted({type(x).__name__ for x in flat}))
            raise InferenceError(f"output {name!r}: no V2 datatype for {kinds}") from None
    return {"name": name, "datatype": datatype, "shape": shape, "data": flat}


def encode_tensor(name: str, value: Any) -> dict[str, Any]:
    """One V2 output tensor (``name``, ``datatype``, ``shape``, flat ``data``) for a value.

    Args:
        name: Output name.
        value: A (nested) list or tuple, a numpy array or scalar, a pandas Series, or a scalar.

    Raises:
        InferenceError: The value cannot be a V2 tensor (ragged, or of an unknown type).
    """
    if type(value) in _SEQUENCES:
        return _encode_sequence(name, value)
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        return _encode_array(name, value)
    return _encode_sequence(name, [value])


def encode_outputs(value: Any) -> list[dict[str, Any]]:
    """V2 output tensors for a prediction.

    A dict gives one tensor per key, a DataFrame one per column; anything else is one tensor
    named ``predict``.
    """
    if isinstance(value, dict):
        return [encode_tensor(str(key), item) for key, item in value.items()]
    if hasattr(value, "columns") and hasattr(value, "items"):
        return [encode_tensor(str(column), series) for column, series in value.items()]
    return [encode_tensor("predict", value)]


def json_default(value: Any) -> Any:
    """``json.dumps`` hook for what predictions contain besides plain JSON values.

    DataFrames become lists of records, numpy and pandas values plain lists or scalars, bytes
    UTF-8 text and dates ISO strings.

    Raises:
        TypeError: The value has no JSON form.
    """
    if hasattr(value, "columns") and hasattr(value, "to_dict"):
        return value.to_dict(orient="records")
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes | bytearray):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset):
        return list(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
