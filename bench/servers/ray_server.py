"""Ray Serve peer: a deployment with ``num_replicas`` replicas behind Ray's HTTP proxy.

Run in the ray virtualenv as ``python ray_server.py MODEL_PATH PORT REPLICAS``. It starts a
local Ray (no dashboard, loopback, as many CPUs as the machine, its session in a fresh
temporary folder), serves until SIGTERM, then shuts Serve and Ray down and removes that
folder. Access logs are off and Serve logs at warning level.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
from typing import Any

import joblib
import numpy as np
import ray
from ray import serve
from starlette.requests import Request

LOGGING = {"log_level": "WARNING", "enable_access_log": False}


@serve.deployment(logging_config=LOGGING)
class Iris:
    def __init__(self, path: str) -> None:
        self.model = joblib.load(path)

    async def __call__(self, request: Request) -> dict[str, Any]:
        body = await request.json()
        return {"predictions": self.model.predict(np.asarray(body["instances"])).tolist()}


def serve_until_stopped(path: str, port: int, replicas: int, temp: str) -> None:
    ray.init(
        num_cpus=os.cpu_count(),
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        _temp_dir=temp,
        logging_level=logging.WARNING,
        log_to_driver=False,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # after ray.init, which sets its own
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port}, logging_config=LOGGING)
        app = Iris.options(num_replicas=replicas).bind(path)
        serve.run(app, name="iris", route_prefix="/", blocking=False)
        print("bench: ray serve is up", flush=True)
        stop.wait()
    finally:
        serve.shutdown()
        ray.shutdown()


def main() -> None:
    path, port, replicas = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    temp = tempfile.mkdtemp(prefix="ray-")  # short: Ray's socket paths must fit 107 bytes
    try:
        serve_until_stopped(path, port, replicas, temp)
    finally:
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
