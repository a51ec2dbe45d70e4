"""V2 tensors <-> Python values."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import InferenceError, InvalidInput
from shipyard.runtime.codec import (
    NUMPY_DTYPES,
    encode_outputs,
    encode_tensor,
    json_default,
    parse_tensor,
    to_nested,
    to_numpy,
)

pytestmark = pytest.mark.unit

SAMPLE_DATA = {
    "BOOL": [True, False, True, True],
    "UINT8": [0, 1, 2, 255],
    "UINT16": [0, 1, 2, 65535],
    "UINT32": [0, 1, 2, 3],
    "UINT64": [0, 1, 2, 3],
    "INT8": [-128, 0, 1, 127],
    "INT16": [-1, 0, 1, 2],
    "INT32": [-1, 0, 1, 2],
    "INT64": [-1, 0, 1, 2**40],
    "FP16": [0.5, 1.0, -2.0, 3.25],
    "FP32": [0.5, 1.0, -2.0, 3.25],
    "FP64": [0.1, 1.0, -2.0, 3.25],
    "BYTES": ["a", "b", "c", "d"],
}


def tensor(data, shape, datatype="FP32", name="x"):
    return parse_tensor({"name": name, "shape": shape, "datatype": datatype, "data": data}, 0)


def test_sample_data_covers_every_datatype():
    assert set(SAMPLE_DATA) == set(NUMPY_DTYPES)


@pytest.mark.parametrize("datatype", sorted(SAMPLE_DATA))
def test_every_datatype_decodes_flat_and_nested(datatype):
    flat = SAMPLE_DATA[datatype]
    nested = [flat[:2], flat[2:]]
    for data in (flat, nested):
        assert to_nested(tensor(data, [2, 2], datatype)) == nested
        array = to_numpy(tensor(data, [2, 2], datatype))
        assert array.shape == (2, 2)
        assert array.dtype == np.dtype(NUMPY_DTYPES[datatype])
        assert array.reshape(-1).tolist() == flat


@pytest.mark.parametrize("datatype", sorted(set(SAMPLE_DATA) - {"FP16", "FP32"}))
def test_every_datatype_round_trips_through_numpy_outputs(datatype):
    array = to_numpy(tensor(SAMPLE_DATA[datatype], [4], datatype))
    encoded = encode_tensor("y", array)
    assert encoded == {
        "name": "y",
        "datatype": datatype,
        "shape": [4],
        "data": SAMPLE_DATA[datatype],
    }


@pytest.mark.parametrize("datatype", ["FP16", "FP32"])
def test_float_widths_are_kept_in_outputs(datatype):
    encoded = encode_tensor("y", to_numpy(tensor(SAMPLE_DATA[datatype], [2, 2], datatype)))
    assert (encoded["datatype"], encoded["shape"]) == (datatype, [2, 2])
    assert encoded["data"] == pytest.approx(SAMPLE_DATA[datatype])


def test_nested_data_in_the_right_shape_is_passed_through_without_copy():
    data = [[1, 2, 3], [4, 5, 6]]
    assert to_nested(tensor(data, [2, 3])) is data


def test_flat_data_is_reshaped_row_major():
    got = to_nested(tensor(list(range(12)), [2, 3, 2], "INT64"))
    assert got == [[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]]


def test_nested_data_of_another_shape_is_regrouped():
    assert to_nested(tensor([[1, 2], [3, 4], [5, 6]], [2, 3])) == [[1, 2, 3], [4, 5, 6]]


def test_empty_and_scalar_shapes():
    assert to_nested(tensor([], [0, 4])) == []
    assert to_nested(tensor([], [2, 0])) == [[], []]
    assert to_nested(tensor([7], [])) == 7
    assert to_nested(tensor(7, [1])) == [7]


@pytest.mark.parametrize(
    ("data", "shape", "got"),
    [([1, 2, 3], [2, 2], 3), ([[1, 2], [3]], [2, 2], 3), ([[1, 2], [3, 4]], [5], 4)],
)
def test_element_count_mismatch_names_input_expected_and_got(data, shape, got):
    for decode in (to_nested, to_numpy):
        with pytest.raises(InvalidInput) as caught:
            decode(tensor(data, shape, name="petals"))
        message = str(caught.value)
        assert "'petals'" in message
        assert f"needs {shape[0] * (shape[1] if len(shape) > 1 else 1)} elements" in message
        if decode is to_nested:
            assert f"got {got}" in message


def test_data_that_does_not_fit_the_datatype_is_invalid_input():
    with pytest.raises(InvalidInput, match="'x': element 0 \\('a'\\) is not a valid FP32"):
        to_numpy(tensor(["a", "b"], [2]))
    with pytest.raises(InvalidInput, match="'x'"):
        to_numpy(tensor([-1, 300], [2], "UINT8"))


@pytest.mark.parametrize(
    ("data", "datatype", "message"),
    [
        ([1, 300], "INT8", "element 1 (300) is not a valid INT8: outside [-128, 127]"),
        ([-1], "UINT8", "element 0 (-1) is not a valid UINT8: outside [0, 255]"),
        ([1 << 32], "UINT32", "outside [0, 4294967295]"),
        ([1.5], "INT32", "element 0 (1.5) is not a valid INT32: integers only"),
        ([True], "INT64", "integers only"),
        ([2], "BOOL", "element 0 (2) is not a valid BOOL: true or false only"),
        ([1e10], "FP16", "too large for the datatype"),
        ([1, 100000], "FP16", "element 1 (100000) is not a valid FP16: too large"),
        ([1e39], "FP32", "too large for the datatype"),
        (["a"], "FP64", "numbers only"),
        ([None], "FP32", "numbers only"),
        ([1], "BYTES", "strings only"),
    ],
)
def test_values_out_of_their_datatype_are_refused_naming_the_element(data, datatype, message):
    for decode in (to_nested, to_numpy):
        with pytest.raises(InvalidInput) as caught:
            decode(tensor(data, [len(data)], datatype))
        assert str(caught.value) == f"input 'x': {message}" or message in str(caught.value)


def test_values_within_their_datatype_pass():
    assert to_nested(tensor([-128, 127], [2], "INT8")) == [-128, 127]
    assert to_nested(tensor([0.5, float("nan"), float("inf")], [3], "FP32"))[0] == 0.5
    assert to_numpy(tensor([True, False], [2], "BOOL")).tolist() == [True, False]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([1], "inputs\\[0\\] must be an object"),
        ({"shape": [1], "datatype": "FP32", "data": [1]}, "needs a string 'name'"),
        ({"name": "x", "shape": [1], "datatype": "FLOAT", "data": [1]}, "datatype 'FLOAT'"),
        ({"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}, "non-negative integers"),
        ({"name": "x", "shape": "2", "datatype": "FP32", "data": [1]}, "non-negative integers"),
        ({"name": "x", "shape": [1], "datatype": "FP32"}, "has neither 'data' nor"),
    ],
)
def test_malformed_tensors_are_rejected(raw, message):
    with pytest.raises(InvalidInput, match=message):
        parse_tensor(raw, 0)


@pytest.mark.parametrize(
    ("value", "datatype", "shape", "data"),
    [
        ([1, 2, 3], "INT64", [3], [1, 2, 3]),
        ([[1.5, 2], [3, 4]], "FP64", [2, 2], [1.5, 2, 3, 4]),
        ([True, False], "BOOL", [2], [True, False]),
        (["a", "b"], "BYTES", [2], ["a", "b"]),
        ((1, 2), "INT64", [2], [1, 2]),
        (3.5, "FP64", [1], [3.5]),
        ([], "FP64", [0], []),
        ([np.int64(1), np.int64(2)], "INT64", [2], [1, 2]),
        (np.float32(1.5), "FP32", [1], [1.5]),
        (np.array(["a", "b"]), "BYTES", [2], ["a", "b"]),
        (np.array([1, 2], dtype=object), "INT64", [2], [1, 2]),
        (pd.Series([1.0, 2.0]), "FP64", [2], [1.0, 2.0]),
    ],
)
def test_output_datatype_and_shape_are_inferred(value, datatype, shape, data):
    assert encode_tensor("predict", value) == {
        "name": "predict",
        "datatype": datatype,
        "shape": shape,
        "data": data,
    }


def test_outputs_that_are_not_tensors_raise_inference_error():
    with pytest.raises(InferenceError, match="ragged"):
        encode_tensor("predict", [[1, 2], [3]])
    with pytest.raises(InferenceError, match="cannot encode"):
        encode_tensor("predict", [None, 1])


def test_dicts_and_dataframes_give_one_output_per_key_or_column():
    frame = pd.DataFrame({"label": [1, 0], "score": [0.9, 0.2]})
    assert [(o["name"], o["datatype"]) for o in encode_outputs(frame)] == [
        ("label", "INT64"),
        ("score", "FP64"),
    ]
    assert [o["name"] for o in encode_outputs({"a": [1], "b": [2.0]})] == ["a", "b"]
    assert [o["name"] for o in encode_outputs(np.arange(3))] == ["predict"]


def test_json_default_converts_numpy_pandas_and_bytes():
    frame = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    body = {"f": frame, "a": np.arange(2), "s": np.float32(0.5), "b": b"hi", "t": pd.Series([1])}
    assert json.loads(json.dumps(body, default=json_default)) == {
        "f": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}],
        "a": [0, 1],
        "s": 0.5,
        "b": "hi",
        "t": [1],
    }
    with pytest.raises(TypeError, match="object is not JSON serialisable"):
        json.dumps(object(), default=json_default)
