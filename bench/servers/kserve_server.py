"""KServe peer: a ``kserve.Model`` over the joblib file, as KServe's own sklearn server does.

Run in the kserve virtualenv as ``python kserve_server.py --model_path FILE --model_name iris
--http_port P --grpc_port G --workers N ...``: KServe's ``ModelServer`` reads its own flags from
the command line at import, this script adds ``--model_path``. Over REST the model takes V1
(``instances``); over gRPC KServe hands it an ``InferRequest`` (Open Inference Protocol V2), which
it answers with an ``InferResponse``, as KServe's own sklearn server does.

KServe starts its workers with multiprocessing's *spawn*, which re-imports this file in each
worker, and a worker it restarts (its watchdog kills workers that do not answer a ping within
5 s, which happens during a slow start on a busy machine) is configured with KServe's default
logging, whose access log is at INFO whatever ``--log_config_file`` says. So the module-level
code below lowers that default to WARNING for every process.
"""

from __future__ import annotations

import argparse
from typing import Any

import joblib
import kserve
import numpy as np
import uvicorn
from kserve import logging as kserve_logging
from kserve import model_server

for _logger in kserve_logging.KSERVE_LOG_CONFIG["loggers"].values():
    _logger["level"] = "WARNING"


class LoopbackConfig(uvicorn.Config):
    """KServe binds 0.0.0.0 without an option to change it; the bench stays on loopback."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["host"] = "127.0.0.1"
        super().__init__(*args, **kwargs)


class SKLearnModel(kserve.Model):
    """The same V1 handling as KServe's ``sklearnserver``: instances in, predictions out."""

    def __init__(self, name: str, path: str) -> None:
        super().__init__(name)
        self._path = path
        self._model: Any = None

    def load(self) -> bool:
        self._model = joblib.load(self._path)
        self.ready = True
        return self.ready

    def predict(self, payload: Any, headers: dict[str, str] | None = None) -> Any:
        if isinstance(payload, kserve.InferRequest):  # V2 (the gRPC table)
            result = self._model.predict(payload.inputs[0].as_numpy())
            output = kserve.InferOutput("output-0", list(result.shape), "INT64", result)
            return kserve.InferResponse(payload.id, self.name, [output])
        result = self._model.predict(np.asarray(payload["instances"]))
        return {"predictions": result.tolist()}


def main() -> None:
    parser = argparse.ArgumentParser(parents=[model_server.parser])
    parser.add_argument("--model_path", required=True)
    args, _ = parser.parse_known_args()
    uvicorn.Config = LoopbackConfig  # type: ignore[misc]
    model = SKLearnModel(args.model_name, args.model_path)
    model.load()
    kserve.ModelServer().start([model])


if __name__ == "__main__":
    main()
