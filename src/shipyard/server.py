"""Composition root of ``shipyard server``: builds every collaborator once and runs them.

One process serves the control-plane API and runs the reconciler loop; the gateway runs as its
own process (kept free of control-plane work) and is restarted if it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import uv
import uvicorn
from prometheus_client.multiprocess import mark_process_dead

from shipyard.api.app import create_app
from shipyard.api.services import Services
from shipyard.backends import capacity, processes
from shipyard.backends.docker.backend import DockerBackend, scope_of
from shipyard.backends.docker.images import ImageBuilder
from shipyard.backends.docker.sdk import DockerEngine
from shipyard.backends.gpus import GpuInventory
from shipyard.backends.limits import detect_enforcer
from shipyard.backends.local import LocalBackend
from shipyard.backends.registry import BackendRegistry
from shipyard.backends.zygotes import Zygotes
from shipyard.controller.reconcile import Controller
from shipyard.environments.manager import EnvironmentManager
from shipyard.errors import ShipyardError
from shipyard.registry.storage import ArtifactStorage
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Capacity
from shipyard.spec.deployment import ServingTool
from shipyard.store import Store, open_store

log = logging.getLogger("shipyard.server")
MIB = 1024 * 1024


def prepare_home(settings: ServerSettings) -> None:
    for folder in (settings.home, settings.artifacts_dir, settings.logs_dir, settings.run_dir):
        folder.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.home, 0o700)


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


def docker_backend(settings: ServerSettings, gpus: GpuInventory) -> DockerBackend:
    """The DOCKER serving tool's backend (the engine is only contacted once it is used)."""
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
    )


def build_services(settings: ServerSettings) -> Services:
    prepare_home(settings)
    store = open_store(settings.resolved_database_url)
    gpus = GpuInventory.detect(settings.gpus)
    enforcer = detect_enforcer(force_best_effort=settings.best_effort_limits, gpus=gpus)
    local = LocalBackend(
        run_dir=settings.run_dir,
        logs_dir=settings.logs_dir,
        capacity=node_capacity(settings, gpus),
        enforcer=enforcer,
        host=settings.bind,
        zygotes=Zygotes(settings.run_dir) if settings.preload_replicas else None,
    )
    storage = ArtifactStorage(
        settings.artifacts_dir,
        max_upload_bytes=settings.max_upload_mb * MIB,
        max_unpacked_bytes=settings.max_unpacked_mb * MIB,
    )
    environments = EnvironmentManager(settings)
    backends = BackendRegistry()
    backends.add_replicas(ServingTool.LOCAL, local)
    backends.add_replicas(ServingTool.DOCKER, docker_backend(settings, gpus))
    controller = Controller(
        store=store, backends=backends, settings=settings, environments=environments
    )
    return Services(
        settings=settings,
        store=store,
        storage=storage,
        controller=controller,
        environments=environments,
        internal_token=secrets.token_urlsafe(32),
    )


def check_ports_free(settings: ServerSettings) -> None:
    """Fail at once, with the setting to change, when a port is taken."""
    for what, port, var in (
        ("API", settings.api_port, "SHIPYARD_API_PORT"),
        ("gateway", settings.gateway_port, "SHIPYARD_GATEWAY_PORT"),
    ):
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


def _gateway_process(settings: ServerSettings, token: str, worker: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    metrics_dir = _gateway_metrics_dir(settings)
    if metrics_dir is not None:
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    env.update(
        {
            "SHIPYARD_GATEWAY_WORKERS": str(settings.resolved_gateway_workers),
            "SHIPYARD_GATEWAY_WORKER_ID": str(worker),
            "SHIPYARD_BIND": settings.bind,
            "SHIPYARD_GATEWAY_PORT": str(settings.gateway_port),
            "SHIPYARD_GATEWAY_CONTROL_URL": f"http://{settings.bind}:{settings.api_port}",
            "SHIPYARD_INTERNAL_TOKEN": token,
            "SHIPYARD_GATEWAY_ATTEMPTS": str(settings.gateway_attempts),
            "SHIPYARD_GATEWAY_COLD_START_TIMEOUT_S": str(settings.gateway_cold_start_timeout_s),
            "SHIPYARD_LOG_LEVEL": settings.log_level,
        }
    )
    return subprocess.Popen(
        [sys.executable, "-m", "shipyard.gateway"], env=env, preexec_fn=processes.die_with_parent
    )


async def _supervise_gateway(settings: ServerSettings, token: str) -> None:
    """Keep the gateway processes running (restarting any that exits); stop them when cancelled."""
    metrics_dir = _gateway_metrics_dir(settings)
    if metrics_dir is not None:  # the files of a previous run would add to this run's counts
        shutil.rmtree(metrics_dir, ignore_errors=True)
        metrics_dir.mkdir(parents=True)
    procs = [
        _gateway_process(settings, token, worker)
        for worker in range(settings.resolved_gateway_workers)
    ]
    try:
        while True:
            await asyncio.sleep(0.5)
            for worker, proc in enumerate(procs):
                if proc.poll() is not None:
                    log.error(
                        "gateway %d exited with code %s; restarting it", worker, proc.returncode
                    )
                    if metrics_dir is not None:  # its counts stay; its gauges no longer count
                        mark_process_dead(proc.pid, str(metrics_dir))  # type: ignore[no-untyped-call]
                    await asyncio.sleep(1.0)
                    procs[worker] = _gateway_process(settings, token, worker)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def banner(settings: ServerSettings, key: str | None) -> str:
    api = f"http://{settings.bind}:{settings.api_port}"
    lines = [
        "Shipyard is running",
        f"  API       {api}/api/v1   (OpenAPI: {api}/openapi.json, docs: {api}/docs)",
        f"  gateway   http://{settings.bind}:{settings.gateway_port}   (KServe V1 and V2)",
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
    check_ports_free(settings)
    services = build_services(settings)
    key = bootstrap_key(services.store, settings.api_key_file)
    app = create_app(services)
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
    gateway = asyncio.create_task(_supervise_gateway(settings, services.internal_token))
    try:
        api = asyncio.create_task(server.serve())
        while not server.started and not api.done():
            await asyncio.sleep(0.05)
        if server.started:
            print(banner(settings, key), flush=True)
        await api
    finally:
        gateway.cancel()
        await asyncio.gather(gateway, return_exceptions=True)
        services.store.close()


def run(settings: ServerSettings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per health probe otherwise
    asyncio.run(serve(settings))
