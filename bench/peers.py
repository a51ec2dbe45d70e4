"""The peers: how each is configured, started in its own virtualenv, and told apart by process.

Every peer serves the bench's joblib file with ``WORKERS`` worker processes on 127.0.0.1, with
per-request logging off and its loggers at warning level where the peer allows it:

- KServe: ``servers/kserve_server.py`` (a ``kserve.Model``), ``--workers N`` uvicorn processes
  forked from a parent that loaded the model; V1 over REST, and V2 over its gRPC server (in the
  parent process; :mod:`bench.grpc_bench` drives it beside Shipyard's gateway gRPC port).
- MLServer: ``mlserver start`` with ``mlserver_sklearn.SKLearnModel``; one REST process and
  ``parallel_workers=N`` inference processes; V2 only.
- BentoML: ``servers/bentoml_service.py``, ``workers=N``; its API takes the V1 body on the V1 path.
- Ray Serve: ``servers/ray_server.py``, ``num_replicas=N`` behind Ray's HTTP proxy; V1 body.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from bench import bytecode, payloads
from bench.load import Request
from bench.procs import ProcInfo, launched
from bench.settings import BENCH_DIR, LOOPBACK, MODEL_NAME, WORK, WORKERS
from bench.target import Classifier, Endpoint, Started, first_prediction, free_port
from bench.venvs import Venv

SERVERS = BENCH_DIR / "servers"
QUIET_LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"err": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"level": "WARNING", "handlers": ["err"]},
    "loggers": {
        name: {"level": "WARNING", "handlers": ["err"], "propagate": False}
        for name in ("kserve", "kserve.trace", "mlserver", "uvicorn", "uvicorn.access")
    },
}
"""A logging dictConfig with every logger of KServe, MLServer and uvicorn at WARNING."""
QUIET_ENV = {"PYTHONWARNINGS": "ignore"}
"""Given to every target, Shipyard included: KServe 0.21 with FastAPI 0.165 would otherwise
print a ``FastAPIDeprecationWarning`` (ORJSONResponse) on every request."""


@dataclass(frozen=True)
class Launch:
    """How to start a peer: command, environment, working directory, endpoints."""

    command: list[str]
    env: dict[str, str]
    cwd: Path
    endpoints: list[Endpoint]
    worker_role: str
    classify: Classifier
    notes: tuple[str, ...] = ()
    extra: dict[str, str] = field(default_factory=dict)
    """Copied into :attr:`Started.extra` (``grpc``: the V2 gRPC address, where served)."""


def _url(port: int, path: str) -> str:
    return f"http://{LOOPBACK}:{port}{path}"


def _v1(port: int) -> list[Endpoint]:
    return [Endpoint("v1", Request(_url(port, payloads.v1_path(MODEL_NAME)), payloads.v1_body()))]


def _root_or(root_role: str, child_role: str) -> Classifier:
    def classify(proc: ProcInfo, is_root: bool) -> str:
        if is_root:
            return root_role
        if "multiprocessing.resource_tracker" in proc.cmdline:
            return "multiprocessing resource tracker"
        return child_role

    return classify


def _base_env(venv: Venv) -> dict[str, str]:
    env = {
        k: v for k, v in bytecode.env(venv.name).items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")
    }
    env["PATH"] = f"{venv.bin}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv.path)
    env.update(QUIET_ENV)
    return env


def _kserve(venv: Venv, model: Path, folder: Path) -> Launch:
    port, grpc_port = free_port(), free_port()
    log_config = folder / "logging.json"
    log_config.write_text(json.dumps(QUIET_LOGGING))
    command = [str(venv.python), str(SERVERS / "kserve_server.py"), "--model_path", str(model)]
    command += ["--model_name", MODEL_NAME, "--http_port", str(port), "--workers", str(WORKERS)]
    command += ["--grpc_port", str(grpc_port), "--enable_latency_logging", "false"]
    command += ["--log_config_file", str(log_config)]
    return Launch(
        command,
        {**_base_env(venv), "KSERVE_LOGLEVEL": "WARNING"},
        folder,
        _v1(port),
        "worker",
        _root_or("parent (loads, forks; serves gRPC)", "worker"),
        (
            f"--workers {WORKERS} (uvicorn processes), latency logging off; its gRPC server "
            "(V2, `--grpc_port`) runs in the parent process, binds all interfaces (KServe has "
            "no option to narrow it) and idles during the REST runs",
        ),
        {"grpc": f"{LOOPBACK}:{grpc_port}"},
    )


def _mlserver(venv: Venv, model: Path, folder: Path) -> Launch:
    port = free_port()
    settings = {
        "debug": False,  # debug=True turns uvicorn's access log on
        "host": LOOPBACK,
        "http_port": port,
        "grpc_port": free_port(),
        "metrics_port": free_port(),
        "parallel_workers": WORKERS,
        "logging_settings": QUIET_LOGGING,
    }
    model_settings = {
        "name": MODEL_NAME,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": str(model), "version": "v1"},
    }
    (folder / "settings.json").write_text(json.dumps(settings, indent=2))
    (folder / MODEL_NAME).mkdir(exist_ok=True)
    (folder / MODEL_NAME / "model-settings.json").write_text(json.dumps(model_settings, indent=2))
    request = Request(_url(port, payloads.v2_path(MODEL_NAME)), payloads.v2_body())
    return Launch(
        [str(venv.bin / "mlserver"), "start", str(folder)],
        _base_env(venv),
        folder,
        [Endpoint("v2", request)],
        "inference worker",
        _root_or("REST server", "inference worker"),
        (f"parallel_workers={WORKERS} inference processes behind one REST process; V2 only",),
    )


def _bentoml(venv: Venv, model: Path, folder: Path) -> Launch:
    port = free_port()
    env = {
        **_base_env(venv),
        "BENCH_MODEL_PATH": str(model),
        "BENCH_WORKERS": str(WORKERS),
        "BENTOML_HOME": str(folder / "home"),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    command = [str(venv.bin / "bentoml"), "serve", "bentoml_service:Iris"]
    command += ["--working-dir", str(SERVERS), "--host", LOOPBACK, "--port", str(port)]
    return Launch(
        command,
        env,
        folder,
        _v1(port),
        "worker",
        _root_or("arbiter (circus)", "worker"),
        (f"workers={WORKERS}, access log off; the API takes the V1 body on the V1 path",),
    )


def _ray_role(proc: ProcInfo, is_root: bool) -> str:
    for marker, role in (("ServeReplica", "replica"), ("ProxyActor", "HTTP proxy")):
        if marker in proc.cmdline:
            return role
    return "driver" if is_root else "Ray runtime (GCS, raylet, controller, workers)"


def _ray(venv: Venv, model: Path, folder: Path) -> Launch:
    port = free_port()
    # Ray notices it runs under `uv run` (the bench does) and would ship the project to workers.
    env = {**_base_env(venv), "RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_UV_RUN_RUNTIME_ENV": "0"}
    command = [str(venv.python), str(SERVERS / "ray_server.py"), str(model), str(port)]
    return Launch(
        [*command, str(WORKERS)],
        env,
        folder,
        _v1(port),
        "replica",
        _ray_role,
        (f"num_replicas={WORKERS} behind Ray's HTTP proxy; async __call__; access log off",),
    )


LAUNCHERS = {"kserve": _kserve, "mlserver": _mlserver, "bentoml": _bentoml, "ray": _ray}


@contextlib.contextmanager
def start(name: str, venv: Venv, model: Path, *, timeout_s: float) -> Iterator[Started]:
    """Start peer ``name`` and wait for its first prediction; stop its processes on exit.

    Raises:
        TargetFailed: it exited or did not answer within ``timeout_s``.
    """
    folder = WORK / "peers" / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    launch = LAUNCHERS[name](venv, model, folder)
    log = WORK / "logs" / f"{name}.log"
    log.unlink(missing_ok=True)
    started_at = time.monotonic()
    with launched(name, launch.command, env=launch.env, log=log, cwd=launch.cwd) as proc:
        answered = first_prediction(
            launch.endpoints[0].request, proc=proc, log=log, timeout_s=timeout_s
        )
        yield Started(
            name=name,
            proc=proc,
            endpoints=launch.endpoints,
            classify=launch.classify,
            worker_role=launch.worker_role,
            python=venv.python,
            start_to_first_s=answered - started_at,
            notes=list(launch.notes),
            extra=dict(launch.extra),
        )
