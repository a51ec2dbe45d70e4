"""Editable resources, as hsml's are: ``deployment.predictor.resources.num_instances = 2``.

The spec's ``Resources`` and ``*Resources`` (``shipyard.spec.resources``) are frozen values the
server keeps; the SDK hands out these subclasses instead, whose fields may be changed in place.
Each assignment checks the field's type and range at once (``InvalidSpec`` naming the field);
rules across fields (a request above its limit) and across the spec are checked when the
deployment is saved (``Predictor.to_spec()``, then the server).
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from shipyard.sdk._invalid import invalid_spec
from shipyard.spec import resources as spec

_EDITABLE = ConfigDict(extra="forbid", frozen=False, validate_assignment=True)
C = TypeVar("C", bound="PredictorResources | TransformerResources")


def _plain(value: Any) -> Any:
    """A spec value as a dict, so that it validates as its editable twin."""
    return value.model_dump() if isinstance(value, BaseModel) else value


def _same(this: BaseModel, other: object, family: type[BaseModel]) -> bool:
    """Equal values are equal whether editable or frozen (``spec.Resources(1, 512)``)."""
    return isinstance(other, family) and this.model_dump() == other.model_dump()


class Resources(spec.Resources):
    """CPU cores, memory (MiB) and GPUs of one instance; fields may be changed in place."""

    model_config = _EDITABLE

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise invalid_spec(exc, "resources") from None

    def __eq__(self, other: object) -> bool:
        return _same(self, other, spec.Resources)

    __hash__ = None  # type: ignore[assignment]  # editable: not a dictionary key


def _requests() -> Resources:
    return Resources.model_validate(spec.default_requests().model_dump())


def _limits() -> Resources:
    return Resources.model_validate(spec.default_limits().model_dump())


class _Component:
    """What both editable component resources add to the spec's: editable parts."""

    def __setattr__(self, name: str, value: Any) -> None:
        try:
            super().__setattr__(name, value)
        except ValidationError as exc:
            raise invalid_spec(exc, "resources") from None

    def __eq__(self, other: object) -> bool:
        return _same(self, other, spec.ComponentResources)  # type: ignore[arg-type]

    __hash__ = None  # type: ignore[assignment]

    @field_validator("requests", "limits", mode="before")
    @classmethod
    def _editable_part(cls, value: Any) -> Any:
        return _plain(value)


class PredictorResources(_Component, spec.PredictorResources):
    """Instances, requests and limits of the predictor; fields may be changed in place."""

    model_config = _EDITABLE

    requests: Resources = Field(default_factory=_requests)
    limits: Resources = Field(default_factory=_limits)


class TransformerResources(_Component, spec.TransformerResources):
    """Instances, requests and limits of the transformer; fields may be changed in place."""

    model_config = _EDITABLE

    requests: Resources = Field(default_factory=_requests)
    limits: Resources = Field(default_factory=_limits)


def editable(value: spec.ComponentResources | None, kind: type[C]) -> C:
    """``value`` (None = the defaults) as editable resources of ``kind`` (a copy, never shared)."""
    return kind.model_validate(_plain(value) if value is not None else {})  # type: ignore[return-value]
