"""What the cluster says about a component's pods, turned into Shipyard's status (pure).

Reads pods and events as the API returns them (JSON dicts) and tells the truth the peers'
users miss: SCHEDULED=False with the scheduler's own message (``0/3 nodes are available: 3
Insufficient memory``), OOMKilled from a container's last state with its memory limit,
CrashLoopBackOff and image pull errors with their reason, a failed model download (the init
container's message), and never READY while a pod crash-loops. Shared by KUBERNETES and KSERVE
(whose pods are the same runtime pods, made by KServe).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shipyard.spec.status import Condition, ConditionStatus, ConditionType, ReplicaExit

Json = dict[str, Any]

WAITING_FAILURES = frozenset(
    {
        "CrashLoopBackOff",
        "ImagePullBackOff",
        "ErrImagePull",
        "InvalidImageName",
        "CreateContainerConfigError",
        "CreateContainerError",
        "RunContainerError",
    }
)


@dataclass(frozen=True)
class PodView:
    """One pod of a component, as the status shows it."""

    name: str
    ready: bool
    scheduled: bool | None  # None: the scheduler has not said yet
    problem: str  # "" or the reason it is not serving (CrashLoopBackOff, OOMKilled...)
    message: str
    restarts: int
    last_exit: ReplicaExit | None
    initialized: bool | None
    started_at: datetime | None
    ready_at: datetime | None
    ip: str | None

    @property
    def crash_looping(self) -> bool:
        return self.problem in WAITING_FAILURES or self.problem == "Init:Error"


@dataclass(frozen=True)
class ComponentView:
    """One component as observed: its pods and the four conditions."""

    component: str
    desired: int
    ready: int
    pods: tuple[PodView, ...]
    conditions: tuple[Condition, ...]

    @property
    def serving(self) -> bool:
        """Whether it may be RUNNING: enough ready pods and none crash-looping."""
        return self.condition(ConditionType.READY).status is ConditionStatus.TRUE

    def condition(self, kind: ConditionType) -> Condition:
        return next(c for c in self.conditions if c.type == kind)


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _pod_condition(pod: Json, kind: str) -> Json | None:
    conditions = (pod.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c.get("type") == kind), None)


def _memory_limit(pod: Json, container: str) -> str | None:
    for spec in (pod.get("spec") or {}).get("containers") or []:
        if spec.get("name") == container:
            limit = ((spec.get("resources") or {}).get("limits") or {}).get("memory")
            return str(limit) if limit else None
    return None


def _memory_request(pod: Json, container: str) -> str | None:
    for spec in (pod.get("spec") or {}).get("containers") or []:
        if spec.get("name") == container:
            request = ((spec.get("resources") or {}).get("requests") or {}).get("memory")
            return str(request) if request else None
    return None


def oom_message(pod: Json, container: str) -> str:
    """Why a container was OOMKilled, with the limit it ran into (or why it had none)."""
    limit = _memory_limit(pod, container)
    if limit:
        return f"OOMKilled: the {container} container used more than its memory limit of {limit}"
    request = _memory_request(pod, container) or "no memory"
    return (
        f"OOMKilled: the {container} container had no memory limit ({request} requested; "
        "KUBERNETES reserves requests only) and the node ran out of memory"
    )


def _exit_of(pod: Json, status: Json) -> ReplicaExit | None:
    terminated = (status.get("lastState") or {}).get("terminated") or (
        (status.get("state") or {}).get("terminated")
    )
    if not terminated:
        return None
    reason = str(terminated.get("reason") or "Error")
    message = str(terminated.get("message") or "")
    if reason == "OOMKilled":
        message = oom_message(pod, str(status.get("name", "")))
    return ReplicaExit(
        code=terminated.get("exitCode"),
        signal=terminated.get("signal"),
        reason=reason,
        message=message,
        at=_time(terminated.get("finishedAt")),
    )


def _init_problem(pod: Json) -> tuple[str, str]:
    for status in (pod.get("status") or {}).get("initContainerStatuses") or []:
        state = status.get("state") or {}
        waiting = state.get("waiting") or {}
        terminated = state.get("terminated") or (status.get("lastState") or {}).get("terminated")
        if terminated and terminated.get("exitCode", 0) != 0:
            text = terminated.get("message") or terminated.get("reason") or "failed"
            return "Init:Error", f"{status.get('name')}: {str(text).strip()}"
        if waiting.get("reason") in WAITING_FAILURES:
            return str(waiting["reason"]), f"{status.get('name')}: {waiting.get('message', '')}"
    return "", ""


def _container_problem(pod: Json) -> tuple[str, str, int, ReplicaExit | None]:
    restarts, last_exit = 0, None
    problem, message = "", ""
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        restarts += int(status.get("restartCount") or 0)
        last_exit = _exit_of(pod, status) or last_exit
        waiting = (status.get("state") or {}).get("waiting") or {}
        reason = str(waiting.get("reason") or "")
        if reason in WAITING_FAILURES:
            problem = reason
            message = str(waiting.get("message") or reason)
            if last_exit is not None and last_exit.message:  # e.g. the OOM kill and its limit
                message = f"{reason}: {last_exit.message}"
    return problem, message, restarts, last_exit


def _scheduling(pod: Json, events: list[Json]) -> tuple[bool | None, str]:
    condition = _pod_condition(pod, "PodScheduled")
    if condition is None:
        return None, ""
    if condition.get("status") == "True":
        return True, ""
    name = (pod.get("metadata") or {}).get("name")
    failed = [
        e
        for e in events
        if (e.get("involvedObject") or {}).get("name") == name
        and e.get("reason") == "FailedScheduling"
    ]
    if failed:
        latest = max(failed, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))
        return False, str(latest.get("message") or "")
    return False, str(condition.get("message") or condition.get("reason") or "not scheduled")


def pod_view(pod: Json, events: list[Json]) -> PodView:
    """One pod's state (``events`` are its namespace's; the pod's own are picked out)."""
    status = pod.get("status") or {}
    scheduled, schedule_message = _scheduling(pod, events)
    init_problem, init_message = _init_problem(pod)
    problem, message, restarts, last_exit = _container_problem(pod)
    if init_problem:
        problem, message = init_problem, init_message
    elif scheduled is False:
        problem, message = "Unschedulable", schedule_message
    ready_condition = _pod_condition(pod, "Ready")
    ready = bool(ready_condition and ready_condition.get("status") == "True") and not problem
    initialized = _pod_condition(pod, "Initialized")
    return PodView(
        name=str((pod.get("metadata") or {}).get("name", "")),
        ready=ready,
        scheduled=scheduled,
        problem=problem,
        message=message,
        restarts=restarts,
        last_exit=last_exit,
        initialized=None if initialized is None else initialized.get("status") == "True",
        started_at=_time(status.get("startTime")),
        ready_at=_time(ready_condition.get("lastTransitionTime"))
        if ready and ready_condition
        else None,
        ip=status.get("podIP"),
    )


def _condition(kind: ConditionType, ok: bool | None, reason: str = "", msg: str = "") -> Condition:
    status = (
        ConditionStatus.UNKNOWN
        if ok is None
        else (ConditionStatus.TRUE if ok else ConditionStatus.FALSE)
    )
    return Condition(type=kind, status=status, reason=reason, message=msg)


def _first(pods: list[PodView], test: Any) -> PodView | None:
    return next((p for p in pods if test(p)), None)


def component_view(
    component: str, desired: int, pods: list[PodView], extra_problem: str = ""
) -> ComponentView:
    """The conditions of a component from its pods and how many it should have."""
    unscheduled = _first(pods, lambda p: p.scheduled is False)
    scheduled = _condition(
        ConditionType.SCHEDULED,
        None if not pods else unscheduled is None,
        "Unschedulable" if unscheduled else "",
        unscheduled.message if unscheduled else "",
    )
    init_failed = _first(pods, lambda p: p.problem.startswith("Init") or "fetch-model" in p.message)
    initialized = _condition(
        ConditionType.INITIALIZED,
        None if not pods else init_failed is None,
        init_failed.problem if init_failed else "",
        init_failed.message if init_failed else "",
    )
    crashing = _first(pods, lambda p: p.problem in WAITING_FAILURES and p is not init_failed)
    oom = _first(pods, lambda p: p.last_exit is not None and p.last_exit.reason == "OOMKilled")
    failed = crashing or oom
    started = _condition(
        ConditionType.STARTED,
        None if not pods else failed is None,
        (failed.problem or "OOMKilled") if failed else "",
        (failed.message or (failed.last_exit.message if failed.last_exit else ""))
        if failed
        else "",
    )
    ready = sum(1 for p in pods if p.ready)
    looping = _first(pods, lambda p: p.crash_looping)
    ok = ready >= desired and looping is None and not extra_problem
    if looping is not None:
        msg = f"pod {looping.name}: {looping.message or looping.problem}"
    elif extra_problem:
        msg = extra_problem
    elif desired == 0:
        msg = "scaled to zero"
    else:
        msg = f"{ready}/{desired} pods ready"
    ready_condition = _condition(
        ConditionType.READY,
        ok,
        "" if ok else (looping.problem if looping else "NotReady"),
        msg,
    )
    return ComponentView(
        component=component,
        desired=desired,
        ready=ready,
        pods=tuple(pods),
        conditions=(scheduled, initialized, started, ready_condition),
    )
