"""An httpx transport that hands requests to a :mod:`shipyard.http1` handler in process."""

from __future__ import annotations

import httpx

from shipyard.http1 import Handler, Request


class HandlerTransport(httpx.AsyncBaseTransport):
    """Calls ``handler`` directly (no socket), as :class:`shipyard.http1.HttpServer` would."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        target = request.url.raw_path.decode("ascii")
        headers = [(name.lower(), value) for name, value in request.headers.raw]
        answer = await self._handler(Request(request.method, target, headers, body))
        out = list(answer.headers)
        if answer.content_type is not None:
            out.append((b"content-type", answer.content_type))
        out.append((b"content-length", str(len(answer.body)).encode()))
        return httpx.Response(answer.status, headers=out, content=answer.body, request=request)
