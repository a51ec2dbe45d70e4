"""One Docker engine, one base image and one image cache for every DOCKER test of a session.

The engine is the one ``DOCKER_HOST`` names (``eval "$(bash .ci/docker.sh start)"``). The base
image (``python:3.11-slim``) is pulled or, with no registry, made with
``shipyard images bootstrap``'s code once per engine. Where no engine can be had the tests are
skipped with the reason, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import uv

from shipyard.backends.docker.bootstrap import DEFAULT_TAG, BootstrapRequest, bootstrap
from shipyard.backends.docker.engine import EngineError
from shipyard.backends.docker.images import ImageBuilder
from shipyard.backends.docker.sdk import DockerEngine

REPO = Path(__file__).resolve().parents[3]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI must run the DOCKER tests: {reason}")
    pytest.skip(f"no Docker engine: {reason}")


def _unreachable(docker_host: str) -> str | None:
    """Why nothing answers at ``docker_host`` (None: something listens there)."""
    if docker_host.startswith("unix://"):
        family, address = socket.AF_UNIX, docker_host.removeprefix("unix://")
        target: str | tuple[str, int] = address
    else:
        host, _, port = docker_host.split("://", 1)[-1].partition(":")
        family, target = socket.AF_INET, (host, int(port or 2375))
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.settimeout(5)
        try:
            probe.connect(target)
        except OSError as exc:
            return exc.strerror or str(exc)
    return None


@pytest.fixture(scope="session")
def docker_host() -> str:
    """``DOCKER_HOST`` of the engine the tests use (CI starts it with ``.ci/docker.sh``; the
    tests never start one themselves: two engines on one machine fight over ``docker0`` and
    the iptables chains)."""
    given = os.environ.get("DOCKER_HOST")
    if not given:
        _unavailable('DOCKER_HOST is not set (start one: eval "$(bash .ci/docker.sh start)")')
    return str(given)


@pytest.fixture(scope="session")
def engine(docker_host: str) -> Iterator[DockerEngine]:
    problem = _unreachable(docker_host)
    if problem:  # checked with a socket of our own: the SDK leaks one when it cannot connect
        _unavailable(f"no Docker engine at {docker_host}: {problem}")
    try:
        client = DockerEngine(docker_host)
        client.ping()
    except EngineError as exc:
        _unavailable(exc.message)
    yield client
    client.close()


@pytest.fixture(scope="session")
def base_image(engine: DockerEngine) -> str:
    """The catalogue's base image: present, pulled, or bootstrapped from Debian packages."""
    if engine.image_labels(DEFAULT_TAG) is None:
        try:
            engine.pull(DEFAULT_TAG)
        except EngineError:
            bootstrap(engine, BootstrapRequest(tag=DEFAULT_TAG), lambda line: None)
    return DEFAULT_TAG


def uv_cache() -> Path:
    """The developer's (or CI's) uv cache: packages already downloaded are not again."""
    given = os.environ.get("UV_CACHE_DIR")
    return Path(given) if given else Path.home() / ".cache" / "uv"


def ca_bundle() -> Path | None:
    for candidate in (os.environ.get("SSL_CERT_FILE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="session")
def builder(
    engine: DockerEngine, base_image: str, tmp_path_factory: pytest.TempPathFactory
) -> ImageBuilder:
    return ImageBuilder(
        engine=engine,
        uv_binary=Path(uv.find_uv_bin()),
        uv_cache=uv_cache(),
        work_dir=tmp_path_factory.mktemp("docker-builds"),
        scope="shipyard-tests",
        ca_bundle=ca_bundle(),
    )


@pytest.fixture(scope="session")
def iris_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sys.path.insert(0, str(REPO / "examples" / "iris"))
    from train import train  # type: ignore[import-not-found]

    out = tmp_path_factory.mktemp("iris")
    train(out)
    return out
