"""``Predictor`` (the editable description of what to serve) and ``Deployment`` (its server side).

A ``Predictor`` is a mutable builder over ``PredictorSpec``: edit ``predictor.resources`` etc.,
then ``deployment.save()`` sends the new ``DeploymentSpec`` (a new revision on the server).
"""

from __future__ import annotations

from typing import Any

from shipyard.errors import AlreadyExists, ShipyardError
from shipyard.sdk._components import parse_answer
from shipyard.sdk._http import Connection
from shipyard.sdk._predictor import PredictorSpecBuilder
from shipyard.sdk._resolution import parse_resolution, warn_about
from shipyard.sdk._revisions import Revision, parse_revisions
from shipyard.sdk._served import DeploymentView
from shipyard.sdk._wait import (
    RUNNING,
    STOPPED,
    StatusCallback,
    await_gone,
)
from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.tools import Resolution


class Predictor(PredictorSpecBuilder):
    """What a deployment serves: a model version, its script, resources and transformer.

    Created by ``ms.create_predictor(model, ...)``; every attribute may be changed before
    ``deploy()`` or a later ``deployment.save()``. ``script_file`` is a path inside the model
    version's files (see ``ModelServing.create_predictor``).
    """

    def deploy(self, await_update: float | None = 600) -> Deployment:
        """Create and start a deployment of this predictor (``create_deployment(p).save()``).

        Args:
            await_update: Seconds to wait until it is RUNNING; None or 0 = do not wait.
        """
        return Deployment(self._connection, self).save(await_update=await_update, create_only=True)


class Deployment(DeploymentView):
    """A deployment of a predictor (and optional transformer) on the server.

    Besides what ``DeploymentView`` reads and waits for, it changes the deployment: ``save``,
    ``rollback``, ``dry_run``, ``start``, ``stop``, ``delete``.

    Attributes:
        predictor: The editable predictor; ``save()`` sends its current spec.
        revision: The spec revision on the server (None until saved).
        active: Whether the deployment is meant to run (started) or not (stopped).
        status: The last status seen (None until saved).
        endpoints: Inference URLs on the gateway: ``v1`` (KServe V1) and ``v2`` (Open Inference).
        resolution: What the serving tool applies per component (requests, limits, instances)
            and its warnings, as last reported by the server (None until saved).
    """

    predictor: Predictor

    @classmethod
    def from_response(cls, connection: Connection, body: dict[str, Any]) -> Deployment:
        """Build from the API's ``Deployment`` answer."""
        spec = parse_answer(DeploymentSpec, body.get("spec"), "deployment spec")
        deployment = cls(connection, Predictor.from_spec(connection, spec))
        deployment._apply(body)
        return deployment

    def save(
        self,
        await_update: float | None = 600,
        *,
        on_status: StatusCallback | None = None,
        create_only: bool = False,
        quiet: bool = False,
    ) -> Deployment:
        """Persist the deployment: create it, or update it to the predictor's spec (as hsml).

        A new ``Deployment`` object whose name already exists on the server updates that
        deployment (same spec: nothing changes), unless ``create_only``.

        Args:
            await_update: Seconds to wait until the deployment is RUNNING at the new revision;
                None or 0 = return at once.
            on_status: Optional callback receiving each status polled while waiting (instead
                of the progress lines on stderr).
            create_only: Raise ``AlreadyExists`` instead of updating an existing deployment.
            quiet: Show no progress while waiting.

        Returns:
            This deployment.

        Warns:
            ShipyardWarning: The serving tool applies a field differently from the spec (e.g.
                DOCKER raises requests to the limits); see ``resolution``.

        Raises:
            InvalidSpec: The spec is invalid or the serving tool cannot honour it.
            ModelServeError: The deployment FAILED while waiting.
            TimeoutExpired: It was not RUNNING in time.
        """
        spec = self.predictor.to_spec().model_dump(mode="json")
        if self.saved:
            body = self._connection.json("PUT", self._url(), json={"spec": spec})
        else:
            try:
                body = self._connection.json(
                    "POST", "/deployments", json={"spec": spec, "start": True}
                )
            except AlreadyExists:
                if create_only:
                    raise
                self.saved = True  # it exists on the server: persist = update
                body = self._connection.json("PUT", self._url(), json={"spec": spec})
        self._apply(body)
        warn_about(self.resolution, self.name)
        if await_update and self.active:
            self.await_running(await_update, on_status=on_status, quiet=quiet)
        return self

    def get_revisions(self) -> list[Revision]:
        """Every revision of the deployment's spec, oldest first.

        Returns:
            One ``Revision`` per spec change: its number, who made it (``author``), when
            (``created_at``), what it did (``change``), the fields it changed (``changes``,
            ``path: old -> new [unit]``) and the whole ``spec``.
        """
        return parse_revisions(self._connection.json("GET", self._url("/revisions")))

    def rollback(
        self,
        revision: int,
        await_update: float | None = 600,
        *,
        on_status: StatusCallback | None = None,
        quiet: bool = False,
    ) -> Deployment:
        """Make an earlier revision's spec current again, as a new revision.

        The server validates that spec like any update; afterwards ``predictor`` describes it.

        Args:
            revision: The revision whose spec to restore (see ``get_revisions()``).
            await_update: Seconds to wait until the deployment is RUNNING at the new revision;
                None or 0 = return at once.
            on_status: Optional callback receiving each polled status (replaces the progress).
            quiet: Show no progress (elapsed time, state) on stderr while waiting.

        Returns:
            This deployment.

        Raises:
            NotFound: The deployment has no such revision (the message names the known ones).
            Conflict: The deployment already has that revision's spec.
            InvalidSpec: That spec is not valid any more (e.g. its model version is gone).
            ModelServeError: The deployment FAILED while waiting.
            TimeoutExpired: It was not RUNNING in time.
        """
        body = self._connection.json("POST", self._url("/rollback"), json={"revision": revision})
        spec = parse_answer(DeploymentSpec, body.get("spec"), "deployment spec")
        self.predictor = Predictor.from_spec(self._connection, spec)
        self._apply(body)
        warn_about(self.resolution, self.name)
        if await_update and self.active:
            self.await_running(await_update, on_status=on_status, quiet=quiet)
        return self

    def dry_run(self) -> Resolution:
        """What the server would apply for the predictor's current spec; nothing is stored.

        Works for every serving tool, even one without a backend on the server yet.

        Returns:
            The ``Resolution``: per component the requests, limits (cores, MiB, GPUs per
            instance) and instances the serving tool applies, and its warnings.

        Warns:
            ShipyardWarning: One per field the serving tool applies differently from the spec.

        Raises:
            InvalidSpec: The spec is invalid or the serving tool cannot honour it.
        """
        payload = {"spec": self.predictor.to_spec().model_dump(mode="json"), "dry_run": True}
        if self.saved:
            body = self._connection.json("PUT", self._url(), json=payload)
        else:
            body = self._connection.json("POST", "/deployments", json=payload)
        resolution = parse_resolution(body)
        if resolution is None:
            raise ShipyardError("the server answered a dry run without a resolution (upgrade it)")
        warn_about(resolution, self.name)
        return resolution

    def start(
        self,
        await_running: float | None = 600,
        *,
        on_status: StatusCallback | None = None,
        quiet: bool = False,
    ) -> Deployment:
        """Start the deployment's replicas.

        Args:
            await_running: Seconds to wait until it is RUNNING; None or 0 = return at once.
            on_status: Optional callback receiving each polled status (replaces the progress).
            quiet: Show no progress (elapsed time, state) on stderr while waiting.

        Raises:
            ModelServeError: The deployment FAILED while waiting.
            TimeoutExpired: It was not RUNNING in time.
        """
        self._apply(self._connection.json("POST", self._url("/start")))
        if await_running:
            self._wait(RUNNING, await_running, on_status, quiet)
        return self

    def stop(
        self,
        await_stopped: float | None = 600,
        *,
        on_status: StatusCallback | None = None,
        quiet: bool = False,
    ) -> Deployment:
        """Stop the deployment's replicas, keeping its spec (``start()`` brings it back).

        Args:
            await_stopped: Seconds to wait until it is STOPPED; None or 0 = return at once.
            on_status: Optional callback receiving each polled status (replaces the progress).
            quiet: Show no progress (elapsed time, state) on stderr while waiting.

        Raises:
            TimeoutExpired: It was not STOPPED in time.
        """
        self._apply(self._connection.json("POST", self._url("/stop")))
        if await_stopped:
            self._wait(STOPPED, await_stopped, on_status, quiet)
        return self

    def delete(self, await_deleted: float | None = 600) -> None:
        """Delete the deployment; the server stops its replicas, then forgets it.

        Args:
            await_deleted: Seconds to wait until the server has forgotten it (so that its name
                can be used again at once); None or 0 = return at once.

        Raises:
            TimeoutExpired: It was still being deleted after ``await_deleted`` seconds.
        """
        self._connection.request("DELETE", self._url())
        if await_deleted:
            await_gone(self.name, self._fetch_status, await_deleted)
        self.saved = False
