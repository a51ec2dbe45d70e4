"""Validation of every rendered object against the schema the cluster enforces.

Built-in kinds (ConfigMap, Secret, Deployment, Service, HorizontalPodAutoscaler) go through
``kubernetes-validate`` in strict mode (unknown fields are errors) for ``KUBERNETES_VERSION``.
The InferenceService goes through ``jsonschema`` against the ``openAPIV3Schema`` of KServe's CRD
(copied in ``crd/``, see its NOTICE), tightened so that a field the schema does not list is an
error too: a real API server would silently prune it, which is how settings get lost. Object
names and label values are checked here as well (the CRD's schema leaves ``metadata`` open).
"""

from __future__ import annotations

import copy
import re
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from shipyard.errors import ShipyardError

KUBERNETES_VERSION = "1.31"
"""The Kubernetes version objects are validated for (the oldest one we support)."""

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")


class InvalidObject(ShipyardError):
    """A rendered object the cluster would refuse or silently change (a bug of ours)."""

    code = "invalid_object"


def _strict(schema: Any) -> Any:
    """``schema`` with ``additionalProperties: false`` on every object that lists properties
    and does not preserve unknown fields."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@cache
def inference_service_schema() -> dict[str, Any]:
    """The v1beta1 ``openAPIV3Schema`` of KServe's InferenceService CRD, strict."""
    text = resources.files(__package__).joinpath("crd/serving.kserve.io_inferenceservices.yaml")
    crd = yaml.safe_load(text.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
    schema["properties"].pop("status", None)  # the controller's, never ours to send
    return dict(_strict(schema))


def _where(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top)"


def _check_metadata(obj: dict[str, Any]) -> None:
    meta = obj.get("metadata", {})
    name = meta.get("name", "")
    kind = obj.get("kind", "?")
    if not _DNS_LABEL.match(name):
        raise InvalidObject(f"{kind} name {name!r} is not a DNS-1035 label")
    for key, value in meta.get("labels", {}).items():
        if not _LABEL_VALUE.match(value):
            raise InvalidObject(f"{kind} {name}: label {key}={value!r} is not a valid value")


def validate(obj: dict[str, Any]) -> None:
    """Raise ``InvalidObject`` unless ``obj`` passes its kind's schema.

    Raises:
        InvalidObject: With the object, the path of the bad field and the schema's message.
    """
    _check_metadata(obj)
    name = f"{obj['kind']} {obj['metadata']['name']}"
    if obj["apiVersion"].startswith("serving.kserve.io/"):
        validator = jsonschema.Draft7Validator(inference_service_schema())
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            raise InvalidObject(f"{name}: {_where(first)}: {first.message}")
        return
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        raise InvalidObject(f"{name}: {_where(exc)}: {exc.message}") from None
    except kubernetes_validate.SchemaNotFoundError as exc:
        raise InvalidObject(f"{name}: {exc.message}") from None


def validate_all(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate every object; return them unchanged (for chaining)."""
    for obj in objects:
        validate(obj)
    return objects
