"""Deployments: desired state with its revision history, and observed status kept apart.

Layer: ``shipyard.store``. The API writes desired state (``create_deployment``,
``update_spec``, ``set_active``, ``mark_deleting``); the controller reads it, writes only the
observed ``DeploymentStatus`` (``save_status``) and purges a deployment once its replicas are
gone (``purge_deployment``). Every spec change adds a row to ``deployment_revisions``, whose
``change`` says what changed (``store.changes``).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Executable, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.errors import AlreadyExists, NotFound
from shipyard.spec.deployment import DeploymentSpec
from shipyard.spec.status import DeploymentStatus
from shipyard.spec.validation import FieldError, raise_for
from shipyard.store.changes import spec_changes, summary
from shipyard.store.documents import decode_spec, decode_status, encode_spec, encode_status
from shipyard.store.records import DeploymentRecord, RevisionRecord
from shipyard.store.session import StoreBase
from shipyard.store.tables import (
    Deployment,
    DeploymentRevision,
    DeploymentStatusRow,
    Project,
    utcnow,
)


def _record(row: Deployment) -> DeploymentRecord:
    return DeploymentRecord(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        spec=decode_spec(row.spec),
        revision=row.revision,
        active=row.active,
        deleting=row.deleting,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _status_upsert(dialect: str, deployment_id: str, status: DeploymentStatus) -> Executable:
    """INSERT ... ON CONFLICT DO UPDATE of one status row (SQLite and PostgreSQL spell it alike)."""
    replace = {"status": encode_status(status), "updated_at": utcnow()}
    values = {"deployment_id": deployment_id, **replace}
    key = [DeploymentStatusRow.deployment_id]
    if dialect == "postgresql":
        pg = postgresql.insert(DeploymentStatusRow).values(values)
        return pg.on_conflict_do_update(index_elements=key, set_=replace)
    lite = sqlite.insert(DeploymentStatusRow).values(values)
    return lite.on_conflict_do_update(index_elements=key, set_=replace)


def _get(session: Session, deployment_id: str) -> Deployment:
    row = session.get(Deployment, deployment_id)
    if row is None:
        raise NotFound(f"deployment with id {deployment_id!r} not found")
    return row


class DeploymentStore(StoreBase):
    """Store methods for deployments, their revisions and their observed status."""

    def create_deployment(
        self, project_id: str, spec: DeploymentSpec, *, active: bool = True, author: str = ""
    ) -> DeploymentRecord:
        """Store a new deployment at revision 1.

        Raises:
            NotFound: no project has this id.
            AlreadyExists: the project has a deployment with this name.
        """
        document = encode_spec(spec)
        try:
            with self._write() as session:
                if session.get(Project, project_id) is None:
                    raise NotFound(f"project with id {project_id!r} not found")
                now = utcnow()
                row = Deployment(
                    project_id=project_id,
                    name=spec.name,
                    spec=document,
                    revision=1,
                    active=active,
                    deleting=False,
                    created_at=now,
                    updated_at=now,
                )
                session.add(row)
                session.flush()
                session.add(
                    DeploymentRevision(
                        deployment_id=row.id,
                        revision=1,
                        spec=document,
                        author=author,
                        change="created",
                        created_at=now,
                    )
                )
                session.flush()
                return _record(row)
        except IntegrityError:
            raise AlreadyExists(f"deployment {spec.name!r} already exists") from None

    def get_deployment(self, project_id: str, name: str) -> DeploymentRecord:
        """The project's deployment called ``name`` (``NotFound`` otherwise)."""
        with self._read() as session:
            row = session.scalar(
                select(Deployment).where(
                    Deployment.project_id == project_id, Deployment.name == name
                )
            )
            if row is None:
                raise NotFound(f"deployment {name!r} not found")
            return _record(row)

    def get_deployment_by_id(self, deployment_id: str) -> DeploymentRecord | None:
        """The deployment with this id, or None."""
        with self._read() as session:
            row = session.get(Deployment, deployment_id)
            return None if row is None else _record(row)

    def list_deployments(self, project_id: str | None = None) -> list[DeploymentRecord]:
        """Deployments of one project (or of all when None), including those being deleted."""
        query = select(Deployment).order_by(Deployment.project_id, Deployment.name)
        if project_id is not None:
            query = query.where(Deployment.project_id == project_id)
        with self._read() as session:
            return [_record(row) for row in session.scalars(query)]

    def set_active(self, deployment_id: str, active: bool) -> DeploymentRecord:
        """Ask for the deployment to run (True) or be stopped (False)."""
        with self._write() as session:
            row = _get(session, deployment_id)
            if row.active != active:
                row.active = active
                row.updated_at = utcnow()
            session.flush()
            return _record(row)

    def update_spec(
        self,
        deployment_id: str,
        spec: DeploymentSpec,
        *,
        author: str = "",
        reason: str = "",
        change: str | None = None,
    ) -> DeploymentRecord:
        """Replace the spec: the revision goes up by one and the new spec is kept as a revision.

        Args:
            deployment_id: The deployment.
            spec: The new spec (same name).
            author: Who asked for the change (the caller's project name).
            reason: Put before the summary of changed fields (``"rollback to revision 2"``).
            change: The revision's ``change`` text as is; None (the default) = ``reason`` and
                every changed field (``spec_changes`` of the current and the new spec, computed
                in the same transaction).

        Raises:
            NotFound: no deployment has this id.
            InvalidSpec: ``spec.name`` differs from the deployment's name (no renames).
        """
        with self._write() as session:
            row = _get(session, deployment_id)
            if spec.name != row.name:
                message = f"differs from deployment {row.name!r}: a deployment cannot be renamed"
                raise_for([FieldError("name", spec.name, message)])
            if change is None:
                change = summary(spec_changes(decode_spec(row.spec), spec), reason)
            now = utcnow()
            document = encode_spec(spec)
            row.spec = document
            row.revision += 1
            row.updated_at = now
            session.add(
                DeploymentRevision(
                    deployment_id=row.id,
                    revision=row.revision,
                    spec=document,
                    author=author,
                    change=change,
                    created_at=now,
                )
            )
            session.flush()
            return _record(row)

    def list_revisions(self, deployment_id: str) -> list[RevisionRecord]:
        """Every revision of the deployment, oldest first, each with the fields it changed
        against the one before (``NotFound`` if no such id)."""
        with self._read() as session:
            _get(session, deployment_id)
            rows = session.scalars(
                select(DeploymentRevision)
                .where(DeploymentRevision.deployment_id == deployment_id)
                .order_by(DeploymentRevision.revision)
            )
            revisions: list[RevisionRecord] = []
            previous: DeploymentSpec | None = None
            for rev in rows:
                spec = decode_spec(rev.spec)
                revisions.append(
                    RevisionRecord(
                        revision=rev.revision,
                        spec=spec,
                        author=rev.author,
                        change=rev.change,
                        created_at=rev.created_at,
                        changes=tuple(spec_changes(previous, spec)) if previous else (),
                    )
                )
                previous = spec
            return revisions

    def mark_deleting(self, deployment_id: str) -> DeploymentRecord:
        """Flag the deployment for deletion; the controller purges it once it is stopped."""
        with self._write() as session:
            row = _get(session, deployment_id)
            if not row.deleting:
                row.deleting = True
                row.updated_at = utcnow()
            session.flush()
            return _record(row)

    def purge_deployment(self, deployment_id: str) -> None:
        """Remove the deployment, its revisions and its status (no-op if already gone)."""
        with self._write() as session:
            row = session.get(Deployment, deployment_id)
            if row is None:
                return
            session.execute(
                delete(DeploymentStatusRow).where(DeploymentStatusRow.deployment_id == row.id)
            )
            session.execute(
                delete(DeploymentRevision).where(DeploymentRevision.deployment_id == row.id)
            )
            session.delete(row)

    def save_status(self, deployment_id: str, status: DeploymentStatus) -> None:
        """Insert or replace the observed status (``NotFound`` if the deployment is gone)."""
        upsert = _status_upsert(self.engine.dialect.name, deployment_id, status)
        try:
            with self._write() as session:
                session.execute(upsert)
        except IntegrityError:
            raise NotFound(f"deployment with id {deployment_id!r} not found") from None

    def get_status(self, deployment_id: str) -> DeploymentStatus | None:
        """The last observed status, or None if the controller has written none yet."""
        with self._read() as session:
            row = session.get(DeploymentStatusRow, deployment_id)
            return None if row is None else decode_status(row.status)

    def get_statuses(self, deployment_ids: Iterable[str]) -> dict[str, DeploymentStatus]:
        """Observed statuses by deployment id (ids without a status are left out)."""
        ids = list(deployment_ids)
        if not ids:
            return {}
        with self._read() as session:
            rows = session.scalars(
                select(DeploymentStatusRow).where(DeploymentStatusRow.deployment_id.in_(ids))
            )
            return {row.deployment_id: decode_status(row.status) for row in rows}
