"""Names and labels of the cluster objects of one deployment.

Every object Shipyard creates carries ``app.kubernetes.io/managed-by: shipyard`` and the
deployment's id, so ``list(label_selector=deployment_selector(id))`` finds all of them (adoption
after a restart, deletion) and nothing a user made by hand. Names are readable where Kubernetes
allows it (``iris-predictor``) and shortened with a hash where it does not (Service names are
DNS-1035 labels: at most 63 characters, starting with a letter).
"""

from __future__ import annotations

import hashlib

from shipyard.spec.deployment import Component

MANAGED_BY = "app.kubernetes.io/managed-by"
MANAGER = "shipyard"
DEPLOYMENT_ID = "shipyard.dev/deployment-id"
DEPLOYMENT_NAME = "shipyard.dev/deployment"
PROJECT_ID = "shipyard.dev/project-id"
COMPONENT = "shipyard.dev/component"
TEMPLATE = "shipyard.dev/template"  # a pod's label: hash of the pod template it was made from
REVISION = "shipyard.dev/revision"  # an annotation: the spec revision an object renders
# a pod template's annotation: a digest of the replica token its pods read once, at start
REPLICA_TOKEN_DIGEST = "shipyard.dev/replica-token-sha256"
MODEL_SECRET_KEY = "token"
REPLICA_SECRET_KEY = "token"

DNS_LABEL_MAX = 63
ISVC_NAME_MAX = 45  # Knative appends "-predictor-00001" and more to the InferenceService's name


def _shorten(base: str, limit: int) -> str:
    """``base`` if it is a valid DNS-1035 label within ``limit``, else a hashed short form."""
    if len(base) <= limit and base[0].isalpha():
        return base
    digest = hashlib.sha256(base.encode()).hexdigest()[:8]
    head = base[: limit - len(digest) - 3].rstrip("-")
    return f"s-{head}-{digest}" if head else f"s-{digest}"


def component_name(deployment: str, component: Component) -> str:
    """Name of a component's Deployment, Service and HorizontalPodAutoscaler."""
    suffix = f"-{component.value}"
    return _shorten(deployment, DNS_LABEL_MAX - len(suffix)) + suffix


def isvc_name(deployment: str) -> str:
    """Name of the deployment's InferenceService."""
    return _shorten(deployment, ISVC_NAME_MAX)


def model_secret_name(deployment: str) -> str:
    """Name of the Secret holding the token the init container downloads the model with."""
    return _shorten(deployment, DNS_LABEL_MAX - len("-model")) + "-model"


def replica_secret_name(deployment: str) -> str:
    """Name of the Secret holding the project's replica token, mounted into the runtime."""
    return _shorten(deployment, DNS_LABEL_MAX - len("-replica")) + "-replica"


def deployment_labels(deployment_id: str, name: str, project_id: str) -> dict[str, str]:
    """Labels on every object of one deployment."""
    return {
        MANAGED_BY: MANAGER,
        DEPLOYMENT_ID: deployment_id,
        DEPLOYMENT_NAME: name,
        PROJECT_ID: project_id,
    }


def component_labels(
    deployment_id: str, name: str, project_id: str, component: Component
) -> dict[str, str]:
    """Labels on the objects and pods of one component."""
    return {**deployment_labels(deployment_id, name, project_id), COMPONENT: component.value}


def selector(deployment_id: str, component: Component | None = None) -> dict[str, str]:
    """The labels that select a deployment's objects (or one component's pods)."""
    out = {MANAGED_BY: MANAGER, DEPLOYMENT_ID: deployment_id}
    if component is not None:
        out[COMPONENT] = component.value
    return out


def selector_text(labels: dict[str, str]) -> str:
    """A label selector string for the API: ``a=b,c=d``."""
    return ",".join(f"{k}={v}" for k, v in labels.items())


MANAGED_SELECTOR = f"{MANAGED_BY}={MANAGER}"
"""Selects every object Shipyard manages (adoption after a restart)."""
