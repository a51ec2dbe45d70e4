"""Composition root of ``shipyard server``: builds every collaborator once and runs them.

One process serves the control-plane API and runs the reconciler loop. The gateway runs apart,
under its own supervisor process (:mod:`shipyard.gateway.supervisor`) in a session of its own:
the data plane outlives the control plane. If this server crashes, the gateway keeps serving
its last routing table; the next server on the same data directory adopts it (same settings,
same internal token, kept in the run directory) instead of starting an outage. A server that
stops on purpose stops its gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import uv
import uvicorn

from shipyard.api.app import create_app
from shipyard.api.services import Services
from shipyard.api.usage_history import UsageHistory, sample_forever
from shipyard.api.usage_persistence import persist_forever, restore_history
from shipyard.backends import capacity, processes
from shipyard.backends.docker.backend import DockerBackend, scope_of
from shipyard.backends.docker.engine import engine_is_local
from shipyard.backends.docker.images import ImageBuilder
from shipyard.backends.docker.sdk import DockerEngine
from shipyard.backends.docker.tokens import ContainerTokens
from shipyard.backends.gpus import GpuInventory
from shipyard.backends.identity import Identities
from shipyard.backends.kubernetes_setup import cluster_backends, model_token_signer
from shipyard.backends.limits import detect_enforcer
from shipyard.backends.local import LocalBackend
from shipyard.backends.registry import BackendRegistry
from shipyard.backends.zygotes import Zygotes
from shipyard.controller.reconcile import Controller
from shipyard.environments.manager import EnvironmentManager
from shipyard.errors import ShipyardError
from shipyard.gateway.supervisor import RECORD_ENV, describe
from shipyard.registry.storage import ArtifactStorage
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Capacity
from shipyard.spec.deployment import ServingTool
from shipyard.store import Store, open_store
from shipyard.store.home_lock import hold_home

log = logging.getLogger("shipyard.server")
MIB = 1024 * 1024
THIS_MACHINE = "this machine"
"""The node inventory LOCAL replicas, and DOCKER containers of a local engine, draw from."""


def prepare_home(settings: ServerSettings) -> None:
    """Make the home's folders; with per-project replica identities (a root server) the home
    may be entered (0711) to reach artifacts and venvs, but its logs and run folders, database
    and keys stay the server's alone (``shipyard.backends.identity``)."""
    for folder in (settings.home, settings.artifacts_dir, settings.logs_dir, settings.run_dir):
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o711 if os.geteuid() == 0 else 0o700)
    os.chmod(settings.artifacts_dir, 0o711)
    for private in (settings.logs_dir, settings.run_dir):
        os.chmod(private, 0o700)
    for name in ("shipyard.db", "shipyard.db-wal", "shipyard.db-shm", "shipyard.db-journal"):
        with contextlib.suppress(FileNotFoundError):
            os.chmod(settings.home / name, 0o600)


def bootstrap_key(store: Store, key_file: Path) -> str | None:
    """Create the default project and its key on first start; write the key owner-only."""
    _, key = store.ensure_default_project()
    if key is None:
        return None
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    os.chmod(key_file, 0o600)
    return key


def node_capacity(settings: ServerSettings, gpus: GpuInventory) -> Capacity:
    """The LOCAL node's capacity: settings first, else detected."""
    return Capacity(
        cores=settings.node_cores or capacity.detect_cores(),
        memory=settings.node_memory_mb or capacity.detect_memory_mib(),
        gpus=len(gpus.devices),
    )


def docker_backend(
    settings: ServerSettings, gpus: GpuInventory, replica_secret: str | None = None
) -> DockerBackend:
    """The DOCKER serving tool's backend (the engine is only contacted once it is used); with
    ``replica_secret`` its containers admit only their project's token, as LOCAL replicas."""
    engine = DockerEngine(settings.docker_host)
    images = ImageBuilder(
        engine=engine,
        uv_binary=Path(uv.find_uv_bin()),
        uv_cache=settings.resolved_uv_cache_dir,
        work_dir=settings.run_dir / "image-builds",
        registry=settings.image_registry,
        scope=scope_of(str(settings.home)),
        ca_bundle=settings.resolved_docker_ca_bundle,
    )
    return DockerBackend(
        engine=engine,
        images=images,
        scope=scope_of(str(settings.home)),
        capacity=node_capacity(settings, gpus),
        gpus=gpus,
        base_image=settings.docker_base_image,
        index_url=settings.index_url,
        tokens=ContainerTokens(replica_secret, settings.run_dir / "docker-tokens"),
    )


def internal_token(settings: ServerSettings) -> str:
    """The secret the control plane and its gateway share, kept owner-only in the run directory,
    so a restarted server still speaks with the gateway it adopts."""
    path = settings.run_dir / "internal-token"
    with contextlib.suppress(OSError):
        token = path.read_text().strip()
        if token:
            return token
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token


def build_services(settings: ServerSettings, token: str | None = None) -> Services:
    prepare_home(settings)
    token = token or internal_token(settings)
    store = open_store(settings.resolved_database_url)
    prepare_home(settings)  # again: the database file may be new
    gpus = GpuInventory.detect(settings.gpus)
    enforcer = detect_enforcer(force_best_effort=settings.best_effort_limits, gpus=gpus)
    identities, isolation = Identities.detect(settings.home / "replicas", settings.artifacts_dir)
    local = LocalBackend(
        run_dir=settings.run_dir,
        logs_dir=settings.logs_dir,
        capacity=node_capacity(settings, gpus),
        enforcer=enforcer,
        host=settings.bind,
        zygotes=Zygotes(settings.run_dir) if settings.preload_replicas else None,
        replica_secret=token,
        identities=identities,
    )
    storage = ArtifactStorage(
        settings.artifacts_dir,
        max_upload_bytes=settings.max_upload_mb * MIB,
        max_unpacked_bytes=settings.max_unpacked_mb * MIB,
    )
    environments = EnvironmentManager(settings)
    backends = BackendRegistry()
    backends.add_replicas(ServingTool.LOCAL, local, node=THIS_MACHINE)
    docker_host = settings.docker_host or os.environ.get("DOCKER_HOST")
    docker_node = THIS_MACHINE if engine_is_local(docker_host) else None  # one inventory
    backends.add_replicas(
        ServingTool.DOCKER, docker_backend(settings, gpus, token), node=docker_node
    )
    model_tokens = model_token_signer(settings)
    project_names = lambda project_id: store.get_project(project_id).name  # noqa: E731
    for tool, cluster in cluster_backends(settings, model_tokens, project_names).items():
        backends.add_components(tool, cluster)
    controller = Controller(
        store=store, backends=backends, settings=settings, environments=environments
    )
    return Services(
        settings=settings,
        store=store,
        storage=storage,
        controller=controller,
        environments=environments,
        internal_token=token,
        model_tokens=model_tokens,
        replica_isolation=isolation,
    )


def check_ports_free(settings: ServerSettings, *, gateway: bool = True) -> None:
    """Fail at once, with the setting to change, when a port is taken (the gateway's only when
    ``gateway``: an adopted gateway holds it)."""
    ports = [("API", settings.api_port, "SHIPYARD_API_PORT")]
    if gateway:
        ports.append(("gateway", settings.gateway_port, "SHIPYARD_GATEWAY_PORT"))
        if settings.resolved_gateway_grpc_port:
            grpc_port = settings.resolved_gateway_grpc_port
            ports.append(("gateway gRPC", grpc_port, "SHIPYARD_GATEWAY_GRPC_PORT"))
    for what, port, var in ports:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((settings.bind, port))
            except OSError as exc:
                raise ShipyardError(
                    f"the {what} port {settings.bind}:{port} is in use ({exc.strerror}): "
                    f"is another Shipyard running? Pick another port with {var}"
                ) from exc


def _gateway_metrics_dir(settings: ServerSettings) -> Path | None:
    """Where several gateway processes keep their metrics together (None: one process)."""
    if settings.resolved_gateway_workers < 2:
        return None
    return settings.run_dir / "gateway-metrics"


def _gateway_record(settings: ServerSettings) -> Path:
    return settings.run_dir / "gateway.json"


def gateway_env(settings: ServerSettings, token: str) -> dict[str, str]:
    """The environment of the gateway supervisor (and so of its workers)."""
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    metrics_dir = _gateway_metrics_dir(settings)
    if metrics_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env.update(
        {
            RECORD_ENV: str(_gateway_record(settings)),
            "SHIPYARD_GATEWAY_TABLE_CACHE": str(settings.run_dir / "gateway-table.json"),
            "SHIPYARD_GATEWAY_LOAD_FILE": str(settings.run_dir / "gateway-load"),
            "SHIPYARD_GATEWAY_WORKERS": str(settings.resolved_gateway_workers),
            "SHIPYARD_BIND": settings.bind,
            "SHIPYARD_GATEWAY_PORT": str(settings.gateway_port),
            "SHIPYARD_GATEWAY_GRPC_PORT": str(settings.resolved_gateway_grpc_port),
            "SHIPYARD_GATEWAY_INFERENCE_LOG_DIR": str(settings.home / "logs" / "inference"),
            "SHIPYARD_GATEWAY_CONTROL_URL": f"http://{settings.bind}:{settings.api_port}",
            "SHIPYARD_INTERNAL_TOKEN": token,
            "SHIPYARD_GATEWAY_ATTEMPTS": str(settings.gateway_attempts),
            "SHIPYARD_GATEWAY_COLD_START_TIMEOUT_S": str(settings.gateway_cold_start_timeout_s),
            "SHIPYARD_LOG_LEVEL": settings.log_level,
        }
    )
    return env


def _is_gateway_supervisor(pid: int) -> bool:
    if processes.start_ticks(pid) is None:  # gone, or a zombie
        return False
    try:
        return b"shipyard.gateway.supervisor" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


class GatewayHandle:
    """The gateway supervisor this server runs: started by it, or adopted from a previous one."""

    def __init__(
        self, pid: int, proc: subprocess.Popen[bytes] | None = None, config: str = ""
    ) -> None:
        self.pid = pid
        self._proc = proc
        self.config = config
        """The configuration digest the gateway recorded (adopted ones)."""

    @classmethod
    def start(cls, env: dict[str, str]) -> GatewayHandle:
        command = [sys.executable, "-m", "shipyard.gateway.supervisor"]
        proc = subprocess.Popen(command, env=env, start_new_session=True)  # outlives a crash
        return cls(proc.pid, proc)

    @classmethod
    def previous(cls, settings: ServerSettings) -> GatewayHandle | None:
        """The gateway a previous server on this data directory left running, if any."""
        try:
            record = json.loads(_gateway_record(settings).read_text())
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        handle = cls(pid, config=str(record.get("config", "")))
        return handle if handle.alive() else None

    def alive(self) -> bool:
        if self._proc is not None:
            return self._proc.poll() is None
        return _is_gateway_supervisor(self.pid)

    async def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM (it stops its workers), then SIGKILL after ``timeout_s``."""
        processes.send_signal(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while self.alive() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.alive():
            processes.send_signal(self.pid, signal.SIGKILL)
        if self._proc is not None:
            await asyncio.to_thread(self._proc.wait)


async def adopt_or_retire_gateway(
    settings: ServerSettings, env: dict[str, str]
) -> GatewayHandle | None:
    """The gateway of a previous server, if it serves this very configuration; one that serves
    another is stopped (its port and token are about to change)."""
    previous = GatewayHandle.previous(settings)
    if previous is None:
        if _gateway_record(settings).exists():  # its supervisor died: its workers follow
            await _port_released(settings, timeout_s=5.0)
        return None
    if previous.config == describe(env):
        log.info("adopting the running gateway (supervisor pid %d)", previous.pid)
        return previous
    log.info("stopping the gateway of a previous server: its settings differ")
    await previous.stop()
    return None


async def _port_released(settings: ServerSettings, timeout_s: float) -> None:
    """Wait (bounded) for the gateway port to be free: orphaned workers exit within a second."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((settings.bind, settings.gateway_port))
                return
            except OSError:
                pass
        await asyncio.sleep(0.1)


async def _supervise_gateway(env: dict[str, str], handle: GatewayHandle | None) -> None:
    """Keep the gateway supervisor running (it replaces its own workers); stop it when
    cancelled (a server stopping on purpose)."""
    handle = handle or GatewayHandle.start(env)
    try:
        while True:
            await asyncio.sleep(0.5)
            if not handle.alive():
                log.error("the gateway supervisor (pid %d) is gone; starting another", handle.pid)
                handle = GatewayHandle.start(env)
    finally:
        await handle.stop()


def banner(settings: ServerSettings, key: str | None) -> str:
    api = f"http://{settings.bind}:{settings.api_port}"
    lines = [
        "Shipyard is running",
        f"  API       {api}/api/v1   (OpenAPI: {api}/openapi.json, docs: {api}/docs)",
        f"  web UI    {api}/ui/",
        f"  gateway   http://{settings.bind}:{settings.gateway_port}   (KServe V1 and V2)",
        f"  gRPC      {settings.bind}:{settings.resolved_gateway_grpc_port}   (V2 gRPC, 0 = off)",
        f"  data      {settings.home}",
    ]
    if key:
        lines.append(
            f"  API key   {key}   (shown once; saved to {settings.api_key_file}, mode 600)"
        )
    else:
        lines.append(f"  API key   in {settings.api_key_file}")
    return "\n".join(lines)


class _Server(uvicorn.Server):
    """uvicorn's server, minus its signal capture: ``serve`` below owns SIGINT and SIGTERM, so
    that every shutdown (Ctrl-C or a TERM from a supervisor) runs the same cleanup."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(settings: ServerSettings) -> None:
    prepare_home(settings)
    token = internal_token(settings)
    env = gateway_env(settings, token)
    adopted = await adopt_or_retire_gateway(settings, env)
    check_ports_free(settings, gateway=adopted is None)
    services = build_services(settings, token)
    key = bootstrap_key(services.store, settings.api_key_file)
    history = UsageHistory()
    restore_history(history, services.store, time.time())
    app = create_app(services, usage_history=history)
    config = uvicorn.Config(
        app,
        host=settings.bind,
        port=settings.api_port,
        log_level="warning",
        access_log=False,
        lifespan="on",
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, lambda: setattr(server, "should_exit", True))
    gateway = asyncio.create_task(_supervise_gateway(env, adopted))
    sampler = asyncio.create_task(sample_forever(history, services.controller.snapshot))
    persister = asyncio.create_task(persist_forever(history, services.store))
    try:
        api = asyncio.create_task(server.serve())
        while not server.started and not api.done():
            await asyncio.sleep(0.05)
        if server.started:
            print(banner(settings, key), flush=True)
        await api
    finally:
        gateway.cancel()
        sampler.cancel()
        persister.cancel()
        await asyncio.gather(gateway, sampler, persister, return_exceptions=True)
        services.store.close()


def run(settings: ServerSettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health probe otherwise
    owner = {
        "pid": os.getpid(),
        "bind": settings.bind,
        "api_port": settings.api_port,
        "gateway_port": settings.gateway_port,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    with hold_home(settings.home, owner):  # one server per data directory (adopts replicas)
        asyncio.run(serve(settings))
