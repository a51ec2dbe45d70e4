"""Composition root of ``python -m shipyard.runtime``: parse, detect, serve over HTTP/1.1.

Lifecycle (contract section 1): the port (and the Unix socket, if given) is bound at once and
the model loads in the background; when it is loaded one ``shipyard-runtime ready ...`` line
goes to stdout. A failed detection or load prints the traceback to stderr and exits with code 3.
SIGTERM stops accepting, lets the requests in progress finish and exits 0. The request body
bound is derived from the replica's memory limit (its cgroup's), so one large well-formed body
is refused 413 instead of killing the replica. With ``--token-file``, a request whose head lacks
the replica token (:mod:`shipyard.wire.replica_token`) is answered 401 before its body is read.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import traceback
from pathlib import Path
from types import FrameType

from shipyard.errors import ModelServeError
from shipyard.http1 import HttpServer, run, serve_until_stopped
from shipyard.http1.messages import Admit, Head, Response, error_response
from shipyard.runtime.app import create_app
from shipyard.runtime.config import RuntimeConfig, parse_config
from shipyard.runtime.loaders import detect
from shipyard.runtime.model import ServedModel
from shipyard.wire.replica_token import admits, read_token_file

LOAD_FAILED = 3
"""Exit code when the model cannot be found or loaded."""
KEEP_ALIVE_S = 5.0
"""Idle seconds before a replica closes a connection (the gateway reuses one for 4 s at most)."""
MAX_BODY = 256 * 1024 * 1024
"""Largest request body of a replica without a memory limit."""
MIN_BODY = 1024 * 1024


def memory_limit(proc_cgroup: Path, cgroup_root: Path) -> int | None:
    """This process's cgroup memory limit in bytes, or None (none, or not readable)."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2
            limit_file = cgroup_root / path.lstrip("/") / "memory.max"
        elif "memory" in controllers.split(","):
            limit_file = cgroup_root / "memory" / path.lstrip("/") / "memory.limit_in_bytes"
        else:
            continue
        try:
            value = limit_file.read_text().strip()
        except OSError:
            continue
        if value.isdigit() and int(value) < 1 << 60:  # v1 says "no limit" with a huge number
            return int(value)
    return None


def body_bound(config: RuntimeConfig, limit: int | None) -> int:
    """The largest request body: as configured, else a quarter of the memory limit (a body is
    held whole, then decoded into a model input several times its size), within bounds."""
    if config.max_body_bytes:
        return config.max_body_bytes
    if limit is None:
        return MAX_BODY
    return max(MIN_BODY, min(MAX_BODY, limit // 4))


class _Lifecycle:
    """Receives the load outcome; stops the server with :data:`LOAD_FAILED` on failure."""

    def __init__(self, config: RuntimeConfig) -> None:
        self._config = config
        self.stop = asyncio.Event()
        self.exit_code = 0

    def on_loaded(self, error: BaseException | None, seconds: float) -> None:
        if error is None:
            name, port = self._config.name, self._config.port
            print(
                f"shipyard-runtime ready model={name} port={port} load_s={seconds:.3f}", flush=True
            )
            return
        traceback.print_exception(error, file=sys.stderr)
        print("shipyard-runtime: loading the model failed", file=sys.stderr, flush=True)
        self.exit_code = LOAD_FAILED
        self.stop.set()


def _report_address(config: RuntimeConfig, port: int) -> None:
    """Write ``host:port`` to the address file, whole or not at all (the port is the replica's
    own: it binds port 0, so no other process can take it between a check and the bind)."""
    if config.address_file is None:
        return
    partial = config.address_file.with_name(f".{config.address_file.name}.tmp")
    partial.write_text(f"{config.host}:{port}\n", encoding="utf-8")
    os.replace(partial, config.address_file)


OPEN_HEALTH = frozenset({"/v2/health/live", "/v2/health/ready"})
"""What ``--health-without-token`` answers without the token (a kubelet's probes)."""


def token_admission(token: bytes | None, *, open_health: bool = False) -> Admit | None:
    """The server's head check: refuse (401) a request without ``token``; None = admit all.
    ``open_health``: ``GET``/``HEAD`` of :data:`OPEN_HEALTH` need no token."""
    if token is None:
        return None
    expected = token

    def admit(head: Head) -> Response | None:
        if admits(expected, head.headers):
            return None
        if open_health and head.method in ("GET", "HEAD") and head.target in OPEN_HEALTH:
            return None
        return error_response(401, "this replica answers only the Shipyard gateway")

    return admit


def _exit_quietly(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGINT before the server runs (while detecting the model): exit 0."""
    raise SystemExit(0)


async def _serve(config: RuntimeConfig, model: ServedModel, token: bytes | None) -> int:
    lifecycle = _Lifecycle(config)
    app = create_app(config, model, on_loaded=lifecycle.on_loaded)
    limit = memory_limit(Path("/proc/self/cgroup"), Path("/sys/fs/cgroup"))
    server = HttpServer(
        app.handle,
        keep_alive_s=KEEP_ALIVE_S,
        max_body=body_bound(config, limit),
        admit=token_admission(token, open_health=config.open_health),
    )
    async with app.running():
        await serve_until_stopped(
            server,
            config.host,
            config.port,
            stop=lifecycle.stop,
            unix_path=config.unix_socket,
            on_bound=lambda port: _report_address(config, port),
        )
    return lifecycle.exit_code


def serve(config: RuntimeConfig, model: ServedModel, token: bytes | None = None) -> int:
    """Serve ``model`` until SIGTERM (or a failed load).

    Args:
        config: The replica's configuration.
        model: The model to serve, not loaded yet.
        token: The admission token requests must present (None: admit all).

    Returns:
        The process exit code: 0, or :data:`LOAD_FAILED`.
    """
    return run(_serve(config, model, token))


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m shipyard.runtime``.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).

    Returns:
        The process exit code.
    """
    signal.signal(signal.SIGTERM, _exit_quietly)
    signal.signal(signal.SIGINT, _exit_quietly)
    config = parse_config(argv)
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:  # the token is read (and its file deleted) before any of the model's code runs
        token = None if config.token_file is None else read_token_file(config.token_file)
    except (OSError, ValueError) as exc:
        print(f"shipyard-runtime: no replica token: {exc}", file=sys.stderr, flush=True)
        return LOAD_FAILED
    try:
        model = detect(config)
    except ModelServeError as exc:
        print(f"shipyard-runtime: {exc}", file=sys.stderr, flush=True)
        return LOAD_FAILED
    return serve(config, model, token)
