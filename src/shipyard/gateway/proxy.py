"""Forwarding one inference request to a deployment's replicas, byte for byte.

Called by the handlers of :mod:`shipyard.gateway.app` once the caller is authenticated and the
deployment resolved. Picks replicas with the :class:`~shipyard.gateway.picker.ReplicaPicker`
over the gateway's pooled client (:mod:`~shipyard.gateway.upstream`). A request is sent to
another replica only when it provably never reached the first (connection refused or not made in
time): a request that reached a replica which then died or broke the connection may be what
killed it (a query of death), so it is answered 502 naming the cause and never sent to a second
victim. Either way the failed replica is ejected for a few seconds. A replica's own answer, error
or not, is returned as is: status, body bytes and end-to-end headers (invalid ones dropped).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable

from shipyard.errors import BackendUnavailable, TimeoutExpired
from shipyard.gateway.metrics import GatewayMetrics
from shipyard.gateway.picker import ReplicaPicker
from shipyard.gateway.upstream import AnswerTimeout, BadAnswer, Lost, NotSent, Upstream
from shipyard.http1 import Request, Response
from shipyard.wire.binary import HEADER_LENGTH
from shipyard.wire.bundle import BUNDLE_PATH, BUNDLE_TYPE, decode_responses, encode_requests
from shipyard.wire.headers import HOP_BY_HOP, STAGE_HEADER, valid_name, valid_value
from shipyard.wire.replica_token import HEADER as TOKEN_HEADER
from shipyard.wire.routes import DeploymentRoute

logger = logging.getLogger(__name__)

RawHeaders = list[tuple[bytes, bytes]]

# Besides hop-by-hop headers: the key stays here (replicas need none); length and host are
# set again by the client for the new connection.
# The replica token is the gateway's own to give (see Forwarder).
_REQUEST_DROP = HOP_BY_HOP | {
    b"authorization",
    b"host",
    b"content-length",
    b"expect",
    TOKEN_HEADER,
}
# Our own server sets its date, server and length headers.
_RESPONSE_DROP = HOP_BY_HOP | {b"content-length", b"date", b"server"}


def _filter(headers: Iterable[tuple[bytes, bytes]], drop: frozenset[bytes]) -> RawHeaders:
    headers = list(headers)
    listed = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.split(b",")
    }
    kept = ((name.lower(), value) for name, value in headers)
    return [
        (name, value)
        for name, value in kept
        if name not in drop and name not in listed and valid_name(name) and valid_value(value)
    ]


def request_headers(headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    """The headers of a client request worth sending to a replica."""
    return _filter(headers, _REQUEST_DROP)


def response_headers(headers: Iterable[tuple[bytes, bytes]]) -> RawHeaders:
    """The headers of a replica's answer worth returning to the client."""
    return _filter(headers, _RESPONSE_DROP)


def route_ready(route: DeploymentRoute) -> bool:
    """Every component a request goes through has a ready replica."""
    return bool(route.predictor) and (not route.has_transformer or bool(route.transformer))


_JSON = (b"content-type", b"application/json")
_BODY_FRAMING = frozenset({b"content-type", HEADER_LENGTH})
"""What describes the client's body, not the JSON a transformer's preprocess answers."""
_BUNDLE_HEADERS: RawHeaders = [(b"content-type", BUNDLE_TYPE)]


class Forwarder:
    """Sends requests to replicas, retrying elsewhere only what never reached one.

    Args:
        upstream: the pooled client to replicas (its timeout bounds one replica's answer).
        picker: the replica picker (least outstanding requests), shared by all requests.
        metrics: where upstream failures are counted.
        attempts: most distinct replicas tried for one request.
        tokens: each project's replica admission token (``x-shipyard-replica-token``, see
            :mod:`shipyard.wire.replica_token`), presented on every request to a replica.
    """

    def __init__(
        self,
        upstream: Upstream,
        picker: ReplicaPicker,
        metrics: GatewayMetrics,
        *,
        attempts: int,
        tokens: Callable[[str], bytes] | None = None,
    ) -> None:
        self._tokens = tokens
        self._upstream = upstream
        self._picker = picker
        self._metrics = metrics
        self._attempts = max(1, attempts)

    async def forward(
        self, route: DeploymentRoute, method: str, target: str, headers: RawHeaders, body: bytes
    ) -> Response:
        """Answer one request: straight from a predictor replica, or through the transformer.

        With a transformer the request goes transformer (preprocess) -> predictor ->
        transformer (postprocess), each hop to a replica of its own component with its own
        retries; an error answer of a hop is returned at once, its message prefixed with the
        component (``transformer: ...`` / ``predictor: ...``) and its status kept.
        """
        if not route.has_transformer:
            return await self._forward(route, route.predictor, method, target, headers, body)
        staged = [*headers, (STAGE_HEADER, b"preprocess")]
        pre = await self._forward(
            route, route.transformer, method, target, staged, body, "transformer"
        )
        if pre.status >= 300:
            return _blame("transformer", pre)
        plain = [h for h in headers if h[0] not in _BODY_FRAMING] + [_JSON]
        predicted = await self._forward(
            route, route.predictor, method, target, plain, pre.body, "predictor"
        )
        if predicted.status >= 300:
            return _blame("predictor", predicted)
        staged = [*plain, (STAGE_HEADER, b"postprocess")]
        post = await self._forward(
            route, route.transformer, method, target, staged, predicted.body, "transformer"
        )
        return _blame("transformer", post) if post.status >= 300 else post

    async def forward_bundle(
        self, route: DeploymentRoute, requests: list[Request]
    ) -> list[Response]:
        """Answer several model calls of one deployment (no transformer) with one exchange.

        Two or more go to one predictor replica as one ``POST /internal/bundle`` (one replica
        choice and retry loop for all); a bundle answered with anything but a well-formed
        ``200`` (a replica of an older version, say) is sent again as single requests, so
        each caller still gets its own answer.
        """
        if len(requests) == 1:
            return [await self._forward_one(route, requests[0])]
        answer = await self._forward(
            route, route.predictor, "POST", BUNDLE_PATH, _BUNDLE_HEADERS, encode_requests(requests)
        )
        if answer.status == 200:
            try:
                parts = decode_responses(answer.body)
            except ValueError as exc:
                logger.warning("bundle answer of %r is malformed: %s", route.name, exc)
                parts = []
            if len(parts) == len(requests):
                return [
                    Response(part.status, part.body, None, response_headers(part.headers))
                    for part in parts
                ]
        logger.debug(
            "bundle of %r answered %d: sending its parts singly", route.name, answer.status
        )
        return list(await asyncio.gather(*(self._forward_one(route, r) for r in requests)))

    async def _forward_one(self, route: DeploymentRoute, request: Request) -> Response:
        return await self.forward(
            route, request.method, request.target, request.headers, request.body
        )

    async def _forward(
        self,
        route: DeploymentRoute,
        urls: tuple[str, ...],
        method: str,
        target: str,
        headers: RawHeaders,
        body: bytes,
        component: str = "",
    ) -> Response:
        """Forward one request to a replica among ``urls`` and return its answer unchanged.

        Args:
            route: the resolved deployment (with at least one replica).
            method: the HTTP method.
            target: the request's path and query string, as received.
            headers: the headers to send (already filtered by :func:`request_headers`).
            body: the request body.

        Returns:
            The replica's answer.

        Raises:
            BackendUnavailable: no replica could be reached, or the one that took the request
                broke the connection or answered badly (502).
            TimeoutExpired: a replica accepted the request but did not answer in time (504).
        """
        what = (
            f"the {component} of deployment '{route.name}'"
            if component
            else (f"deployment '{route.name}'")
        )
        if self._tokens is not None:
            headers = [*headers, (TOKEN_HEADER, self._tokens(route.project_id))]
        tried: list[str] = []
        last_error: NotSent | None = None
        while len(tried) < self._attempts:
            url = self._picker.pick(urls, tried)
            if url is None:
                break
            tried.append(url)
            try:
                return await self._send(url + target, method, headers, body)
            except NotSent as exc:  # never reached it: another replica may take the request
                self._failed(route, url, exc)
                last_error = exc
            except Lost as exc:
                self._failed(route, url, exc)
                raise BackendUnavailable(
                    f"{what}: the replica holding this request closed the connection before "
                    f"answering (it may have crashed on this request, which is not retried "
                    f"elsewhere): {exc}"
                ) from exc
            except BadAnswer as exc:
                raise BackendUnavailable(f"{what} answered badly: {exc}") from exc
            except AnswerTimeout as exc:
                raise TimeoutExpired(f"{what} did not answer in time ({exc})") from exc
            finally:
                self._picker.release(url)
        reason = f"{type(last_error).__name__}: {last_error}" if last_error else "no replica"
        raise BackendUnavailable(
            f"{what} is unreachable: {len(tried)} replica(s) tried, last error {reason}"
        )

    def _failed(self, route: DeploymentRoute, url: str, exc: Exception) -> None:
        self._picker.eject(url)
        self._metrics.upstream_failed(route.project_id, route.name)
        logger.info("replica %s of %r failed: %s", url, route.name, exc)

    async def _send(self, url: str, method: str, headers: RawHeaders, body: bytes) -> Response:
        answer = await self._upstream.send(url, method, headers, body)
        return Response(
            answer.status,
            answer.content,
            content_type=None,
            headers=response_headers(answer.headers),
        )


def _blame(component: str, answer: Response) -> Response:
    """An error answer of one hop, its message prefixed with the component that gave it."""
    try:
        body = json.loads(answer.body)
        message = body["error"] if isinstance(body, dict) else None
    except (ValueError, KeyError):
        message = None
    if not isinstance(message, str):
        message = answer.body.decode(errors="replace")[:2000] or "no details"
    content = json.dumps({"error": f"{component}: {message}"}).encode()
    return Response(answer.status, content)
