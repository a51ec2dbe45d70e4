"""The Kubernetes API through the official client, with objects as plain JSON dicts.

The official ``kubernetes`` package does the connection work (kubeconfig and context, or the
pod's service account; TLS; token refresh); requests go through its ``ApiClient`` with raw
paths, so rendered objects are sent exactly as validated (no round trip through generated
models that would drop or rename fields). Writes are server-side apply (``fieldManager:
shipyard``, forced), falling back to a create when the server answers 404 to the apply.

Retries: a 409 Conflict on an update, 429 and 5xx, and connection errors are retried up to
``attempts`` times with a doubling delay; the last failure is raised as ``ClusterUnavailable``
(a ``BackendUnavailable``) naming the call and the server's answer, and kept in
``last_error`` so the status can report it. A 409 AlreadyExists on a create is not an error
(someone made it first: it is applied over). Blocking: callers run it in a worker thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config

from shipyard.errors import BackendUnavailable, ShipyardError
from shipyard.settings import ServerSettings

FIELD_MANAGER = "shipyard"
APPLY_TYPE = "application/apply-patch+yaml"
MERGE_TYPE = "application/merge-patch+json"
RETRYABLE = frozenset({409, 429, 500, 502, 503, 504})

Json = dict[str, Any]


@dataclass(frozen=True)
class Kind:
    """Where one kind of object lives in the API."""

    group: str
    version: str
    plural: str
    namespaced: bool = True

    def path(self, namespace: str | None, name: str | None = None, sub: str | None = None) -> str:
        base = f"/api/{self.version}" if not self.group else f"/apis/{self.group}/{self.version}"
        if self.namespaced and namespace is not None:  # None: across every namespace
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{quote(name, safe='')}"
        if sub is not None:
            base += f"/{sub}"
        return base


KINDS: Mapping[str, Kind] = {
    "Namespace": Kind("", "v1", "namespaces", namespaced=False),
    "ConfigMap": Kind("", "v1", "configmaps"),
    "Secret": Kind("", "v1", "secrets"),
    "Service": Kind("", "v1", "services"),
    "Pod": Kind("", "v1", "pods"),
    "Event": Kind("", "v1", "events"),
    "Deployment": Kind("apps", "v1", "deployments"),
    "HorizontalPodAutoscaler": Kind("autoscaling", "v2", "horizontalpodautoscalers"),
    "InferenceService": Kind("serving.kserve.io", "v1beta1", "inferenceservices"),
    "PodMetrics": Kind("metrics.k8s.io", "v1beta1", "pods"),
}


class ClusterUnavailable(BackendUnavailable):
    """The Kubernetes API did not do what was asked, after retries."""

    code = "cluster_unavailable"
    api_status: int | None = None  # the API server's last status code (None: unreachable)


class ApiError(Exception):
    """A non-retryable answer of the API server (kept apart: callers branch on ``status``)."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


def connect(settings: ServerSettings) -> k8s.ApiClient:
    """An ``ApiClient`` from the settings: the service account, or a kubeconfig and context."""
    configuration = k8s.Configuration()
    try:
        _load(settings, configuration)
    except (k8s_config.ConfigException, OSError, TypeError, ValueError) as exc:
        where = (
            "the pod's service account"
            if settings.kube_in_cluster
            else (
                f"kubeconfig {settings.kube_config or '$KUBECONFIG or ~/.kube/config'}"
                + (f", context {settings.kube_context}" if settings.kube_context else "")
            )
        )
        raise ShipyardError(
            f"cannot connect to the cluster with {where}: {exc} (set SHIPYARD_KUBE_CONFIG and "
            "SHIPYARD_KUBE_CONTEXT, or SHIPYARD_KUBE_IN_CLUSTER=true; or unset "
            "SHIPYARD_KUBE_SHIPYARD_URL to run without cluster tools)"
        ) from exc
    return k8s.ApiClient(configuration)


def _load(settings: ServerSettings, configuration: k8s.Configuration) -> None:
    if settings.kube_in_cluster:
        k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    else:
        config_file = str(settings.kube_config) if settings.kube_config else None
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=config_file,
            context=settings.kube_context,
            client_configuration=configuration,
        )


def _status_message(body: bytes) -> tuple[str, str]:
    """``(reason, message)`` of a Kubernetes ``Status`` answer (or the raw text)."""
    try:
        status = json.loads(body)
        return str(status.get("reason", "")), str(status.get("message", ""))
    except (ValueError, AttributeError):
        return "", body[:300].decode("utf-8", "replace")


class ClusterApi:
    """Raw JSON calls to the API server, retried where retrying is safe."""

    def __init__(
        self,
        api_client: k8s.ApiClient,
        *,
        attempts: int = 5,
        backoff_s: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._api = api_client
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._sleep = sleep
        self.last_error: str = ""
        self.retries = 0  # calls retried since start (reported with the status)

    def close(self) -> None:
        """Close the connection pool (idempotent; the tools sharing this client may each ask)."""
        self._api.close()  # type: ignore[no-untyped-call]

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        body: Json | None = None,
        content_type: str | None = None,
        raw: bool = False,
    ) -> Any:
        """One call; the decoded JSON answer (or the text when ``raw``).

        Raises:
            ApiError: A 4xx the caller should handle (404, 409 on a create, 422...).
            ClusterUnavailable: Retryable failures that did not clear up.
        """
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        delay = self._backoff_s
        last, last_status = "", None
        for attempt in range(1, self._attempts + 1):
            try:
                status, data = self._send(method, path, query, headers, body)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                status, data, last = 0, b"", f"cannot reach the API server: {exc}"
                last_status = None
            else:
                if 200 <= status < 300:
                    self.last_error = ""
                    return data.decode() if raw else json.loads(data or b"{}")
                reason, message = _status_message(data)
                retry_conflict = status == 409 and method != "POST"
                if status not in RETRYABLE or (status == 409 and not retry_conflict):
                    raise ApiError(status, reason, message)
                last, last_status = f"{status} {reason}: {message}".strip(), status
            if attempt < self._attempts:
                self.retries += 1
                self._sleep(delay)
                delay = min(delay * 2, 5.0)
        self.last_error = f"Kubernetes API: {method} {path} failed {self._attempts} times: {last}"
        failed = ClusterUnavailable(self.last_error)
        failed.api_status = last_status
        raise failed

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None,
        headers: dict[str, str],
        body: Json | None,
    ) -> tuple[int, bytes]:
        params = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list((query or {}).items()) or None,
            header_params=dict(headers),
            body=body,
            auth_settings=["BearerToken"],
        )
        response = self._api.call_api(*params)
        data = response.read()  # type: ignore[no-untyped-call]
        return int(response.status), data or b""

    # -- objects -------------------------------------------------------------------------------

    def get(self, kind: str, namespace: str | None, name: str) -> Json | None:
        """The object, or None when it does not exist."""
        try:
            found: Json = self.request("GET", KINDS[kind].path(namespace, name))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise
        return found

    def list(self, kind: str, namespace: str | None, labels: Mapping[str, str]) -> list[Json]:
        """Objects carrying all of ``labels`` (also checked here: a label selector the server
        ignored must not hand us someone else's objects)."""
        selector = ",".join(f"{k}={v}" for k, v in labels.items())
        query = {"labelSelector": selector} if selector else None
        try:
            answer = self.request("GET", KINDS[kind].path(namespace), query=query)
        except ApiError as exc:
            if exc.status == 404:  # the namespace (or the kind) does not exist: nothing there
                return []
            raise
        items: list[Json] = answer.get("items") or []
        return [
            item
            for item in items
            if all(
                (item.get("metadata", {}).get("labels") or {}).get(k) == v
                for k, v in labels.items()
            )
        ]

    def apply(self, obj: Json) -> Json:
        """Create or update ``obj`` (server-side apply); the object as stored."""
        kind = KINDS[obj["kind"]]
        meta = obj["metadata"]
        path = kind.path(meta.get("namespace"), meta["name"])
        query = {"fieldManager": FIELD_MANAGER, "force": "true"}
        try:
            applied: Json = self.request(
                "PATCH", path, query=query, body=obj, content_type=APPLY_TYPE
            )
            return applied
        except ApiError as exc:
            if exc.status != 404:
                raise
        try:  # a server that does not create on apply
            created: Json = self.request(
                "POST", kind.path(meta.get("namespace")), query={"fieldManager": FIELD_MANAGER},
                body=obj,
            )  # fmt: skip
            return created
        except ApiError as exc:
            if exc.status != 409:
                raise
        merged: Json = self.request("PATCH", path, body=obj, content_type=MERGE_TYPE)
        return merged

    def patch(self, kind: str, namespace: str | None, name: str, patch: Json) -> Json:
        """A JSON merge patch (``null`` removes a field)."""
        answer: Json = self.request(
            "PATCH", KINDS[kind].path(namespace, name), body=patch, content_type=MERGE_TYPE
        )
        return answer

    def delete(self, kind: str, namespace: str | None, name: str) -> bool:
        """Delete (dependents in the background); False when it was already gone."""
        body = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        try:
            self.request("DELETE", KINDS[kind].path(namespace, name), body=body)
        except ApiError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def pod_log(self, namespace: str, pod: str, container: str, tail: int) -> str:
        path = KINDS["Pod"].path(namespace, pod, "log")
        query = {"container": container, "tailLines": str(tail)}
        text: str = self.request("GET", path, query=query, raw=True)
        return text

    def ensure_namespace(self, namespace: str) -> None:
        """Create ``namespace`` (labelled as Shipyard's) unless it exists. Without the right to
        read namespaces (403) it is taken to exist: an administrator made it."""
        try:
            if self.get("Namespace", None, namespace) is not None:
                return
        except ApiError as exc:
            if exc.status == 403:
                return
            raise
        body = {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"app.kubernetes.io/managed-by": "shipyard"}},
        }
        try:
            self.request("POST", KINDS["Namespace"].path(None), body=body)
        except ApiError as exc:
            if exc.status != 409:
                raise
