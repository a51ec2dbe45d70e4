"""Bounded polling of a deployment's status until it reaches a goal (or fails, or time runs out).

Waits poll every ``POLL_INTERVAL_S`` against a ``time.monotonic()`` deadline. Reaching a failed
state raises ``ModelServeError`` with the status message and the conditions that are not True;
running out of time raises ``TimeoutExpired`` naming the state reached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from shipyard.errors import ModelServeError, NotFound, TimeoutExpired
from shipyard.spec.status import ConditionStatus, DeploymentState, DeploymentStatus

POLL_INTERVAL_S = 0.25

StatusCallback = Callable[[DeploymentStatus], None]
"""Called with every status polled while waiting (e.g. to show a live status line)."""


@dataclass(frozen=True)
class Goal:
    """What a wait is for: the states that end it well, and those that end it badly."""

    description: str
    done: Collection[DeploymentState]
    failed: Collection[DeploymentState] = ()
    min_revision: int = 0
    """Ignore statuses of revisions older than this (0 = any; the server may not report it)."""

    def is_current(self, status: DeploymentStatus) -> bool:
        """Whether ``status`` describes the awaited revision (unknown revision counts as yes)."""
        observed = status.observed_revision
        return observed == 0 or observed >= self.min_revision


RUNNING = Goal(
    "become RUNNING",
    done={DeploymentState.RUNNING, DeploymentState.IDLE},
    failed={DeploymentState.FAILED},
)
STOPPED = Goal("stop", done={DeploymentState.STOPPED, DeploymentState.CREATED})


def failure(name: str, status: DeploymentStatus) -> ModelServeError:
    """The ``ModelServeError`` for a deployment found FAILED, with its failing conditions."""
    lines = [f"deployment {name!r} is {status.state}: {status.message or 'no message'}"]
    for condition in status.conditions:
        if condition.status is not ConditionStatus.TRUE:
            text = f"{condition.type}={condition.status} {condition.reason}".rstrip()
            lines.append(f"  {text}: {condition.message}" if condition.message else f"  {text}")
    return ModelServeError(
        "\n".join(lines),
        details={
            "state": str(status.state),
            "conditions": [c.model_dump(mode="json") for c in status.conditions],
        },
    )


def await_goal(
    name: str,
    fetch: Callable[[], DeploymentStatus],
    goal: Goal,
    timeout: float,
    on_status: StatusCallback | None = None,
) -> DeploymentStatus:
    """Poll ``fetch`` until ``goal`` is reached.

    Args:
        name: The deployment name (for messages).
        fetch: Returns the deployment's current status (one API call).
        goal: The states that end the wait.
        timeout: Seconds to wait at most.
        on_status: Optional callback receiving each polled status.

    Returns:
        The status that reached the goal.

    Raises:
        ModelServeError: The deployment reached a failed state.
        TimeoutExpired: The goal was not reached in time.
    """
    deadline = time.monotonic() + timeout
    while True:
        status = fetch()
        if on_status is not None:
            on_status(status)
        if goal.is_current(status):
            if status.state in goal.done:
                return status
            if status.state in goal.failed:
                raise failure(name, status)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            detail = f" ({status.message})" if status.message else ""
            raise TimeoutExpired(
                f"deployment {name!r} did not {goal.description} within {timeout:g} s: "
                f"it is {status.state}{detail}",
                details={"state": str(status.state)},
            )
        time.sleep(min(POLL_INTERVAL_S, remaining))


def await_gone(name: str, fetch: Callable[[], DeploymentStatus], timeout: float) -> None:
    """Poll ``fetch`` until it raises ``NotFound`` without ``details.deleting`` (gone for good).

    Raises:
        TimeoutExpired: It still existed after ``timeout`` seconds (the state it was in).
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            state = str(fetch().state)
        except NotFound as exc:
            if not (exc.details or {}).get("deleting"):
                return
            state = "being deleted"  # its replicas are stopping; the name is still taken
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutExpired(
                f"deployment {name!r} was not deleted within {timeout:g} s: it is {state}",
                details={"state": state},
            )
        time.sleep(min(POLL_INTERVAL_S, remaining))
