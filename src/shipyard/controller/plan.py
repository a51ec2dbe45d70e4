"""The pure planning step of reconciliation: desired targets + observed replicas -> actions.

Nothing here performs I/O or reads a clock: ``now`` is passed in, so every rule is a unit test.

Rules, per (deployment, component):
- every slot below the desired instance count has one live replica running the current
  template; a missing one is started, unless the slot is backing off after a failure;
- a slot whose replica runs an outdated template gets a new replica first; the old one is
  stopped only once the new one is READY (no capacity gap); one slot of a component is
  replaced at a time (a surge of one), so a new revision whose replicas fail never gets past
  its first slot while the others keep serving the old one;
- duplicates of a slot (e.g. adopted after a restart) are stopped, keeping the READY/oldest one;
- replicas of slots at or above the desired count, of components or deployments no longer
  desired, and replicas STARTING for longer than the start timeout are stopped.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from shipyard.spec.status import ReplicaPhase

SlotKey = tuple[str, str, int]  # (deployment id, component, slot)


@dataclass(frozen=True)
class ComponentTarget:
    deployment_id: str
    component: str
    instances: int
    template: str


@dataclass(frozen=True)
class ReplicaView:
    replica_id: str
    deployment_id: str
    component: str
    slot: int
    template: str
    phase: ReplicaPhase
    started_at: float  # monotonic seconds


@dataclass(frozen=True)
class StartReplica:
    deployment_id: str
    component: str
    slot: int
    template: str


class StopReason(StrEnum):
    """Why the controller stops a replica (what its log line and exit handling follow)."""

    NO_LONGER_DESIRED = "no longer desired"
    START_TIMEOUT = "StartTimeout"
    SCALED_DOWN = "scaled down"
    DUPLICATE = "duplicate of its slot"
    REPLACED = "replaced by a new revision"
    SHUTDOWN = "server shutdown"


@dataclass(frozen=True)
class StopReplica:
    replica_id: str
    reason: StopReason


Action = StartReplica | StopReplica

_LIVE = (ReplicaPhase.STARTING, ReplicaPhase.READY)


def plan(
    targets: Iterable[ComponentTarget],
    replicas: Iterable[ReplicaView],
    *,
    retry_at: Mapping[SlotKey, float],
    now: float,
    start_timeout_s: float,
) -> list[Action]:
    """Actions that move the observed replicas toward the targets."""
    live: dict[tuple[str, str], list[ReplicaView]] = defaultdict(list)
    for replica in replicas:
        if replica.phase in _LIVE:
            live[(replica.deployment_id, replica.component)].append(replica)
    actions: list[Action] = []
    seen: set[tuple[str, str]] = set()
    for target in targets:
        key = (target.deployment_id, target.component)
        seen.add(key)
        actions += _plan_component(target, live.get(key, []), retry_at, now, start_timeout_s)
    for key, orphans in live.items():
        if key not in seen:
            actions += [StopReplica(r.replica_id, StopReason.NO_LONGER_DESIRED) for r in orphans]
    return actions


def _plan_component(
    target: ComponentTarget,
    live: list[ReplicaView],
    retry_at: Mapping[SlotKey, float],
    now: float,
    start_timeout_s: float,
) -> list[Action]:
    actions: list[Action] = []
    by_slot: dict[int, list[ReplicaView]] = defaultdict(list)
    timed_out: set[int] = set()
    for replica in live:
        if replica.phase is ReplicaPhase.STARTING and now - replica.started_at > start_timeout_s:
            actions.append(StopReplica(replica.replica_id, StopReason.START_TIMEOUT))
            timed_out.add(replica.slot)  # its restart waits for the failure's backoff
        elif replica.slot >= target.instances:
            actions.append(StopReplica(replica.replica_id, StopReason.SCALED_DOWN))
        else:
            by_slot[replica.slot].append(replica)
    surging = sum(1 for slot in range(target.instances) if _surging(target, by_slot.get(slot, [])))
    for slot in range(target.instances):
        replicas = by_slot.get(slot, [])
        if slot in timed_out and not replicas:
            continue
        if surging and _needs_surge(target, replicas):
            continue  # another slot is being replaced: one at a time
        if _needs_surge(target, replicas):
            surging += 1
        actions += _plan_slot(target, slot, replicas, retry_at, now)
    return actions


def _needs_surge(target: ComponentTarget, replicas: list[ReplicaView]) -> bool:
    """The slot serves only with outdated replicas: replacing it starts a new one beside them."""
    return bool(replicas) and all(r.template != target.template for r in replicas)


def _surging(target: ComponentTarget, replicas: list[ReplicaView]) -> bool:
    """The slot has a new replica that is not ready yet beside an outdated one."""
    outdated = any(r.template != target.template for r in replicas)
    new = [r for r in replicas if r.template == target.template]
    return outdated and bool(new) and not any(r.phase is ReplicaPhase.READY for r in new)


def _plan_slot(
    target: ComponentTarget,
    slot: int,
    replicas: list[ReplicaView],
    retry_at: Mapping[SlotKey, float],
    now: float,
) -> list[Action]:
    current = [r for r in replicas if r.template == target.template]
    outdated = [r for r in replicas if r.template != target.template]
    actions: list[Action] = []
    if not current:
        if now >= retry_at.get((target.deployment_id, target.component, slot), 0.0):
            actions.append(
                StartReplica(target.deployment_id, target.component, slot, target.template)
            )
        return actions  # outdated replicas keep serving until a new one is ready
    current.sort(key=lambda r: (r.phase is not ReplicaPhase.READY, r.started_at))
    actions += [StopReplica(r.replica_id, StopReason.DUPLICATE) for r in current[1:]]
    if current[0].phase is ReplicaPhase.READY:
        actions += [StopReplica(r.replica_id, StopReason.REPLACED) for r in outdated]
    return actions
