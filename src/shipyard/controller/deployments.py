"""The controller's deployments: one :class:`~shipyard.controller.state.Managed` state per
deployment id, refreshed from the store on every pass, found by id, by name or by replica.

Part of the reconciler (:mod:`shipyard.controller.reconcile` owns the one instance). It is a
``dict`` (deployment id -> state), so the parts of a pass that only iterate it (observing,
admission) take it as such.
"""

from __future__ import annotations

from shipyard.controller.state import Managed
from shipyard.controller.tracking import Tracked
from shipyard.store import DeploymentRecord


class Deployments(dict[str, Managed]):
    """Deployment id -> its state, with the look-ups a pass and the API's reports need."""

    def managed(self, deployment_id: str) -> Managed:
        """The state of ``deployment_id``, made on first sight (a record, an adopted replica)."""
        return self.setdefault(deployment_id, Managed(id=deployment_id))

    def refresh(self, records: list[DeploymentRecord]) -> None:
        """Each deployment's state gets this pass's record (None when it left the store)."""
        ids = {r.id for r in records}
        for managed in self.values():
            if managed.id not in ids:
                managed.record = None
        for record in records:
            managed = self.managed(record.id)
            managed.record = record
            spec = record.spec.predictor
            model = managed.model
            if model is not None and (model.model_name, model.version) != (
                spec.model_name,
                spec.model_version,
            ):
                managed.model = None

    def by_name(self, project_id: str, name: str) -> Managed | None:
        return next(
            (
                m
                for m in self.values()
                if m.record is not None
                and (m.record.project_id, m.record.name) == (project_id, name)
            ),
            None,
        )

    def find(self, replica_id: str) -> tuple[Managed, Tracked] | None:
        """The deployment and tracked state of a replica, wherever it is."""
        for managed in self.values():
            tracked = managed.replicas.get(replica_id)
            if tracked is not None:
                return managed, tracked
        return None
