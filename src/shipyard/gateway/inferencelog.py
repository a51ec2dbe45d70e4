"""Inference logging: each sampled request and response of a deployment, off the request path.

:meth:`InferenceLog.record` is called by the gateway after it answered a request: it samples,
builds the events (``request`` and/or ``response`` by the deployment's mode, one ``ce-id`` for
the pair) and puts them on a bounded queue without waiting; a full queue drops them, counted in
the metrics (``shipyard_gateway_inference_log_events{outcome="dropped"}``). :meth:`run` delivers:
a CloudEvent over HTTP (binary content mode, KServe's logger format: ``ce-type:
org.kubeflow.serving.inference.request|response``, the payload as the body) and/or one JSON line
appended to the deployment's file, rotated by size. What gathered on the queue meanwhile is
delivered as one batch: a file gets all its lines in one write to a file kept open (appending
per event, with its open, stat and close, cost the gateway's event loop, and so predictions,
more than half their throughput in ``bench/``). A CloudEvent to a plain ``http://`` receiver
goes over the gateway's own pooled HTTP/1.1 client (:mod:`.upstream`, given as ``raw``), a
fraction of httpx's CPU per POST; ``https://`` ones over httpx; a batch's CloudEvents go
:data:`POSTS_IN_FLIGHT` at once (one at a time, a receiver's round trip bounded the delivery
and half the events were dropped under load). A sink that fails is logged,
counted and kept as the deployment's sink problem (:attr:`InferenceLog.problems`) until it
delivers again; each change is passed to ``health`` (the gateway reports it to the control
plane, which shows it as the deployment's ``INFERENCE_LOGGER`` condition). A prediction never
waits for a sink nor fails because of one; the delivery shares the worker's CPU, a cost
``bench/logging_cost.py`` states.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from shipyard.gateway.upstream import Upstream, UpstreamError
from shipyard.wire.routes import DeploymentKey, DeploymentRoute, LogRoute

log = logging.getLogger(__name__)

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
_SENDS = {"ALL": (True, True), "MODEL_INPUTS": (True, False), "PREDICTIONS": (False, True)}
BATCH = 256
"""Most queued events delivered in one round (the lines of one file go in one write)."""
POSTS_IN_FLIGHT = 8
"""CloudEvents of one round sent at once, each on its own pooled connection (one at a time,
a receiver's round trip bounds the delivery: under load half the events were dropped)."""
MAX_OPEN_FILES = 256
"""Log files kept open at once (all are closed and reopened on use past it)."""

Outcome = Callable[[str, str, str], None]
"""Counts one event: ``(project, deployment, outcome)`` with outcome delivered/dropped/failed."""
Health = Callable[[DeploymentRoute, str | None], None]
"""Told when a deployment's sink starts failing (why) or works again (None)."""


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One request or response to deliver."""

    id: str
    type: str
    time: str
    route: DeploymentRoute
    sink: LogRoute
    status: int
    latency_s: float
    content_type: str
    body: bytes

    def headers(self) -> dict[str, str]:
        """The CloudEvent's attributes as HTTP headers (binary content mode)."""
        route = self.route
        return {
            "ce-specversion": "1.0",
            "ce-id": self.id,
            "ce-type": self.type,
            "ce-source": f"shipyard://{route.project_id}/{route.name}",
            "ce-time": self.time,
            "ce-inferenceservicename": route.name,
            "ce-namespace": route.project_id,
            "ce-component": "predictor",
            "ce-endpoint": f"revision-{route.revision}",
            "ce-modelversion": route.model_version,
            "ce-revision": str(route.revision),
            "ce-status": str(self.status),
            "ce-latencyms": f"{self.latency_s * 1000:.3f}",
            "content-type": self.content_type or "application/json",
        }

    def line(self) -> bytes:
        """The event as one JSON line (the body as JSON when it is, else base64)."""
        record: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "time": self.time,
            "project": self.route.project_id,
            "deployment": self.route.name,
            "revision": self.route.revision,
            "model_version": self.route.model_version,
            "component": "predictor",
            "status": self.status,
            "latency_ms": round(self.latency_s * 1000, 3),
            "content_type": self.content_type,
        }
        try:
            record["body"] = json.loads(self.body) if self.body else None
        except ValueError:
            record["body_base64"] = base64.b64encode(self.body).decode()
        return json.dumps(record, separators=(",", ":")).encode() + b"\n"


class RotatingFile:
    """Appends lines to a file, moving it to ``<name>.1`` .. ``<name>.<backups>`` past a size.

    The file stays open (``O_APPEND``: each write lands whole at the end, also beside the other
    gateway workers writing the same file); one ``stat`` per append notices the size and a
    rotation or removal by another worker, which reopens it.
    """

    def __init__(self, path: Path, max_bytes: int, backups: int) -> None:
        self.path = path
        self._max_bytes = max_bytes
        self._backups = max(1, backups)
        self._fd: int | None = None
        self._inode = -1

    def append(self, data: bytes) -> None:
        try:
            stat: os.stat_result | None = os.stat(self.path)
        except FileNotFoundError:
            stat = None
        if stat is not None and stat.st_size and stat.st_size + len(data) > self._max_bytes:
            self._rotate()
            stat = None
        if self._fd is None or stat is None or stat.st_ino != self._inode:
            self._reopen()
        assert self._fd is not None
        view = memoryview(data)
        while view:
            view = view[os.write(self._fd, view) :]

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _reopen(self) -> None:
        self.close()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC
        self._fd = os.open(self.path, flags, 0o644)
        self._inode = os.fstat(self._fd).st_ino

    def _rotate(self) -> None:
        for index in range(self._backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{index}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{index + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))


class InferenceLog:
    """The gateway's inference log queue and its delivery (see the module docstring)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        folder: Path | None,
        capacity: int = 1000,
        max_file_bytes: int = 64 * 1024 * 1024,
        backups: int = 3,
        count: Outcome | None = None,
        sample: Callable[[], float] = random.random,
        health: Health | None = None,
        raw: Upstream | None = None,
    ) -> None:
        self._client = client
        self._raw = raw
        self._folder = folder
        self._queue: asyncio.Queue[LogEvent] = asyncio.Queue(maxsize=capacity)
        self._max_file_bytes = max_file_bytes
        self._backups = backups
        self._count = count or (lambda project, name, outcome: None)
        self._sample = sample
        self._health = health or (lambda route, problem: None)
        self._files: dict[str, RotatingFile] = {}
        """Per file name of a logger (checked to stay in the folder once), its open file."""
        self.problems: dict[DeploymentKey, str] = {}
        """Deployments whose sink failed last (and why); cleared when it delivers again."""

    def record(
        self,
        route: DeploymentRoute,
        request: tuple[bytes, bytes | None],
        response: tuple[int, bytes, bytes | None],
        latency_s: float,
    ) -> None:
        """Queue the events of one answered request (never waits; drops when full)."""
        sink = route.inference_logger
        if sink is None or self._sample() >= sink.sample_rate:
            return
        wants_request, wants_response = _SENDS.get(sink.mode, (True, True))
        event_id, now = str(uuid.uuid4()), datetime.now(UTC).isoformat()
        status, answer, answer_type = response
        events = []
        if wants_request:
            body, kind = request
            events.append((REQUEST_TYPE, body, kind))
        if wants_response:
            events.append((RESPONSE_TYPE, answer, answer_type))
        for ce_type, body, kind in events:
            content_type = (kind or b"application/json").decode("latin-1")
            event = LogEvent(
                event_id, ce_type, now, route, sink, status, latency_s, content_type, body
            )
            try:
                self._queue.put_nowait(event)
            except asyncio.QueueFull:
                self._count(route.project_id, route.name, "dropped")

    async def run(self) -> None:
        """Deliver queued events until cancelled, what has gathered meanwhile in one batch."""
        while True:
            events = [await self._queue.get()]
            while len(events) < BATCH and not self._queue.empty():
                events.append(self._queue.get_nowait())
            await self.deliver_many(events)

    async def deliver(self, event: LogEvent) -> None:
        """Send one event to its sinks; a failure is counted and kept, never raised."""
        await self.deliver_many([event])

    async def deliver_many(self, events: list[LogEvent]) -> None:
        """Send events to their sinks: the lines of one file in one write, each CloudEvent in
        its own POST (KServe's format), up to :data:`POSTS_IN_FLIGHT` at once; a failure is
        counted and kept, never raised."""
        failed: dict[int, str] = {}
        by_file: dict[str, list[int]] = {}
        if self._folder is not None:
            for i, event in enumerate(events):
                if event.sink.file:
                    by_file.setdefault(event.sink.file, []).append(i)
        for name, indexes in by_file.items():
            try:
                self._file(name).append(b"".join(events[i].line() for i in indexes))
            except OSError as exc:
                failed.update((i, _why(exc)) for i in indexes)
        to_post = [i for i, event in enumerate(events) if event.sink.url and i not in failed]
        posts = iter(to_post)

        async def sender() -> None:
            for i in posts:  # the senders share the iterator: each event is sent once
                try:
                    await self._post(events[i])
                except (OSError, httpx.HTTPError) as exc:
                    failed[i] = _why(exc)

        senders = min(POSTS_IN_FLIGHT, len(to_post))
        if senders == 1:
            await sender()
        elif senders > 1:
            await asyncio.gather(*(sender() for _ in range(senders)))
        for i, event in enumerate(events):
            self._settle(event, failed.get(i))

    async def _post(self, event: LogEvent) -> None:
        url = event.sink.url
        assert url is not None
        headers = event.headers()
        if self._raw is not None and _plain_http(url):
            raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
            try:
                status = (await self._raw.send(url, "POST", raw, event.body)).status
            except UpstreamError as exc:
                raise OSError(f"{type(exc).__name__}: {exc}") from exc
        else:
            status = (await self._client.post(url, content=event.body, headers=headers)).status_code
        if status >= 300:
            raise OSError(f"the receiver answered {status}")

    def _settle(self, event: LogEvent, why: str | None) -> None:
        """Count one event's outcome and keep its deployment's sink problem up to date."""
        route = event.route
        if why is not None:
            if self.problems.get(route.key) is None:
                log.warning("inference log of %r cannot be delivered: %s", route.name, why)
                self._health(route, why)
            self.problems[route.key] = why
            self._count(route.project_id, route.name, "failed")
            return
        if self.problems.pop(route.key, None) is not None:
            self._health(route, None)
        self._count(route.project_id, route.name, "delivered")

    def close(self) -> None:
        """Close the files kept open."""
        for rotating in self._files.values():
            rotating.close()
        self._files.clear()

    def _file(self, name: str) -> RotatingFile:
        rotating = self._files.get(name)
        if rotating is not None:
            return rotating
        assert self._folder is not None
        path = (self._folder / name).resolve()
        if not path.is_relative_to(self._folder.resolve()):
            raise OSError(f"inference log file {name!r} is outside {self._folder}")
        if len(self._files) >= MAX_OPEN_FILES:  # deployments come and go
            self.close()
        rotating = self._files[name] = RotatingFile(path, self._max_file_bytes, self._backups)
        return rotating


def _plain_http(url: str) -> bool:
    """An ``http://`` URL without credentials: the gateway's lean client can send it."""
    return url.startswith("http://") and "@" not in url.split("/", 3)[2]


def _why(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


class SinkReporter:
    """Tells the control plane a deployment's sink failed or works again (``Health``), in the
    background (``POST /internal/logger-health``); a report that fails is only logged."""

    def __init__(self, client: httpx.AsyncClient, control_url: str, token: str) -> None:
        self._client = client
        self._url = control_url.rstrip("/") + "/internal/logger-health"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._pending: set[asyncio.Task[None]] = set()

    def __call__(self, route: DeploymentRoute, problem: str | None) -> None:
        task = asyncio.get_running_loop().create_task(self._post(route, problem))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _post(self, route: DeploymentRoute, problem: str | None) -> None:
        body = {"project_id": route.project_id, "name": route.name, "problem": problem}
        try:
            answer = await self._client.post(self._url, json=body, headers=self._headers)
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("reporting the inference-log sink of %r failed: %r", route.name, exc)
