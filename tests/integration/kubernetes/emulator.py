"""A Kubernetes API emulator on loopback (kmock's ``KubernetesEmulator``) for the backends' tests.

What kmock emulates, checked: create (409 when it exists), get, list, watch, merge-style patch
(server-side apply bodies are merged as plain JSON; a patch of a missing object is 404), delete
(with finalizers), any resource once declared (so the InferenceService CRD's too), request
history and injected answers (``k['patch'][:2] << 503``). What it does not: Namespace objects
(its path parser reads ``/api/v1/namespaces`` as a namespace prefix, so a namespace create
answers 500: the tests answer the namespace's GET themselves, as an admin's namespace), uids,
resourceVersions, label selectors (lists return everything; our client filters again), the
status subresource as a separate object (a status write is a plain merge), garbage collection by
owner references, and every controller. ``metrics.k8s.io`` PodMetrics are served as any declared
resource (``Cluster.put("PodMetrics", ...)`` plays metrics-server; ``metrics_api=False`` leaves
the group undeclared, so discovery answers 404 as on a cluster without it). So the tests play
the cluster: ``ClusterEmulator`` adds uids and creation times; ``Cluster`` writes pods, events
and statuses as the controllers would.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import kmock
from kubernetes import client as k8s

from shipyard.backends.kubernetes.client import KINDS, ClusterApi

Json = dict[str, Any]


class ClusterEmulator(kmock.KubernetesEmulator):  # type: ignore[misc]
    """kmock's emulator plus what an API server adds to every new object."""

    async def _handle(self, request: Any) -> Any:
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            meta = request.data.setdefault("metadata", {})
            meta.setdefault("uid", str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", datetime.now(UTC).isoformat())
        return await super()._handle(request)


def _resource(kind: str) -> kmock.resource:
    k = KINDS[kind]
    return kmock.resource(k.group, k.version, k.plural)


def cluster_key(kind: str, namespace: str | None, name: str) -> tuple[Any, str | None, str]:
    """The emulator's key of one object (``emulator.objects[key]``)."""
    return _resource(kind), namespace, name


@dataclass
class Cluster:
    """The emulator, a client on it, and helpers that play the cluster's controllers."""

    emulator: ClusterEmulator
    api: ClusterApi
    sleeps: list[float]
    url: str  # the emulated API server's address

    def get(self, kind: str, namespace: str | None, name: str) -> Json | None:
        key = (_resource(kind), namespace, name)
        if key not in self.emulator.objects or self.emulator.objects[key].deleted:
            return None
        raw: Json = self.emulator.objects[key].raw
        return raw

    def all(self, kind: str, namespace: str | None = None) -> list[Json]:
        out = []
        for (res, ns, _), obj in self.emulator.objects.items():
            if res == _resource(kind) and not obj.deleted and namespace in (None, ns):
                out.append(obj.raw)
        return out

    def put(self, kind: str, namespace: str, name: str, obj: Json) -> None:
        """Write an object as a controller would (pods, events, statuses)."""
        self.emulator.objects[_resource(kind), namespace, name] = obj

    def fail_next(self, method: str, times: int, status: int) -> None:
        """Answer the next ``times`` requests of ``method`` with ``status`` (kmock counts a
        slice over every request of that method since the start)."""
        seen = sum(1 for r in list(self.emulator) if str(r.method.value) == method.upper())
        self.emulator[method.lower()][seen : seen + times] << status

    def refuse_next(self, method: str, path: str, status: int, reason: str, message: str) -> None:
        """Answer the next ``method`` request to ``path`` with a Kubernetes ``Status``."""
        seen = sum(
            1
            for r in list(self.emulator)
            if str(r.method.value) == method.upper() and r.url.path == path
        )
        body = {"apiVersion": "v1", "kind": "Status", "status": "Failure", "code": status,
                "reason": reason, "message": message}  # fmt: skip
        self.emulator[method.lower(), path][seen : seen + 1] << kmock.Response(
            status=status, payload=body
        )

    def writes(self) -> list[tuple[str, str]]:
        """(method, path) of every write the backend sent."""
        return [
            (str(r.method.value), r.url.path)
            for r in list(self.emulator)
            if str(r.method.value) in ("POST", "PATCH", "PUT", "DELETE")
        ]


@asynccontextmanager
async def running_cluster(
    attempts: int = 4, namespaces: tuple[str, ...] = ("shipyard-demo",), metrics_api: bool = True
) -> AsyncIterator[Cluster]:
    async with ClusterEmulator() as emulator, kmock.Server(emulator) as server:
        for kind, info in KINDS.items():
            if kind == "PodMetrics" and not metrics_api:
                continue
            emulator.resources[f"{info.group}/{info.version}/{info.plural}".lstrip("/")] = (
                kmock.ResourceInfo(kind=kind, namespaced=info.namespaced)
            )
        for ns in namespaces:
            emulator[f"get /api/v1/namespaces/{ns}"] << {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns},
            }
        sleeps: list[float] = []
        configuration = k8s.Configuration(host=str(server.url))
        api = ClusterApi(k8s.ApiClient(configuration), attempts=attempts, sleep=sleeps.append)
        yield Cluster(emulator, api, sleeps, str(server.url))
