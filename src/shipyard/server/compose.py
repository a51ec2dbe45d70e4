"""The composition root of ``shipyard server``: every collaborator built once, wired together.

Part of :mod:`shipyard.server`: the store, the LOCAL and DOCKER replica backends, the cluster
backends (KUBERNETES, KSERVE) in their registry, the environments, the artifact storage and
the controller, handed to the API as one :class:`~shipyard.api.services.Services`. Nothing here
runs anything (:mod:`~shipyard.server.serve` does).
"""

from __future__ import annotations

import os

from shipyard.api.services import Services
from shipyard.backends import capacity
from shipyard.backends.docker.backend import DockerBackend, scope_of
from shipyard.backends.docker.engine import engine_is_local
from shipyard.backends.docker.sdk import DockerEngine
from shipyard.backends.docker.setup import image_builder
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
from shipyard.registry.storage import ArtifactStorage
from shipyard.server.home import internal_token, prepare_home
from shipyard.settings import ServerSettings
from shipyard.spec.capacity import Capacity
from shipyard.spec.deployment import ServingTool
from shipyard.store import open_store

MIB = 1024 * 1024


def node_capacity(settings: ServerSettings, gpus: GpuInventory) -> Capacity:
    """The LOCAL node's capacity: settings first, else detected."""
    return Capacity(
        cores=settings.node_cores or capacity.detect_cores(),
        memory=settings.node_memory_mb or capacity.detect_memory_mib(),
        gpus=len(gpus.devices),
    )


THIS_MACHINE = "this machine"
"""The node inventory LOCAL replicas, and DOCKER containers of a local engine, draw from."""


def docker_backend(
    settings: ServerSettings, gpus: GpuInventory, replica_secret: str | None = None
) -> DockerBackend:
    """The DOCKER serving tool's backend (the engine is only contacted once it is used); with
    ``replica_secret`` its containers admit only their project's token, as LOCAL replicas."""
    engine = DockerEngine(settings.docker_host)
    return DockerBackend(
        engine=engine,
        images=image_builder(settings, engine),
        scope=scope_of(str(settings.home)),
        capacity=node_capacity(settings, gpus),
        gpus=gpus,
        base_image=settings.docker_base_image,
        index_url=settings.index_url,
        tokens=ContainerTokens(replica_secret, settings.run_dir / "docker-tokens"),
    )


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
    clusters = cluster_backends(settings, model_tokens, project_names, replica_secret=token)
    for tool, cluster in clusters.items():
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
