"""V1 and V2 request decoding per input kind, and response encoding."""

from __future__ import annotations

import numpy as np
import pytest

from shipyard.errors import InvalidInput
from shipyard.runtime.model import InputKind
from shipyard.runtime.protocols import v1, v2

pytestmark = pytest.mark.unit

ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
FLAT = [x for row in ROWS for x in row]


def infer_body(*inputs, **extra):
    return {"inputs": list(inputs), **extra}


def fp32(name, shape, data):
    return {"name": name, "shape": shape, "datatype": "FP32", "data": data}


def test_v1_instances_or_inputs_pass_through_as_is_for_scripts():
    assert v1.decode_request({"instances": ROWS}, InputKind.PYTHON) is ROWS
    assert v1.decode_request({"inputs": {"a": 1}}, InputKind.PYTHON) == {"a": 1}


def test_v1_dataframe_from_records_or_rows():
    frame = v1.decode_request({"instances": [{"a": 1, "b": 2}]}, InputKind.DATAFRAME)
    assert frame.to_dict(orient="records") == [{"a": 1, "b": 2}]
    assert v1.decode_request({"instances": ROWS}, InputKind.DATAFRAME).shape == (2, 4)


def test_v1_ndarray_is_float_when_numeric():
    array = v1.decode_request({"instances": [[1, 2], [3, 4]]}, InputKind.NDARRAY)
    assert array.dtype == np.float64
    text = v1.decode_request({"instances": ["good", "bad"]}, InputKind.NDARRAY)
    assert text.tolist() == ["good", "bad"]


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        ([1, 2], InputKind.PYTHON, "must be a JSON object"),
        ({"data": []}, InputKind.PYTHON, "neither 'instances' nor 'inputs'"),
        ({"instances": 3}, InputKind.NDARRAY, "list of rows"),
        ({"instances": [[1, 2], [3]]}, InputKind.NDARRAY, "not a rectangular"),
        ({"instances": 3}, InputKind.DATAFRAME, "list of records"),
    ],
)
def test_v1_bad_requests(body, kind, message):
    with pytest.raises(InvalidInput, match=message):
        v1.decode_request(body, kind)


def test_v1_response_wraps_predictions_unless_already_wrapped():
    assert v1.encode_response([1]) == {"predictions": [1]}
    assert v1.encode_response({"predictions": [1], "extra": 1}) == {"predictions": [1], "extra": 1}


def test_v2_one_input_is_nested_lists_several_a_dict():
    one = v2.parse_request(infer_body(fp32("x", [2, 4], FLAT)))
    assert v2.decode_inputs(one, InputKind.PYTHON) == ROWS
    two = v2.parse_request(infer_body(fp32("a", [2], [1, 2]), fp32("b", [2, 1], [3, 4])))
    assert v2.decode_inputs(two, InputKind.PYTHON) == {"a": [1, 2], "b": [[3], [4]]}


def test_v2_inputs_are_dataframe_columns():
    request = v2.parse_request(
        infer_body(
            fp32("a", [2], [1, 2]),
            {"name": "b", "shape": [2, 1], "datatype": "BYTES", "data": ["x", "y"]},
        )
    )
    frame = v2.decode_inputs(request, InputKind.DATAFRAME)
    assert frame.to_dict(orient="list") == {"a": [1.0, 2.0], "b": ["x", "y"]}
    wide = v2.parse_request(infer_body(fp32("x", [2, 4], ROWS)))
    assert v2.decode_inputs(wide, InputKind.DATAFRAME).shape == (2, 4)


def test_v2_dataframe_rejects_wide_columns_and_unequal_lengths():
    wide = v2.parse_request(infer_body(fp32("a", [1, 2], [1, 2]), fp32("b", [1], [1])))
    with pytest.raises(InvalidInput, match=r"'a': a column needs shape \[n\] or \[n, 1\]"):
        v2.decode_inputs(wide, InputKind.DATAFRAME)
    unequal = v2.parse_request(infer_body(fp32("a", [2], [1, 2]), fp32("b", [1], [1])))
    with pytest.raises(InvalidInput, match="columns of one table"):
        v2.decode_inputs(unequal, InputKind.DATAFRAME)


def test_v2_ndarray_stacks_several_inputs_as_columns():
    request = v2.parse_request(infer_body(fp32("a", [2], [1, 2]), fp32("b", [2, 2], [3, 4, 5, 6])))
    assert v2.decode_inputs(request, InputKind.NDARRAY).tolist() == [[1, 3, 4], [2, 5, 6]]
    bad = v2.parse_request(infer_body(fp32("a", [2], [1, 2]), fp32("b", [3], [3, 4, 5])))
    with pytest.raises(InvalidInput, match="stacked"):
        v2.decode_inputs(bad, InputKind.NDARRAY)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x", "JSON object"),
        ({"inputs": []}, "non-empty 'inputs'"),
        (infer_body(fp32("a", [1], [1]), fp32("a", [1], [1])), "unique"),
        (infer_body(fp32("a", [1], [1]), outputs={"name": "x"}), "'outputs' must be a list"),
    ],
)
def test_v2_bad_requests(body, message):
    with pytest.raises(InvalidInput, match=message):
        v2.parse_request(body)


def test_v2_response_echoes_id_and_honours_requested_outputs():
    body = infer_body(
        fp32("x", [1], [1]),
        id="req-1",
        parameters={"binary_data_output": False},
        outputs=[{"name": "score", "parameters": {"binary_data": False}}],
    )
    request = v2.parse_request(body)
    response = v2.encode_response(
        {"label": [1], "score": [0.5]}, request, model_name="iris", model_version="3"
    )
    assert response == {
        "model_name": "iris",
        "model_version": "3",
        "id": "req-1",
        "outputs": [{"name": "score", "datatype": "FP64", "shape": [1], "data": [0.5]}],
    }
    renamed = v2.encode_response([1], request, model_name="iris", model_version="3")
    assert renamed["outputs"][0]["name"] == "score"


def test_v2_response_without_request_id_gets_one():
    request = v2.parse_request(infer_body(fp32("x", [1], [1])))
    response = v2.encode_response(np.array([1]), request, model_name="m", model_version="1")
    assert response["id"]
    assert response["outputs"] == [
        {"name": "predict", "datatype": "INT64", "shape": [1], "data": [1]}
    ]
