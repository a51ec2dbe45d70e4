"""DOCKER replica admission on a fake engine: the token file mounted read-only, the runtime told
to require it, the backend's probe presenting it, the host file gone once read."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from shipyard.backends.docker.backend import DockerBackend
from shipyard.backends.docker.containers import container_request, ref_from
from shipyard.backends.docker.images import ImageBuilder
from shipyard.backends.docker.tokens import TOKEN_PATH, ContainerTokens
from shipyard.backends.protocol import Health
from shipyard.wire.replica_token import project_token
from tests.unit.backends.docker.fake_engine import FakeEngine
from tests.unit.backends.docker.test_docker_backend import BASE, settle, spec

pytestmark = pytest.mark.unit
SECRET = "server-secret"


def make(tmp_path: Path, engine: FakeEngine) -> DockerBackend:
    uv = tmp_path / "uv"
    uv.write_text("#!/bin/sh\n")
    images = ImageBuilder(
        engine=engine, uv_binary=uv, uv_cache=tmp_path / "cache", work_dir=tmp_path / "builds"
    )
    tokens = ContainerTokens(SECRET, tmp_path / "run" / "docker-tokens")
    return DockerBackend(engine=engine, images=images, scope="s", capacity=None, tokens=tokens)


def test_the_token_file_is_mounted_read_only_and_required_by_the_runtime(tmp_path: Path) -> None:
    tokens = ContainerTokens(SECRET, tmp_path / "tokens")
    path = tokens.write("r-1", "proj-1")
    assert path is not None and path.read_bytes() == project_token(SECRET, "proj-1")
    assert (tmp_path / "tokens").stat().st_mode & 0o777 == 0o700
    if os.geteuid() == 0:  # owned by the container's user, readable by it alone
        assert (path.stat().st_uid, path.stat().st_mode & 0o777) == (10001, 0o400)
    wanted = container_request(spec(tmp_path), "img", "s", ("127.0.0.1", 1), [], path)
    mounts = {m.target: (m.source, m.read_only) for m in wanted.mounts}
    assert mounts[TOKEN_PATH] == (str(path), True)
    assert wanted.command[wanted.command.index("--token-file") + 1] == TOKEN_PATH
    assert all(project_token(SECRET, "proj-1").decode() not in v for v in wanted.env.values())
    assert all(project_token(SECRET, "proj-1").decode() not in v for v in wanted.labels.values())
    bare = container_request(spec(tmp_path), "img", "s", ("127.0.0.1", 1), [])
    assert "--token-file" not in bare.command and TOKEN_PATH not in {m.target for m in bare.mounts}


def test_without_a_secret_nothing_is_written_nor_presented(tmp_path: Path) -> None:
    tokens = ContainerTokens(None, tmp_path / "tokens")
    assert tokens.write("r-1", "proj-1") is None and tokens.header("proj-1") == {}
    assert not (tmp_path / "tokens").exists()


async def test_the_probe_presents_the_token_and_the_host_file_goes_once_ready(
    tmp_path: Path,
) -> None:
    engine = FakeEngine(images_={BASE: {}})
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    await settle(backend, engine, ref)
    host_file = tmp_path / "run" / "docker-tokens" / f"{ref.replica_id}.token"
    assert host_file.is_file()
    (state,) = engine.containers({"io.shipyard.role": "replica"})
    adopted = ref_from(state, "127.0.0.1")
    assert adopted is not None and adopted.extra["project"] == "proj-1"  # probes after restarts
    seen: list[bytes] = []

    async def replica(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        seen.append(head)
        admitted = project_token(SECRET, "proj-1") in head
        writer.write(
            b"HTTP/1.1 %s\r\ncontent-length: 0\r\n\r\n" % (b"200 OK" if admitted else b"401 No")
        )
        await writer.drain()
        writer.close()

    port = urlsplit(ref.url).port
    server = await asyncio.start_server(replica, "127.0.0.1", port)
    async with server:
        assert (await backend.health(ref)).health is Health.READY
    assert b"x-shipyard-replica-token: " + project_token(SECRET, "proj-1") in seen[0]
    assert not host_file.exists()  # read by the runtime at its start: no longer kept
    await backend.stop(ref, grace_s=1)
    await backend.close()


async def test_stop_removes_a_token_file_never_read(tmp_path: Path) -> None:
    engine = FakeEngine(images_={BASE: {}})
    backend = make(tmp_path, engine)
    ref = await backend.start(spec(tmp_path))
    await settle(backend, engine, ref)
    await backend.stop(ref, grace_s=1)
    assert list((tmp_path / "run" / "docker-tokens").iterdir()) == []
    await backend.close()
