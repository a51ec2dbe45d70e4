"""The SDK's one HTTP seam: a ``Connection`` wraps a single ``httpx.Client``.

Every request of the SDK goes through ``Connection.request``, which adds the API key, turns
transport failures into ``BackendUnavailable`` and maps error answers back to the
``shipyard.errors`` class they came from. Two error shapes are understood: the control plane's
``{"error": {"code", "message", "details"}}`` (mapped by ``code``) and the gateway's and
runtime's ``{"error": "<message>"}`` (mapped by HTTP status).
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx

from shipyard.errors import (
    BackendUnavailable,
    Forbidden,
    InferenceError,
    InvalidInput,
    NotFound,
    NotReady,
    PayloadTooLarge,
    ShipyardError,
    TimeoutExpired,
    Unauthorized,
    error_class_for,
)

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)

_BY_STATUS: dict[int, type[ShipyardError]] = {
    HTTPStatus.BAD_REQUEST: InvalidInput,
    HTTPStatus.UNAUTHORIZED: Unauthorized,
    HTTPStatus.FORBIDDEN: Forbidden,
    HTTPStatus.NOT_FOUND: NotFound,
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE: PayloadTooLarge,
    HTTPStatus.INTERNAL_SERVER_ERROR: InferenceError,
    HTTPStatus.BAD_GATEWAY: BackendUnavailable,
    HTTPStatus.SERVICE_UNAVAILABLE: NotReady,
    HTTPStatus.GATEWAY_TIMEOUT: TimeoutExpired,
}


def normalize_host(host: str) -> str:
    """``host`` as a base URL: a scheme is added when missing, trailing slashes dropped."""
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"http://{host}"
    return host


def error_from_response(response: httpx.Response) -> ShipyardError:
    """The ``ShipyardError`` that an error answer stands for."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        cls = error_class_for(str(error.get("code", "")))
        details = error.get("details")
        return cls(
            str(error.get("message", "")) or _fallback_message(response),
            details=details if isinstance(details, dict) else None,
        )
    cls = _BY_STATUS.get(response.status_code, ShipyardError)
    message = error if isinstance(error, str) and error else _fallback_message(response)
    return cls(message)


def _fallback_message(response: httpx.Response) -> str:
    text = response.text.strip()[:200]
    reason = response.reason_phrase or "error"
    where = f"{response.request.method} {response.request.url}"
    return f"{where} answered {response.status_code} {reason}" + (f": {text}" if text else "")


class Connection:
    """An authenticated connection to one Shipyard server (control plane and its gateway).

    Args:
        host: Base URL of the control plane, e.g. ``http://127.0.0.1:8470``.
        api_key: The project's API key, sent as ``Authorization: ApiKey <key>``.
        transport: Optional httpx transport (tests pass ``httpx.MockTransport``).
        timeout: Timeout of each request (seconds or an ``httpx.Timeout``).
    """

    def __init__(
        self,
        host: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
    ) -> None:
        self.host = normalize_host(host)
        self._client = httpx.Client(
            base_url=self.host + API_PREFIX,
            headers={"Authorization": f"ApiKey {api_key}"},
            transport=transport,
            timeout=timeout,
        )

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; ``url`` is relative to ``/api/v1`` unless absolute (gateway).

        Returns:
            The successful response.

        Raises:
            BackendUnavailable: The server cannot be reached.
            ShipyardError: The subclass named by the error answer.
        """
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.TransportError as exc:
            raise self._unreachable(exc, url) from exc
        if response.is_error:
            raise error_from_response(response)
        return response

    def json(self, method: str, url: str, **kwargs: Any) -> Any:
        """Send one request and decode its JSON answer (``None`` for an empty body)."""
        response = self.request(method, url, **kwargs)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ShipyardError(f"{method} {url}: the answer is not JSON") from exc

    def download(self, url: str, sink: Any, chunk_size: int = 1 << 20) -> int:
        """Stream the body of ``GET url`` into the binary file object ``sink``.

        Returns:
            The number of bytes written.
        """
        written = 0
        try:
            with self._client.stream("GET", url) as response:
                if response.is_error:
                    response.read()
                    raise error_from_response(response)
                for chunk in response.iter_bytes(chunk_size):
                    sink.write(chunk)
                    written += len(chunk)
        except httpx.TransportError as exc:
            raise self._unreachable(exc, url) from exc
        return written

    def close(self) -> None:
        """Close the underlying HTTP client."""
        self._client.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _unreachable(self, exc: httpx.TransportError, url: str) -> BackendUnavailable:
        target = self.host
        if "://" in url:
            parsed = httpx.URL(url)
            target = f"{parsed.scheme}://{parsed.netloc.decode()}"
        if isinstance(exc, httpx.ConnectError):
            hint = "is `shipyard server` running?"
            return BackendUnavailable(f"cannot reach Shipyard at {target}: {hint}")
        if isinstance(exc, httpx.TimeoutException):
            return BackendUnavailable(f"Shipyard at {target} did not answer in time ({exc})")
        return BackendUnavailable(f"connection to Shipyard at {target} failed: {exc}")
