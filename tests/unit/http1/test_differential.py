"""Both data-path parsers against a reference (h11 >= 0.16) on the same bytes.

For every input: what h11 refuses, the replica's stdlib parser and the gateway's llhttp parser
refuse too; what either of ours accepts, h11 accepts with the same method, target, headers and
body. Ours may be stricter than h11 (bare LF line endings, say), never laxer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import h11
import pytest

from shipyard.gateway.parser import HttptoolsParser
from shipyard.http1 import BadRequest, Head, ParserFactory
from shipyard.http1.parser import StrictParser

pytestmark = pytest.mark.unit

Parsed = tuple[str, str, list[tuple[bytes, bytes]], bytes]

H = b"host: a\r\n"

VALID = [
    b"GET / HTTP/1.1\r\n" + H + b"\r\n",
    b"GET /v2/models/m/ready?x=%2F&y HTTP/1.1\r\nHost: a\r\nX-A: b c\r\n\r\n",
    b"POST /p HTTP/1.1\r\n" + H + b"content-length: 5\r\n\r\nhello",
    b"POST /p HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n4;a=b\r\nwiki\r\n0\r\n\r\n",
    b"POST /p HTTP/1.1\r\n" + H + b"Transfer-Encoding: Chunked\r\n\r\n"
    b"A\r\n0123456789\r\n0\r\nx-t: 1\r\n\r\n",
    b"POST /p HTTP/1.1\r\n" + H + b"content-length: 0\r\nexpect: 100-continue\r\n\r\n",
    b"GET /old HTTP/1.0\r\n\r\n",
    b"DELETE /x HTTP/1.1\r\n" + H + b"x-tab: a\tb\r\n\r\n",
    b"GET /obs HTTP/1.1\r\n" + H + b"x-obs-text: caf\xc3\xa9\r\n\r\n",
]

INVALID = [
    b"POST / HTTP/1.1\r\n" + H + b"content-length: 2\r\ntransfer-encoding: chunked\r\n\r\n"
    b"0\r\n\r\nGET /smuggled HTTP/1.1\r\n" + H + b"\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"content-length: 2\r\ncontent-length: 3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\n" + H + b"content-length: 2, 3\r\n\r\nabc",
    b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: xchunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: identity\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n0x2\r\nhi\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\n"
    + H
    + b"transfer-encoding: chunked\r\n\r\n1_0\r\n"
    + b"x" * 16
    + b"\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n+3\r\nabc\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n2\r\nhiXX0\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\nzz\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"x: a\r\n b\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"x: a\x00b\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"x: a\x01b\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"x: a\rb\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"x : a\r\n\r\n",
    b"GET / HTTP/1.1\r\n" + H + b"x\x00y: a\r\n\r\n",
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nhost: a\r\nhost: b\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"content-length: -1\r\n\r\n",
    b"POST / HTTP/1.1\r\n" + H + b"content-length: +1\r\n\r\nx",
    b"POST / HTTP/1.1\r\n" + H + b"content-length: 1x\r\n\r\nx",
    b"GET /a b HTTP/1.1\r\n" + H + b"\r\n",
    b"GET / HTTP/1.1 x\r\n" + H + b"\r\n",
    b"GET / HTTP/2.0\r\n" + H + b"\r\n",
    b"NONSENSE\r\n\r\n",
    b"G\x00T / HTTP/1.1\r\n" + H + b"\r\n",
]


def normal(headers: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """Lowercase names, and the coding lowercased (h11 normalises it; the rest is as sent)."""
    return [(n.lower(), v.lower() if n.lower() == b"transfer-encoding" else v) for n, v in headers]


@dataclass
class Recorder:
    """ParserEvents that keep what was parsed."""

    requests: list[Parsed] = field(default_factory=list)
    head: Head | None = None
    body: bytearray = field(default_factory=bytearray)

    def on_head(self, head: Head) -> None:
        self.head, self.body = head, bytearray()

    def on_body(self, data: bytes) -> None:
        self.body += data

    def on_complete(self) -> None:
        assert self.head is not None
        head = self.head
        self.requests.append((head.method, head.target, normal(head.headers), bytes(self.body)))


def ours(factory: ParserFactory, data: bytes, step: int) -> list[Parsed] | None:
    """What one of our parsers makes of ``data`` fed ``step`` bytes at a time (None: refused)."""
    recorder = Recorder()
    parser = factory(recorder, 64 * 1024)
    try:
        for at in range(0, len(data), step):
            parser.feed(data[at : at + step])
    except BadRequest:
        return None
    return recorder.requests


def reference(data: bytes) -> list[Parsed] | None:
    """What h11 makes of ``data`` (None: refused)."""
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    parsed: list[Parsed] = []
    current: h11.Request | None = None
    body = bytearray()
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, h11.Request):
                current, body = event, bytearray()
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert current is not None
                headers = normal(current.headers.raw_items())
                target = current.target.decode("latin-1")
                parsed.append((current.method.decode(), target, headers, bytes(body)))
                return parsed  # one request is what these inputs hold
            elif event is h11.NEED_DATA:
                return parsed
    except h11.RemoteProtocolError:
        return None


PARSERS = [pytest.param(StrictParser, id="replica"), pytest.param(HttptoolsParser, id="gateway")]


@pytest.mark.parametrize("factory", PARSERS)
@pytest.mark.parametrize("data", VALID + INVALID)
@pytest.mark.parametrize("step", [1 << 20, 1])
def test_ours_refuse_what_h11_refuses_and_agree_on_what_they_accept(factory, data, step):
    expected = reference(data)
    got = ours(factory, data, step)
    if expected is None or not expected:
        assert not got, f"h11 refused {data!r} but we parsed {got}"
        return
    if got is None:
        assert data not in VALID, f"we refused valid input {data!r}"
        return
    assert got == expected
    if data in VALID:
        assert got


@pytest.mark.parametrize("factory", PARSERS)
@pytest.mark.parametrize("data", INVALID)
def test_every_invalid_input_is_refused(factory, data):
    assert not ours(factory, data, 1 << 20)


@pytest.mark.parametrize("factory", PARSERS)
def test_trailers_never_join_the_head(factory):
    data = b"POST /p HTTP/1.1\r\n" + H + b"transfer-encoding: chunked\r\n\r\n"
    data += b"0\r\nauthorization: ApiKey stolen\r\nx-shipyard-stage: preprocess\r\n\r\n"
    got = ours(factory, data, 3)
    assert got == [("POST", "/p", [(b"host", b"a"), (b"transfer-encoding", b"chunked")], b"")]


@pytest.mark.parametrize("factory", PARSERS)
def test_pipelined_requests_are_parsed_one_after_the_other(factory):
    data = b"".join(VALID[:5])
    got = ours(factory, data, 7)
    assert got is not None and len(got) == 5
    assert [reference(one) for one in VALID[:5]] == [[request] for request in got]
