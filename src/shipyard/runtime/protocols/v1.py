"""KServe V1 protocol: ``{"instances": [...]}`` or ``{"inputs": [...]}`` → ``{"predictions"}``.

Predictor scripts receive the list exactly as sent; ``package.py`` models a ``pandas.DataFrame``
(from records or rows); built-in frameworks a float ``numpy.ndarray`` (or, for non-numeric rows,
numpy's own inference, e.g. text for sklearn pipelines).
"""

from __future__ import annotations

from typing import Any

from shipyard.errors import InvalidInput
from shipyard.runtime.model import InputKind


def _ndarray(instances: Any) -> Any:
    import numpy as np

    if not isinstance(instances, list):
        raise InvalidInput("'instances' must be a list of rows")
    try:
        return np.asarray(instances, dtype=np.float64)
    except (ValueError, TypeError):
        pass
    try:
        return np.asarray(instances)
    except ValueError as exc:
        raise InvalidInput(f"'instances' is not a rectangular list of rows: {exc}") from None


def _dataframe(instances: Any) -> Any:
    import pandas as pd

    if not isinstance(instances, list | dict):
        raise InvalidInput("'instances' must be a list of records (objects) or rows (lists)")
    try:
        return pd.DataFrame(instances)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"'instances' is not a table: {exc}") from None


def decode_request(body: Any, kind: InputKind) -> Any:
    """The model input of a V1 request body.

    Args:
        body: The decoded JSON body.
        kind: What the model's ``predict`` takes.

    Returns:
        The ``instances`` (or ``inputs``) value, converted for ``kind``.

    Raises:
        InvalidInput: The body has no instances, or they do not fit ``kind``.
    """
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object with 'instances' or 'inputs'")
    if "instances" in body:
        instances = body["instances"]
    elif "inputs" in body:
        instances = body["inputs"]
    else:
        raise InvalidInput("the request body has neither 'instances' nor 'inputs'")
    if kind is InputKind.PYTHON:
        return instances
    if kind is InputKind.DATAFRAME:
        return _dataframe(instances)
    return _ndarray(instances)


def encode_response(result: Any) -> Any:
    """The V1 response body for a prediction (numpy and pandas are converted at JSON encoding).

    A dict that already has ``predictions`` (a KServe-style script) is returned as is.
    """
    if isinstance(result, dict) and "predictions" in result:
        return result
    return {"predictions": result}
