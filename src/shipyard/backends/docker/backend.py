"""The DOCKER ``ReplicaBackend``: each replica is a container of its environment's image.

``start`` answers at once with the replica's handle (its loopback port chosen up front); the
image is found or built and the container created in the background, so a first build never
stalls the reconciler, and a build failure surfaces through ``health`` as the replica's exit
(``ImageBuildFailed`` with the builder's reason); meanwhile ``health`` says which step the
image build is in (``ReplicaHealth.progress``). Containers run the Shipyard runtime as uid
10001 with every capability dropped, ``no-new-privileges``, a read-only root filesystem (a
small tmpfs on ``/tmp``), the engine's default bridge (never the host network) and their port
published on 127.0.0.1 only. The limit is applied exactly (request = limit on this tool): CPU as
``NanoCpus``, memory with the same swap limit (no swap), GPUs as device requests of the
exclusive inventory LOCAL uses too. The model version's files are bind-mounted read-only at
``/mnt/models`` (``MODEL_FILES_PATH``): no copy per version, and a container sees only its
own model's files. With ``tokens``, a container admits only its project's replica token
(mounted read-only, see ``tokens``), which the readiness probe presents.

Labels name the scope (this server's data directory), project, deployment, component,
revision and replica; ``list_replicas`` rebuilds handles from them after a restart, so running
containers are adopted, never duplicated. The controller restarts exits (no engine restart
policy) and reads OOM kills from ``inspect`` with the limit and the peak observed by the stats
poller (cgroup v1 ``max_usage``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import socket
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx

from shipyard.backends import processes
from shipyard.backends.adopted_tokens import DIGEST_KEY, digest_extra, outdated_if_token_changed
from shipyard.backends.docker.containers import (
    ENFORCEMENT,
    L,
    applied,
    applied_limits,
    container_name,
    container_request,
    readable_by_all,
    ref_from,
)
from shipyard.backends.docker.engine import ContainerState, Engine, EngineError
from shipyard.backends.docker.images import ImageBuilder, ImageBuildFailed, ImageRecipe
from shipyard.backends.docker.recipes import recipe_for
from shipyard.backends.docker.tokens import ContainerTokens
from shipyard.backends.gpus import GpuInventory
from shipyard.backends.limits.usage import OOM_REASON, oom_message
from shipyard.backends.protocol import (
    Health,
    LogLine,
    ReplicaHealth,
    ReplicaRef,
    ReplicaSpec,
    UsageSample,
)
from shipyard.errors import ShipyardError
from shipyard.spec.capacity import Capacity
from shipyard.spec.resources import Resources
from shipyard.spec.status import ReplicaExit

_KEPT_LINES = 500
log = logging.getLogger("shipyard.backends.docker")


@dataclass
class _Replica:
    """What this server knows of one replica beyond its handle."""

    ref: ReplicaRef
    container: str  # the container's name (the engine's id once adopted or started)
    task: asyncio.Task[None] | None = None  # image + create, until done
    failure: ReplicaExit | None = None
    stopping: bool = False  # stop was asked while it was launching
    build_log: deque[str] = field(default_factory=lambda: deque(maxlen=_KEPT_LINES))
    usage: UsageSample | None = None
    peak: int = 0
    applied: str = ""  # the limits as the engine reports them back (inspect)
    limits: Resources | None = None  # the same, as a value (request = limit on DOCKER)


def scope_of(home: str) -> str:
    """The label value that tells this server's containers from another's on one engine."""
    return hashlib.sha256(home.encode()).hexdigest()[:16]


class DockerBackend:
    """Runs replicas as containers on one Docker engine."""

    def __init__(
        self,
        *,
        engine: Engine,
        images: ImageBuilder,
        scope: str,
        capacity: Capacity | None,
        gpus: GpuInventory | None = None,
        base_image: str = "python:3.11-slim",
        index_url: str | None = None,
        stats_interval_s: float = 1.0,
        host: str = "127.0.0.1",
        tokens: ContainerTokens | None = None,
    ) -> None:
        self._tokens = tokens
        self._engine = engine
        self._images = images
        self._scope = scope
        self._capacity = capacity
        self._gpus = gpus or GpuInventory([])
        self._base_image = base_image
        self._index_url = index_url
        self._interval = stats_interval_s
        self._host = host
        self._replicas: dict[str, _Replica] = {}
        self._logs: dict[tuple[str, str], deque[LogLine]] = {}  # of removed containers
        self._poller: asyncio.Task[None] | None = None
        self._background: set[asyncio.Task[None]] = set()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(2.0, connect=0.5))

    # -- start ------------------------------------------------------------------------------

    async def start(self, spec: ReplicaSpec) -> ReplicaRef:
        recipe = recipe_for(spec, self._base_image, self._index_url)
        gpus = self._gpus.allocate(spec.replica_id, spec.resources.limits.gpus)
        held = _reserve_port(self._host)  # held until the engine publishes it: no one else gets it
        port = int(held.getsockname()[1])
        digest = self._tokens.digest(spec.project_id) if self._tokens is not None else None
        ref = spec.ref(
            f"http://{self._host}:{port}",
            extra={
                "container": container_name(spec.replica_id),
                "project": spec.project_id,
                "image": self._images.tag(recipe),
                "requests": spec.resources.requests.model_dump_json(),
                "limits": spec.resources.limits.model_dump_json(),
                "gpus": ",".join(gpus),
                "enforcement": ENFORCEMENT,
                **digest_extra(digest),
            },
        )
        replica = _Replica(ref=ref, container=ref.extra["container"])
        self._replicas[spec.replica_id] = replica
        replica.task = asyncio.get_running_loop().create_task(
            self._launch(replica, spec, recipe, held, gpus)
        )
        self._ensure_poller()
        return ref

    async def _launch(
        self,
        replica: _Replica,
        spec: ReplicaSpec,
        recipe: ImageRecipe,
        held: socket.socket,
        gpus: list[str],
    ) -> None:
        """Image, then container; the reserved port is let go just before the engine binds it
        (the image build in between can take minutes)."""
        port = int(held.getsockname()[1])
        on_line: Callable[[str], None] = replica.build_log.append
        try:
            await asyncio.to_thread(readable_by_all, spec.model_dir)
            image = await asyncio.to_thread(self._images.ensure, recipe, on_line)
            if replica.stopping:
                replica.failure = ReplicaExit(reason="Completed", message="stopped before start")
                return
            token_file = None
            if self._tokens is not None:
                token_file = self._tokens.write(spec.replica_id, spec.project_id)
            publish = (self._host, port)
            digest = replica.ref.extra.get(DIGEST_KEY)
            wanted = container_request(spec, image, self._scope, publish, gpus, token_file, digest)
            held.close()
            state = await asyncio.to_thread(self._engine.run, wanted)
            replica.container = state.id
            replica.applied = applied(state)
            replica.limits = applied_limits(state)
        except ShipyardError as exc:
            reason = "ImageBuildFailed" if isinstance(exc, ImageBuildFailed) else "StartError"
            replica.failure = ReplicaExit(reason=reason, message=exc.message, at=_now())
        except Exception as exc:  # never lost: the replica reports it as its exit
            replica.failure = ReplicaExit(
                reason="StartError", message=f"{type(exc).__name__}: {exc}", at=_now()
            )
        finally:
            held.close()

    # -- observe ----------------------------------------------------------------------------

    async def health(self, ref: ReplicaRef) -> ReplicaHealth:
        replica = self._replicas.get(ref.replica_id)
        if replica is None:
            return ReplicaHealth(Health.EXITED, ReplicaExit(reason="Exited", at=_now()))
        if replica.failure is not None:
            return ReplicaHealth(Health.EXITED, replica.failure)
        if replica.task is not None and not replica.task.done():
            building = self._images.progress(ref.extra.get("image", ""))
            return ReplicaHealth(Health.STARTING, progress=building)
        state = await asyncio.to_thread(self._engine.inspect, replica.container)
        if state is None:
            message = "the container is gone (removed outside Shipyard)"
            return ReplicaHealth(Health.EXITED, ReplicaExit(reason="Exited", message=message))
        if not state.running:
            return ReplicaHealth(Health.EXITED, self._exit(replica, state))
        headers = self._tokens.header(ref.extra.get("project")) if self._tokens else {}
        try:
            answer = await self._client.get(f"{ref.url}/v2/health/ready", headers=headers)
        except httpx.HTTPError:
            return ReplicaHealth(Health.STARTING)
        if answer.status_code != 200:
            return ReplicaHealth(Health.STARTING)
        if self._tokens is not None:  # read by the runtime at its start: no longer needed
            self._tokens.remove(ref.replica_id)
        return ReplicaHealth(Health.READY)

    def _exit(self, replica: _Replica, state: ContainerState) -> ReplicaExit:
        """How the container ended, as ``inspect`` says (OOMKilled with limit and peak)."""
        code = state.exit_code
        if state.oom_killed:
            limit = state.memory_bytes
            peak = max(replica.peak, limit)  # the kernel killed it at the limit
            return ReplicaExit(
                code=code, reason=OOM_REASON, message=oom_message(limit, peak), at=_now()
            )
        if code is not None and code > 128:  # the runtime died of a signal
            return processes.describe_exit(-(code - 128)).model_copy(update={"code": code})
        exit_ = processes.describe_exit(code)
        if state.error:
            return exit_.model_copy(update={"message": f"{exit_.message}: {state.error}"})
        return exit_

    def usage(self, ref: ReplicaRef) -> UsageSample | None:
        replica = self._replicas.get(ref.replica_id)
        return replica.usage if replica is not None else None

    def _ensure_poller(self) -> None:
        if self._poller is None or self._poller.done():
            self._poller = asyncio.get_running_loop().create_task(self._poll_stats())

    async def _poll_stats(self) -> None:
        """Sample the engine's stats of every running container (``usage`` answers from it)."""
        while True:
            for replica in list(self._replicas.values()):
                if replica.task is not None and not replica.task.done():
                    continue
                with contextlib.suppress(ShipyardError):
                    stats = await asyncio.to_thread(self._engine.stats, replica.container)
                    if stats is not None:
                        replica.peak = max(replica.peak, stats.memory_peak_bytes or 0)
                        replica.peak = max(replica.peak, stats.memory_bytes)
                        replica.usage = UsageSample(
                            cpu_seconds=stats.cpu_ns / 1e9,
                            memory_bytes=stats.memory_bytes,
                            memory_peak_bytes=replica.peak,
                            enforcement=ENFORCEMENT,
                            note=replica.applied or "from the Docker engine's stats",
                            requests=replica.limits,
                            limits=replica.limits,
                        )
            await asyncio.sleep(self._interval)

    # -- stop, forget, adopt ----------------------------------------------------------------

    async def stop(self, ref: ReplicaRef, *, grace_s: float) -> ReplicaExit:
        """``docker stop`` (SIGTERM: the runtime drains, then SIGKILL after ``grace_s``)."""
        replica = self._replicas.get(ref.replica_id)
        name = replica.container if replica is not None else ref.extra.get("container", "")
        if replica is not None and replica.task is not None and not replica.task.done():
            replica.stopping = True  # a launch still building its image creates nothing
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.shield(replica.task), timeout=grace_s + 30)
        await asyncio.to_thread(self._engine.stop, name, grace_s)
        state = await asyncio.to_thread(self._engine.inspect, name)
        exit_ = (
            self._exit(replica, state)
            if replica is not None and state is not None
            else processes.describe_exit(None)
        )
        if replica is not None and replica.failure is not None:
            exit_ = replica.failure
        await self._remove(ref, name)
        return exit_

    async def _remove(self, ref: ReplicaRef, name: str) -> None:
        lines = await asyncio.to_thread(self._engine.logs, name, _KEPT_LINES)
        kept = self._logs.setdefault((ref.deployment_id, ref.component), deque(maxlen=2000))
        kept.extend(LogLine(replica_id=ref.replica_id, line=line) for line in lines)
        await asyncio.to_thread(self._engine.remove, name)
        if self._tokens is not None:
            self._tokens.remove(ref.replica_id)
        self._replicas.pop(ref.replica_id, None)
        self._gpus.release(ref.replica_id)

    def discard(self, ref: ReplicaRef) -> None:
        """Forget a replica that exited on its own: its container is removed (logs kept)."""
        replica = self._replicas.get(ref.replica_id)
        name = replica.container if replica is not None else ref.extra.get("container", "")
        task = asyncio.get_running_loop().create_task(self._remove(ref, name))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def list_replicas(self) -> list[ReplicaRef]:
        """This server's containers, by their labels (adopted after a restart); build
        containers a dead server left behind are removed. An engine that does not answer
        adopts nothing (logged): a server without Docker still starts and serves LOCAL."""
        try:
            await asyncio.to_thread(self._images.sweep)
            found = await asyncio.to_thread(
                self._engine.containers, {f"{L}scope": self._scope, f"{L}role": "replica"}
            )
        except EngineError as exc:
            log.warning("DOCKER: no containers adopted: %s", exc.message)
            return []
        refs = []
        for state in found:
            ref = ref_from(state, self._host)
            if ref is None:
                continue
            if self._tokens is not None:
                ref = outdated_if_token_changed(ref, self._tokens.digest(ref.extra.get("project")))
            refs.append(ref)
            if ref.replica_id not in self._replicas:
                self._replicas[ref.replica_id] = _Replica(
                    ref=ref,
                    container=state.id,
                    applied=applied(state),
                    limits=applied_limits(state),
                )
                gpus = [g for g in ref.extra.get("gpus", "").split(",") if g]
                if gpus:
                    self._gpus.restore(ref.replica_id, gpus)
        if refs:
            self._ensure_poller()
        return refs

    # -- node, logs, close ------------------------------------------------------------------

    def capacity(self) -> Capacity | None:
        return self._capacity

    def logs(self, deployment_id: str, component: str, tail: int) -> list[LogLine]:
        """The last ``tail`` lines per replica: removed containers' kept lines, image build
        lines, then the engine's log of each container."""
        if tail <= 0:
            return []
        per: dict[str, list[str]] = {}
        for kept in self._logs.get((deployment_id, component), ()):
            per.setdefault(kept.replica_id, []).append(kept.line)
        for replica in list(self._replicas.values()):
            ref = replica.ref
            if ref.deployment_id != deployment_id or ref.component != component:
                continue
            lines = per.setdefault(ref.replica_id, [])
            lines.extend(replica.build_log)
            if replica.task is None or replica.task.done():
                lines.extend(self._engine.logs(replica.container, tail))
        return [LogLine(replica_id=r, line=x) for r, lines in per.items() for x in lines[-tail:]]

    def forget_logs(self, deployment_id: str) -> None:
        for key in [k for k in self._logs if k[0] == deployment_id]:
            del self._logs[key]

    async def close(self) -> None:
        tasks = [t for t in [self._poller, *self._background] if t is not None]
        for replica in self._replicas.values():
            if replica.task is not None:
                tasks.append(replica.task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._client.aclose()


def _reserve_port(host: str) -> socket.socket:
    """A bound (not listening) socket on a free port of ``host``: the port stays ours while
    it is open, so no other replica (of this server or another) is handed it meanwhile."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((host, 0))
    except OSError:
        sock.close()
        raise
    return sock


def _now() -> datetime:
    return datetime.now(UTC)
