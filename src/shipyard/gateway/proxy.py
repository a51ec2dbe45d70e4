"""Forwarding one inference request to a deployment's replicas, byte for byte.

Called by the handlers of :mod:`shipyard.gateway.app` once the caller is authenticated and the
deployment resolved. Picks replicas with the :class:`~shipyard.gateway.table.ReplicaPicker`
over one shared, pooled keep-alive ``httpx.AsyncClient``. A replica that fails before an answer
arrives (refused, reset, killed mid-request) is ejected and the request goes to another one;
predictions are treated as safe to retry. A replica's own answer, error or not, is returned as
is: status, body bytes and end-to-end headers.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import httpx
from starlette.responses import Response

from shipyard.errors import BackendUnavailable, TimeoutExpired
from shipyard.gateway.metrics import GatewayMetrics
from shipyard.gateway.table import DeploymentRoute, ReplicaPicker

logger = logging.getLogger(__name__)

RawHeaders = list[tuple[bytes, bytes]]

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
# Besides hop-by-hop headers: the key stays here (replicas need none); length and host are
# set again by the client for the new connection.
_REQUEST_DROP = HOP_BY_HOP | {b"authorization", b"host", b"content-length", b"expect"}
# Our own server sets its date, server and length headers.
_RESPONSE_DROP = HOP_BY_HOP | {b"content-length", b"date", b"server"}

RETRYABLE_ERRORS: tuple[type[httpx.HTTPError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.RemoteProtocolError,
    httpx.ReadError,
    httpx.WriteError,
)
"""Failures before any answer was received: the request is sent to another replica."""


def _filter(headers: Iterable[tuple[bytes, bytes]], drop: frozenset[bytes]) -> RawHeaders:
    headers = list(headers)
    listed = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    kept = ((name.lower(), value) for name, value in headers)
    return [(name, value) for name, value in kept if name not in drop and name not in listed]


def request_headers(headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    """The headers of a client request worth sending to a replica."""
    return _filter(headers, _REQUEST_DROP)


def response_headers(headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    """The headers of a replica's answer worth returning to the client."""
    return _filter(headers, _RESPONSE_DROP)


def entry_replicas(route: DeploymentRoute) -> tuple[str, ...]:
    """The replicas a deployment's requests enter by (a transformer's, once supported)."""
    return route.predictor


class Forwarder:
    """Sends requests to replicas with retries on connection failures.

    Args:
        client: the shared pooled client (its timeout bounds one replica's answer).
        picker: the round-robin picker, shared by all requests.
        metrics: where upstream failures are counted.
        attempts: most distinct replicas tried for one request.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        picker: ReplicaPicker,
        metrics: GatewayMetrics,
        *,
        attempts: int,
    ) -> None:
        self._client = client
        self._picker = picker
        self._metrics = metrics
        self._attempts = max(1, attempts)

    async def forward(
        self, route: DeploymentRoute, method: str, target: str, headers: RawHeaders, body: bytes
    ) -> Response:
        """Forward one request to a replica of ``route`` and return its answer unchanged.

        Args:
            route: the resolved deployment (with at least one replica).
            method: the HTTP method.
            target: the request's path and query string, as received.
            headers: the headers to send (already filtered by :func:`request_headers`).
            body: the request body.

        Returns:
            The replica's answer.

        Raises:
            BackendUnavailable: no replica could be reached (502).
            TimeoutExpired: a replica accepted the request but did not answer in time (504).
        """
        urls = entry_replicas(route)
        tried: list[str] = []
        last_error: httpx.HTTPError | None = None
        while len(tried) < self._attempts:
            url = self._picker.pick(route.key, urls, tried)
            if url is None:
                break
            tried.append(url)
            try:
                return await self._send(url + target, method, headers, body)
            except RETRYABLE_ERRORS as exc:
                self._picker.eject(url)
                self._metrics.upstream_failed(route.project_id, route.name)
                logger.debug("replica %s of %r failed: %r", url, route.name, exc)
                last_error = exc
            except httpx.TimeoutException as exc:
                raise TimeoutExpired(
                    f"deployment '{route.name}' did not answer in time ({type(exc).__name__})"
                ) from exc
            except httpx.HTTPError as exc:
                raise BackendUnavailable(
                    f"deployment '{route.name}' could not be reached: {type(exc).__name__}: {exc}"
                ) from exc
        reason = f"{type(last_error).__name__}: {last_error}" if last_error else "no replica"
        raise BackendUnavailable(
            f"deployment '{route.name}' is unreachable: {len(tried)} replica(s) tried, "
            f"last error {reason}"
        )

    async def _send(self, url: str, method: str, headers: RawHeaders, body: bytes) -> Response:
        request = self._client.build_request(method, url, headers=headers, content=body or None)
        upstream = await self._client.send(request, stream=True)
        try:
            content = b"".join([chunk async for chunk in upstream.aiter_raw()])
        finally:
            await upstream.aclose()
        response = Response(content, status_code=upstream.status_code)
        response.raw_headers.extend(response_headers(upstream.headers.raw))
        return response
