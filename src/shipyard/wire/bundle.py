"""Several requests (or their answers) in one HTTP body: the gateway's bundles to a replica.

With adaptive batching on, the gateway gathers the concurrent requests of a deployment and sends
them to one replica as one ``POST`` to :data:`BUNDLE_PATH`; the replica answers each of them as if
it had come alone (its own status, headers and body, so one bad request fails alone) and returns
the answers in one body, in order. One exchange per batch instead of one per request is what makes
batching pay off on the hop between gateway and replica.

Framing: one version byte (:data:`VERSION`), then for each part, in order::

    request part:  <method> SP <target> SP <body length> SP <header count> CRLF
                   (<name> ": " <value> CRLF) * header count
                   <body bytes>
    answer part:   <status> SP <body length> SP <header count> CRLF
                   (<name> ": " <value> CRLF) * header count
                   <body bytes>

Lengths are explicit, so bodies may hold any bytes; header names are lowercase. A malformed
bundle, or one of another version, raises ``ValueError`` as a whole (a replica answers it 400 and
the gateway then sends the parts singly, so mixed versions during an upgrade still answer).
"""

from __future__ import annotations

from shipyard.http1.messages import RawHeaders, Request, Response

VERSION = b"\x01"
"""The first byte of every bundle and bundle answer of this format."""

BUNDLE_PATH = "/internal/bundle"
"""Where a replica takes bundles; the gateway never forwards callers' requests to it."""

BUNDLE_TYPE = b"application/x-shipyard-bundle"
"""The ``content-type`` of a bundle and of its answer."""

MAX_PARTS = 4096


def _headers_lines(headers: RawHeaders) -> list[bytes]:
    return [b"%s: %s\r\n" % (name, value) for name, value in headers]


def encode_requests(requests: list[Request]) -> bytes:
    """One bundle body holding ``requests``, in order."""
    chunks: list[bytes] = [VERSION]
    for request in requests:
        chunks.append(
            b"%s %s %d %d\r\n"
            % (
                request.method.encode("latin-1"),
                request.target.encode("latin-1"),
                len(request.body),
                len(request.headers),
            )
        )
        chunks.extend(_headers_lines(request.headers))
        chunks.append(request.body)
    return b"".join(chunks)


def encode_responses(responses: list[Response]) -> bytes:
    """One bundle answer body holding ``responses``, in order."""
    chunks: list[bytes] = [VERSION]
    for response in responses:
        headers = response.headers
        if response.content_type is not None:
            headers = [(b"content-type", response.content_type), *headers]
        chunks.append(b"%d %d %d\r\n" % (response.status, len(response.body), len(headers)))
        chunks.extend(_headers_lines(headers))
        chunks.append(response.body)
    return b"".join(chunks)


class _Reader:
    def __init__(self, data: bytes) -> None:
        if data[:1] != VERSION:
            raise ValueError(f"bundle: version byte {data[:1]!r}, this side reads {VERSION!r}")
        self.data = data
        self.at = 1

    def line(self) -> bytes:
        end = self.data.find(b"\r\n", self.at)
        if end < 0:
            raise ValueError(f"bundle: a part's head is cut off at byte {self.at}")
        line = self.data[self.at : end]
        self.at = end + 2
        return line

    def headers(self, count: int) -> RawHeaders:
        headers: RawHeaders = []
        for _ in range(count):
            name, sep, value = self.line().partition(b": ")
            if not sep or not name:
                raise ValueError("bundle: a header line is not '<name>: <value>'")
            headers.append((name, value))
        return headers

    def body(self, length: int) -> bytes:
        end = self.at + length
        if length < 0 or end > len(self.data):
            raise ValueError(f"bundle: a body of {length} bytes is cut off")
        body = self.data[self.at : end]
        self.at = end
        return body

    def done(self) -> bool:
        return self.at >= len(self.data)


def _counts(fields: list[bytes], names: str) -> list[int]:
    try:
        return [int(field) for field in fields]
    except ValueError:
        raise ValueError(f"bundle: a part's {names} are not numbers") from None


def decode_requests(data: bytes) -> list[Request]:
    """The requests of a bundle body.

    Raises:
        ValueError: the body is not a well-formed bundle (or holds more than ``MAX_PARTS``).
    """
    reader, requests = _Reader(data), list[Request]()
    while not reader.done():
        if len(requests) >= MAX_PARTS:
            raise ValueError(f"bundle: more than {MAX_PARTS} parts")
        fields = reader.line().split(b" ")
        if len(fields) != 4:
            raise ValueError("bundle: a request part's head is not '<method> <target> <n> <h>'")
        length, count = _counts(fields[2:], "body length and header count")
        headers = reader.headers(count)
        method, target = fields[0].decode("latin-1"), fields[1].decode("latin-1")
        requests.append(Request(method, target, headers, reader.body(length)))
    return requests


def decode_responses(data: bytes) -> list[Response]:
    """The answers of a bundle answer body (``content-type`` stays among the headers).

    Raises:
        ValueError: the body is not a well-formed bundle answer.
    """
    reader, responses = _Reader(data), list[Response]()
    while not reader.done():
        fields = reader.line().split(b" ")
        if len(fields) != 3:
            raise ValueError("bundle: an answer part's head is not '<status> <n> <h>'")
        status, length, count = _counts(fields, "status, body length and header count")
        headers = reader.headers(count)
        responses.append(Response(status, reader.body(length), None, headers))
    return responses
