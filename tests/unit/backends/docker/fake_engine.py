"""An in-memory Docker engine for unit tests: containers and images are records."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from shipyard.backends.docker.engine import (
    ContainerRequest,
    ContainerState,
    ContainerStats,
    EngineError,
    ImageInfo,
)


@dataclass
class FakeEngine:
    """Runs nothing. A build container (label ``...environment.build``) prints ``build_lines``
    and exits with ``build_exit``; a replica container is running until the test changes it."""

    images_: dict[str, dict[str, str]] = field(default_factory=dict)
    pullable: set[str] = field(default_factory=set)
    states: dict[str, ContainerState] = field(default_factory=dict)
    requests: dict[str, ContainerRequest] = field(default_factory=dict)
    log_lines: dict[str, list[str]] = field(default_factory=dict)
    build_lines: list[str] = field(default_factory=lambda: ["Resolved 3 packages", "built"])
    build_exit: int = 0
    stats_: dict[str, ContainerStats] = field(default_factory=dict)
    pushed: list[str] = field(default_factory=list)
    commits: list[tuple[str, str, list[str]]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    gate: threading.Event | None = None  # a build waits for it (a slow build)

    def ping(self) -> str:
        return "fake"

    def run(self, request: ContainerRequest) -> ContainerState:
        if request.image not in self.images_:
            raise EngineError(f"No such image: {request.image}")
        state = ContainerState(
            id=f"id-{request.name}",
            name=request.name,
            labels=dict(request.labels),
            status="running",
            running=True,
            exit_code=0,
            oom_killed=False,
            error="",
            started_at="",
            finished_at="",
            nano_cpus=request.nano_cpus or 0,
            cpu_quota=0,
            cpu_period=0,
            memory_bytes=request.memory_bytes or 0,
            memory_swap_bytes=request.memory_bytes or 0,
            ports={f"{p}/tcp": binding[1] for p, binding in request.publish.items()},
        )
        self.states[state.id] = state
        self.requests[state.id] = request
        return state

    def _find(self, container: str) -> ContainerState | None:
        for state in self.states.values():
            if container in (state.id, state.name):
                return state
        return None

    def exit(self, container: str, code: int, *, oom: bool = False) -> None:
        state = self._find(container)
        assert state is not None
        self.states[state.id] = replace(
            state, running=False, status="exited", exit_code=code, oom_killed=oom
        )

    def inspect(self, container: str) -> ContainerState | None:
        return self._find(container)

    def containers(self, labels: dict[str, str]) -> list[ContainerState]:
        return [
            s for s in self.states.values() if all(s.labels.get(k) == v for k, v in labels.items())
        ]

    def stop(self, container: str, timeout_s: float) -> None:
        state = self._find(container)
        if state is not None and state.running:
            self.stopped.append(state.name)
            self.exit(state.id, 0)

    def kill(self, container: str) -> None:
        self.stop(container, 0)

    def remove(self, container: str) -> None:
        state = self._find(container)
        if state is not None:
            del self.states[state.id]
            self.removed.append(state.name)

    def wait(self, container: str, timeout_s: float) -> int:
        state = self._find(container)
        if state is None:
            raise EngineError(f"container {container} is gone")
        return state.exit_code or 0

    def logs(self, container: str, tail: int) -> list[str]:
        state = self._find(container)
        return self.log_lines.get(state.id, [])[-tail:] if state is not None else []

    def follow(self, container: str) -> Iterator[str]:
        state = self._find(container)
        assert state is not None
        if self.gate is not None:
            assert self.gate.wait(timeout=10)
        yield from self.build_lines
        self.exit(state.id, self.build_exit)

    def stats(self, container: str) -> ContainerStats | None:
        state = self._find(container)
        return self.stats_.get(state.id) if state is not None else None

    def image_labels(self, image: str) -> dict[str, str] | None:
        return self.images_.get(image)

    def images(self, label: str) -> list[ImageInfo]:
        return [
            ImageInfo(tags=(tag,), labels=labels, size_bytes=0, created="")
            for tag, labels in self.images_.items()
            if label in labels
        ]

    def remove_image(self, image: str) -> bool:
        if any(r.image == image for r in self.requests.values() if self._find(r.name)):
            return False
        return self.images_.pop(image, None) is not None

    def pull(self, image: str) -> None:
        if image not in self.pullable:
            raise EngineError(f"pull access denied for {image}")
        self.images_[image] = {}

    def commit(self, container: str, image: str, changes: list[str]) -> None:
        self.commits.append((container, image, changes))
        labels = {}
        for change in changes:
            if change.startswith("LABEL "):
                for pair in change.removeprefix("LABEL ").split(" "):
                    key, _, value = pair.partition("=")
                    labels[key] = value.strip('"')
        self.images_[image] = labels

    def push(self, image: str, on_line: Callable[[str], None]) -> None:
        self.pushed.append(image)
        on_line("pushed")

    def import_image(self, tarball: Path, image: str, changes: list[str]) -> None:
        self.images_[image] = {}
