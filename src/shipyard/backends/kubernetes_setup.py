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
from shipyard.backends.kserve.backend import KServeBackend
from shipyard.backends.kubernetes.backend import KubernetesBackend
from shipyard.backends.kubernetes.client import ClusterApi, connect
from shipyard.backends.kubernetes.component import ClusterComponents
from shipyard.settings import ServerSettings
from shipyard.spec.deployment import ServingTool

MODEL_TOKEN_KEY_FILE = "model-token-key"


def model_token_signer(settings: ServerSettings) -> ModelTokenSigner:
    """The signer of model download tokens, its key kept in ``$SHIPYARD_HOME`` (mode 600)."""
    path: Path = settings.home / MODEL_TOKEN_KEY_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(secrets.token_bytes(32))
    return ModelTokenSigner(path.read_bytes(), ttl_s=settings.kube_model_token_ttl_s)


def cluster_backends(
    settings: ServerSettings, signer: ModelTokenSigner, project_names: Callable[[str], str]
) -> dict[ServingTool, ClusterComponents]:
    """The cluster tools' component backends ({} when no cluster is configured)."""
    if not settings.kube_shipyard_url:
        return {}
    api = ClusterApi(connect(settings), attempts=settings.kube_api_attempts)
    kubernetes = KubernetesBackend(api, signer, external_url=settings.kube_external_url)
    kserve = KServeBackend(api, signer, external_url=settings.kube_external_url is not None)
    return {
        tool: ClusterComponents(
            tool, backend, settings, project_names, default_image=settings.kube_runtime_image
        )
        for tool, backend in (
            (ServingTool.KUBERNETES, kubernetes),
            (ServingTool.KSERVE, kserve),
        )
    }
