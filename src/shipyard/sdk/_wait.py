"""Bounded polling of a deployment's status until it reaches a goal (or fails, or time runs out).

Waits poll every ``POLL_INTERVAL_S`` against a ``time.monotonic()`` deadline, and judge only a
status that has seen the revision they wait for (``observed_revision``). Reaching a failed state
raises ``ModelServeError`` with the status message and the conditions that are not True; running
out of time raises ``TimeoutExpired`` naming the state reached. Unless told to be quiet, a wait
shows its progress on stderr (``Progress``: what it waits for, the state, the elapsed time).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from typing import TextIO

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
        """Whether ``status`` has seen the awaited revision: only such a status is judged.

        A status of an older revision (or one the controller has not assessed yet, revision 0)
        says nothing about the awaited one: its FAILED may be the very failure being fixed.
        """
        return status.observed_revision >= self.min_revision

    def at(self, revision: int | None) -> Goal:
        """This goal for ``revision`` and later ones (None or 0 = any revision)."""
        return replace(self, min_revision=revision or 0)

    def text(self) -> str:
        """What the wait is for, e.g. ``become RUNNING at revision 3``."""
        return (
            f"{self.description} at revision {self.min_revision}"
            if self.min_revision
            else (self.description)
        )


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
                f"deployment {name!r} did not {goal.text()} within {timeout:g} s: "
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


class Progress:
    """A status callback that shows a wait's progress on a stream (stderr by default).

    One line when the wait starts, then one each time the state or message changes, and at
    least every ``every_s`` seconds while nothing changes:
    ``deployment 'iris': STARTING (1/2 predictor ready), 12 s waiting to become RUNNING at
    revision 3``.
    """

    def __init__(
        self,
        name: str,
        goal: Goal,
        stream: TextIO | None = None,
        *,
        every_s: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._name = name
        self._goal = goal
        self._stream = stream
        self._every_s = every_s
        self._clock = clock
        self._started = clock()
        self._last: tuple[str, str] | None = None
        self._last_at = self._started

    def __call__(self, status: DeploymentStatus) -> None:
        now = self._clock()
        seen = (str(status.state), status.message)
        if seen == self._last and now - self._last_at < self._every_s:
            return
        self._last, self._last_at = seen, now
        ready = ", ".join(f"{n} {c} ready" for c, n in sorted(status.available_instances.items()))
        detail = status.message or ready
        what = f"{status.state}: {detail}" if detail else str(status.state)
        if not self._goal.is_current(status):
            what += f" [status of revision {status.observed_revision}]"
        line = f"deployment {self._name!r}: {what}, {now - self._started:.0f} s waiting to "
        print(line + self._goal.text(), file=self._stream or sys.stderr, flush=True)


def reporter(
    name: str, goal: Goal, on_status: StatusCallback | None, quiet: bool
) -> StatusCallback | None:
    """The callback of a wait: the caller's, else a ``Progress`` on stderr unless ``quiet``."""
    if on_status is not None or quiet:
        return on_status
    return Progress(name, goal)
