"""The request bodies: one iris row, in the KServe V1 and the Open Inference Protocol V2 shapes."""

from __future__ import annotations

import json

from bench.model import ROW


def v1_body() -> str:
    """``POST /v1/models/<m>:predict``: ``{"instances": [[4 floats]]}``."""
    return json.dumps({"instances": [ROW]})


def v2_body() -> str:
    """``POST /v2/models/<m>/infer``: one FP32 tensor of shape [1, 4], data flat (row-major)."""
    tensor = {"name": "input-0", "shape": [1, len(ROW)], "datatype": "FP32", "data": ROW}
    return json.dumps({"inputs": [tensor]})


def v1_path(model: str) -> str:
    return f"/v1/models/{model}:predict"


def v2_path(model: str) -> str:
    return f"/v2/models/{model}/infer"
