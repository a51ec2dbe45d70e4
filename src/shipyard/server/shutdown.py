"""The stop of ``shipyard server``: one request that every way of stopping goes through.

Part of the composition root (:mod:`shipyard.server`). SIGINT and SIGTERM are taken by
:meth:`Shutdown.install` as the very first step of the start-up, so a signal that arrives while
the server is still starting is never lost nor half-handled: the start-up checks
:attr:`Shutdown.requested` between its steps and starts nothing more once a stop was asked.
The stop hooks run at once, in the event loop (the API stops taking requests; the gateway's
long polls are answered so the API's graceful drain does not wait for them).

A last-resort bound backs the root fixes: if the process is still alive ``bound_s`` after the
request (a thread stuck in a system call, a child that ignores its signals), it logs why, with
every thread's stack, runs the overrun hooks (they kill the gateway's session) and exits with
:data:`OVERRUN_EXIT`. The data directory's lock goes with the process (the kernel drops it).
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import TextIO

log = logging.getLogger("shipyard.server")
OVERRUN_EXIT = 70
"""The exit code of a server whose stop overran its bound (``EX_SOFTWARE``)."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Shutdown:
    """The stop request of one server run, with its hooks and its last-resort bound."""

    def __init__(
        self,
        bound_s: float,
        *,
        exit_now: Callable[[int], object] = os._exit,
        stacks: TextIO | None = None,
    ) -> None:
        """``exit_now`` ends the process (tests pass a recorder); ``stacks`` receives every
        thread's stack when the bound is overrun (default: stderr)."""
        self.bound_s = bound_s
        self._exit_now = exit_now
        self._stacks = stacks
        self._requested = False
        self._why = ""
        self._armed = False
        self._on_stop: list[Callable[[], object]] = []
        self._on_overrun: list[Callable[[], object]] = []
        self.finished = threading.Event()
        """Set by whoever knows the process is about to end (tests); ends the bound's watch."""

    @property
    def requested(self) -> bool:
        return self._requested

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        """Take SIGINT and SIGTERM in ``loop`` (call it first: before any other start-up)."""
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self.request, f"signal {sig.name}")

    def on_stop(self, hook: Callable[[], object]) -> None:
        """Run ``hook`` when the stop is requested (at once if it already was)."""
        self._on_stop.append(hook)
        if self._requested:
            self._run(hook)

    def on_overrun(self, hook: Callable[[], object]) -> None:
        """Run ``hook`` (it must not block) before the process is ended by the bound."""
        self._on_overrun.append(hook)

    def request(self, why: str) -> None:
        """Ask the server to stop (idempotent: a second signal changes nothing)."""
        if self._requested:
            log.info("already stopping (%s; asked again: %s)", self._why, why)
            return
        self._requested = True
        log.info("stopping (%s)", why)
        self.arm(why)
        for hook in list(self._on_stop):
            self._run(hook)

    def arm(self, why: str) -> None:
        """Start the last-resort bound (once), without the stop hooks: for an end that no stop
        request began (the API failed to start, the event loop is done and the interpreter
        exits), so that it too ends in bounded time."""
        if self._armed:
            return
        self._armed, self._why = True, why
        watch = threading.Thread(target=self._watch, name="shipyard-stop-bound", daemon=True)
        watch.start()

    def _run(self, hook: Callable[[], object]) -> None:
        try:
            hook()
        except Exception:  # one failing hook never keeps the others from running
            log.exception("a stop hook failed")

    def _watch(self) -> None:
        if self.finished.wait(self.bound_s):
            return
        alive = sorted(t.name for t in threading.enumerate() if t is not threading.current_thread())
        log.error(
            "the server did not stop within %.0f s of its stop request (%s); still running: "
            "%s; ending the process now (exit code %d). Stacks follow.",
            self.bound_s,
            self._why,
            ", ".join(alive) or "no other thread",
            OVERRUN_EXIT,
        )
        stacks = self._stacks or sys.stderr
        try:
            faulthandler.dump_traceback(file=stacks, all_threads=True)
            stacks.flush()
        except (OSError, ValueError):  # no file descriptor behind it: the exit comes anyway
            log.error("the threads' stacks could not be written")
        for hook in self._on_overrun:
            self._run(hook)
        self._exit_now(OVERRUN_EXIT)
