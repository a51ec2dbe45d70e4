"""The ``ClusterTarget`` of a project, from the server's settings (namespace, URLs, mode)."""

from __future__ import annotations

import hashlib

from shipyard.backends.cluster.inputs import ClusterTarget, KServeMode
from shipyard.errors import InvalidSpec
from shipyard.settings import ServerSettings

PLACEHOLDER_URL = "http://shipyard.invalid:8470"
"""Shown by a dry run on a server without ``SHIPYARD_KUBE_SHIPYARD_URL``."""


def namespace_of(template: str, project: str) -> str:
    """The namespace of ``project``: the template filled in, hashed down to 63 characters."""
    name = template.replace("{project}", project)
    if len(name) <= 63:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[:54].rstrip('-')}-{digest}"


def target_of(settings: ServerSettings, project: str, *, dry_run: bool = False) -> ClusterTarget:
    """Where ``project``'s deployments go.

    Raises:
        InvalidSpec: Not a dry run, and the server does not know how pods reach its API.
    """
    url = settings.kube_shipyard_url
    if url is None:
        if not dry_run:
            raise InvalidSpec(
                "this server cannot deploy on a cluster: set SHIPYARD_KUBE_SHIPYARD_URL to "
                "Shipyard's API as pods reach it (docs/kubernetes.md)"
            )
        url = PLACEHOLDER_URL
    return ClusterTarget(
        namespace=namespace_of(settings.kube_namespace, project),
        api_url=url,
        kserve_mode=KServeMode(settings.kserve_deployment_mode),
        image_pull_secret=settings.kube_image_pull_secret,
    )
