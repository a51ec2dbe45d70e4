"""Waits judge only a status that has seen the awaited revision, and show their progress."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from shipyard.errors import ModelServeError
from shipyard.sdk._wait import RUNNING, STOPPED, Progress, await_goal, reporter
from shipyard.spec.status import DeploymentState, DeploymentStatus

pytestmark = pytest.mark.unit


def statuses(*seen: tuple[str, int]) -> Callable[[], DeploymentStatus]:
    """A fetch returning the given (state, observed_revision) pairs, the last one forever."""
    queue = [DeploymentStatus(state=DeploymentState(s), observed_revision=r) for s, r in seen]

    def fetch() -> DeploymentStatus:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return fetch


def test_a_failed_status_of_an_older_revision_is_not_judged() -> None:
    fetch = statuses(("FAILED", 1), ("FAILED", 1), ("UPDATING", 2), ("RUNNING", 2))
    status = await_goal("iris", fetch, RUNNING.at(2), timeout=5)
    assert (status.state, status.observed_revision) == (DeploymentState.RUNNING, 2)


def test_a_status_not_assessed_yet_is_not_judged() -> None:
    fetch = statuses(("FAILED", 0), ("RUNNING", 3))
    assert await_goal("iris", fetch, RUNNING.at(3), timeout=5).observed_revision == 3


def test_a_running_status_of_an_older_revision_does_not_end_the_wait() -> None:
    fetch = statuses(("RUNNING", 1), ("FAILED", 2))
    with pytest.raises(ModelServeError, match="is FAILED"):
        await_goal("iris", fetch, RUNNING.at(2), timeout=5)


def test_a_failure_of_the_awaited_revision_raises() -> None:
    with pytest.raises(ModelServeError):
        await_goal("iris", statuses(("FAILED", 2)), RUNNING.at(2), timeout=5)


def test_progress_says_what_it_waits_for_with_the_elapsed_time() -> None:
    now = [100.0]
    stream = io.StringIO()
    progress = Progress("iris", RUNNING.at(2), stream, every_s=10, clock=lambda: now[0])
    old = DeploymentStatus(state=DeploymentState.FAILED, observed_revision=1, message="OOM")
    progress(old)
    now[0] = 103.0
    progress(old)  # nothing changed, 3 s later: no line
    now[0] = 112.0
    progress(old)  # nothing changed, but 12 s since the last line
    new = DeploymentStatus(
        state=DeploymentState.RUNNING, observed_revision=2, available_instances={"predictor": 1}
    )
    progress(new)
    assert stream.getvalue().splitlines() == [
        "deployment 'iris': FAILED: OOM [status of revision 1], 0 s waiting to become RUNNING "
        "at revision 2",
        "deployment 'iris': FAILED: OOM [status of revision 1], 12 s waiting to become RUNNING "
        "at revision 2",
        "deployment 'iris': RUNNING: 1 predictor ready, 12 s waiting to become RUNNING at "
        "revision 2",
    ]


def test_quiet_or_a_callback_replaces_the_progress() -> None:
    def mine(status: DeploymentStatus) -> None:
        del status

    assert reporter("iris", STOPPED, None, quiet=True) is None
    assert reporter("iris", STOPPED, mine, quiet=False) is mine
    assert isinstance(reporter("iris", STOPPED, None, quiet=False), Progress)
