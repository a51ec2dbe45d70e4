"""Objects both cluster tools render: the anchor ConfigMap, the two Secrets, metadata.

The anchor (``<name>-shipyard``, a ConfigMap holding the deployment id, the revision and the
spec as JSON) is what every other object of a deployment is owned by: deleting it lets the
cluster's garbage collector remove the rest, and reading it back after a restart tells the
backend which revision it last applied (adoption). Its uid exists only once it was created, so a
dry run renders the other objects without ``ownerReferences`` and apply renders them with.
"""

from __future__ import annotations

import json
from typing import Any

from shipyard.backends.cluster import naming
from shipyard.backends.cluster.inputs import RenderInput
from shipyard.spec.deployment import Component
from shipyard.spec.tools import Resolution, resolve
from shipyard.spec.validation import raise_for

REDACTED_TOKEN = "<minted when applied>"
REDACTED_REPLICA_TOKEN = "<the project's replica token, written when applied>"


def anchor_name(inp: RenderInput) -> str:
    return naming.model_secret_name(inp.spec.name).removesuffix("-model") + "-shipyard"


def metadata(
    inp: RenderInput,
    name: str,
    component: Component | None = None,
    annotations: dict[str, str] | None = None,
    *,
    owned: bool = True,
) -> dict[str, Any]:
    """``metadata`` of one object: name, namespace, labels, annotations, owner."""
    if component is None:
        labels = naming.deployment_labels(inp.deployment_id, inp.spec.name, inp.project_id)
    else:
        labels = naming.component_labels(
            inp.deployment_id, inp.spec.name, inp.project_id, component
        )
    out: dict[str, Any] = {
        "name": name,
        "namespace": inp.target.namespace,
        "labels": labels,
        "annotations": {
            naming.REVISION: str(inp.revision),
            **inp.annotations,
            **(annotations or {}),
        },
    }
    if owned and inp.owner is not None:
        out["ownerReferences"] = [
            {
                "apiVersion": inp.owner.api_version,
                "kind": inp.owner.kind,
                "name": inp.owner.name,
                "uid": inp.owner.uid,
            }  # no blockOwnerDeletion: it would need rights on the anchor's finalizers
        ]
    return out


def anchor(inp: RenderInput) -> dict[str, Any]:
    """The ConfigMap every other object of the deployment is owned by."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(inp, anchor_name(inp), owned=False),
        "data": {
            "deployment-id": inp.deployment_id,
            "revision": str(inp.revision),
            "template-revision": str(inp.pod_revision),
            "stopped": "true" if inp.stopped else "false",
            "spec.json": json.dumps(inp.spec.model_dump(mode="json"), sort_keys=True),
        },
    }


def model_secret(inp: RenderInput, token: str | None) -> dict[str, Any]:
    """The Secret the init containers read the model download token from."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(inp, naming.model_secret_name(inp.spec.name)),
        "type": "Opaque",
        "stringData": {naming.MODEL_SECRET_KEY: token if token is not None else REDACTED_TOKEN},
    }


def replica_secret(inp: RenderInput, token: str | None = None) -> dict[str, Any]:
    """The Secret holding the project's replica token (see :mod:`shipyard.wire.replica_token`),
    mounted read-only into the runtime container: the runtime refuses every request without it
    (the gateway presents it), so other pods of the cluster cannot call the model. One per
    deployment, owned by its anchor (deleted with it); the deployments of one project hold the
    same token."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(inp, naming.replica_secret_name(inp.spec.name)),
        "type": "Opaque",
        "stringData": {
            naming.REPLICA_SECRET_KEY: token if token is not None else REDACTED_REPLICA_TOKEN
        },
    }


def checked_resolution(inp: RenderInput) -> Resolution:
    """The spec resolved for its tool; ``InvalidSpec`` listing whatever the tool refuses."""
    resolution = resolve(inp.spec)
    raise_for(resolution.errors)
    return resolution
