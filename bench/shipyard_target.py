"""Shipyard as a target: its own server and home, the model uploaded and deployed with the SDK.

``shipyard server`` runs from the project's environment with ``SHIPYARD_HOME`` under
``bench/_work`` and free loopback ports. The model file is registered as a scikit-learn model
and deployed with ``WORKERS`` instances (no environment: the replicas run on the server's
interpreter, which has scikit-learn). Load goes through the gateway with the API key header.

Two targets come from here: ``shipyard`` (which also times deploys and cold starts from zero,
see :mod:`bench.shipyard_timing`, before the deployment the load test uses) and
``shipyard+batching`` (the same deployment with adaptive batching on, V1 only).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

import shipyard
from bench import bytecode, payloads
from bench import shipyard_timing as timing
from bench.load import Request
from bench.peers import QUIET_ENV
from bench.procs import Launched, ProcInfo, launched, log_tail, read_proc
from bench.settings import LOOPBACK, MODEL_NAME, REPO, WORK, WORKERS
from bench.target import Endpoint, Started, TargetFailed, free_port
from shipyard import InferenceBatcher, InferenceLogger, PredictorScalingConfig
from shipyard.resources import PredictorResources, Resources

HOME = WORK / "shipyard-home"
LOG = WORK / "logs" / "shipyard.log"
ZYGOTE = "shipyard.runtime.zygote"
BATCHER = InferenceBatcher(enabled=True, max_batch_size=32, max_latency=5, timeout=60)
"""Adaptive batching of the batching target: up to 32 instances or 5 ms (README's example)."""
RESOURCES = PredictorResources(
    num_instances=WORKERS,
    requests=Resources(cores=0.25, memory=128, gpus=0),
    limits=Resources(cores=1, memory=1024, gpus=0),
)
"""Requests small enough for a second deployment to fit beside the first. A limit of one core
each, what a replica that predicts on one thread can use anyway: the LOCAL backend pins each to a
core of its own (peers run unlimited and unpinned, so they are held back by neither)."""


def _role(proc: ProcInfo, is_root: bool) -> str:
    if ZYGOTE in proc.cmdline:  # a forked replica keeps its parent's command line
        parent = read_proc(proc.ppid)
        return "replica" if parent is not None and ZYGOTE in parent.cmdline else "zygote"
    if "shipyard.runtime" in proc.cmdline:
        return "replica"
    if "shipyard.gateway" in proc.cmdline:
        return "gateway"
    return "control plane" if is_root else "other"


def _env(api_port: int, gateway_port: int, grpc_port: int) -> dict[str, str]:
    env = {k: v for k, v in bytecode.env("shipyard").items() if not k.startswith("SHIPYARD_")}
    env.update(QUIET_ENV)
    env.update(
        SHIPYARD_HOME=str(HOME),
        SHIPYARD_BIND=LOOPBACK,
        SHIPYARD_API_PORT=str(api_port),
        SHIPYARD_GATEWAY_PORT=str(gateway_port),
        SHIPYARD_GATEWAY_GRPC_PORT=str(grpc_port),
        SHIPYARD_LOG_LEVEL="warning",
    )
    if "BENCH_GATEWAY_WORKERS" in os.environ:  # A/B runs by hand
        env["SHIPYARD_GATEWAY_WORKERS"] = os.environ["BENCH_GATEWAY_WORKERS"]
    return env


def _wait_healthy(host: str, proc: Launched, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=1.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            if not proc.alive():
                raise TargetFailed(f"shipyard server exited:\n{log_tail(LOG)}")
            with contextlib.suppress(httpx.HTTPError):
                if (
                    client.get(f"{host}/healthz").status_code == 200
                    and (HOME / "api-key").is_file()
                ):
                    return
            time.sleep(0.1)
    raise TargetFailed(f"shipyard server not healthy in {timeout_s:g} s:\n{log_tail(LOG)}")


def _endpoints(deployment: Any, auth: str) -> list[Endpoint]:
    v1 = Request(deployment.endpoints["v1"], payloads.v1_body(), auth)
    v2_url = deployment.endpoints.get("v2") or v1.url.replace(
        payloads.v1_path(MODEL_NAME), payloads.v2_path(MODEL_NAME)
    )
    if not v2_url.endswith("/infer"):
        v2_url = v2_url.rstrip("/") + "/infer"
    return [Endpoint("v1", v1), Endpoint("v2", Request(v2_url, payloads.v2_body(), auth))]


def _predictor(
    ms: Any,
    model: Any,
    name: str,
    *,
    batching: bool,
    zero: bool = False,
    inference_logger: InferenceLogger | None = None,
) -> Any:
    resources, scaling = RESOURCES, None
    if zero:
        resources = PredictorResources(
            num_instances=0, requests=RESOURCES.requests, limits=RESOURCES.limits
        )
        scaling = PredictorScalingConfig(
            min_instances=0, max_instances=1, scale_to_zero_after_s=timing.ZERO_RETENTION_S
        )
    batcher = BATCHER if batching else None
    return ms.create_predictor(
        model,
        name=name,
        resources=resources,
        inference_batcher=batcher,
        scaling_configuration=scaling,
        inference_logger=inference_logger,
    )


def _notes(batching: bool) -> list[str]:
    notes = [
        f"{WORKERS} replicas (requests 0.25 cores / 128 MiB, limits 1 core / 1024 MiB, so each "
        "is pinned to a core of its own), built-in scikit-learn loader (bare model file), "
        "no environment",
        "called through the gateway with `Authorization: ApiKey ...`",
        "replicas after the first of their kind are forked from a pre-imported zygote "
        "(`SHIPYARD_PRELOAD_REPLICAS`, on by default); its memory is listed as role `zygote`",
        "the default gateway workers (at least 2, on one port); each sends requests it reads "
        "together to a replica as one bundle (`POST /internal/bundle`, each answered on its own)",
    ]
    if batching:
        notes.append(
            "adaptive batching on: InferenceBatcher(enabled=True, max_batch_size=32, "
            "max_latency=5 ms, timeout=60 s)"
        )
    return notes


def _prepare_upload(model_file: Path) -> Path:
    upload = WORK / "shipyard-model"
    shutil.rmtree(upload, ignore_errors=True)
    upload.mkdir(parents=True)
    shutil.copy(model_file, upload / model_file.name)
    return upload


@dataclass(frozen=True)
class _Server:
    """A started Shipyard with the model registered (what both kinds of start share)."""

    proc: Launched
    auth: str
    serving: Any
    model: Any
    up_s: float
    """From the server's start to a healthy API."""
    grpc: str
    """The gateway's V2 gRPC address (``127.0.0.1:<port>``)."""


@contextlib.contextmanager
def _server(
    model_file: Path, timeout_s: float, extra_env: dict[str, str] | None = None
) -> Iterator[_Server]:
    """A fresh server (``extra_env`` added to its environment) with the model registered."""
    shutil.rmtree(HOME, ignore_errors=True)
    LOG.unlink(missing_ok=True)
    upload = _prepare_upload(model_file)
    api_port, gateway_port, grpc_port = free_port(), free_port(), free_port()
    host = f"http://{LOOPBACK}:{api_port}"
    command = [sys.executable, "-m", "shipyard", "server"]
    started_at = time.monotonic()
    env = {**_env(api_port, gateway_port, grpc_port), **(extra_env or {})}
    with launched("shipyard", command, env=env, log=LOG, cwd=REPO) as proc:
        _wait_healthy(host, proc, timeout_s)
        up_s = time.monotonic() - started_at
        key = (HOME / "api-key").read_text().strip()
        with shipyard.login(host, key) as project:
            model = project.get_model_registry().sklearn.create_model(MODEL_NAME)
            model.save(str(upload))
            serving = project.get_model_serving()
            grpc = f"{LOOPBACK}:{grpc_port}"
            yield _Server(proc, f"ApiKey {key}", serving, model, up_s, grpc)


def _started(
    server: _Server,
    deployment: Any,
    *,
    batching: bool,
    first_s: float,
    extra: dict[str, Any] | None = None,
) -> Started:
    return Started(
        name="shipyard+batching" if batching else "shipyard",
        proc=server.proc,
        endpoints=_endpoints(deployment, server.auth)[: 1 if batching else 2],
        classify=_role,
        worker_role="replica",
        python=Path(sys.executable),
        start_to_first_s=first_s,
        notes=_notes(batching),
        extra={"grpc": server.grpc, **(extra or {})},
    )


@contextlib.contextmanager
def start(model_file: Path, *, timeout_s: float, batching: bool = False) -> Iterator[Started]:
    """Start a fresh Shipyard, deploy ``model_file``, yield it; stop everything on exit.

    Without ``batching`` the start-up figures are timed first (``bench.shipyard_timing``).

    Raises:
        TargetFailed: the server or a deployment did not come up.
    """
    with _server(model_file, timeout_s) as server:
        ms, auth = server.serving, server.auth
        timings: list[timing.DeployTiming] = []
        zero: list[timing.ColdStart] = []
        if not batching:
            timings = timing.deploy_trials(
                lambda n: _predictor(ms, server.model, n, batching=False),
                HOME,
                auth,
                server.proc,
                LOG,
            )
            zero_predictor = _predictor(ms, server.model, "zero", batching=False, zero=True)
            zero = timing.cold_starts(zero_predictor, HOME, auth)
        predictor = _predictor(ms, server.model, MODEL_NAME, batching=batching)
        deployment, last = timing.deploy(predictor, auth, server.proc, LOG, wait=True)
        # server up, then the first deploy to its first prediction (upload not counted)
        first_s = server.up_s + (timings or [last])[0].first_prediction_s
        extra = {"server_up_s": server.up_s, "deploy": timing.summary([*timings, last], zero)}
        yield _started(server, deployment, batching=batching, first_s=first_s, extra=extra)


@contextlib.contextmanager
def start_pair(model_file: Path, *, timeout_s: float) -> Iterator[tuple[Started, Started]]:
    """One fresh Shipyard serving the model twice: as ``shipyard`` and as ``shipyard+batching``
    (two deployments of ``WORKERS`` replicas each; nothing timed). For
    :mod:`bench.interleave`.

    Raises:
        TargetFailed: the server or a deployment did not come up.
    """
    with _server(model_file, timeout_s) as server:
        pair = []
        for batching, name in ((False, MODEL_NAME), (True, f"{MODEL_NAME}b")):
            predictor = _predictor(server.serving, server.model, name, batching=batching)
            deployment, last = timing.deploy(predictor, server.auth, server.proc, LOG, wait=True)
            first_s = server.up_s + last.first_prediction_s
            pair.append(_started(server, deployment, batching=batching, first_s=first_s))
        yield pair[0], pair[1]


@contextlib.contextmanager
def start_logged(
    model_file: Path, loggers: dict[str, InferenceLogger | None], *, timeout_s: float
) -> Iterator[tuple[Path, list[Started]]]:
    """One fresh Shipyard serving the model once per entry of ``loggers`` (the deployment
    ``<model>-<i>`` with that inference logger; batching off; nothing timed), each yielded as a
    :class:`Started` named by its key, with the server's home. For :mod:`bench.logging_cost`.

    Raises:
        TargetFailed: the server or a deployment did not come up.
    """
    with _server(model_file, timeout_s) as server:
        started = []
        for i, (label, logger) in enumerate(loggers.items()):
            predictor = _predictor(
                server.serving,
                server.model,
                f"{MODEL_NAME}-{i}",
                batching=False,
                inference_logger=logger,
            )
            deployment, last = timing.deploy(predictor, server.auth, server.proc, LOG, wait=True)
            one = _started(server, deployment, batching=False, first_s=last.first_prediction_s)
            started.append(dataclasses.replace(one, name=label))
        yield HOME, started
