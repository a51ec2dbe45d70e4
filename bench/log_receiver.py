"""A local receiver of inference-log CloudEvents, for :mod:`bench.logging_cost`.

Run as ``python -m bench.log_receiver PORT`` (its own process, so its CPU is its own): every
``POST`` is one event (the gateway sends each CloudEvent as one request, binary content mode),
answered ``200`` at once and counted; ``GET /count`` answers ``{"events": n}``. It serves with
Shipyard's own stdlib HTTP/1.1 server (:class:`shipyard.http1.HttpServer`), so the receiver costs
little and is never what limits the gateway.
"""

from __future__ import annotations

import asyncio
import sys

from bench.settings import LOOPBACK
from shipyard.http1 import HttpServer, Request, Response, json_response


class Counter:
    def __init__(self) -> None:
        self.events = 0

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            self.events += 1
            return Response(200, b"")
        return json_response({"events": self.events})


async def _serve(port: int) -> None:
    counter = Counter()
    server = HttpServer(counter.handle, max_body=16 * 1024 * 1024)
    await server.start(LOOPBACK, port)
    await asyncio.Event().wait()  # until the bench stops this process


def main() -> None:
    asyncio.run(_serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
