"""Models and their numbered, immutable versions (metadata only; files live in the registry).

Layer: ``shipyard.store``. Version numbers are allocated as "previous max + 1" inside the
inserting transaction; two concurrent uploads of one model collide on the unique
(model, version) key and the loser retries, so versions stay dense and unique on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shipyard.errors import Conflict, InvalidSpec, NotFound
from shipyard.store.documents import check_model_name
from shipyard.store.records import ModelSummary, ModelVersionRecord
from shipyard.store.session import StoreBase
from shipyard.store.tables import Model, ModelVersion, Project

_VERSION_ATTEMPTS = 20


def _record(project_id: str, name: str, row: ModelVersion) -> ModelVersionRecord:
    return ModelVersionRecord(
        id=row.id,
        project_id=project_id,
        model_name=name,
        version=row.version,
        framework=row.framework,
        description=row.description,
        metrics=row.metrics,
        input_example=row.input_example,
        checksum=row.checksum,
        size_bytes=row.size_bytes,
        files=row.files,
        storage_path=row.storage_path,
        created_at=row.created_at,
    )


def _find_model(session: Session, project_id: str, name: str) -> Model | None:
    return session.scalar(select(Model).where(Model.project_id == project_id, Model.name == name))


class ModelStore(StoreBase):
    """Store methods for models and model versions."""

    def create_model_version(
        self,
        project_id: str,
        name: str,
        *,
        framework: str,
        description: str,
        metrics: dict[str, float],
        input_example: Any,
        checksum: str,
        size_bytes: int,
        files: list[str],
        storage_path: str,
        version: int | None = None,
    ) -> ModelVersionRecord:
        """Record a new version of model ``name`` (creating the model on its first version).

        ``version``, when given, must be the number this version gets (checked in the same
        transaction that takes it, so a concurrent upload cannot slip between).

        Returns:
            The version, numbered one above the highest number the model ever gave (a deleted
            version's number is never given again).

        Raises:
            InvalidSpec: the model name breaks the naming rule, or ``version`` is not the next
                number (the message names it).
            NotFound: no project has this id.
            Conflict: the version number stayed contended after many retries.
        """
        check_model_name(name)
        fields: dict[str, Any] = {
            "framework": framework,
            "description": description,
            "metrics": dict(metrics),
            "input_example": input_example,
            "checksum": checksum,
            "size_bytes": size_bytes,
            "files": list(files),
            "storage_path": storage_path,
        }
        for _ in range(_VERSION_ATTEMPTS):
            try:
                with self._write() as session:
                    return self._insert_version(session, project_id, name, fields, version)
            except IntegrityError:
                continue  # another upload took the number (or created the model): retry
        raise Conflict(
            f"could not allocate a version of model {name!r}: too many concurrent uploads"
        )

    def _insert_version(
        self,
        session: Session,
        project_id: str,
        name: str,
        fields: dict[str, Any],
        wanted: int | None,
    ) -> ModelVersionRecord:
        if session.get(Project, project_id) is None:
            raise NotFound(f"project with id {project_id!r} not found")
        model = _find_model(session, project_id, name)
        if model is None:
            model = Model(project_id=project_id, name=name)
            session.add(model)
            session.flush()
        latest = session.scalar(
            select(func.max(ModelVersion.version)).where(ModelVersion.model_id == model.id)
        )
        number = max(latest or 0, model.last_version or 0) + 1
        if wanted is not None and wanted != number:
            message = (
                f"model {name!r} cannot be saved as version {wanted}: versions are numbered by "
                f"the registry and the next one is {number} (leave the version out)"
            )
            error = {"field": "version", "value": wanted, "message": message}
            raise InvalidSpec(message, details={"errors": [error], "next_version": number})
        row = ModelVersion(model_id=model.id, version=number, **fields)
        model.last_version = number
        session.add(row)
        session.flush()
        return _record(project_id, name, row)

    def delete_model_version(self, project_id: str, name: str, version: int) -> ModelVersionRecord:
        """Forget one version of model ``name`` (its number is never given again).

        The caller checks first that no deployment uses it, and removes its files after.

        Returns:
            The deleted version (its ``storage_path`` names the files to remove).

        Raises:
            NotFound: no such model or version.
        """
        with self._write() as session:
            model = _find_model(session, project_id, name)
            if model is None:
                raise NotFound(f"model {name!r} not found")
            row = session.scalar(
                select(ModelVersion).where(
                    ModelVersion.model_id == model.id, ModelVersion.version == version
                )
            )
            if row is None:
                raise NotFound(f"model {name!r} has no version {version}")
            record = _record(project_id, name, row)
            session.delete(row)
            return record

    def delete_model(self, project_id: str, name: str) -> list[ModelVersionRecord]:
        """Forget model ``name`` and every version of it (the name may then be used again).

        Returns:
            The deleted versions (their ``storage_path`` name the files to remove).

        Raises:
            NotFound: no such model.
        """
        with self._write() as session:
            model = _find_model(session, project_id, name)
            if model is None:
                raise NotFound(f"model {name!r} not found")
            rows = list(
                session.scalars(select(ModelVersion).where(ModelVersion.model_id == model.id))
            )
            records = [_record(project_id, name, row) for row in rows]
            session.execute(delete(ModelVersion).where(ModelVersion.model_id == model.id))
            session.delete(model)
            return records

    def list_models(self, project_id: str) -> list[ModelSummary]:
        """The project's models, by name, with their version count and newest version."""
        query = (
            select(
                Model.name,
                Model.created_at,
                func.max(ModelVersion.version),
                func.count(ModelVersion.id),
            )
            .join(ModelVersion, ModelVersion.model_id == Model.id)
            .where(Model.project_id == project_id)
            .group_by(Model.id, Model.name, Model.created_at)
            .order_by(Model.name)
        )
        with self._read() as session:
            return [
                ModelSummary(name=name, latest_version=latest, versions=count, created_at=created)
                for name, created, latest, count in session.execute(query)
            ]

    def list_model_versions(self, project_id: str, name: str) -> list[ModelVersionRecord]:
        """Every version of model ``name``, oldest first (``NotFound`` if no such model)."""
        with self._read() as session:
            model = _find_model(session, project_id, name)
            if model is None:
                raise NotFound(f"model {name!r} not found")
            rows = session.scalars(
                select(ModelVersion)
                .where(ModelVersion.model_id == model.id)
                .order_by(ModelVersion.version)
            )
            return [_record(project_id, name, row) for row in rows]

    def get_model_version(
        self, project_id: str, name: str, version: int | None = None
    ) -> ModelVersionRecord:
        """Version ``version`` of model ``name``; ``None`` means the newest one.

        Raises:
            NotFound: no such model, or the model has no such version.
        """
        with self._read() as session:
            model = _find_model(session, project_id, name)
            if model is None:
                raise NotFound(f"model {name!r} not found")
            query = select(ModelVersion).where(ModelVersion.model_id == model.id)
            if version is None:
                query = query.order_by(ModelVersion.version.desc()).limit(1)
            else:
                query = query.where(ModelVersion.version == version)
            row = session.scalar(query)
            if row is None:
                wanted = "any version" if version is None else f"version {version}"
                raise NotFound(f"model {name!r} has no {wanted}")
            return _record(project_id, name, row)
