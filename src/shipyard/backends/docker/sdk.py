"""The Docker engine through the official ``docker`` SDK: the only module that imports it.

Implements :class:`~shipyard.backends.docker.engine.Engine`; every SDK exception becomes an
:class:`~shipyard.backends.docker.engine.EngineError` with the engine's own explanation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.types
import requests
from docker.models.containers import Container

from shipyard.backends.docker.engine import (
    ContainerRequest,
    ContainerState,
    ContainerStats,
    EngineError,
    ImageInfo,
)

# what the SDK raises: its own errors, and requests' when the engine cannot be reached
_ERRORS = (docker.errors.DockerException, requests.exceptions.RequestException)


def _state(container: Container) -> ContainerState:
    attrs: dict[str, Any] = container.attrs
    state = attrs.get("State") or {}
    host = attrs.get("HostConfig") or {}
    ports: dict[str, int] = {}
    for name, bindings in ((attrs.get("NetworkSettings") or {}).get("Ports") or {}).items():
        for binding in bindings or []:
            if binding.get("HostPort"):
                ports[name] = int(binding["HostPort"])
    hosts = {
        str(binding.get("HostIp", ""))
        for bindings in (host.get("PortBindings") or {}).values()
        for binding in bindings or []
    }
    return ContainerState(
        id=str(attrs.get("Id", container.id)),
        name=str(attrs.get("Name", "")).lstrip("/"),
        labels=dict((attrs.get("Config") or {}).get("Labels") or {}),
        status=str(state.get("Status", "")),
        running=bool(state.get("Running", False)),
        exit_code=state.get("ExitCode"),
        oom_killed=bool(state.get("OOMKilled", False)),
        error=str(state.get("Error", "")),
        started_at=str(state.get("StartedAt", "")),
        finished_at=str(state.get("FinishedAt", "")),
        nano_cpus=int(host.get("NanoCpus") or 0),
        cpu_quota=int(host.get("CpuQuota") or 0),
        cpu_period=int(host.get("CpuPeriod") or 0),
        memory_bytes=int(host.get("Memory") or 0),
        memory_swap_bytes=int(host.get("MemorySwap") or 0),
        ports=ports,
        port_hosts=tuple(sorted(hosts)),
        user=str((attrs.get("Config") or {}).get("User") or ""),
        read_only=bool(host.get("ReadonlyRootfs", False)),
        privileged=bool(host.get("Privileged", False)),
        network_mode=str(host.get("NetworkMode") or ""),
        cap_drop=tuple(host.get("CapDrop") or ()),
        mounts=tuple(
            (str(m.get("Destination", "")), bool(m.get("RW", False)))
            for m in attrs.get("Mounts") or []
        ),
    )


def _stats(raw: dict[str, Any]) -> ContainerStats | None:
    cpu = (raw.get("cpu_stats") or {}).get("cpu_usage") or {}
    memory = raw.get("memory_stats") or {}
    if "total_usage" not in cpu or "usage" not in memory:
        return None  # a stopped container: the engine answers with empty stats
    peak = memory.get("max_usage")  # cgroup v1 only
    return ContainerStats(
        cpu_ns=int(cpu["total_usage"]),
        memory_bytes=int(memory["usage"]),
        memory_peak_bytes=int(peak) if peak else None,
        memory_limit_bytes=int(memory["limit"]) if memory.get("limit") else None,
        throttled_periods=int(
            ((raw.get("cpu_stats") or {}).get("throttling_data") or {}).get("throttled_periods")
            or 0
        ),
    )


class DockerEngine:
    """:class:`Engine` over the ``docker`` SDK, on ``base_url`` (default: ``DOCKER_HOST``)."""

    def __init__(self, base_url: str | None = None, *, timeout_s: float = 60.0) -> None:
        self._base_url = base_url
        self._timeout = int(timeout_s)
        self._made: docker.DockerClient | None = None

    @property
    def _client(self) -> docker.DockerClient:
        """The SDK client, made on first use (a server without an engine still starts)."""
        if self._made is None:
            try:
                if self._base_url:
                    self._made = docker.DockerClient(base_url=self._base_url, timeout=self._timeout)
                else:
                    self._made = docker.from_env(timeout=self._timeout)
            except _ERRORS as exc:
                where = self._base_url or os.environ.get("DOCKER_HOST") or "the default socket"
                raise EngineError(f"no Docker engine at {where}: {exc}") from exc
        return self._made

    def close(self) -> None:
        if self._made is not None:
            self._made.close()
            self._made = None

    def ping(self) -> str:
        try:
            return str(self._client.version().get("Version", "?"))
        except _ERRORS as exc:
            raise EngineError(f"the Docker engine does not answer: {exc}") from exc

    def run(self, request: ContainerRequest) -> ContainerState:
        devices = (
            [docker.types.DeviceRequest(device_ids=list(request.gpus), capabilities=[["gpu"]])]
            if request.gpus
            else None
        )
        mounts = [
            docker.types.Mount(m.target, m.source, type="bind", read_only=m.read_only)
            for m in request.mounts
        ]
        ports = {f"{port}/tcp": binding for port, binding in request.publish.items()}
        try:
            container = self._client.containers.run(
                request.image,
                request.command,
                name=request.name,
                detach=True,
                environment=request.env,
                labels=request.labels,
                user=request.user or None,
                nano_cpus=request.nano_cpus,
                mem_limit=request.memory_bytes,
                memswap_limit=request.memory_bytes,
                device_requests=devices,
                ports=ports,
                mounts=mounts,
                read_only=request.read_only,
                tmpfs=request.tmpfs or None,
                network=request.network,
                pids_limit=request.pids_limit,
                working_dir=request.working_dir,
                cap_drop=["ALL"],
                security_opt=["no-new-privileges"],
                privileged=False,
            )
            container.reload()
        except _ERRORS as exc:
            raise EngineError(f"the engine did not start {request.name}: {_explain(exc)}") from exc
        return _state(container)

    def _get(self, container: str) -> Container | None:
        try:
            return self._client.containers.get(container)
        except docker.errors.NotFound:
            return None
        except _ERRORS as exc:
            raise EngineError(f"inspect {container}: {_explain(exc)}") from exc

    def inspect(self, container: str) -> ContainerState | None:
        found = self._get(container)
        return _state(found) if found is not None else None

    def containers(self, labels: dict[str, str]) -> list[ContainerState]:
        filters: dict[str, str | list[str] | bool] = {
            "label": [f"{k}={v}" for k, v in labels.items()]
        }
        try:
            found = self._client.containers.list(all=True, filters=filters)
        except _ERRORS as exc:
            raise EngineError(f"list containers: {_explain(exc)}") from exc
        return [_state(c) for c in found]

    def stop(self, container: str, timeout_s: float) -> None:
        found = self._get(container)
        if found is not None:
            try:
                found.stop(timeout=max(0, round(timeout_s)))
            except docker.errors.NotFound:
                return
            except _ERRORS as exc:
                raise EngineError(f"stop {container}: {_explain(exc)}") from exc

    def kill(self, container: str) -> None:
        found = self._get(container)
        if found is not None:
            try:
                found.kill()
            except docker.errors.APIError:  # not running (any more)
                return

    def remove(self, container: str) -> None:
        found = self._get(container)
        if found is not None:
            try:
                found.remove(force=True)
            except docker.errors.NotFound:
                return
            except _ERRORS as exc:
                raise EngineError(f"remove {container}: {_explain(exc)}") from exc

    def wait(self, container: str, timeout_s: float) -> int:
        found = self._get(container)
        if found is None:
            raise EngineError(f"container {container} is gone")
        try:
            answer = found.wait(timeout=timeout_s)
        except Exception as exc:  # the SDK raises requests' own timeout here
            raise EngineError(f"wait for {container}: {exc}") from exc
        return int(answer.get("StatusCode", -1))

    def logs(self, container: str, tail: int) -> list[str]:
        found = self._get(container)
        if found is None or tail <= 0:
            return []
        try:
            raw = found.logs(tail=tail, stdout=True, stderr=True)
        except _ERRORS:
            return []
        return bytes(raw).decode("utf-8", errors="replace").splitlines()

    def follow(self, container: str) -> Iterator[str]:
        found = self._get(container)
        if found is None:
            return
        pending = b""
        for chunk in found.logs(stream=True, follow=True, stdout=True, stderr=True):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                yield line.decode("utf-8", errors="replace")
        if pending:
            yield pending.decode("utf-8", errors="replace")

    def stats(self, container: str) -> ContainerStats | None:
        found = self._get(container)
        if found is None:
            return None
        try:
            raw = found.stats(stream=False, one_shot=True)
        except _ERRORS:
            return None
        return _stats(raw) if isinstance(raw, dict) else None

    def image_labels(self, image: str) -> dict[str, str] | None:
        try:
            found = self._client.images.get(image)
        except docker.errors.ImageNotFound:
            return None
        except _ERRORS as exc:
            raise EngineError(f"inspect image {image}: {_explain(exc)}") from exc
        return dict(found.labels or {})

    def images(self, label: str) -> list[ImageInfo]:
        try:
            found = self._client.images.list(filters={"label": label})
        except _ERRORS as exc:
            raise EngineError(f"list images: {_explain(exc)}") from exc
        return [
            ImageInfo(
                tags=tuple(image.tags),
                labels=dict(image.labels or {}),
                size_bytes=int(image.attrs.get("Size") or 0),
                created=str(image.attrs.get("Created") or ""),
            )
            for image in found
        ]

    def remove_image(self, image: str) -> bool:
        """Remove a tag (False: a container still uses it, so the engine keeps it)."""
        try:
            self._client.images.remove(image)
        except docker.errors.APIError as exc:
            if exc.status_code == 409:
                return False
            raise EngineError(f"remove image {image}: {_explain(exc)}") from exc
        except _ERRORS as exc:
            raise EngineError(f"remove image {image}: {_explain(exc)}") from exc
        return True

    def pull(self, image: str) -> None:
        try:
            self._client.images.pull(image)
        except _ERRORS as exc:
            raise EngineError(f"pull {image}: {_explain(exc)}") from exc

    def commit(self, container: str, image: str, changes: list[str]) -> None:
        repository, tag = split_image(image)
        try:
            self._client.api.commit(container, repository=repository, tag=tag, changes=changes)
        except _ERRORS as exc:
            raise EngineError(f"commit {container} as {image}: {_explain(exc)}") from exc

    def push(self, image: str, on_line: Callable[[str], None]) -> None:
        repository, tag = split_image(image)
        try:
            for event in self._client.api.push(repository, tag=tag, stream=True, decode=True):
                if "error" in event:
                    raise EngineError(f"push {image}: {event['error']}")
                if event.get("status"):
                    on_line(str(event["status"]))
        except _ERRORS as exc:
            raise EngineError(f"push {image}: {_explain(exc)}") from exc

    def import_image(self, tarball: Path, image: str, changes: list[str]) -> None:
        repository, tag = split_image(image)
        try:
            self._client.api.import_image_from_file(
                str(tarball), repository=repository, tag=tag, changes=changes
            )
        except _ERRORS as exc:
            raise EngineError(f"import {image}: {_explain(exc)}") from exc


def split_image(image: str) -> tuple[str, str]:
    """``repo[:tag]`` into (repo, tag), minding a registry's ``host:port/``."""
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        return image, "latest"
    return name, tag


def _explain(exc: Exception) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)
