"""The best-effort memory limit: a thread that samples a replica's RSS and kills it when over.

Used by :class:`shipyard.backends.limits.enforcement.BestEffortEnforcement` where no cgroup can
enforce ``limits.memory``. The RSS of the whole process tree (see
:func:`shipyard.backends.limits.procfs.tree_rss`) is sampled every ``interval_s``; the first
sample above the limit SIGKILLs the tree and records the peak, so the exit can be reported as
OOMKilled. A fast allocator can overshoot by what it allocates within one interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from pathlib import Path

from shipyard.backends.limits import procfs

log = logging.getLogger(__name__)

Measure = Callable[[int], tuple[list[int], int]]  # pid -> (tree pids, tree RSS bytes)
Kill = Callable[[Iterable[int]], None]


class MemoryWatchdog:
    """Watches one replica's tree; SIGKILLs it the first time its RSS exceeds the limit."""

    def __init__(
        self,
        pid: int,
        limit_bytes: int,
        *,
        interval_s: float = 0.25,
        proc: Path = procfs.PROC,
        measure: Measure | None = None,
        kill: Kill = procfs.kill_all,
    ) -> None:
        self.pid = pid
        self.limit_bytes = limit_bytes
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.current_bytes = 0
        self.killed = False
        self._measure: Measure = measure or (lambda root: procfs.tree_rss(root, proc))
        self._kill = kill
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Take one sample; kill the tree if it is over the limit. False once the tree is gone."""
        pids, rss = self._measure(self.pid)
        if not pids:
            self.current_bytes = 0
            return False
        self.current_bytes = rss
        self.peak_bytes = max(self.peak_bytes, rss)
        if rss > self.limit_bytes and not self.killed:
            log.warning(
                "replica pid %d uses %d bytes over its %d byte limit: killing it",
                self.pid,
                rss,
                self.limit_bytes,
            )
            self.killed = True
            self._kill(pids)
        return True

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                alive = self.check()
            except Exception:  # the watchdog must outlive any odd /proc content
                log.exception("memory watchdog of pid %d failed a sample", self.pid)
                alive = True
            if not alive:
                return
            self._stop.wait(self.interval_s)

    def start(self) -> None:
        """Start sampling in a daemon thread (idempotent)."""
        if self._thread is None:
            name = f"shipyard-memory-watchdog-{self.pid}"
            self._thread = threading.Thread(target=self._run, name=name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread (bounded)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
