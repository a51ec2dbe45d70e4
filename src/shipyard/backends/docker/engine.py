"""The seam between Shipyard and a Docker engine: typed requests in, typed observations out.

Everything the DOCKER backend, the image builder and the bootstrap command ask of an engine
goes through :class:`Engine`; :class:`~shipyard.backends.docker.sdk.DockerEngine` implements it
with the official ``docker`` SDK (blocking calls: callers run them in a thread). The SDK's
exceptions never leave that module: they become :class:`EngineError` (or ``None`` where "not
there" is an answer), so a fake engine in unit tests raises exactly what production code
handles.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from shipyard.errors import BackendUnavailable


def engine_is_local(docker_host: str | None) -> bool:
    """Whether the engine ``docker_host`` names runs on this machine (the default socket, a
    Unix socket, TCP on a loopback address): its containers then share this machine's node
    inventory with LOCAL replicas. An SSH or remote TCP engine is another machine."""
    if not docker_host:
        return True
    scheme, _, rest = docker_host.partition("://")
    if scheme in ("unix", "npipe"):
        return True
    if scheme not in ("tcp", "http", "https"):
        return False
    host = urlsplit(f"//{rest}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class EngineError(BackendUnavailable):
    """The Docker engine refused or failed a request (its own message kept)."""


@dataclass(frozen=True)
class Mount:
    source: str
    target: str
    read_only: bool = True


@dataclass(frozen=True)
class ContainerRequest:
    """One container to create and start."""

    name: str
    image: str
    command: list[str]
    env: dict[str, str]
    labels: dict[str, str]
    user: str = ""
    nano_cpus: int | None = None
    memory_bytes: int | None = None  # the limit; swap is set to the same (no swap)
    gpus: tuple[str, ...] = ()  # device ids, as device requests
    publish: dict[int, tuple[str, int]] = field(default_factory=dict)  # container -> host
    mounts: tuple[Mount, ...] = ()
    read_only: bool = True
    tmpfs: dict[str, str] = field(default_factory=dict)
    network: str | None = None  # None: the engine's default bridge
    pids_limit: int | None = None  # most processes and threads in the container
    working_dir: str | None = None


@dataclass(frozen=True)
class ContainerState:
    """What ``inspect`` reports of one container."""

    id: str
    name: str
    labels: dict[str, str]
    status: str  # created, running, exited, dead, ...
    running: bool
    exit_code: int | None
    oom_killed: bool
    error: str
    started_at: str
    finished_at: str
    nano_cpus: int
    cpu_quota: int
    cpu_period: int
    memory_bytes: int
    memory_swap_bytes: int
    ports: dict[str, int]  # "8080/tcp" -> host port
    port_hosts: tuple[str, ...] = ()  # the host addresses ports are published on
    user: str = ""
    read_only: bool = False
    privileged: bool = False
    network_mode: str = ""
    cap_drop: tuple[str, ...] = ()
    mounts: tuple[tuple[str, bool], ...] = ()  # (destination, writable)


@dataclass(frozen=True)
class ContainerStats:
    """One sample of the engine's stats for one container."""

    cpu_ns: int
    memory_bytes: int
    memory_peak_bytes: int | None
    memory_limit_bytes: int | None
    throttled_periods: int = 0  # CFS periods in which the CPU quota stopped it


@dataclass(frozen=True)
class ImageInfo:
    tags: tuple[str, ...]
    labels: dict[str, str]
    size_bytes: int
    created: str


class Engine(Protocol):
    """What Shipyard needs of a Docker engine."""

    def ping(self) -> str: ...

    def run(self, request: ContainerRequest) -> ContainerState: ...

    def inspect(self, container: str) -> ContainerState | None: ...

    def containers(self, labels: dict[str, str]) -> list[ContainerState]: ...

    def stop(self, container: str, timeout_s: float) -> None: ...

    def kill(self, container: str) -> None: ...

    def remove(self, container: str) -> None: ...

    def wait(self, container: str, timeout_s: float) -> int: ...

    def logs(self, container: str, tail: int) -> list[str]: ...

    def follow(self, container: str) -> Iterator[str]: ...

    def stats(self, container: str) -> ContainerStats | None: ...

    def image_labels(self, image: str) -> dict[str, str] | None: ...

    def images(self, label: str) -> list[ImageInfo]: ...

    def remove_image(self, image: str) -> bool: ...

    def pull(self, image: str) -> None: ...

    def commit(self, container: str, image: str, changes: list[str]) -> None: ...

    def push(self, image: str, on_line: Callable[[str], None]) -> None: ...

    def import_image(self, tarball: Path, image: str, changes: list[str]) -> None: ...
