"""Runtime configuration: the command line and environment of contract section 1, parsed once.

The composition root (``shipyard.runtime.server``) calls :func:`parse_config` and passes the frozen
:class:`RuntimeConfig` down; no other runtime module reads ``sys.argv`` or ``os.environ``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

COMPONENTS = ("predictor", "transformer")
FRAMEWORKS = ("python", "sklearn", "xgboost", "lightgbm")


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Everything one replica needs to know, fixed for its lifetime."""

    host: str = "127.0.0.1"
    """Interface to bind."""
    port: int = 8080
    """TCP port to bind."""
    unix_socket: Path | None = None
    address_file: Path | None = None
    """Where to write ``host:port`` once bound (the port may be 0: any free one)."""
    """Also serve on a Unix socket at this path (the gateway's way in on the same machine)."""
    component: str = "predictor"
    """``predictor`` or ``transformer``."""
    name: str = "model"
    """The ``<m>`` the replica answers to in URLs."""
    any_name: bool = False
    """Answer to any ``<m>`` (not only :attr:`name`)."""
    script: Path | None = None
    """Predictor/transformer script, if given (``--script`` or ``SCRIPT_PATH``)."""
    framework: str | None = None
    """Framework of a bare model file (``--framework``); ``None`` = guess by extension."""
    model_dir: Path = Path()
    """The model version's files (``MODEL_FILES_PATH``)."""
    model_version: str = "1"
    """Model version reported in V2 answers (``MODEL_VERSION``)."""
    max_batch_size: int = 0
    """Adaptive batching: most instances in one model call; 0 = no batching."""
    max_latency_ms: float = 5.0
    """Adaptive batching: longest a request waits for others to join its batch."""
    batch_timeout_s: float = 60.0
    """Adaptive batching: longest a request waits for its batch's answer."""
    max_body_bytes: int = 0
    """Largest request body (``--max-body-bytes``); 0 = derived from the memory limit."""
    token_file: Path | None = None
    """File holding the admission token every request must present (read and deleted at start,
    see :mod:`shipyard.wire.replica_token`); None = admit anyone (standalone, containers)."""
    open_health: bool = False
    """With a token: answer ``GET``/``HEAD`` of the two health paths without it (a cluster's
    kubelet probes pods and cannot present a secret without writing it into the pod spec)."""


def batching_flags(max_batch_size: int, max_latency_ms: float, timeout_s: float) -> list[str]:
    """The command-line flags that turn adaptive batching on (read back by :func:`parse_config`);
    every backend that starts the runtime passes them so."""
    return [
        "--max-batch-size", str(max_batch_size),
        "--max-latency-ms", f"{max_latency_ms:g}",
        "--batch-timeout-s", f"{timeout_s:g}",
    ]  # fmt: skip


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m shipyard.runtime", description="Shipyard replica model server."
    )
    parser.add_argument("--host", default="127.0.0.1")
    # KServe appends --predictor_host, --model_name and --http_port to a transformer's arguments
    # unless they are there: accept its spellings (the gateway calls the predictor itself)
    parser.add_argument("--port", "--http_port", type=int, default=8080)
    parser.add_argument("--predictor_host", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--unix-socket", type=Path, default=None, help="also serve on a Unix socket at this path"
    )
    parser.add_argument(
        "--address-file", type=Path, default=None, help="write host:port here once bound"
    )
    parser.add_argument("--component", choices=COMPONENTS, default="predictor")
    parser.add_argument("--script", type=Path, default=None)
    parser.add_argument("--framework", choices=FRAMEWORKS, default=None)
    parser.add_argument(
        "--name",
        "--model_name",
        default=None,
        help="model name in URLs (default: DEPLOYMENT_NAME)",
    )
    parser.add_argument("--any-name", action="store_true", help="answer to any model name in URLs")
    parser.add_argument("--max-batch-size", type=int, default=0, help="batching: 0 = off")
    parser.add_argument("--max-latency-ms", type=float, default=5.0)
    parser.add_argument("--batch-timeout-s", type=float, default=60.0)
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=0,
        help="largest request body (0: from the memory limit)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        default=None,
        help="admit only requests presenting the token in this file (read, then deleted)",
    )
    parser.add_argument(
        "--health-without-token",
        action="store_true",
        help="with --token-file: answer GET /v2/health/live and /v2/health/ready to anyone",
    )
    return parser


def _resolve_script(script: Path, model_dir: Path) -> Path:
    """An absolute script path: as given, else relative to cwd, else to the model directory."""
    if script.is_absolute():
        return script
    if script.exists() or not (model_dir / script).exists():
        return script.resolve()
    return (model_dir / script).resolve()


def parse_config(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> RuntimeConfig:
    """Parse the runtime's command line and environment.

    Args:
        argv: Arguments without the program name (default: ``sys.argv[1:]``).
        environ: Environment variables (default: ``os.environ``).

    Returns:
        The configuration of this replica.
    """
    env = os.environ if environ is None else environ
    args = _parser().parse_args(argv)
    script: Path | None = args.script or (
        Path(env["SCRIPT_PATH"]) if env.get("SCRIPT_PATH") else None
    )
    model_dir_env = env.get("MODEL_FILES_PATH")
    if model_dir_env:
        model_dir = Path(model_dir_env)
    elif script is not None:
        model_dir = script.resolve().parent
    else:
        model_dir = Path.cwd()
    name = args.name or env.get("DEPLOYMENT_NAME") or env.get("MODEL_NAME") or "model"
    return RuntimeConfig(
        host=args.host,
        port=args.port,
        unix_socket=args.unix_socket,
        address_file=args.address_file,
        component=args.component,
        name=name,
        any_name=args.any_name,
        script=None if script is None else _resolve_script(script, model_dir),
        framework=args.framework,
        model_dir=model_dir,
        model_version=env.get("MODEL_VERSION") or "1",
        max_batch_size=max(0, args.max_batch_size),
        max_latency_ms=args.max_latency_ms,
        batch_timeout_s=args.batch_timeout_s,
        max_body_bytes=max(0, args.max_body_bytes),
        token_file=args.token_file,
        open_health=args.health_without_token,
    )
