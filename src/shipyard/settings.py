"""Settings of the server processes (control plane and gateway): one typed object per process.

Values come from, in order of precedence: command-line options (passed as keyword arguments by
the composition root), ``SHIPYARD_*`` environment variables, then the defaults below. The replica
runtime does not use this module: it runs inside users' environments and takes its few settings
from its command line (see ``shipyard.runtime.config``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".shipyard"


def grpc_port(gateway_port: int, setting: int | None) -> int:
    """The gateway's V2 gRPC port: ``setting``, or the REST port + 1 when unset (0: off)."""
    return gateway_port + 1 if setting is None else setting


class ServerSettings(BaseSettings):
    """Settings of ``shipyard server`` (control plane, reconciler and gateway)."""

    model_config = SettingsConfigDict(env_prefix="SHIPYARD_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    """Data directory: database, model artifacts, environments, replica logs, the API key."""

    bind: str = "127.0.0.1"
    """Address the API and the gateway listen on (loopback by default). Not ``SHIPYARD_HOST``:
    that one is the API URL for clients (SDK and CLI)."""

    api_port: int = 8470
    """Port of the control-plane REST API (and its OpenAPI document at /openapi.json)."""

    gateway_port: int = 8471
    """Port of the inference gateway (KServe V1 and Open Inference Protocol V2)."""

    gateway_grpc_port: int | None = Field(default=None, ge=0, le=65535)
    """Port of the gateway's V2 gRPC service (``GRPCInferenceService``): unset = the gateway
    port + 1, 0 = off."""

    @property
    def resolved_gateway_grpc_port(self) -> int:
        """The gateway's gRPC port (0: off)."""
        return grpc_port(self.gateway_port, self.gateway_grpc_port)

    database_url: str | None = None
    """SQLAlchemy URL; default ``sqlite:///$SHIPYARD_HOME/shipyard.db``. PostgreSQL works too
    (``postgresql+psycopg://user:pass@host/db``)."""

    max_upload_mb: int = 2048
    """Largest model artifact (compressed archive) accepted by an upload, in MiB."""

    max_unpacked_mb: int = 8192
    """Largest total size of an artifact once unpacked, in MiB."""

    reconcile_interval_s: float = 1.0
    """Seconds between two passes of the reconciler (it also runs on every change)."""

    replica_start_timeout_s: float = 300.0
    """A replica not ready after this many seconds is stopped and counted as a failed start."""

    restart_backoff_s: float = 1.0
    """Delay before the first restart of a crashed replica; doubles per failure."""

    restart_backoff_max_s: float = 30.0
    """Upper bound of the restart delay."""

    crashloop_threshold: int = 3
    """Consecutive failures of one replica after which the deployment is FAILED (restarts go on)."""

    stop_grace_s: float = 10.0
    """Seconds a stopping replica gets to finish in-flight requests before it is killed."""

    stop_replicas_on_exit: bool = True
    """Stop replicas when the server exits cleanly; after a crash they are adopted on restart."""

    gateway_attempts: int = 3
    """Replicas the gateway tries for one request when a connection fails before an answer."""

    gateway_cold_start_timeout_s: float = 60.0
    """Longest the gateway holds a request for a deployment at zero while a replica starts."""

    gateway_workers: int | None = Field(default=None, ge=1)
    """Gateway processes sharing its port (the kernel spreads connections among them); default:
    one per 2 CPUs, at least 2 (so one that dies is never an outage), at most 4."""

    node_cores: float | None = None
    """Cores the LOCAL backend may hand out to replica requests; default: detected (the CPUs
    this process may use, capped by its own cgroup's CPU quota)."""

    node_memory_mb: int | None = None
    """Memory (MiB) the LOCAL backend may hand out; default: detected (MemTotal, capped by this
    process's own cgroup memory limit)."""

    gpus: str | None = None
    """GPU devices the LOCAL backend assigns exclusively, comma-separated (``"0,1"``); default:
    detected with ``nvidia-smi -L`` (none when it is absent). Empty string = no GPUs."""

    best_effort_limits: bool = False
    """Do not use cgroups even where they work: watchdog + CPU affinity only."""

    preload_replicas: bool = True
    """Fork replicas from a pre-imported parent (one per interpreter and framework, started
    once the first replica of its kind is ready): scale-ups, restarts and wake-ups from zero
    skip the imports. Costs that parent's memory (~100 MB for scikit-learn). False: always start
    Python."""

    index_url: str | None = None
    """Package index environments are built from (``--index-url`` of uv); default: PyPI."""

    find_links: Path | None = None
    """A folder of wheels to build environments from. Without ``index_url`` it is the only
    source: environments then build with no network at all."""

    offline: bool = False
    """Never touch the network for environments: only uv's cache and ``find_links``."""

    torch_backend: str = "auto"
    """Which build of PyTorch-family packages (torch, torchvision, ...) environments get: uv's
    ``--torch-backend`` (``auto``: the CUDA build matching this machine's driver, the CPU build
    where no GPU is present, both from PyTorch's own index; ``cpu``, ``cu126``, ...). Empty:
    whatever the package index serves (PyPI's Linux wheels are the CUDA builds)."""

    uv_cache_dir: Path | None = None
    """uv's package cache, from which environments are hardlinked; default
    ``$SHIPYARD_HOME/cache/uv`` (on the same filesystem as the environments)."""

    environment_build_timeout_s: float = 1800.0
    """An environment build (resolve and install) that takes longer fails."""

    log_level: str = "info"
    """Log level of the server processes."""

    docker_host: str | None = None
    """Docker engine of the DOCKER serving tool (``unix:///path/docker.sock``,
    ``tcp://host:2376``); default: ``DOCKER_HOST``, else the engine's default socket."""

    image_registry: str | None = None
    """Registry that DOCKER environment images are tagged for, pushed to after a build and
    pulled from when another server built them (``host:port``); default: none, images stay in
    the engine."""

    docker_base_image: str = "python:3.11-slim"
    """Image of components with no environment on DOCKER (the catalogue's bare base); make
    it with ``shipyard images bootstrap`` where no registry is reachable."""

    docker_ca_bundle: Path | None = None
    """CA certificates the DOCKER image builds trust to reach the package index (mounted
    into the build container only); default: the system bundle when there is one."""

    @property
    def resolved_docker_ca_bundle(self) -> Path | None:
        if self.docker_ca_bundle is not None:
            return self.docker_ca_bundle
        system = Path("/etc/ssl/certs/ca-certificates.crt")
        return system if system.is_file() else None

    # KUBERNETES and KSERVE serving tools (docs/kubernetes.md)
    kube_config: Path | None = None
    """Kubeconfig file of the cluster; default: ``$KUBECONFIG`` or ``~/.kube/config``."""

    kube_context: str | None = None
    """Context of the kubeconfig to use; default: its current context."""

    kube_in_cluster: bool = False
    """Use the pod's service account instead of a kubeconfig (the server runs in the cluster)."""

    kube_namespace: str = "shipyard-{project}"
    """Namespace of a project's objects; ``{project}`` is the project's name. A fixed name puts
    every project in one namespace (objects are told apart by labels)."""

    kube_shipyard_url: str | None = None
    """Shipyard's API as pods reach it (init containers download model files from it), e.g.
    ``http://shipyard.shipyard-system:8470``; required to deploy on a cluster."""

    kube_external_url: str | None = None
    """Where the gateway reaches a component when the server runs outside the cluster: a
    template with ``{service}`` and ``{namespace}`` (KUBERNETES), e.g.
    ``http://{service}.{namespace}.example.com``; default: cluster DNS
    (``http://{service}.{namespace}.svc.cluster.local``). KSERVE uses the InferenceService's
    own URL from its status."""

    kube_runtime_image: str | None = None
    """Image of Shipyard's runtime for components whose environment has no image of its own
    (built per environment and pushed to ``SHIPYARD_IMAGE_REGISTRY`` by the image builder)."""

    kube_image_pull_secret: str | None = None
    """Secret (type kubernetes.io/dockerconfigjson) pods pull the runtime images with."""

    kube_model_token_ttl_s: float = Field(default=86400.0, gt=60)
    """Lifetime of the token a pod downloads its model version with (re-minted at half-life)."""

    kube_api_attempts: int = Field(default=5, ge=1)
    """Tries of one call to the Kubernetes API on a conflict (409) or a server error (5xx)."""

    kserve_deployment_mode: Literal["Serverless", "RawDeployment", "Standard"] = "Serverless"
    """KServe's deployment mode: Serverless (Knative; scale-to-zero) or Standard/RawDeployment
    (plain Deployments; minimum 1 instance)."""

    @property
    def resolved_gateway_workers(self) -> int:
        if self.gateway_workers is not None:
            return self.gateway_workers
        cpus = os.cpu_count() or 1
        return max(2, min(4, cpus // 2))  # two at least: one dying is never an outage

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'shipyard.db'}"

    @property
    def artifacts_dir(self) -> Path:
        return self.home / "artifacts"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def environments_dir(self) -> Path:
        return self.home / "environments"

    @property
    def resolved_uv_cache_dir(self) -> Path:
        return self.uv_cache_dir or self.home / "cache" / "uv"

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def api_key_file(self) -> Path:
        return self.home / "api-key"


class GatewaySettings(BaseSettings):
    """Settings of the gateway process (``python -m shipyard.gateway``), started by the server."""

    model_config = SettingsConfigDict(env_prefix="SHIPYARD_", extra="ignore")

    bind: str = "127.0.0.1"
    """Address the gateway listens on."""

    gateway_port: int = 8471
    """Port of the gateway."""

    gateway_grpc_port: int | None = Field(default=None, ge=0, le=65535)
    """Port of the V2 gRPC service: unset = the gateway port + 1, 0 = off."""

    gateway_inference_log_dir: Path | None = None
    """Folder of the deployments' inference-log JSONL files (None: file sinks are off)."""

    gateway_inference_log_queue: int = Field(default=1000, ge=1)
    """Inference-log events waiting for delivery, per gateway process (beyond: dropped)."""

    @property
    def resolved_gateway_grpc_port(self) -> int:
        """The gRPC port (0: off)."""
        return grpc_port(self.gateway_port, self.gateway_grpc_port)

    gateway_control_url: str = "http://127.0.0.1:8470"
    """Base URL of the control plane, from which the routing table is long-polled."""

    internal_token: str = ""
    """Shared secret for the control plane's /internal endpoints (set by the server)."""

    gateway_attempts: int = 3
    """Replicas tried for one request when a connection fails before an answer arrives."""

    gateway_poll_wait_s: float = 10.0
    """How long one long-poll of the routing table may wait for a change."""

    gateway_upstream_timeout_s: float = 120.0
    """Longest wait for a replica's answer to one request."""

    gateway_cold_start_timeout_s: float = 60.0
    """Longest a request is held for a deployment at zero instances while a replica starts."""

    gateway_report_interval_s: float = 1.0
    """Seconds between two traffic reports to the control plane (for the autoscaler)."""

    gateway_max_body_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    """Largest request body forwarded, unless the route sets a smaller one for its deployment."""

    gateway_max_answer_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    """Largest answer accepted from a replica (a larger one is a 502)."""

    gateway_max_connections: int = Field(default=2048, ge=1)
    """Open client connections per gateway process; more are answered 503 with retry-after."""

    gateway_head_timeout_s: float = Field(default=10.0, gt=0)
    """Longest a client may take to send a request head (then 408)."""

    gateway_min_body_rate: float = Field(default=64 * 1024, ge=0)
    """Fewest body bytes per second a client must keep up after that grace (then 408)."""

    gateway_workers: int = Field(default=1, ge=1)
    """Gateway processes sharing the port (``SO_REUSEPORT``); set by the server."""

    gateway_worker_id: str = "0"
    """This process's name among them, sent with its polls and traffic reports."""

    gateway_load_file: Path | None = None
    """Where the workers share their requests in flight per replica (set by the server)."""

    gateway_table_cache: Path | None = None
    """Where the workers share their latest routing table (set by the server), so that one
    started while the control plane is down begins with its siblings' table."""

    metrics_dir: Path | None = Field(default=None, validation_alias="PROMETHEUS_MULTIPROC_DIR")
    """Where the gateway processes keep their metrics together (prometheus_client's
    multiprocess mode; set by the server when it runs several)."""

    log_level: str = "info"
