"""The routing table the gateways long-poll: ready replicas per deployment, and key hashes.

The controller publishes a new table after every pass (:func:`route_entry` makes each
deployment's typed :class:`RouteEntry`); the version only moves when the content changed, so an
idle gateway's long-poll simply waits. Each gateway process (``gateway`` in its poll) sends back
the last version it applied as ``after``; :attr:`RoutePublisher.applied` is the lowest of them
among the gateways heard from recently, so the controller can tell that a replica removed from
the table gets no new requests from any of them (:meth:`RoutePublisher.caught_up`).

An entry is the gateway's own :class:`~shipyard.wire.routes.DeploymentRoute` (its wire form,
contract section 2, is defined once there), with the model version deployed (V2 paths naming
another are answered 404) and the inputs of its V2 metadata (from the registered input example).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from shipyard.controller.state import Managed
from shipyard.spec.deployment import Component
from shipyard.spec.logging import InferenceLogger
from shipyard.spec.scaling import effective_scaling
from shipyard.spec.status import DeploymentState, ReplicaPhase
from shipyard.wire.routes import DeploymentRoute, LogRoute, TensorSpec

RECENT_S = 30.0
"""A gateway that has not polled for this long is gone (it no longer holds anyone back)."""


_DATATYPES = ((bool, "BOOL"), (int, "INT64"), (float, "FP64"), (str, "BYTES"))


def _datatype(values: list[Any]) -> str:
    for kind, name in _DATATYPES:
        if values and all(isinstance(v, kind) for v in values):
            return name
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "FP64"
    return "BYTES"


def input_specs(example: Any) -> tuple[TensorSpec, ...]:
    """V2 metadata inputs from a model's registered input example: rows of values (one
    tensor ``input-0`` of shape ``[-1, n]``) or named columns (one tensor per name)."""
    if isinstance(example, dict):
        specs = []
        for name, column in example.items():
            values = column if isinstance(column, list) else [column]
            specs.append(TensorSpec(str(name), _datatype(values), (-1,)))
        return tuple(specs)
    if isinstance(example, list) and example:
        rows = example if isinstance(example[0], list) else [example]
        values = [v for row in rows for v in row]
        return (TensorSpec("input-0", _datatype(values), (-1, len(rows[0]))),)
    return ()


def route_entry(managed: Managed) -> DeploymentRoute | None:
    """The entry of one deployment (None: not routed, e.g. being deleted or never read)."""
    record = managed.record
    if record is None or record.deleting:
        return None
    urls: dict[str, list[str]] = {c.value: [] for c in Component}
    for tracked in managed.replicas.values():
        if tracked.phase is ReplicaPhase.READY and tracked.stop_reason is None:
            urls[tracked.ref.component].append(tracked.ref.data_url)
    spec = record.spec
    batching = spec.predictor.batching
    if batching is not None and not batching.enabled:
        batching = None
    scaling = effective_scaling(spec.predictor.resources, spec.predictor.scaling)
    saved = managed.status
    model = managed.model
    return DeploymentRoute(
        project_id=record.project_id,
        name=record.name,
        state=saved.state.value if saved else DeploymentState.CREATED.value,
        message=saved.message if saved else "",
        revision=record.revision,
        predictor=tuple(sorted(urls[Component.PREDICTOR.value])),
        transformer=tuple(sorted(urls[Component.TRANSFORMER.value])),
        wakeable=record.active and scaling is not None and scaling.min_instances == 0,
        has_transformer=spec.transformer is not None,
        max_batch_size=batching.batch_size if batching else 0,
        max_latency_s=batching.latency_ms / 1000.0 if batching else 0.0,
        model_version=str(spec.predictor.model_version),
        inputs=input_specs(model.input_example) if model is not None else (),
        inference_logger=_log_route(spec.predictor.inference_logger),
    )


def _log_route(logger: InferenceLogger | None) -> LogRoute | None:
    if logger is None:
        return None
    return LogRoute(logger.mode.value, logger.url or "", logger.file or "", logger.sample_rate)


class RoutePublisher:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._version = 0
        self._entries: tuple[DeploymentRoute, ...] = ()
        self.epoch = uuid.uuid4().hex[:12]
        """This run of the control plane (versions start over at each restart)."""
        self._wire: list[dict[str, Any]] = []
        self._keys: dict[str, str] = {}
        self._changed = asyncio.Condition()
        self._applied_changed = asyncio.Event()
        self._polls: dict[str, tuple[int, float]] = {}
        """gateway -> (version it applied, its last poll on the clock)."""
        self._released = False
        self._release: asyncio.Task[None] | None = None

    @property
    def version(self) -> int:
        return self._version

    def snapshot(self) -> dict[str, Any]:
        return {
            "version": self._version,
            "epoch": self.epoch,
            "keys": self._keys,
            "deployments": self._wire,
        }

    def _recent(self, within_s: float) -> list[int]:
        now = self._clock()
        return [applied for applied, at in self._polls.values() if now - at < within_s]

    def gateway_connected(self, within_s: float = RECENT_S) -> bool:
        """Whether a gateway has polled recently (else nobody needs to catch up)."""
        return bool(self._recent(within_s))

    @property
    def applied(self) -> int:
        """The oldest version applied by a gateway heard from within ``RECENT_S`` (0: none)."""
        return min(self._recent(RECENT_S), default=0)

    async def publish(self, entries: list[DeploymentRoute], keys: dict[str, str]) -> None:
        table = tuple(entries)
        if table == self._entries and keys == self._keys:
            return
        async with self._changed:
            self._entries, self._keys = table, keys
            self._wire = [e.to_wire() for e in table]
            self._version += 1
            self._changed.notify_all()

    async def wait(self, after: int, timeout: float, gateway: str = "0") -> dict[str, Any]:
        """The table as soon as its version differs from ``after``, or as is after ``timeout``.

        ``gateway`` names the polling process; ``after`` is the version it applied.
        """
        applied = after if after <= self._version else 0  # larger: from before our restart
        self._polls[gateway] = (applied, self._clock())
        self._applied_changed.set()
        if self._version == after and not self._released:
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(lambda: self._version != after or self._released),
                        timeout,
                    )
        return self.snapshot()

    def release(self) -> None:
        """The server stops: answer every long poll now, and the later ones at once (an open
        poll would hold the API's graceful drain for its whole wait). Call it in the loop."""
        self._released = True
        self._release = asyncio.get_running_loop().create_task(self._wake_waiters())

    async def _wake_waiters(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def caught_up(self, version: int, timeout_s: float) -> bool:
        """Wait (at most ``timeout_s`` of real time) until every recent gateway applied
        ``version``; True at once when no gateway is connected."""

        async def applied() -> None:
            while self.gateway_connected() and self.applied < version:
                self._applied_changed.clear()
                await self._applied_changed.wait()

        if not self.gateway_connected() or self.applied >= version:
            return True
        try:
            await asyncio.wait_for(applied(), timeout_s)
        except TimeoutError:
            return False
        return True
