"""What every ``Deployment`` object can do once it names one on the server: read its status,
wait for a state, read its logs, predict.

Layer: ``shipyard.sdk``. ``DeploymentView`` is the base of ``shipyard.sdk.Deployment`` (which
adds the verbs that change the deployment: save, start, stop, rollback, delete).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Self
from urllib.parse import quote

from shipyard.errors import InvalidInput, NotFound
from shipyard.sdk._components import parse_answer
from shipyard.sdk._http import Connection
from shipyard.sdk._logs import LogLine, fetch_logs, format_lines
from shipyard.sdk._model import to_json_value
from shipyard.sdk._predictor import PredictorSpecBuilder
from shipyard.sdk._resolution import parse_resolution
from shipyard.sdk._usage import When, fetch_advice, fetch_cold_starts, fetch_usage
from shipyard.sdk._wait import (
    RUNNING,
    STOPPED,
    Goal,
    StatusCallback,
    await_goal,
    await_gone,
    reporter,
)
from shipyard.spec.advice import DeploymentAdvice
from shipyard.spec.coldstart import ColdStartsOut
from shipyard.spec.status import DeploymentState, DeploymentStatus
from shipyard.spec.tools import Resolution
from shipyard.spec.usage import UsageOut


class DeploymentView:
    """A deployment on the server as last seen: status, endpoints, resolution; waits and reads.

    Attributes:
        predictor: What it serves (editable in ``Deployment``; ``save()`` sends it).
        revision: The spec revision on the server (None until saved).
        active: Whether the deployment is meant to run (started) or not (stopped).
        status: The last status seen (None until saved).
        endpoints: Inference URLs on the gateway: ``v1`` (KServe V1) and ``v2`` (Open Inference).
        resolution: What the serving tool applies per component (requests, limits, instances)
            and its warnings, as last reported by the server (None until saved).
    """

    def __init__(self, connection: Connection, predictor: PredictorSpecBuilder) -> None:
        self._connection = connection
        self.predictor = predictor
        self.revision: int | None = None
        self.active = False
        self.status: DeploymentStatus | None = None
        self.endpoints: dict[str, str] = {}
        self.resolution: Resolution | None = None
        self.created_at: str | None = None
        self.updated_at: str | None = None
        self.saved = False

    @property
    def name(self) -> str:
        """The deployment name (the predictor's name)."""
        return self.predictor.name

    def await_running(
        self,
        timeout: float = 600,
        *,
        on_status: StatusCallback | None = None,
        quiet: bool = False,
    ) -> DeploymentStatus:
        """Wait until the deployment is RUNNING (or IDLE) at its current revision.

        For a wait started later, e.g. after ``save(await_update=None)``.

        Args:
            timeout: Seconds to wait at most.
            on_status: Optional callback receiving each status polled while waiting (instead
                of the progress lines on stderr).
            quiet: Show no progress while waiting.

        Returns:
            The status that ended the wait (one that has seen the current revision).

        Raises:
            ModelServeError: The deployment FAILED (e.g. the new revision's replicas crash).
            TimeoutExpired: It was not RUNNING in time.
        """
        return self._wait(RUNNING, timeout, on_status, quiet)

    def await_stopped(
        self, timeout: float = 600, *, on_status: StatusCallback | None = None, quiet: bool = False
    ) -> DeploymentStatus:
        """Wait until the deployment is STOPPED (after ``stop(await_stopped=None)``).

        Raises:
            TimeoutExpired: It was not STOPPED in time.
        """
        return self._wait(STOPPED, timeout, on_status, quiet)

    def wait_deleted(self, timeout: float = 600) -> None:
        """Wait until the server has forgotten the deployment (its name is free again).

        Raises:
            TimeoutExpired: It was still there after ``timeout`` seconds.
        """
        await_gone(self.name, self._fetch_status, timeout)

    def refresh(self) -> Self:
        """Reload the deployment's revision, status and endpoints from the server."""
        self._apply(self._connection.json("GET", self._url()))
        return self

    def get_state(self) -> DeploymentStatus:
        """The current status: state, message, conditions and replicas."""
        return self._fetch_status()

    def is_running(self, or_idle: bool = True, or_updating: bool = True) -> bool:
        """Whether the deployment is RUNNING (or IDLE / UPDATING when those flags allow)."""
        state = self.get_state().state
        return (
            state is DeploymentState.RUNNING
            or (or_idle and state is DeploymentState.IDLE)
            or (or_updating and state is DeploymentState.UPDATING)
        )

    def is_stopped(self, or_created: bool = True) -> bool:
        """Whether the deployment is STOPPED (or CREATED, never started, when allowed)."""
        state = self.get_state().state
        return state is DeploymentState.STOPPED or (or_created and state is DeploymentState.CREATED)

    def read_logs(
        self, component: str = "predictor", tail: int = 10, *, current_only: bool = True
    ) -> list[LogLine]:
        """The last ``tail`` log lines of each replica of ``component``, without printing.

        Args:
            component: ``predictor`` or ``transformer``.
            tail: Lines per replica.
            current_only: Only the replicas the deployment has now (False: also those that
                are gone, e.g. of earlier runs or revisions).

        Raises:
            InvalidInput: Unknown component.
        """
        lines = fetch_logs(self._connection, self._url("/logs"), component, tail)
        if not current_only:
            return lines
        current = {r.id for r in self._fetch_status().replicas if r.component == component}
        return [line for line in lines if line.replica in current]

    def get_logs(
        self, component: str = "predictor", tail: int = 10, *, current_only: bool = True
    ) -> list[str]:
        """Print and return the last ``tail`` log lines of each current replica of ``component``.

        Printed lines are prefixed with their replica id when several replicas are shown;
        ``current_only=False`` adds the replicas that are gone.
        """
        lines = self.read_logs(component, tail, current_only=current_only)
        for text in format_lines(lines):
            print(text)
        return [line.line for line in lines]

    def get_usage(self, since: When = timedelta(hours=1), until: When | None = None) -> UsageOut:
        """CPU and memory of every replica from ``since`` to ``until`` (default: now), with
        requests, limits, OOM kills, restarts and scale changes (kept for a day; every sample
        of the last hour, min/mean/max buckets before it).

        Args:
            since: An aware datetime, a timedelta before now, or epoch seconds.
            until: The same; None = now.

        Raises:
            InvalidInput: A naive datetime or a negative value.
        """
        return fetch_usage(self._connection, self._url("/usage"), since, until)

    def get_advice(self, since: When | None = None, until: When | None = None) -> DeploymentAdvice:
        """Right-sizing advice per component: a recommended request and limit with evidence
        (p50/p95/max, OOM kills, samples) and effect, from usage since ``since`` (default: the
        last change of resources). Never applied by itself: each component's ``sdk`` and
        ``command`` say how to apply it; ``enough_data`` False when there is too little.
        """
        return fetch_advice(self._connection, self._url("/advice"), since, until)

    def get_cold_starts(self) -> ColdStartsOut:
        """Where the time of recent replica starts went, per component: the latest start's
        phases (environment, capacity, spawn, load) and percentiles over recent starts."""
        return fetch_cold_starts(self._connection, self._url("/coldstarts"))

    def predict(self, data: Any = None, inputs: Any = None) -> Any:
        """Send an inference request to the gateway's KServe V1 endpoint.

        Args:
            data: The request body, sent as is (e.g. ``{"instances": [[1, 2]]}``).
            inputs: The instances alone; sent as ``{"instances": inputs}``.

        Returns:
            The decoded JSON answer (``{"predictions": [...]}``).

        Raises:
            InvalidInput: Neither or both of ``data`` and ``inputs`` given, or a bad payload.
            NotReady: No replica is ready to answer.
        """
        if (data is None) == (inputs is None):
            raise InvalidInput("pass either data=... or inputs=... to predict()")
        payload = data if data is not None else {"instances": to_json_value(inputs, "inputs")}
        return self._connection.json("POST", self._endpoint("v1"), json=payload)

    def _endpoint(self, protocol: str) -> str:
        if not self.endpoints.get(protocol):
            self.refresh()
        url = self.endpoints.get(protocol)
        if not url:
            raise NotFound(f"deployment {self.name!r} has no {protocol} endpoint")
        return url

    def _wait(
        self, goal: Goal, timeout: float, on_status: StatusCallback | None, quiet: bool
    ) -> DeploymentStatus:
        """Wait for ``goal`` at this deployment's revision (statuses of older ones are not
        judged), showing progress unless ``quiet`` or ``on_status`` is given."""
        goal = goal.at(self.revision)
        report = reporter(self.name, goal, on_status, quiet)
        return await_goal(self.name, self._fetch_status, goal, timeout, report)

    def _fetch_status(self) -> DeploymentStatus:
        return self._apply(self._connection.json("GET", self._url()))

    def _url(self, suffix: str = "") -> str:
        if not self.saved:
            raise NotFound(
                f"deployment {self.name!r} has not been saved yet: call deployment.save() first"
            )
        return f"/deployments/{quote(self.name, safe='')}{suffix}"

    def _apply(self, body: dict[str, Any]) -> DeploymentStatus:
        status = parse_answer(DeploymentStatus, body.get("status") or {}, "deployment status")
        self.revision = int(body["revision"]) if body.get("revision") is not None else None
        self.active = bool(body.get("active", True))
        self.status = status
        self.endpoints = {str(k): str(v) for k, v in (body.get("endpoints") or {}).items()}
        self.resolution = parse_resolution(body)
        self.created_at = body.get("created_at")
        self.updated_at = body.get("updated_at")
        self.saved = True
        return status

    def __repr__(self) -> str:
        state = self.status.state if self.status else "unsaved"
        return f"Deployment(name={self.name!r}, revision={self.revision}, state={state})"
