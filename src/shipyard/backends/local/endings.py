"""How a LOCAL replica ended: its exit code and what it means.

Part of :mod:`shipyard.backends.local`. A replica started as a process is polled through its
``Popen``; one forked by a zygote is not this server's child, so its exit code comes from the
file its zygote writes when it reaps it (``run/replicas/<id>.exit``). The code is then described
for the status: an OOM kill (with limit and peak, also noted once in the replica's log) when
its limits say so, a model that failed to load with the exception line of its log.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from shipyard.backends import processes
from shipyard.backends.limits import Enforcement
from shipyard.backends.logfiles import LogFiles, load_error
from shipyard.backends.protocol import ReplicaRef
from shipyard.spec.status import ReplicaExit

LOAD_FAILED = 3  # the runtime's exit code when the model cannot be loaded
LOG_LINES_READ = 200  # of a replica's log, to find the exception of a failed load
REAP_WAIT_S = 1.0
"""Longest a forked replica counts as alive after its process is gone, waiting for its zygote
to record the exit code (it writes within milliseconds of reaping)."""


class Endings:
    """Exit codes of forked replicas and the description of every replica's end."""

    def __init__(self, run_dir: Path, logs: LogFiles, clock: Callable[[], float]) -> None:
        self._run_dir = run_dir
        self._logs = logs
        self._clock = clock
        self._noted: set[str] = set()  # replicas whose log already says why they were killed
        self._gone_since: dict[str, float] = {}
        """Forked replicas seen gone whose exit code is not written yet (since when)."""

    def exit_file(self, replica_id: str) -> Path:
        return self._run_dir / f"{replica_id}.exit"

    def forked_exit(self, replica_id: str) -> tuple[bool, int | None]:
        """Whether a forked replica's end is known, and the code its zygote recorded (it
        writes it when it reaps). Never waits: gone but not reaped yet counts as not ended,
        for at most :data:`REAP_WAIT_S` (a zygote that died never writes)."""
        path = self.exit_file(replica_id)
        with contextlib.suppress(OSError, ValueError):
            code = int(path.read_text())
            self._gone_since.pop(replica_id, None)
            return True, code
        first = self._gone_since.setdefault(replica_id, self._clock())
        if self._clock() - first < REAP_WAIT_S and path.parent.is_dir():
            return False, None
        self._gone_since.pop(replica_id, None)
        return True, None

    def describe(
        self, ref: ReplicaRef, code: int | None, limits: Enforcement | None
    ) -> ReplicaExit:
        """How it ended: OOMKilled (with limit and peak) when its limits say so, which its log
        then says too; a model that failed to load, with the exception line of its log."""
        exit_ = processes.describe_exit(code)
        where = (ref.deployment_id, ref.component, ref.replica_id)
        if code == LOAD_FAILED:
            error = load_error(self._logs.tail(*where, LOG_LINES_READ))
            if error is not None:
                message = f"exited with code {code}: the model failed to load: {error}"
                exit_ = exit_.model_copy(update={"message": message})
        reason = limits.exit_reason(code) if limits is not None else None
        if reason is None:
            return exit_
        if ref.replica_id not in self._noted:
            self._noted.add(ref.replica_id)
            self._logs.note(*where, f"replica killed ({reason[0]}): {reason[1]}")
        return exit_.model_copy(update={"reason": reason[0], "message": reason[1]})

    def forget(self, replica_id: str) -> None:
        self._noted.discard(replica_id)
        self._gone_since.pop(replica_id, None)
        self.exit_file(replica_id).unlink(missing_ok=True)
