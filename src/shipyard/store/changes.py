"""What changed between two revisions of a deployment's spec, in words (pure, no I/O).

Layer: ``shipyard.store``. ``update_spec`` stores ``summary(...)`` as a revision's ``change``
and ``list_revisions`` lists ``spec_changes`` of consecutive revisions, so every revision says
what it changed. Nested fields are flattened to dotted paths, one line per changed leaf, with
the unit where the field has one::

    predictor.resources.num_instances: 1 -> 3
    predictor.resources.limits.memory: 1024 -> 2048 MiB
    predictor.environment: None -> shipyard/python:1.0.0

A section that appears or disappears (a transformer, a scaling config) lists each of its
leaves against ``None``. Fields are listed in the spec's own order.
"""

from __future__ import annotations

import json
from typing import Any

from shipyard.spec.deployment import DeploymentSpec

_UNIT_BY_FIELD = {"memory": "MiB", "cores": "cores"}
_UNIT_BY_SUFFIX = {"_s": "s", "_mb": "MiB"}
_MISSING = None  # a leaf absent on one side (its section is None there) reads as None


def spec_changes(old: DeploymentSpec, new: DeploymentSpec) -> list[str]:
    """One line per field whose value differs, ``path: old -> new [unit]``.

    Args:
        old: The spec before the change.
        new: The spec after it.

    Returns:
        The lines, in the order of the spec's fields; empty when the specs are equal.
    """
    before = _flatten(old.model_dump(mode="json"))
    after = _flatten(new.model_dump(mode="json"))
    paths = list(after) + [path for path in before if path not in after]
    return [
        _line(path, before.get(path, _MISSING), after.get(path, _MISSING))
        for path in paths
        if before.get(path, _MISSING) != after.get(path, _MISSING)
    ]


def summary(lines: list[str], reason: str = "") -> str:
    """The ``change`` text of a revision: the reason (if any), then the lines, ``; `` apart."""
    parts = ([reason] if reason else []) + (lines or ["no field changed"])
    return "; ".join(parts)


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaves of a JSON document by dotted path (a ``None`` section is one ``None`` leaf)."""
    if not isinstance(value, dict):
        return {prefix: value}
    leaves: dict[str, Any] = {}
    for key, item in value.items():
        leaves.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    return leaves


def _unit(path: str) -> str:
    leaf = path.rsplit(".", 1)[-1]
    if leaf in _UNIT_BY_FIELD:
        return _UNIT_BY_FIELD[leaf]
    return next((unit for end, unit in _UNIT_BY_SUFFIX.items() if leaf.endswith(end)), "")


def _text(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, int | str):
        return str(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _line(path: str, old: Any, new: Any) -> str:
    unit = _unit(path)
    if not unit:
        return f"{path}: {_text(old)} -> {_text(new)}"
    if old is not None and new is not None:
        return f"{path}: {_text(old)} -> {_text(new)} {unit}"
    left, right = (_text(v) + (f" {unit}" if v is not None else "") for v in (old, new))
    return f"{path}: {left} -> {right}"
