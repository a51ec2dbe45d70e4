"""Projects and their API keys: who may call the platform, and which project a key acts for.

Layer: ``shipyard.store``. Only a key's sha256 is stored (keys are 32 random bytes, so a fast
hash is enough); the plain key is returned once, when it is made. The gateway receives the
hash → project map (``key_hashes``) and never sees plain keys either.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shipyard.errors import AlreadyExists, Conflict, NotFound
from shipyard.spec.quota import Quota
from shipyard.store.documents import check_project_name
from shipyard.store.records import ApiKeyRecord, KeyGrant, ProjectRecord
from shipyard.store.session import StoreBase
from shipyard.store.tables import ApiKey, Deployment, Project, utcnow

KEY_PREFIX = "sy_"
DEFAULT_PROJECT = "default"


def hash_key(plain_key: str) -> str:
    """The stored form of an API key: sha256 hex of its text."""
    return hashlib.sha256(plain_key.encode()).hexdigest()


def _record(row: Project) -> ProjectRecord:
    quota = Quota.model_validate(row.quota) if row.quota else Quota()
    return ProjectRecord(id=row.id, name=row.name, created_at=row.created_at, quota=quota)


def _new_key(project_id: str, *, is_admin: bool, read_only: bool = False) -> tuple[ApiKey, str]:
    plain = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(
        project_id=project_id,
        prefix=plain[:8],
        key_hash=hash_key(plain),
        is_admin=is_admin,
        read_only=read_only,
    )
    return row, plain


def _key_record(row: ApiKey) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=row.id,
        project_id=row.project_id,
        prefix=row.prefix,
        created_at=row.created_at,
        is_admin=row.is_admin,
        read_only=row.read_only,
        revoked_at=row.revoked_at,
    )


class ProjectStore(StoreBase):
    """Store methods for projects and API keys."""

    def create_project(self, name: str) -> ProjectRecord:
        """Create a project.

        Raises:
            InvalidSpec: the name breaks the naming rule.
            AlreadyExists: a project with this name exists.
        """
        check_project_name(name)
        try:
            with self._write() as session:
                row = Project(name=name)
                session.add(row)
                session.flush()
                return _record(row)
        except IntegrityError:
            raise AlreadyExists(f"project {name!r} already exists") from None

    def get_project(self, project_id: str) -> ProjectRecord:
        """The project with id ``project_id`` (``NotFound`` otherwise)."""
        with self._read() as session:
            row = session.get(Project, project_id)
            if row is None:
                raise NotFound(f"project with id {project_id!r} not found")
            return _record(row)

    def get_project_by_name(self, name: str) -> ProjectRecord:
        """The project called ``name`` (``NotFound`` otherwise)."""
        with self._read() as session:
            row = session.scalar(select(Project).where(Project.name == name))
            if row is None:
                raise NotFound(f"project {name!r} not found")
            return _record(row)

    def list_projects(self) -> list[ProjectRecord]:
        """Every project, by name."""
        with self._read() as session:
            return [_record(row) for row in session.scalars(select(Project).order_by(Project.name))]

    def create_api_key(
        self, project_id: str, *, is_admin: bool = False, read_only: bool = False
    ) -> str:
        """Make a key for the project and return it in plain text (it is not stored).

        Raises:
            NotFound: no project has this id.
        """
        return self.issue_api_key(project_id, is_admin=is_admin, read_only=read_only)[1]

    def issue_api_key(
        self, project_id: str, *, is_admin: bool = False, read_only: bool = False
    ) -> tuple[ApiKeyRecord, str]:
        """Make a key for the project: its record and its plain text (shown once).

        Raises:
            NotFound: no project has this id.
        """
        with self._write() as session:
            if session.get(Project, project_id) is None:
                raise NotFound(f"project with id {project_id!r} not found")
            row, plain = _new_key(project_id, is_admin=is_admin, read_only=read_only)
            session.add(row)
            session.flush()
            return _key_record(row), plain

    def list_api_keys(self, project_id: str) -> list[ApiKeyRecord]:
        """The project's keys, oldest first, revoked ones included (never their secret)."""
        with self._read() as session:
            rows = session.scalars(
                select(ApiKey).where(ApiKey.project_id == project_id).order_by(ApiKey.created_at)
            )
            return [_key_record(row) for row in rows]

    def revoke_api_key(self, project_id: str, key_id: str) -> ApiKeyRecord:
        """Stop a key of the project from working (idempotent).

        Raises:
            NotFound: the project has no key with this id.
        """
        with self._write() as session:
            row = session.get(ApiKey, key_id)
            if row is None or row.project_id != project_id:
                raise NotFound(f"API key {key_id!r} not found in this project")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
            session.flush()
            return _key_record(row)

    def grant(self, plain_key: str) -> KeyGrant | None:
        """What a key may do; None if it is unknown or revoked."""
        with self._read() as session:
            found = session.execute(
                select(Project, ApiKey)
                .join(ApiKey, ApiKey.project_id == Project.id)
                .where(ApiKey.key_hash == hash_key(plain_key), ApiKey.revoked_at.is_(None))
            ).first()
            if found is None:
                return None
            project, key = found
            return KeyGrant(
                project=_record(project),
                is_admin=bool(key.is_admin),
                read_only=bool(key.read_only),
                key_id=key.id,
            )

    def authenticate(self, plain_key: str) -> tuple[ProjectRecord, bool] | None:
        """The project a key belongs to and whether it is an admin key; None if unknown."""
        grant = self.grant(plain_key)
        return None if grant is None else (grant.project, grant.is_admin)

    def key_hashes(self) -> dict[str, str]:
        """Every working key's hash mapped to its project id (the gateway's view of the keys:
        a revoked key leaves it with the next routing table)."""
        with self._read() as session:
            rows = session.execute(
                select(ApiKey.key_hash, ApiKey.project_id).where(ApiKey.revoked_at.is_(None))
            )
            return {key_hash: project_id for key_hash, project_id in rows}

    def set_quota(self, name: str, quota: Quota) -> ProjectRecord:
        """Set a project's quota (every limit None: no quota).

        Raises:
            NotFound: no such project.
        """
        with self._write() as session:
            row = session.scalars(select(Project).where(Project.name == name)).first()
            if row is None:
                raise NotFound(f"project {name!r} not found")
            row.quota = quota.model_dump()
            session.flush()
            return _record(row)

    def delete_project(self, name: str) -> ProjectRecord:
        """Delete a project with its keys and models; it must have no deployment left.

        Raises:
            NotFound: no such project.
            Conflict: it is the default project, or it still has deployments.
        """
        with self._write() as session:
            row = session.scalars(select(Project).where(Project.name == name)).first()
            if row is None:
                raise NotFound(f"project {name!r} not found")
            if name == DEFAULT_PROJECT:
                raise Conflict("the default project holds the administrator key: it stays")
            count = session.scalar(
                select(func.count()).select_from(Deployment).where(Deployment.project_id == row.id)
            )
            if count:
                raise Conflict(
                    f"project {name!r} still has {count} deployment(s): delete them first"
                )
            record = _record(row)
            session.delete(row)
            return record

    def ensure_default_project(self) -> tuple[ProjectRecord, str | None]:
        """Create the ``default`` project with an admin key, once.

        Returns:
            The project and, on the call that created it, the plain admin key; later calls (and
            a call that lost a race with another process) get ``None`` instead of the key.
        """
        try:
            return self.get_project_by_name(DEFAULT_PROJECT), None
        except NotFound:
            pass
        try:
            with self._write() as session:
                project = Project(name=DEFAULT_PROJECT)
                session.add(project)
                session.flush()
                key, plain = _new_key(project.id, is_admin=True)
                session.add(key)
                session.flush()
                return _record(project), plain
        except IntegrityError:
            return self.get_project_by_name(DEFAULT_PROJECT), None
