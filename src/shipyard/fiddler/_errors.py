"""The errors of the Fiddler-style client, each saying what to call instead."""

from __future__ import annotations

from shipyard.errors import AlreadyExists, Conflict, Forbidden, ModelServeError, NotFound


def wrong_project(project_id: str, key_project: str) -> Forbidden:
    """``project_id`` is not the project the API key belongs to."""
    name = project_id.lower().replace("_", "-")
    return Forbidden(
        f"project_id {project_id!r} (project {name!r}) is not the project of this API key "
        f"({key_project!r}): pass project_id={key_project!r}, or use an API key of project "
        f"{name!r} (an administrator creates it with `shipyard projects create {name}`, "
        "which prints its key)"
    )


def already_deployed(model_id: str, name: str) -> AlreadyExists:
    """``add_model_artifact`` for a model that already has its deployment."""
    return AlreadyExists(
        f"model {model_id!r} already has a deployment ({name!r}): use "
        "update_model_artifact(...) to serve a new version, or update_model_deployment(...) "
        "to scale, stop or start it"
    )


def not_deployed(project_id: str, model_id: str, name: str) -> NotFound:
    """An update of a model that has no deployment yet."""
    return NotFound(
        f"model {model_id!r} has no deployment (no {name!r} in project {project_id!r}): "
        "create it with add_model_artifact(...) first"
    )


def with_retry_hint(exc: ModelServeError, model_id: str) -> ModelServeError:
    """``exc`` (the server's reason) plus what to do next."""
    hint = (
        "fix the model or its deployment_params (e.g. more memory) and call "
        f"update_model_artifact(project_id, model_id={model_id!r}, ...)"
    )
    return ModelServeError(f"{exc.message}\n{hint}", details=exc.details)


def serves_other_model(name: str, served: str, model_id: str) -> Conflict:
    """The deployment named after ``model_id`` serves another model (made by other means)."""
    return Conflict(
        f"deployment {name!r} serves model {served!r}, not {model_id!r}: delete or rename it, "
        f"or give the model another model_id"
    )
