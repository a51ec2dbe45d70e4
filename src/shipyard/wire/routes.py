"""The routing table: what the control plane publishes and every gateway process serves from.

The control plane's route publisher builds one :class:`DeploymentRoute` per deployment and sends
the table as JSON on ``GET /internal/routes`` (contract section 2); the gateway decodes it with
:func:`parse_table` into an immutable :class:`RoutingTable` and swaps it in whole. The JSON shape
is :meth:`DeploymentRoute.to_wire` (publisher side) and :func:`parse_table` (gateway side), both
here, so the two ends cannot drift. Unknown fields are ignored (a newer control plane may add
some); a field of the wrong type is a ``ValueError`` naming it. Standard library only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DeploymentKey = tuple[str, str]
"""``(project id, deployment name)``: names are unique within a project only."""


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One named input or output of a model, as V2 metadata lists it."""

    name: str
    datatype: str
    shape: tuple[int, ...]

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


def _datatype(values: list[Any]) -> str:
    kinds = {type(value) for value in values}
    if kinds and kinds <= {bool}:
        return "BOOL"
    if kinds and kinds <= {int}:
        return "INT64"
    if kinds and kinds <= {int, float}:
        return "FP64"
    return "BYTES"


def _tensor(name: str, value: Any) -> TensorSpec:
    """One input described by its example value; the first dimension is the batch (-1)."""
    if not isinstance(value, list):
        return TensorSpec(name, _datatype([value]), (-1,))
    rows = [row for row in value if isinstance(row, list)]
    if rows and len(rows) == len(value):
        width = len(rows[0]) if all(len(row) == len(rows[0]) for row in rows) else -1
        return TensorSpec(name, _datatype([x for row in rows for x in row]), (-1, width))
    return TensorSpec(name, _datatype(value), (-1,))


def tensors_from_example(example: Any) -> tuple[TensorSpec, ...]:
    """V2 input metadata from a model version's registered input example (for the publisher).

    A list of rows is one input ``input-0`` of shape ``[-1, <row length>]``; a flat list one of
    shape ``[-1]``; an object, one input per key (in the V1 ``instances``/``inputs`` form, or the
    V2 ``inputs`` list of named tensors). Anything else, or nothing, describes nothing.
    """
    if isinstance(example, dict):
        tensors = example.get("inputs")
        if isinstance(tensors, list) and all(isinstance(t, dict) for t in tensors):
            return tuple(
                TensorSpec(
                    str(t.get("name", f"input-{i}")),
                    str(t.get("datatype", "")),
                    tuple(n for n in t.get("shape", []) if isinstance(n, int)),
                )
                for i, t in enumerate(tensors)
            )
        rows = example.get("instances", example.get("inputs"))
        if rows is not None:
            return tensors_from_example(rows)
        return tuple(_tensor(str(name), value) for name, value in example.items())
    if isinstance(example, list) and example:
        return (_tensor("input-0", example),)
    return ()


@dataclass(frozen=True, slots=True)
class LogRoute:
    """A deployment's inference logging, as the gateway applies it."""

    mode: str = "ALL"
    """``ALL``, ``MODEL_INPUTS`` (requests) or ``PREDICTIONS`` (responses)."""
    url: str = ""
    """CloudEvents receiver (empty: none)."""
    file: str = ""
    """JSONL file, relative to the gateway's inference-log folder (empty: none)."""
    sample_rate: float = 1.0

    def to_wire(self) -> dict[str, Any]:
        rate = self.sample_rate
        return {"mode": self.mode, "url": self.url, "file": self.file, "sample_rate": rate}


def _log_route(entry: dict[str, Any]) -> LogRoute | None:
    raw = entry.get("inference_logger")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise ValueError("routing table: 'inference_logger' is not an object")
    return LogRoute(
        mode=_get(raw, "mode", str, "ALL"),
        url=_get(raw, "url", str, ""),
        file=_get(raw, "file", str, ""),
        sample_rate=float(_get(raw, "sample_rate", (int, float), 1.0)),
    )


@dataclass(frozen=True, slots=True)
class DeploymentRoute:
    """Where one deployment's requests go, as of one table version."""

    project_id: str
    name: str
    state: str
    """The deployment's state (``RUNNING``, ``STOPPED``, ...), quoted when nothing can serve."""
    message: str = ""
    revision: int = 0
    predictor: tuple[str, ...] = ()
    """Base URLs of the READY predictor replicas (no trailing slash)."""
    transformer: tuple[str, ...] = ()
    """Base URLs of the READY transformer replicas."""
    wakeable: bool = False
    """Scaled to zero (or on its way back): requests are held while a replica starts."""
    has_transformer: bool = False
    """Requests go through the transformer (preprocess, predictor, postprocess)."""
    max_batch_size: int = 0
    """Adaptive batching: most requests the gateway bundles for one replica (0 = off)."""
    max_latency_s: float = 0.0
    """Adaptive batching: longest a request waits for its bundle to fill."""
    model_version: str = ""
    """The model version deployed; V2 paths naming another version are answered 404
    (empty: not published, any version is this one)."""
    max_body_bytes: int = 0
    """Largest request body the gateway forwards to this deployment (0: the gateway's own
    bound). The publisher derives it from the replicas' memory limit."""
    inputs: tuple[TensorSpec, ...] = ()
    """The model's inputs for V2 metadata (from its input example or schema; may be empty)."""
    outputs: tuple[TensorSpec, ...] = ()
    """The model's outputs for V2 metadata (may be empty)."""
    inference_logger: LogRoute | None = None
    """Where the gateway logs this deployment's requests and responses (None: nowhere)."""

    @property
    def key(self) -> DeploymentKey:
        return (self.project_id, self.name)

    def to_wire(self) -> dict[str, Any]:
        """The route as one entry of ``GET /internal/routes``'s ``deployments`` list."""
        return {
            "project_id": self.project_id,
            "name": self.name,
            "state": self.state,
            "message": self.message,
            "revision": self.revision,
            "predictor": list(self.predictor),
            "transformer": list(self.transformer),
            "wakeable": self.wakeable,
            "has_transformer": self.has_transformer,
            "max_batch_size": self.max_batch_size,
            "max_latency_ms": self.max_latency_s * 1000.0,
            "model_version": self.model_version,
            "max_body_bytes": self.max_body_bytes,
            "inputs": [spec.to_wire() for spec in self.inputs],
            "outputs": [spec.to_wire() for spec in self.outputs],
            "inference_logger": self.inference_logger.to_wire() if self.inference_logger else None,
        }


@dataclass(frozen=True, slots=True)
class RoutingTable:
    """One immutable snapshot of the control plane's routes."""

    version: int
    keys: Mapping[str, str]
    """sha256 hex of an API key -> project id."""
    deployments: Mapping[DeploymentKey, DeploymentRoute]
    epoch: str = ""
    """Which run of the control plane published it (changes at each restart)."""
    _by_project: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)

    def project_for(self, key_hash: str) -> str | None:
        """The project of an API key given by its sha256 hex digest, or None if unknown."""
        return self.keys.get(key_hash)

    def route(self, project_id: str, name: str) -> DeploymentRoute | None:
        """Deployment ``name`` of project ``project_id``, or None (others are never seen)."""
        return self.deployments.get((project_id, name))

    def names(self, project_id: str) -> tuple[str, ...]:
        """The deployment names of one project, sorted."""
        names = self._by_project.get(project_id)
        if names is None:
            names = tuple(sorted(n for p, n in self.deployments if p == project_id))
            self._by_project[project_id] = names
        return names


def _get(entry: Mapping[str, Any], name: str, kind: type | tuple[type, ...], default: Any) -> Any:
    value = entry.get(name, default)
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ValueError(f"routing table: field {name!r} must be a number, not a boolean")
    if not isinstance(value, kind):
        raise ValueError(f"routing table: field {name!r} has the wrong type: {value!r:.80}")
    return value


def _urls(entry: Mapping[str, Any], name: str) -> tuple[str, ...]:
    urls = _get(entry, name, list, [])
    if not all(isinstance(url, str) for url in urls):
        raise ValueError(f"routing table: {name!r} must be a list of URLs")
    return tuple(url.rstrip("/") for url in urls)


def _tensors(entry: Mapping[str, Any], name: str) -> tuple[TensorSpec, ...]:
    specs: list[TensorSpec] = []
    for item in _get(entry, name, list, []):
        if not isinstance(item, dict):
            raise ValueError(f"routing table: {name!r} must be a list of objects")
        shape = _get(item, "shape", list, [])
        if not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
            raise ValueError(f"routing table: a shape in {name!r} must hold integers")
        specs.append(
            TensorSpec(_get(item, "name", str, ""), _get(item, "datatype", str, ""), tuple(shape))
        )
    return tuple(specs)


def parse_route(entry: Any) -> DeploymentRoute:
    """One entry of the table's ``deployments`` list.

    Raises:
        ValueError: it is not an object, or a field has the wrong type.
    """
    if not isinstance(entry, dict):
        raise ValueError("routing table: a deployment entry is not an object")
    batch = _get(entry, "max_batch_size", int, 0)
    return DeploymentRoute(
        project_id=_get(entry, "project_id", str, None),
        name=_get(entry, "name", str, None),
        state=_get(entry, "state", str, None),
        message=_get(entry, "message", str, ""),
        revision=_get(entry, "revision", int, 0),
        predictor=_urls(entry, "predictor"),
        transformer=_urls(entry, "transformer"),
        wakeable=_get(entry, "wakeable", bool, False),
        has_transformer=_get(entry, "has_transformer", bool, False),
        max_batch_size=batch if batch > 1 else 0,
        max_latency_s=max(0.0, float(_get(entry, "max_latency_ms", (int, float), 0.0))) / 1000,
        model_version=str(_get(entry, "model_version", (str, int), "")),
        max_body_bytes=max(0, _get(entry, "max_body_bytes", int, 0)),
        inputs=_tensors(entry, "inputs"),
        outputs=_tensors(entry, "outputs"),
        inference_logger=_log_route(entry),
    )


def parse_table(payload: Any) -> RoutingTable:
    """Build a table from the JSON body of ``GET /internal/routes``.

    Raises:
        ValueError: the payload does not have the contract's shape (the field is named).
    """
    if not isinstance(payload, dict):
        raise ValueError("routing table: the answer is not a JSON object")
    keys = _get(payload, "keys", dict, {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in keys.items()):
        raise ValueError("routing table: 'keys' must map key hashes to project ids")
    routes = [parse_route(entry) for entry in _get(payload, "deployments", list, [])]
    return RoutingTable(
        version=_get(payload, "version", int, None),
        keys=dict(keys),
        deployments={route.key: route for route in routes},
        epoch=_get(payload, "epoch", str, ""),
    )
