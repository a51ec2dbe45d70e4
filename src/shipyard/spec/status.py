"""Observed state: deployment states, conditions and replica phases (owned by the controller)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from shipyard.spec.environment import EnvironmentInfo
from shipyard.spec.resources import Resources


class DeploymentState(StrEnum):
    CREATING = "CREATING"
    CREATED = "CREATED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    IDLE = "IDLE"
    UPDATING = "UPDATING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"


class ConditionType(StrEnum):
    SCHEDULED = "SCHEDULED"
    INITIALIZED = "INITIALIZED"
    STARTED = "STARTED"
    READY = "READY"
    INFERENCE_LOGGER = "INFERENCE_LOGGER"
    """Only with an inference logger: whether its sink takes the events (reported by the
    gateway)."""
    APPLIED = "APPLIED"
    """Only on a cluster (KUBERNETES, KSERVE): whether the API server took the last apply (False
    with its status code and message; what already runs keeps running)."""


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: ConditionType
    status: ConditionStatus
    reason: str = ""
    message: str = ""


class ReplicaPhase(StrEnum):
    STARTING = "STARTING"  # process started, model loading
    READY = "READY"  # answers its readiness check
    STOPPING = "STOPPING"  # draining, then exiting
    EXITED = "EXITED"  # process gone (crash, kill, or stopped)


class ReplicaExit(BaseModel):
    """How a replica process ended."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: int | None = None  # exit status, None when unknown (adopted process)
    signal: int | None = None
    reason: str = ""  # "Error", "Killed", "OOMKilled", "StartTimeout", ...
    message: str = ""
    at: datetime | None = None


class ReplicaUsage(BaseModel):
    """Measured use of one replica (cores, MiB), next to what it requested and may use."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cpu_cores: float | None = None  # average over the last sampling interval
    memory_mb: float | None = None  # resident now
    memory_peak_mb: float | None = None  # highest seen
    requests: Resources | None = None
    limits: Resources | None = None
    enforcement: str = ""  # "cgroup-v1", "cgroup-v2" or "best-effort"
    cpus: list[int] = Field(default_factory=list)  # the CPUs it is pinned to; [] = not pinned
    cpu_throttled: float | None = None  # share of CPU periods the limit stopped it (None: n/a)


class ReplicaStatus(BaseModel):
    """What the API shows of one replica."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    component: str
    slot: int
    revision: int
    phase: ReplicaPhase
    pid: int | None = None
    url: str | None = None
    restarts: int = 0
    started_at: datetime | None = None
    ready_at: datetime | None = None
    last_exit: ReplicaExit | None = None
    usage: ReplicaUsage | None = None


class DeploymentStatus(BaseModel):
    """Observed status of a deployment, written by the controller."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    state: DeploymentState = DeploymentState.CREATED
    message: str = ""
    notes: list[str] = Field(default_factory=list)  # e.g. "enforcement is best-effort: ..."
    conditions: list[Condition] = Field(default_factory=list)
    replicas: list[ReplicaStatus] = Field(default_factory=list)
    available_instances: dict[str, int] = Field(default_factory=dict)
    observed_revision: int = 0
    environments: dict[str, EnvironmentInfo] = Field(default_factory=dict)  # per component
    addresses: dict[str, str] = Field(default_factory=dict)
    """Where the serving tool itself serves it (cluster tools: ``url``, a KServe
    InferenceService's URL; ``predictor``/``transformer``, their in-cluster addresses). The
    gateway's endpoints stay the way in: these are for callers inside the cluster."""
    updated_at: datetime | None = None

    def condition(self, kind: ConditionType) -> Condition | None:
        return next((c for c in self.conditions if c.type == kind), None)
