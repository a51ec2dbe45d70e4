"""How a replica becomes a container and a container a replica: pure functions, no engine.

The container request carries the exact limit (request = limit on DOCKER: ``NanoCpus``, memory
with the same swap limit, GPUs as device requests), the safe defaults (uid 10001, no
capabilities, ``no-new-privileges``, at most 1024 processes, read-only root with a small
``/tmp`` tmpfs, the default bridge, the port published on one host address), the model files
read-only at ``/mnt/models``, the project's admission token read-only (``tokens``) and labels
naming scope, project, deployment, component, revision and replica, from which
:func:`ref_from` rebuilds the handle after a server restart.
"""

from __future__ import annotations

import stat
import time
from pathlib import Path

from shipyard.backends.adopted_tokens import DIGEST_KEY, digest_extra
from shipyard.backends.docker.engine import ContainerRequest, ContainerState, Mount
from shipyard.backends.docker.tokens import TOKEN_PATH
from shipyard.backends.limits.modes import THREAD_VARS, thread_count
from shipyard.backends.protocol import ReplicaRef, ReplicaSpec
from shipyard.runtime.config import batching_flags
from shipyard.spec.resources import Resources

MIB = 1024 * 1024
PORT = 8080  # inside the container
MODELS = "/mnt/models"
L = "io.shipyard."  # label prefix
ENFORCEMENT = "docker"
RUNTIME_USER = "10001:10001"
PIDS_LIMIT = 1024  # processes and threads: ample for thread pools, stops a fork bomb


def container_name(replica_id: str) -> str:
    return f"shipyard-{replica_id}"


def labels(
    spec: ReplicaSpec, scope: str, port: int, gpus: list[str], token_digest: str | None = None
) -> dict[str, str]:
    """What a replica's container is found and adopted by (with the GPUs it holds, and the
    digest of the token it was given, see :mod:`shipyard.backends.adopted_tokens`)."""
    out = {
        f"{L}scope": scope,
        f"{L}role": "replica",
        f"{L}project": spec.project_id,
        f"{L}deployment": spec.deployment_id,
        f"{L}deployment-name": spec.deployment_name,
        f"{L}component": spec.component,
        f"{L}slot": str(spec.slot),
        f"{L}revision": str(spec.revision),
        f"{L}template": spec.template,
        f"{L}replica": spec.replica_id,
        f"{L}port": str(port),
        f"{L}started-at": f"{time.time():.3f}",
        f"{L}requests": spec.resources.requests.model_dump_json(),
        f"{L}limits": spec.resources.limits.model_dump_json(),
        f"{L}gpus": ",".join(gpus),
    }
    if token_digest is not None:
        out[f"{L}{DIGEST_KEY}"] = token_digest
    return out


def command(spec: ReplicaSpec, *, token: bool = False) -> list[str]:
    """The runtime's command line, at the container's paths (``token``: admit only requests
    presenting the token mounted at :data:`TOKEN_PATH`)."""
    cmd = ["python", "-m", "shipyard.runtime", "--host", "0.0.0.0", "--port", str(PORT)]
    if token:
        cmd += ["--token-file", TOKEN_PATH]
    cmd += ["--component", spec.component, "--name", spec.deployment_name]
    cmd += ["--framework", spec.framework]
    if spec.script_file:
        cmd += ["--script", f"{MODELS}/{spec.script_file}"]
    batching = spec.batching
    if batching is not None and batching.enabled:
        cmd += batching_flags(batching.batch_size, batching.latency_ms, batching.timeout_s)
    return cmd


def environment(spec: ReplicaSpec, gpus: list[str]) -> dict[str, str]:
    """The replica's variables (contract section 1), at the container's paths."""
    env = dict.fromkeys(THREAD_VARS, str(thread_count(spec.resources.limits)))
    env.update(
        {
            "MODEL_FILES_PATH": MODELS,
            "ARTIFACT_FILES_PATH": MODELS,
            "DEPLOYMENT_NAME": spec.deployment_name,
            "DEPLOYMENT_VERSION": str(spec.revision),
            "MODEL_NAME": spec.model_name,
            "MODEL_VERSION": str(spec.model_version),
            "SCRIPT_PATH": f"{MODELS}/{spec.script_file}" if spec.script_file else "",
            "IS_TRANSFORMER": "true" if spec.component == "transformer" else "false",
            "SHIPYARD_REPLICA_ID": spec.replica_id,
            "CUDA_VISIBLE_DEVICES": ",".join(gpus),
        }
    )
    return env


def container_request(
    spec: ReplicaSpec,
    image: str,
    scope: str,
    publish: tuple[str, int],
    gpus: list[str],
    token_file: Path | None = None,
    token_digest: str | None = None,
) -> ContainerRequest:
    """The container of one replica: exact limits, the safe defaults, its labels, and its
    project's admission token mounted read-only (``token_file``, see ``tokens``; its digest
    ``token_digest`` as a label)."""
    limits = spec.resources.limits  # fixed resources: request = limit on DOCKER
    mounts = [Mount(str(spec.model_dir), MODELS)]
    if token_file is not None:
        mounts.append(Mount(str(token_file), TOKEN_PATH))
    return ContainerRequest(
        name=container_name(spec.replica_id),
        image=image,
        command=command(spec, token=token_file is not None),
        env=environment(spec, gpus),
        labels=labels(spec, scope, publish[1], gpus, token_digest),
        user=RUNTIME_USER,
        nano_cpus=round(limits.cores * 1e9) if limits.cores > 0 else None,
        memory_bytes=limits.memory * MIB if limits.memory > 0 else None,
        gpus=tuple(gpus),
        publish={PORT: publish},
        mounts=tuple(mounts),
        read_only=True,
        tmpfs={"/tmp": "rw,nosuid,nodev,size=64m"},
        pids_limit=PIDS_LIMIT,
    )


def ref_from(state: ContainerState, host: str) -> ReplicaRef | None:
    """The handle of an adopted container, from its labels (None: not one of ours)."""
    labels = state.labels
    try:
        port = state.ports.get(f"{PORT}/tcp") or int(labels[f"{L}port"])
        return ReplicaRef(
            replica_id=labels[f"{L}replica"],
            deployment_id=labels[f"{L}deployment"],
            component=labels[f"{L}component"],
            slot=int(labels[f"{L}slot"]),
            revision=int(labels[f"{L}revision"]),
            template=labels[f"{L}template"],
            url=f"http://{host}:{port}",
            started_at=float(labels[f"{L}started-at"]),
            extra={
                "container": state.name,
                "project": labels.get(f"{L}project", ""),
                "requests": labels.get(f"{L}requests", ""),
                "limits": labels.get(f"{L}limits", ""),
                "gpus": labels.get(f"{L}gpus", ""),
                "enforcement": ENFORCEMENT,
                **digest_extra(labels.get(f"{L}{DIGEST_KEY}")),
            },
        )
    except (KeyError, ValueError):
        return None


def readable_by_all(folder: Path) -> None:
    """Let the container's user (uid 10001) read the model files it mounts: add ``o+rX``
    (a no-op with the usual umask; the data directory above stays 0700 on the host)."""
    for path in [folder, *folder.rglob("*")]:
        mode = path.stat().st_mode
        wanted = mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0)
        if wanted != mode:
            path.chmod(wanted)


def applied_limits(state: ContainerState) -> Resources | None:
    """The limits the engine reports back (None: it set none)."""
    cores = state.nano_cpus / 1e9 if state.nano_cpus else 0.0
    if not cores and state.cpu_quota > 0 and state.cpu_period > 0:
        cores = state.cpu_quota / state.cpu_period
    if not cores or not state.memory_bytes:
        return None
    return Resources(cores=round(cores, 3), memory=state.memory_bytes // MIB)


def applied(state: ContainerState) -> str:
    """The limits the engine reports for a container, in the status's units."""
    cores = state.nano_cpus / 1e9 if state.nano_cpus else None
    if cores is None and state.cpu_quota > 0 and state.cpu_period > 0:
        cores = state.cpu_quota / state.cpu_period
    cpu = f"{cores:g} cores" if cores else "no CPU limit"
    memory = f"{state.memory_bytes // MIB} MiB" if state.memory_bytes else "no memory limit"
    swap = (
        "no swap"
        if state.memory_swap_bytes and state.memory_swap_bytes == state.memory_bytes
        else f"swap limit {state.memory_swap_bytes // MIB} MiB"
    )
    return f"engine applied {cpu}, {memory} ({swap})"
