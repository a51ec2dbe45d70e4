"""Running an :class:`~shipyard.http1.server.HttpServer` as a process's main job.

:func:`serve_until_stopped` serves until SIGTERM/SIGINT (or an event) and then shuts down
gracefully; :func:`run` runs a coroutine on uvloop when it is installed (the server's own
interpreter has it; users' environments may not, and then the stdlib loop is used).
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from shipyard.http1.server import HttpServer

T = TypeVar("T")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def serve_until_stopped(
    server: HttpServer,
    host: str,
    port: int,
    *,
    stop: asyncio.Event | None = None,
    grace_s: float = 30.0,
    reuse_port: bool = False,
    unix_path: Path | None = None,
    on_bound: Callable[[int], None] | None = None,
) -> None:
    """Serve until a stop signal (or ``stop`` is set), then shut down gracefully.

    Args:
        server: The server to run.
        host: Address to bind.
        port: Port to bind (0: any free port).
        stop: Set to stop (default: a new event only the signals set).
        grace_s: How long answers in progress may take after the stop.
        reuse_port: Share the port with other processes (see :meth:`HttpServer.start`).
        unix_path: Also serve on a Unix socket there (see :meth:`HttpServer.start_unix`).
        on_bound: Called with the bound port once listening (with port 0: the one chosen).
    """
    loop = asyncio.get_running_loop()
    stop = stop or asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await server.start(host, port, reuse_port=reuse_port)
        if unix_path is not None:
            await server.start_unix(unix_path)
        if on_bound is not None:
            on_bound(server.port)
        await stop.wait()
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
        await server.shutdown(grace_s)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)``, on uvloop when it is installed."""
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        return runner.run(main)
