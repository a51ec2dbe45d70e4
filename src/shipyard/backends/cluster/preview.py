"""The objects a deploy would apply, for the API's dry run (and its checks before a deploy).

The same renderers and the same validation as the backends; only what exists once applied is
shown as a placeholder: the model download token, the owner's uid (no ``ownerReferences``), and
the runtime image unless one image serves every pod (``SHIPYARD_KUBE_RUNTIME_IMAGE``; an image
per environment exists only once the environment was built). The pod templates' digest of the
replica token is left out.
"""

from __future__ import annotations

from typing import Any

from shipyard.backends.cluster import kserve, kubernetes, schemas
from shipyard.backends.cluster.inputs import RenderInput
from shipyard.backends.cluster.target import target_of
from shipyard.settings import ServerSettings
from shipyard.spec.deployment import Component, DeploymentSpec, ServingTool

CLUSTER_TOOLS = frozenset({ServingTool.KUBERNETES, ServingTool.KSERVE})
IMAGE_PLACEHOLDER = "shipyard-runtime:built-when-applied"


def preview(
    settings: ServerSettings,
    project: str,
    spec: DeploymentSpec,
    *,
    deployment_id: str = "",
    revision: int = 1,
    dry_run: bool = True,
) -> list[dict[str, Any]]:
    """The validated objects ``spec`` renders to; ``[]`` for a tool that is not a cluster's.

    Raises:
        InvalidSpec: What the tool (in the configured mode) refuses, or a missing setting.
        InvalidObject: A rendered object fails its schema (a bug of ours).
    """
    if spec.serving_tool not in CLUSTER_TOOLS:
        return []
    inp = RenderInput(
        deployment_id=deployment_id or "to-be-assigned",
        project_id=project,
        revision=revision,
        spec=spec,
        target=target_of(settings, project, dry_run=dry_run),
        images={c: settings.kube_runtime_image or IMAGE_PLACEHOLDER for c in Component},
    )
    render = kubernetes.render if spec.serving_tool is ServingTool.KUBERNETES else kserve.render
    return schemas.validate_all(render(inp))
