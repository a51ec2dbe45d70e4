"""The model registry: upload versions of a model, list them, download their files, delete them.

A version (or a whole model) that a deployment uses cannot be deleted (409 naming the
deployments); its number is never given again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from shipyard.api.deps import CallerDep, ServicesDep, artifact_project
from shipyard.api.schemas import ModelSummaryOut, ModelVersionCreate, ModelVersionOut
from shipyard.api.services import Services
from shipyard.environments.catalogue import DEFAULT_BASE, REQUIREMENTS_FILE
from shipyard.environments.manager import EnvironmentRequest
from shipyard.environments.requirements import parse
from shipyard.errors import Conflict, InvalidSpec, PayloadTooLarge
from shipyard.spec.validation import check_model_name

router = APIRouter(tags=["models"])


MAX_VERSION = 2**31 - 1
"""Largest version number (what every database's integer column holds)."""


def _version(value: str) -> int | None:
    if value == "latest":
        return None
    if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= MAX_VERSION:
        raise InvalidSpec(
            f"version {value!r} is invalid: use a number from 1 to {MAX_VERSION}, or 'latest'"
        )
    return int(value)


def _metadata(raw: str) -> ModelVersionCreate:
    try:
        return ModelVersionCreate.model_validate(json.loads(raw or "{}"))
    except (ValueError, ValidationError) as exc:
        raise InvalidSpec(f"invalid model metadata: {exc}") from exc


def _check_requirements(svc: Services, model_dir: Path) -> None:
    """Resolve a ``requirements.txt`` now (on the default base), so conflicts show at upload."""
    path = model_dir / REQUIREMENTS_FILE
    if not path.is_file():
        return
    lines = tuple(r.text for r in parse(path.read_text(encoding="utf-8")))
    base = svc.environments.catalogue.get(DEFAULT_BASE)
    svc.environments.check_resolvable(EnvironmentRequest(base, lines, REQUIREMENTS_FILE))


@router.get("/models")
def list_models(who: CallerDep, svc: ServicesDep) -> list[ModelSummaryOut]:
    return [ModelSummaryOut(**m.model_dump()) for m in svc.store.list_models(who.project.id)]


@router.post("/models/{name}/versions", status_code=201)
def upload_version(
    name: str,
    request: Request,
    who: CallerDep,
    svc: ServicesDep,
    artifact: Annotated[UploadFile, File(description="gzip tar of the model directory")],
    metadata: Annotated[str, Form(description="JSON of ModelVersionCreate")] = "{}",
) -> ModelVersionOut:
    limit = svc.settings.max_upload_mb
    length = request.headers.get("content-length")
    if length and length.isascii() and length.isdigit() and int(length) > (limit + 1) * 1024 * 1024:
        raise PayloadTooLarge(
            f"upload of {int(length) // (1024 * 1024)} MiB is over the limit of {limit} MiB "
            "(setting SHIPYARD_MAX_UPLOAD_MB)"
        )
    meta = _metadata(metadata)
    check_model_name(name)  # before reading a large upload
    stored = svc.storage.ingest(who.project.id, name, artifact.file)
    try:
        _check_requirements(svc, stored.path)
        record = svc.store.create_model_version(
            who.project.id,
            name,
            framework=meta.framework.value,
            description=meta.description,
            metrics=meta.metrics,
            input_example=meta.input_example,
            checksum=stored.checksum,
            size_bytes=stored.size_bytes,
            files=stored.files,
            storage_path=str(stored.path),
            version=meta.version,
        )
    except BaseException:
        svc.storage.discard(stored.path)
        raise
    return ModelVersionOut.of(record)


@router.get("/models/{name}/versions")
def list_versions(name: str, who: CallerDep, svc: ServicesDep) -> list[ModelVersionOut]:
    return [ModelVersionOut.of(r) for r in svc.store.list_model_versions(who.project.id, name)]


@router.get("/models/{name}/versions/{version}")
def get_version(name: str, version: str, who: CallerDep, svc: ServicesDep) -> ModelVersionOut:
    return ModelVersionOut.of(svc.store.get_model_version(who.project.id, name, _version(version)))


@router.get(
    "/models/{name}/versions/{version}/artifact",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/gzip": {}}}},
)
def download_version(
    name: str, version: str, request: Request, svc: ServicesDep
) -> StreamingResponse:
    number = _version(version)
    project_id = artifact_project(request, svc, name, number)  # an API key or a pod's token
    record = svc.store.get_model_version(project_id, name, number)
    chunks: Iterator[bytes] = svc.storage.archive(Path(record.storage_path))
    filename = f"{record.model_name}-v{record.version}.tar.gz"
    return StreamingResponse(
        chunks,
        media_type="application/gzip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _refuse_if_used(svc: Services, project_id: str, name: str, version: int | None) -> None:
    """409 naming every deployment (even stopped or being deleted) that serves it."""
    users = [
        f"{r.name} (version {r.spec.predictor.model_version})"
        for r in svc.store.list_deployments(project_id)
        if r.spec.predictor.model_name == name
        and (version is None or r.spec.predictor.model_version == version)
    ]
    if users:
        what = f"model {name!r}" + ("" if version is None else f" version {version}")
        raise Conflict(
            f"{what} is used by deployment(s) {', '.join(sorted(users))}: delete them, or "
            "update them to another model version, first",
            details={"deployments": sorted(users)},
        )


@router.delete("/models/{name}/versions/{version}")
def delete_version(name: str, version: str, who: CallerDep, svc: ServicesDep) -> ModelVersionOut:
    number = _version(version)
    if number is None:
        raise InvalidSpec("name the version to delete by its number ('latest' is refused)")
    svc.store.get_model_version(who.project.id, name, number)  # 404 before 409
    _refuse_if_used(svc, who.project.id, name, number)
    record = svc.store.delete_model_version(who.project.id, name, number)
    svc.storage.discard(Path(record.storage_path))
    return ModelVersionOut.of(record)


@router.delete("/models/{name}")
def delete_model(name: str, who: CallerDep, svc: ServicesDep) -> list[ModelVersionOut]:
    svc.store.list_model_versions(who.project.id, name)  # 404 before 409
    _refuse_if_used(svc, who.project.id, name, None)
    records = svc.store.delete_model(who.project.id, name)
    for record in records:
        svc.storage.discard(Path(record.storage_path))
    return [ModelVersionOut.of(r) for r in records]
