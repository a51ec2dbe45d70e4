"""Apply, stop, delete and adopt the objects of one deployment on a cluster (both cluster tools).

One pass of ``apply``: the namespace exists; the anchor ConfigMap is applied first (its uid owns
everything else); the model Secret is created once per model version (a fresh short-lived token
only then, never on every pass); the replica Secret gets the project's replica token (without
a token source it keeps its placeholder, and the pods refuse everyone: closed, not open), and
the pod templates a digest of it (pods read it once: a changed token rolls them); the
rendered objects are validated and applied (server-side apply: unchanged objects are no-ops);
objects of the deployment that the rendering no longer has
(an HPA after autoscaling was removed) are deleted. A revision that only changes instances or
scaling keeps the pod template's revision, so it patches ``replicas`` and rolls nothing. The
controller applies on every pass: a pass whose input did not change sends nothing, except once
every ``RESYNC_S`` seconds, when everything is applied again (repairing objects changed or
deleted by hand).

A refusal (a 4xx such as 422 Invalid) or a failure that outlasted the client's retries (5xx,
409 conflicts, an unreachable server) ends the pass with :class:`ApplyFailed`, naming the object
and the API server's status code and message; it is kept in ``failures`` (the status's APPLIED
condition) until an apply of the deployment succeeds. Objects already applied stay as they are:
what runs keeps running.

``delete`` removes every object carrying the deployment's labels (the anchor last) and nothing
else; after a server restart ``adopt`` lists the anchors, so deployments are found again by
their labels instead of being created twice.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from shipyard.backends.cluster import common, naming, schemas
from shipyard.backends.cluster.inputs import ClusterTarget, OwnerRef, RenderInput
from shipyard.backends.kubernetes.client import ApiError, ClusterApi, ClusterUnavailable
from shipyard.errors import InvalidSpec
from shipyard.spec.deployment import Component, DeploymentSpec
from shipyard.wire.replica_token import token_digest

Json = dict[str, Any]
Renderer = Callable[[RenderInput, str | None], list[Json]]
ReplicaTokens = Callable[[str], bytes]
"""project id -> its replica admission token (``shipyard.wire.replica_token.ReplicaTokens``)."""
RESYNC_S = 60.0
OWNED_KINDS = ("HorizontalPodAutoscaler", "Service", "Deployment", "InferenceService", "Secret")
MODEL_ANNOTATION = "shipyard.dev/model"
REFRESH_ANNOTATION = "shipyard.dev/token-refresh-at"
STOP_ANNOTATION = "serving.kserve.io/stop"


class ApplyFailed(ClusterUnavailable):
    """The API server did not take an object of a deployment (refused it, or kept failing).

    ``api_status`` is the API server's status code (None: it could not be reached, or
    ``rendering`` is set: the objects could not even be rendered for this server's settings)."""

    code = "cluster_apply_failed"

    def __init__(self, message: str, *, api_status: int | None, rendering: bool = False) -> None:
        super().__init__(message)
        self.api_status = api_status
        self.rendering = rendering


def _failure(obj: Json | None, exc: ApiError | ClusterUnavailable) -> ApplyFailed:
    what = f"the {obj['kind']} {obj['metadata']['name']}" if obj else "a call"
    if isinstance(exc, ApiError):
        said = f"{exc.status} {exc.reason}: {exc.message}".replace(" : ", ": ").strip(": ")
        return ApplyFailed(f"the API server refused {what}: {said}", api_status=exc.status)
    message = f"the API server did not take {what}: {exc.message}"
    return ApplyFailed(message, api_status=exc.api_status)


class ModelTokens(Protocol):
    """Mints the short-lived, read-only token an init container downloads one model version
    with (scoped to that version's archive)."""

    ttl_s: float  # lifetime of a token: the Secret gets a new one at half of it

    def mint(self, project_id: str, model_name: str, model_version: int) -> str: ...


@dataclass(frozen=True)
class ClusterDeployment:
    """One deployment as a cluster backend applies it."""

    deployment_id: str
    project_id: str
    revision: int
    spec: DeploymentSpec
    target: ClusterTarget
    images: dict[Component, str]
    framework: str | None = None
    stopped: bool = False


@dataclass(frozen=True)
class Adopted:
    """A deployment found on the cluster by its anchor (after a restart)."""

    deployment_id: str
    name: str
    namespace: str
    revision: int
    stopped: bool
    has_transformer: bool = False


def template_key(spec: DeploymentSpec) -> str:
    """Hash of what a spec's pods run: everything but instance counts and autoscaling."""
    data = spec.model_dump(mode="json")
    for part in ("predictor", "transformer"):
        if data.get(part):
            data[part]["scaling"] = None
            data[part]["resources"]["num_instances"] = None
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _fingerprint(d: ClusterDeployment) -> str:
    data = {
        "spec": d.spec.model_dump(mode="json"),
        "revision": d.revision,
        "target": [d.target.namespace, d.target.api_url, d.target.kserve_mode.value],
        "pull": d.target.image_pull_secret,
        "images": sorted((c.value, i) for c, i in d.images.items()),
        "framework": d.framework,
        "stopped": d.stopped,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _key(obj: Json) -> tuple[str, str]:
    return obj["kind"], obj["metadata"]["name"]


class ClusterEngine:
    """The object bookkeeping shared by the KUBERNETES and KSERVE backends (blocking calls)."""

    def __init__(
        self,
        api: ClusterApi,
        render: Renderer,
        tokens: ModelTokens,
        clock: Callable[[], float] = time.time,
        replica_tokens: ReplicaTokens | None = None,
    ) -> None:
        self.api = api
        self._render = render
        self._tokens = tokens
        self._replica_tokens = replica_tokens
        self._clock = clock
        self._refresh_at: dict[str, float] = {}  # deployment id -> when to mint a new token
        # deployment id -> (hash of the input, when, the objects): a pass with the same input
        # sends nothing until RESYNC_S has passed (then everything is applied again, repairing
        # objects changed or deleted by hand)
        self._recent: dict[str, tuple[str, float, list[Json]]] = {}
        self.failures: dict[str, ApplyFailed] = {}  # deployment id -> why its last apply failed

    def apply(self, d: ClusterDeployment) -> list[Json]:
        """Make the cluster hold ``d``'s objects; the objects as applied.

        Raises:
            ApplyFailed: The API server refused an object or kept failing, or the spec cannot
                be rendered for this server's settings (also kept in ``failures`` for the
                status, until an apply of the deployment succeeds).
        """
        fingerprint = _fingerprint(d)
        now = self._clock()
        recent = self._recent.get(d.deployment_id)
        token_due = now >= self._refresh_at.get(d.deployment_id, 0.0)
        if recent and recent[0] == fingerprint and now - recent[1] < RESYNC_S and not token_due:
            return recent[2]
        try:
            objects = self._apply(d)
        except (ApiError, ClusterUnavailable, InvalidSpec, schemas.InvalidObject) as exc:
            if isinstance(exc, InvalidSpec | schemas.InvalidObject):  # e.g. the mode changed
                message = f"the objects cannot be rendered: {exc.message}"
                failed = ApplyFailed(message, api_status=None, rendering=True)
            else:
                failed = exc if isinstance(exc, ApplyFailed) else _failure(None, exc)
            self.failures[d.deployment_id] = failed
            self._recent.pop(d.deployment_id, None)
            raise failed from exc
        self.failures.pop(d.deployment_id, None)
        self._recent[d.deployment_id] = (fingerprint, now, objects)
        return objects

    def _input(self, d: ClusterDeployment, anchor: Json | None) -> RenderInput:
        key = template_key(d.spec)
        template_revision = d.revision
        if anchor is not None:
            data = anchor.get("data") or {}
            if data.get("template") == key and data.get("template-revision", "").isdigit():
                template_revision = int(data["template-revision"])
        return RenderInput(
            deployment_id=d.deployment_id,
            project_id=d.project_id,
            revision=d.revision,
            spec=d.spec,
            target=d.target,
            images=d.images,
            framework=d.framework,
            stopped=d.stopped,
            template_revision=template_revision,
            replica_token_digest=(
                None
                if self._replica_tokens is None
                else token_digest(self._replica_tokens(d.project_id))
            ),
        )

    def _apply(self, d: ClusterDeployment) -> list[Json]:
        ns = d.target.namespace
        self.api.ensure_namespace(ns)
        anchor_name = common.anchor_name(self._input(d, None))
        live_anchor = self.api.get("ConfigMap", ns, anchor_name)
        inp = self._input(d, live_anchor)
        anchor = common.anchor(inp)
        anchor["data"]["template"] = template_key(d.spec)
        stored = self._send(schemas.validate_all([anchor])[0])
        uid = (stored.get("metadata") or {}).get("uid")
        if uid:
            inp = replace(inp, owner=OwnerRef("v1", "ConfigMap", anchor_name, str(uid)))
        objects = schemas.validate_all(self._render(inp, None))
        model_secret = naming.model_secret_name(d.spec.name)
        if self._clock() >= self._refresh_at.get(d.deployment_id, 0.0):
            for obj in objects:
                if obj["kind"] == "Secret" and obj["metadata"]["name"] == model_secret:
                    self._apply_secret(d, inp, obj)
        for obj in objects[1:]:  # the anchor is applied above, the model Secret just now
            if obj["kind"] == "Secret" and obj["metadata"]["name"] == model_secret:
                continue
            if obj["kind"] == "Secret" and self._replica_tokens is not None:
                token = self._replica_tokens(d.project_id).decode("ascii")
                obj = schemas.validate_all([common.replica_secret(inp, token)])[0]
            self._wake(obj, self._send(obj), objects)
        self._prune(inp, {_key(o) for o in objects})
        return objects

    def failure(self, deployment_id: str) -> str:
        """Why the last apply of the deployment failed ("" when it succeeded)."""
        failed = self.failures.get(deployment_id)
        return failed.message if failed is not None else ""

    def _send(self, obj: Json) -> Json:
        """Apply one object; a failure names it (``ApplyFailed``)."""
        try:
            return self.api.apply(obj)
        except (ApiError, ClusterUnavailable) as exc:
            raise _failure(obj, exc) from exc

    def _wake(self, obj: Json, stored: Json, objects: list[Json]) -> None:
        """A Deployment left at 0 replicas by a stop, now under an autoscaler again: an HPA
        never scales up from 0, so start it at the autoscaler's minimum."""
        if obj["kind"] != "Deployment" or "replicas" in obj["spec"]:
            return
        if (stored.get("spec") or {}).get("replicas") != 0:
            return
        name = obj["metadata"]["name"]
        hpa = next(
            (o for o in objects if o["kind"] == "HorizontalPodAutoscaler" and _key(o)[1] == name),
            None,
        )
        replicas = hpa["spec"]["minReplicas"] if hpa else 1
        self.api.patch(
            "Deployment", obj["metadata"]["namespace"], name, {"spec": {"replicas": replicas}}
        )

    def _apply_secret(self, d: ClusterDeployment, inp: RenderInput, obj: Json) -> None:
        """(Re)create the model Secret with a fresh token when the model version changed or
        half the token's lifetime has passed; otherwise leave it (no token minted per pass)."""
        model = f"{d.spec.predictor.model_name}:{d.spec.predictor.model_version}"
        live = self.api.get("Secret", inp.target.namespace, obj["metadata"]["name"])
        notes = (live or {}).get("metadata", {}).get("annotations") or {}
        refresh_at = float(notes.get(REFRESH_ANNOTATION, "0") or 0)
        now = self._clock()
        if live is not None and notes.get(MODEL_ANNOTATION) == model and now < refresh_at:
            self._refresh_at[d.deployment_id] = refresh_at
            return
        p = d.spec.predictor
        token = self._tokens.mint(d.project_id, p.model_name, p.model_version)
        refresh_at = now + self._tokens.ttl_s / 2
        secret = common.model_secret(inp, token)
        secret["metadata"]["annotations"][MODEL_ANNOTATION] = model
        secret["metadata"]["annotations"][REFRESH_ANNOTATION] = f"{refresh_at:.0f}"
        self._send(schemas.validate_all([secret])[0])
        self._refresh_at[d.deployment_id] = refresh_at

    def _prune(self, inp: RenderInput, keep: set[tuple[str, str]]) -> None:
        labels = naming.selector(inp.deployment_id)
        for kind in OWNED_KINDS:
            for obj in self.api.list(kind, inp.target.namespace, labels):
                if _key({**obj, "kind": kind}) not in keep:
                    self.api.delete(kind, inp.target.namespace, obj["metadata"]["name"])

    def delete(self, deployment_id: str, namespace: str) -> int:
        """Delete every object of the deployment (the anchor last); how many were deleted."""
        labels = naming.selector(deployment_id)
        deleted = 0
        for kind in (*OWNED_KINDS, "ConfigMap"):
            for obj in self.api.list(kind, namespace, labels):
                deleted += self.api.delete(kind, namespace, obj["metadata"]["name"])
        self._refresh_at.pop(deployment_id, None)
        self._recent.pop(deployment_id, None)
        self.failures.pop(deployment_id, None)
        return deleted

    def adopt(self, namespace: str | None = None) -> list[Adopted]:
        """Deployments whose anchors exist (every namespace when ``namespace`` is None)."""
        found = []
        labels = {naming.MANAGED_BY: naming.MANAGER}
        for anchor in self.api.list("ConfigMap", namespace, labels):
            meta, data = anchor.get("metadata") or {}, anchor.get("data") or {}
            if "deployment-id" not in data:
                continue
            try:
                spec = json.loads(data.get("spec.json", "{}"))
            except ValueError:
                spec = {}
            found.append(
                Adopted(
                    deployment_id=data["deployment-id"],
                    name=(meta.get("labels") or {}).get(naming.DEPLOYMENT_NAME, ""),
                    namespace=str(meta.get("namespace", "")),
                    revision=int(data.get("revision", "0") or 0),
                    stopped=data.get("stopped") == "true",
                    has_transformer=bool(spec.get("transformer")),
                )
            )
        return found

    def stop_in_place(self, deployment_id: str, namespace: str) -> None:
        """Stop a deployment known only by its labels (adopted): no pod, every object kept."""
        labels = naming.selector(deployment_id)
        for obj in self.api.list("HorizontalPodAutoscaler", namespace, labels):
            self.api.delete("HorizontalPodAutoscaler", namespace, obj["metadata"]["name"])
        for obj in self.api.list("Deployment", namespace, labels):
            self.api.patch(
                "Deployment", namespace, obj["metadata"]["name"], {"spec": {"replicas": 0}}
            )
        stop = {"metadata": {"annotations": {STOP_ANNOTATION: "true"}}}
        for obj in self.api.list("InferenceService", namespace, labels):
            self.api.patch("InferenceService", namespace, obj["metadata"]["name"], stop)
        for obj in self.api.list("ConfigMap", namespace, labels):
            self.api.patch(
                "ConfigMap", namespace, obj["metadata"]["name"], {"data": {"stopped": "true"}}
            )
        self._recent.pop(deployment_id, None)
