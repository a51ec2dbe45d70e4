"""Shipyard on DOCKER as a target: the same server, model and gateway, the replicas containers.

The engine is the one ``DOCKER_HOST`` names (or the default socket) when it answers; else the
bench starts a throwaway one with the project's own ``.ci/docker.sh`` (state in
``bench/_work/docker.state``) and stops it when the target is done, so it never runs while
another target is measured. Where no engine can be had (another engine owns ``docker0``, not
root, no apt-get) the target fails with the reason and the runner skips it, printing that.

The base image is pulled or made from Debian packages (``shipyard images bootstrap``'s code)
before anything is timed. A first deployment then builds the environment image (its time is
reported, not counted); the **deploy to first prediction** figures are those with the image
cached: ``REPEATS`` deployments timed from ``deploy(await_update=None)`` to the first 2xx
through the gateway, each deleted and its containers gone before the next. The load test uses
``WORKERS`` containers of one core and 1 GiB each (fixed resources: request = limit), beside the
LOCAL ``shipyard`` target's numbers of the same run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bench import shipyard_target
from bench import shipyard_timing as timing
from bench.settings import MODEL_NAME, REPO, WORK, WORKERS
from bench.target import Started, TargetFailed
from shipyard.backends.docker.bootstrap import DEFAULT_TAG, BootstrapRequest, bootstrap
from shipyard.backends.docker.engine import EngineError
from shipyard.backends.docker.sdk import DockerEngine
from shipyard.resources import PredictorResources, Resources

NAME = "shipyard-docker"
STATE = WORK / "docker.state"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
RESOURCES = PredictorResources(
    num_instances=WORKERS,
    requests=Resources(cores=1, memory=1024, gpus=0),
    limits=Resources(cores=1, memory=1024, gpus=0),
)
"""DOCKER reserves fixed resources (request = limit): the LOCAL target's limits, exactly."""


def _answers(host: str) -> bool:
    try:
        engine = DockerEngine(host)
    except EngineError:
        return False
    try:
        engine.ping()
    except EngineError:
        return False
    finally:
        engine.close()
    return True


@contextlib.contextmanager
def engine() -> Iterator[str]:
    """``DOCKER_HOST`` of a running engine: an existing one, or one started for the target
    (stopped on exit).

    Raises:
        TargetFailed: none answers and ``.ci/docker.sh start`` could not start one.
    """
    given = os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    if given.startswith("unix://") and not Path(given.removeprefix("unix://")).exists():
        given = ""
    if given and _answers(given):
        yield given
        return
    env = {**os.environ, "SHIPYARD_DOCKER_STATE": str(STATE)}
    print("   starting a Docker engine with .ci/docker.sh", flush=True)
    done = subprocess.run(
        ["bash", str(REPO / ".ci" / "docker.sh"), "start"],
        env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    if done.returncode != 0 or "DOCKER_HOST=" not in done.stdout:
        why = done.stderr.strip().splitlines()[-1:] or ["no reason given"]
        raise TargetFailed(f"no Docker engine: .ci/docker.sh start failed: {why[0]}")
    host = done.stdout.strip().rsplit("DOCKER_HOST=", 1)[1]
    try:
        yield host
    finally:
        subprocess.run(
            ["bash", str(REPO / ".ci" / "docker.sh"), "stop"],
            env={**env, "DOCKER_HOST": host}, capture_output=True, timeout=300, check=False,
        )  # fmt: skip


def base_image(host: str) -> str:
    """The catalogue's base image in the engine: present, pulled, or made from Debian's
    packages (about a minute, once per engine)."""
    client = DockerEngine(host)
    try:
        if client.image_labels(DEFAULT_TAG) is None:
            try:
                client.pull(DEFAULT_TAG)
            except EngineError:
                print(f"   making {DEFAULT_TAG} from Debian packages", flush=True)
                bootstrap(client, BootstrapRequest(tag=DEFAULT_TAG), lambda line: None)
    except EngineError as exc:
        raise TargetFailed(f"no base image {DEFAULT_TAG}: {exc.message}") from exc
    finally:
        client.close()
    return DEFAULT_TAG


def _containers_gone(host: str, name: str, timeout_s: float = 60) -> None:
    client = DockerEngine(host)
    try:
        deadline = time.monotonic() + timeout_s
        while client.containers({"io.shipyard.deployment-name": name}):
            if time.monotonic() > deadline:
                raise TargetFailed(f"the containers of {name} were not removed in {timeout_s} s")
            time.sleep(0.1)
    finally:
        client.close()


def _predictor(ms: Any, model: Any, name: str) -> Any:
    return ms.create_predictor(model, name=name, resources=RESOURCES, serving_tool="DOCKER")


def _deploy_gone(host: str, deployment: Any, name: str) -> None:
    deployment.delete()
    _containers_gone(host, name)


def _notes() -> list[str]:
    return [
        f"{WORKERS} containers (fixed resources: 1 core / 1024 MiB each, request = limit), "
        "the environment image built once and cached, built-in scikit-learn loader",
        "called through the gateway with `Authorization: ApiKey ...`; the gateway reaches each "
        "container on its port published on 127.0.0.1 (through the engine's docker-proxy)",
        "the replicas run in containers, outside the server's process tree: their CPU and "
        "memory are not in this target's by-role figures (the engine's accounting is)",
    ]


@contextlib.contextmanager
def start(model_file: Path, *, timeout_s: float) -> Iterator[Started]:
    """Shipyard with its replicas on DOCKER: deploy timings (image cached), then the load
    deployment; everything (and an engine the bench started) stopped on exit.

    Raises:
        TargetFailed: no engine, no base image, or the server or a deployment did not come up.
    """
    with engine() as host:
        base_image(host)
        env = {"SHIPYARD_DOCKER_HOST": host}
        with shipyard_target._server(model_file, timeout_s, extra_env=env) as server:
            ms, proc, log = server.serving, server.proc, shipyard_target.LOG
            build = _predictor(ms, server.model, "image-build")
            deployment, built = timing.deploy(build, server.auth, proc, log, wait=True)
            _deploy_gone(host, deployment, "image-build")
            timings = []
            for i in range(timing.REPEATS):
                name = f"trial-{i}"
                deployment, trial = timing.deploy(
                    _predictor(ms, server.model, name), server.auth, proc, log, wait=False
                )
                timings.append(trial)
                _deploy_gone(host, deployment, name)
            predictor = _predictor(ms, server.model, MODEL_NAME)
            deployment, last = timing.deploy(predictor, server.auth, proc, log, wait=True)
            summary = timing.summary([*timings, last], [])
            summary["image_build_first_prediction_s"] = built.first_prediction_s
            started = shipyard_target._started(
                server,
                deployment,
                batching=False,
                first_s=server.up_s + timings[0].first_prediction_s,
            )
            started.name = NAME
            started.notes = _notes()
            started.extra = {"server_up_s": server.up_s, "deploy": summary}
            yield started


def startup_lines(result: Any) -> list[str]:
    """RESULTS.md lines of the DOCKER target's deploy timings (none when it did not run)."""
    deploy = result.extra.get("deploy") if result is not None else None
    if not isinstance(deploy, dict):
        return []
    lines = [
        "**Shipyard on DOCKER, deploy to first prediction with the image cached** (polled as "
        "above; each deployment deleted and its containers gone before the next). The first "
        "deployment, which built the environment image when the engine did not have it, "
        f"answered after {deploy['image_build_first_prediction_s']:.2f} s.",
        "",
    ]
    return [*lines, *timing.deploy_table(deploy["runs"]), ""]
