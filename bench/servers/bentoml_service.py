"""BentoML peer: a service with a V1-shaped API (``{"instances": ...}`` in, predictions out).

Served by ``bentoml serve bentoml_service:Iris --host 127.0.0.1 --port P`` in the bentoml
virtualenv; ``BENCH_MODEL_PATH`` names the joblib file and ``BENCH_WORKERS`` the worker
processes. The access log (BentoML's only per-request log line) is off; the root logger is at
warning level by default, BentoML's own logger at info (start-up lines only).
"""

from __future__ import annotations

import os
from typing import Any

import bentoml
import joblib
import numpy as np


@bentoml.service(
    workers=int(os.environ.get("BENCH_WORKERS", "1")),
    logging={"access": {"enabled": False}},
)
class Iris:
    def __init__(self) -> None:
        self.model = joblib.load(os.environ["BENCH_MODEL_PATH"])

    @bentoml.api(route="/v1/models/iris:predict")
    async def predict(self, instances: list[list[float]]) -> dict[str, Any]:
        return {"predictions": self.model.predict(np.asarray(instances)).tolist()}
