"""What a rendering needs besides the deployment spec: where, which images, how models arrive.

``ClusterTarget`` comes from the settings (one per server); ``RenderInput`` is one deployment's
rendering request, built by the backend (apply) or the API (dry run) the same way.

How model files reach pods: an init container (in the runtime image, standard library only)
downloads the version's archive from Shipyard's API
(``GET {api_url}/api/v1/models/<name>/versions/<v>/artifact``) into an ``emptyDir`` mounted
read-only at ``/mnt/models`` in the runtime container. The bearer token comes from a Secret of
the deployment (``<name>-model``, key ``token``), never from the pod spec, and is only mounted
into the init container; the runtime container never sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from shipyard.spec.deployment import Component, DeploymentSpec


class KServeMode(StrEnum):
    """KServe's deployment modes (annotation ``serving.kserve.io/deploymentMode``)."""

    SERVERLESS = "Serverless"  # Knative: scale-to-zero, concurrency/rps autoscaling
    RAW_DEPLOYMENT = "RawDeployment"  # plain Deployments + HPA: minReplicas 0 becomes 1
    STANDARD = "Standard"  # the newer name of RawDeployment

    @property
    def scales_to_zero(self) -> bool:
        return self is KServeMode.SERVERLESS


@dataclass(frozen=True)
class ClusterTarget:
    """Where and how objects are rendered (from the settings)."""

    namespace: str
    """Namespace the deployment's objects live in."""
    api_url: str
    """Shipyard's API as pods reach it (init containers download model archives from it)."""
    kserve_mode: KServeMode = KServeMode.SERVERLESS
    image_pull_secret: str | None = None
    """A Secret of type kubernetes.io/dockerconfigjson for the registry, if it needs one."""


@dataclass(frozen=True)
class OwnerRef:
    """The object every other object of a deployment is owned by (garbage collection)."""

    api_version: str
    kind: str
    name: str
    uid: str


@dataclass(frozen=True)
class RenderInput:
    """One deployment to render."""

    deployment_id: str
    project_id: str
    revision: int
    spec: DeploymentSpec
    target: ClusterTarget
    images: Mapping[Component, str]
    """The runtime image per component (built per environment, pushed to the registry)."""
    framework: str | None = None
    """How the model version's files load without a script (``sklearn``...); None = guess."""
    stopped: bool = False
    """Keep the spec, run no pod (KUBERNETES: replicas 0; KSERVE: the stop annotation)."""
    owner: OwnerRef | None = None
    """Set on apply (its uid exists once the anchor exists); None on a dry run."""
    template_revision: int | None = None
    """The revision the pod template was last changed at (``DEPLOYMENT_VERSION`` in pods), so a
    revision that only scales renders the same pods; None = ``revision``."""
    annotations: Mapping[str, str] = field(default_factory=dict)
    """Extra annotations on the top objects (e.g. the template hash the backend compares)."""
    replica_token_digest: str | None = None
    """A digest of the project's replica token (set on apply; None on a dry run): annotated on
    the pod template, so a changed token rolls the pods (they read it once, at start)."""

    @property
    def pod_revision(self) -> int:
        return self.revision if self.template_revision is None else self.template_revision

    def image(self, component: Component) -> str:
        try:
            return self.images[component]
        except KeyError:
            raise ValueError(f"no runtime image given for the {component.value}") from None
