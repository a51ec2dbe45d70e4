"""The pod of one component: the runtime container, the model-fetching init container, probes.

Both cluster tools run the same pod: Shipyard's runtime image (``python -m shipyard.runtime``,
contract section 1) listening on 0.0.0.0:8080, its readiness probe on ``/v2/health/ready``
(ready only after the model loaded) and its liveness probe on ``/v2/health/live`` (answered
while the model loads). Predictor and transformer scripts therefore run unchanged.

The runtime admits only requests carrying the project's replica token
(``x-shipyard-replica-token``, presented by the gateway): ``--token-file`` reads it from the
deployment's replica Secret, mounted read-only; ``--health-without-token`` leaves the two
health paths open to the kubelet's probes (a probe's headers would be written in the pod spec,
readable by anyone who may read Deployments).
"""

from __future__ import annotations

from typing import Any

from shipyard.backends.cluster import naming
from shipyard.backends.cluster.inputs import RenderInput
from shipyard.runtime.config import batching_flags
from shipyard.spec.deployment import Component
from shipyard.spec.resources import Resources
from shipyard.spec.units import cores_to_quantity, mib_to_quantity

PORT = 8080
MODEL_DIR = "/mnt/models"
MODEL_VOLUME = "model-files"
TOKEN_VOLUME = "replica-token"
TOKEN_DIR = "/var/run/shipyard"
TOKEN_FILE = "replica-token"
GPU_RESOURCE = "nvidia.com/gpu"

# Runs in the runtime image with the standard library only: download the archive with the
# token from the Secret, unpack it safely (tarfile's "data" filter refuses links and paths
# outside the target), fail loudly (the pod then shows Init:Error with this message).
FETCH_SCRIPT = """\
import os, sys, tarfile, urllib.request
req = urllib.request.Request(os.environ["SHIPYARD_ARTIFACT_URL"],
    headers={"Authorization": "Bearer " + os.environ["SHIPYARD_MODEL_TOKEN"]})
try:
    with urllib.request.urlopen(req, timeout=300) as resp:
        with tarfile.open(fileobj=resp, mode="r|gz") as archive:
            archive.extractall(os.environ["MODEL_FILES_PATH"], filter="data")
except Exception as exc:
    sys.exit(f"cannot fetch the model files from {req.full_url}: {exc}")
"""


def restricted() -> dict[str, Any]:
    """A container's security context under the "restricted" Pod Security Standard: no root
    (the image must name a numeric non-root user, as Shipyard's images do: 10001), no
    privilege escalation, no capabilities, the runtime's default seccomp profile."""
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "runAsNonRoot": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def quantities(resources: Resources, *, gpus: bool = True) -> dict[str, str]:
    """Kubernetes quantities of one request or limit (``250m``, ``512Mi``, GPUs as a count)."""
    out = {"cpu": cores_to_quantity(resources.cores), "memory": mib_to_quantity(resources.memory)}
    if gpus and resources.gpus:
        out[GPU_RESOURCE] = str(resources.gpus)
    return out


def resource_requirements(requests: Resources, limits: Resources | None) -> dict[str, Any]:
    """Requests and limits of a container.

    ``limits=None`` (KUBERNETES, minimum resources): requests only, except GPUs, which
    Kubernetes requires in the limits too (an extended resource is never overcommitted: its
    request always equals its limit).
    """
    out: dict[str, Any] = {"requests": quantities(requests)}
    if limits is not None:
        out["limits"] = quantities(limits)
    elif requests.gpus:
        out["limits"] = {GPU_RESOURCE: str(requests.gpus)}
    return out


def artifact_url(inp: RenderInput) -> str:
    p = inp.spec.predictor
    base = inp.target.api_url.rstrip("/")
    return f"{base}/api/v1/models/{p.model_name}/versions/{p.model_version}/artifact"


def _script_of(inp: RenderInput, component: Component) -> str | None:
    if component is Component.TRANSFORMER:
        assert inp.spec.transformer is not None
        return inp.spec.transformer.script_file
    return inp.spec.predictor.script_file


def runtime_env(inp: RenderInput, component: Component) -> list[dict[str, Any]]:
    """The variables of contract section 1, as the runtime and user code see them."""
    script = _script_of(inp, component)
    values = {
        "MODEL_FILES_PATH": MODEL_DIR,
        "ARTIFACT_FILES_PATH": MODEL_DIR,
        "DEPLOYMENT_NAME": inp.spec.name,
        "DEPLOYMENT_VERSION": str(inp.pod_revision),
        "MODEL_NAME": inp.spec.predictor.model_name,
        "MODEL_VERSION": str(inp.spec.predictor.model_version),
        "SCRIPT_PATH": f"{MODEL_DIR}/{script}" if script else "",
        "IS_TRANSFORMER": "true" if component is Component.TRANSFORMER else "false",
    }
    return [{"name": k, "value": v} for k, v in values.items()]


def runtime_args(
    inp: RenderInput, component: Component, *, runtime_batching: bool, admission: bool = True
) -> list[str]:
    """Arguments of ``python -m shipyard.runtime`` for ``component`` (``admission``: it
    answers only requests carrying the replica token)."""
    args = ["--host", "0.0.0.0", "--port", str(PORT), "--component", component.value]
    args += ["--name", inp.spec.name]
    if admission:
        args += ["--token-file", f"{TOKEN_DIR}/{TOKEN_FILE}", "--health-without-token"]
    script = _script_of(inp, component)
    if script:
        args += ["--script", f"{MODEL_DIR}/{script}"]
    if component is Component.TRANSFORMER:
        args += ["--framework", "python"]
    elif inp.framework:
        args += ["--framework", inp.framework]
    batching = inp.spec.predictor.batching
    if runtime_batching and component is Component.PREDICTOR and batching and batching.enabled:
        args += batching_flags(batching.batch_size, batching.latency_ms, batching.timeout_s)
    return args


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": PORT},
        "periodSeconds": period,
        "timeoutSeconds": 5,
        "failureThreshold": failures,
    }


def runtime_container(
    inp: RenderInput,
    component: Component,
    *,
    name: str,
    port_name: str,
    resources: dict[str, Any],
    runtime_batching: bool,
    admission: bool = True,
) -> dict[str, Any]:
    """The container that serves ``component`` (``admission``: see :func:`runtime_args`)."""
    args = runtime_args(inp, component, runtime_batching=runtime_batching, admission=admission)
    return {
        "name": name,
        "image": inp.image(component),
        "command": ["python", "-m", "shipyard.runtime"],
        "args": args,
        "env": runtime_env(inp, component),
        "ports": [{"name": port_name, "containerPort": PORT, "protocol": "TCP"}],
        "resources": resources,
        "readinessProbe": _probe("/v2/health/ready", 5, 3),
        "livenessProbe": _probe("/v2/health/live", 10, 6),
        "volumeMounts": [
            {"name": MODEL_VOLUME, "mountPath": MODEL_DIR, "readOnly": True},
            {"name": TOKEN_VOLUME, "mountPath": TOKEN_DIR, "readOnly": True},
        ],
        "securityContext": restricted(),
    }


def fetch_container(inp: RenderInput, component: Component) -> dict[str, Any]:
    """The init container that puts the model version's files into the pod."""
    secret = naming.model_secret_name(inp.spec.name)
    token = {"secretKeyRef": {"name": secret, "key": naming.MODEL_SECRET_KEY}}
    return {
        "name": "fetch-model",
        "image": inp.image(component),
        "command": ["python", "-c", FETCH_SCRIPT],
        "env": [
            {"name": "SHIPYARD_ARTIFACT_URL", "value": artifact_url(inp)},
            {"name": "SHIPYARD_MODEL_TOKEN", "valueFrom": token},
            {"name": "MODEL_FILES_PATH", "value": MODEL_DIR},
        ],
        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
        "volumeMounts": [{"name": MODEL_VOLUME, "mountPath": MODEL_DIR}],
        "securityContext": restricted(),
    }


def token_volume(inp: RenderInput) -> dict[str, Any]:
    """The replica Secret as a volume: only its token, as ``replica-token``. Readable by the
    container's user (the image's non-root user; a Secret's files belong to root): 0444, the
    pod runs the runtime alone, which holds the token anyway."""
    return {
        "name": TOKEN_VOLUME,
        "secret": {
            "secretName": naming.replica_secret_name(inp.spec.name),
            "items": [{"key": naming.REPLICA_SECRET_KEY, "path": TOKEN_FILE}],
            "defaultMode": 0o444,
        },
    }


def pod_annotations(inp: RenderInput) -> dict[str, str]:
    """The pod template's annotations: the replica token's digest, once applied."""
    if inp.replica_token_digest is None:
        return {}
    return {naming.REPLICA_TOKEN_DIGEST: inp.replica_token_digest}


def pod_fields(inp: RenderInput, component: Component) -> dict[str, Any]:
    """Pod-level fields besides the main container: init container, volumes, pull secret."""
    out: dict[str, Any] = {
        "initContainers": [fetch_container(inp, component)],
        "volumes": [{"name": MODEL_VOLUME, "emptyDir": {}}, token_volume(inp)],
        "automountServiceAccountToken": False,
    }
    if inp.target.image_pull_secret:
        out["imagePullSecrets"] = [{"name": inp.target.image_pull_secret}]
    return out
