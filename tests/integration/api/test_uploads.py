"""Uploads checked first and bounded while they stream (issue 18, item 5), against the real
control-plane app over real HTTP (``tests.live_api``): the key and a declared length are judged
before a byte of the body is sent; a body streaming past the limit is refused at the limit;
nothing is left on disk."""

from __future__ import annotations

import io
import json
import select
import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.live_api import LiveApi

pytestmark = pytest.mark.integration
LIMIT_MB = 2
MIB = 1024 * 1024
UPLOAD = "/api/v1/models/m/versions"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    api = LiveApi(tmp_path_factory.mktemp("uploads") / "home")
    api.settings.max_upload_mb = LIMIT_MB
    with api:
        yield api


def _connect(live: LiveApi) -> socket.socket:
    conn = socket.create_connection(("127.0.0.1", live.settings.api_port), timeout=10)
    conn.settimeout(10)
    return conn


def _answer(conn: socket.socket) -> tuple[int, dict]:
    data = b""
    while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def _head(length: str, key: str | None) -> bytes:
    lines = [f"POST {UPLOAD} HTTP/1.1", "host: x", "content-type: multipart/form-data; boundary=b"]
    lines.append(f"content-length: {length}" if length else "transfer-encoding: chunked")
    if key:
        lines.append(f"authorization: ApiKey {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _nothing_stored(live: LiveApi) -> None:
    artifacts = live.settings.artifacts_dir
    assert [p.name for p in artifacts.iterdir()] in ([], [".incoming"])
    assert not list(artifacts.glob(".incoming/*"))


@pytest.mark.parametrize("key", [None, "not-a-key"])
def test_without_a_valid_key_a_huge_upload_is_refused_before_its_body(live, key) -> None:
    with _connect(live) as conn:
        conn.sendall(_head(str(300 * MIB), key))  # and not one byte of the body
        status, body = _answer(conn)
    assert status == 401 and "API key" in body["error"]["message"]


def test_a_declared_length_over_the_limit_is_413_before_the_body(live) -> None:
    with _connect(live) as conn:
        conn.sendall(_head(str(300 * MIB), live.api_key))
        status, body = _answer(conn)
    assert status == 413 and "SHIPYARD_MAX_UPLOAD_MB" in body["error"]["message"]
    _nothing_stored(live)


def test_a_chunked_body_streaming_past_the_limit_is_refused_at_it(live) -> None:
    sent = 0
    piece = b"x" * 65536
    chunk = b"%x\r\n%s\r\n" % (len(piece), piece)
    with _connect(live) as conn:
        preamble = b'--b\r\ncontent-disposition: form-data; name="artifact"; filename="a"\r\n\r\n'
        conn.sendall(_head("", live.api_key) + b"%x\r\n%s\r\n" % (len(preamble), preamble))
        while sent < 64 * MIB:
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:
                break
            try:
                conn.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(piece)
        status, body = _answer(conn)
    assert status == 413, body
    assert sent < 16 * MIB  # refused near the 2 MiB limit, not after reading everything
    _nothing_stored(live)


def test_a_small_upload_with_a_key_still_works(live, tmp_path: Path) -> None:
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w:gz") as tar:
        info = tarfile.TarInfo("predictor.py")
        payload = b"class Predictor:\n    def predict(self, x):\n        return x\n"
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    answer = httpx.post(
        f"{live.host}{UPLOAD}",
        headers={"Authorization": f"ApiKey {live.api_key}"},
        files={"artifact": ("a.tgz", data.getvalue())},
        data={"metadata": json.dumps({"framework": "python"})},
    )
    assert answer.status_code == 201, answer.text
