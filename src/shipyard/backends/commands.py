"""How a LOCAL replica is started: its command line and its environment (no side effects)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from shipyard.backends import processes
from shipyard.backends.protocol import ReplicaSpec
from shipyard.runtime.config import batching_flags

ALLOWED_VARIABLES = frozenset(
    {"PATH", "LANG", "LANGUAGE", "TZ", "TERM", "TMPDIR", "PYTHONPATH", "PYTHONHASHSEED",
     "PYTHONDONTWRITEBYTECODE", "PYTHONWARNINGS", "LD_LIBRARY_PATH", "SSL_CERT_FILE",
     "SSL_CERT_DIR", "HOME"}
)  # fmt: skip
"""The server's variables a replica inherits (an allow-list: the server's own secrets, such as
database URLs, cloud credentials and tokens, never reach a model's code)."""
ALLOWED_PREFIXES = ("LC_", "CUDA_", "NVIDIA_", "OMP_", "MKL_", "OPENBLAS_")


def base_environment(spec: ReplicaSpec, *, home: Path | None = None) -> dict[str, str]:
    """What every replica on this interpreter shares (and its zygote runs with): the
    allow-listed part of the server's environment (:data:`ALLOWED_VARIABLES`), plus a built
    environment's venv and the runtime overlay; ``HOME`` is ``home`` when given (a replica
    running as its project's uid)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ALLOWED_VARIABLES or k.startswith(ALLOWED_PREFIXES)
    }
    env["PYTHONUNBUFFERED"] = "1"
    if home is not None:
        env["HOME"] = str(home)
    if spec.python is not None:  # a built environment: its venv plus the runtime overlay
        env.pop("PYTHONPATH", None)
        venv = Path(spec.python).parent.parent
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        if spec.runtime_path is not None:
            env["PYTHONPATH"] = str(spec.runtime_path)
    return env


def replica_variables(spec: ReplicaSpec) -> dict[str, str]:
    """The variables of this one replica (contract section 1)."""
    script = str(spec.model_dir / spec.script_file) if spec.script_file else ""
    return {
        "MODEL_FILES_PATH": str(spec.model_dir),
        "ARTIFACT_FILES_PATH": str(spec.model_dir),
        "DEPLOYMENT_NAME": spec.deployment_name,
        "DEPLOYMENT_VERSION": str(spec.revision),
        "MODEL_NAME": spec.model_name,
        "MODEL_VERSION": str(spec.model_version),
        "SCRIPT_PATH": script,
        "IS_TRANSFORMER": "true" if spec.component == "transformer" else "false",
        "SHIPYARD_REPLICA_ID": spec.replica_id,
    }


def socket_path(run_dir: Path, replica_id: str) -> Path | None:
    """The replica's Unix socket for the gateway, or None when the path is too long."""
    path = run_dir / f"{replica_id}.sock"
    return path if len(str(path)) <= processes.MAX_SOCKET_PATH else None


def replica_command(
    spec: ReplicaSpec, host: str, address_file: Path, socket: Path | None
) -> list[str]:
    """The replica runtime's command line: it binds a port of its own (0: any free one, no
    race with another process between a check and the bind) and writes it to
    ``address_file``."""
    cmd = [spec.python or sys.executable, "-m", "shipyard.runtime", "--host", host]
    cmd += ["--port", "0", "--address-file", str(address_file), "--component", spec.component]
    if socket is not None:
        cmd += ["--unix-socket", str(socket)]
    cmd += ["--name", spec.deployment_name, "--framework", spec.framework]
    if spec.script_file:
        cmd += ["--script", str(spec.model_dir / spec.script_file)]
    batching = spec.batching
    if batching is not None and batching.enabled:
        cmd += batching_flags(batching.batch_size, batching.latency_ms, batching.timeout_s)
    return cmd
