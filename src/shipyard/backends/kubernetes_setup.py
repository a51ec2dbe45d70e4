"""Building the cluster serving tools from the settings (called by the composition root).

KUBERNETES and KSERVE are registered only when the server is told how pods reach its API
(``SHIPYARD_KUBE_SHIPYARD_URL``); the kubeconfig (or the service account) is read then, once.
Both tools share one API client; each is wrapped for the controller's component seam.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path

from shipyard.backends.cluster.tokens import ModelTokenSigner
from shipyard.backends.docker.setup import image_builder
from shipyard.backends.kserve.backend import KServeBackend
from shipyard.backends.kubernetes.backend import KubernetesBackend
from shipyard.backends.kubernetes.client import ClusterApi, connect
from shipyard.backends.kubernetes.component import ClusterComponents, RuntimeImages, fixed_image
from shipyard.backends.kubernetes_images import RegistryImages
from shipyard.errors import ShipyardError
from shipyard.settings import ServerSettings
from shipyard.spec.deployment import ServingTool
from shipyard.wire.replica_token import ReplicaTokens

MODEL_TOKEN_KEY_FILE = "model-token-key"


def model_token_signer(settings: ServerSettings) -> ModelTokenSigner:
    """The signer of model download tokens, its key kept in ``$SHIPYARD_HOME`` (mode 600)."""
    path: Path = settings.home / MODEL_TOKEN_KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    return ModelTokenSigner(path.read_bytes(), ttl_s=settings.kube_model_token_ttl_s)


def runtime_images(settings: ServerSettings) -> RuntimeImages:
    """One image for every component (``SHIPYARD_KUBE_RUNTIME_IMAGE``), else an image per
    environment built and pushed to ``SHIPYARD_IMAGE_REGISTRY`` by the server's Docker engine.

    Raises:
        ShipyardError: Neither is set: pods would have nothing to run.
    """
    if settings.kube_runtime_image:
        return fixed_image(settings.kube_runtime_image)
    if not settings.image_registry:
        raise ShipyardError(
            "SHIPYARD_KUBE_SHIPYARD_URL is set but neither SHIPYARD_KUBE_RUNTIME_IMAGE nor "
            "SHIPYARD_IMAGE_REGISTRY is: cluster pods need an image with Shipyard's runtime "
            "(docs/kubernetes.md)"
        )
    builder = image_builder(settings)
    return RegistryImages(
        builder,
        settings.environments_dir,
        base_image=settings.docker_base_image,
        index_url=settings.index_url,
    )


def cluster_backends(
    settings: ServerSettings,
    signer: ModelTokenSigner,
    project_names: Callable[[str], str],
    *,
    replica_secret: str | None = None,
) -> dict[ServingTool, ClusterComponents]:
    """The cluster tools' component backends ({} when no cluster is configured).

    ``replica_secret``: the secret the gateway derives each project's replica token from (the
    server's internal token); the pods get their project's token in a Secret and refuse
    requests without it. None: the Secrets keep a placeholder and the pods refuse everyone.
    """
    if not settings.kube_shipyard_url:
        return {}
    images = runtime_images(settings)
    api = ClusterApi(connect(settings), attempts=settings.kube_api_attempts)
    tokens = ReplicaTokens(replica_secret) if replica_secret else None
    kubernetes = KubernetesBackend(
        api, signer, external_url=settings.kube_external_url, replica_tokens=tokens
    )
    kserve = KServeBackend(
        api, signer, external_url=settings.kube_external_url is not None, replica_tokens=tokens
    )
    return {
        tool: ClusterComponents(tool, backend, settings, project_names, images=images)
        for tool, backend in (
            (ServingTool.KUBERNETES, kubernetes),
            (ServingTool.KSERVE, kserve),
        )
    }
