"""Building blocks of a deployment's spec on the client side: the ``Transformer`` builder,
script-path resolution against a model's files, and spec validation errors as ``InvalidSpec``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from shipyard.errors import ShipyardError
from shipyard.sdk._invalid import build_spec, spec_error
from shipyard.sdk._resources import TransformerResources as EditableTransformerResources
from shipyard.sdk._resources import editable
from shipyard.spec.deployment import ServingTool, TransformerSpec, check_name
from shipyard.spec.resources import TransformerResources
from shipyard.spec.scaling import ScalingConfig

M = TypeVar("M", bound=BaseModel)


def parse_answer(model: type[M], data: Any, what: str) -> M:
    """Validate part of a server answer as ``model``.

    Raises:
        ShipyardError: The server sent something that does not match the contract.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ShipyardError(
            f"unexpected {what} from the server (is it the same Shipyard version?): "
            f"{exc.error_count()} validation error(s), first: {exc.errors()[0]['msg']}"
        ) from None


def deployment_name(name: str) -> str:
    """Check a deployment name (lowercase letters, digits and '-', 1 to 63 characters).

    Raises:
        InvalidSpec: The name breaks the rule.
    """
    try:
        return check_name("deployment", name)
    except ValueError as exc:
        raise spec_error("name", name, str(exc)) from None


def default_deployment_name(model_name: str) -> str:
    """The deployment name derived from a model name: lowercased, ``_`` replaced by ``-``."""
    return model_name.lower().replace("_", "-")


def parse_serving_tool(value: str | ServingTool | None) -> ServingTool:
    """The serving tool named by ``value`` (case-insensitive); None = ``LOCAL``.

    Raises:
        InvalidSpec: Unknown serving tool.
    """
    if value is None:
        return ServingTool.LOCAL
    try:
        return ServingTool(str(value).upper())
    except ValueError:
        message = f"unknown serving tool {value!r}: use one of {', '.join(ServingTool)}"
        raise spec_error("serving_tool", str(value), message) from None


def resolve_script(
    script_file: str | os.PathLike[str] | None,
    model_files: Sequence[str],
    model_dir: Path | None = None,
) -> str | None:
    """The path of a script inside a model version's files.

    A script is always read from the model's uploaded files, so a local path is reduced:

    1. a path that already names one of ``model_files`` is kept (``sub/predictor.py``);
    2. else, if ``model_dir`` (the directory the model was saved from) is known and the script
       is an existing file inside it, the part relative to that directory
       (``model_dir/sub/predictor.py`` -> ``sub/predictor.py``);
    3. else the longest trailing part of the path that is one of ``model_files``
       (``/abs/path/model_dir/predictor.py`` -> ``predictor.py``);
    4. else the file name alone (the server refuses it if the model has no such file).

    Args:
        script_file: The script path as the user gave it, or None (detect).
        model_files: Relative paths of the model version's files.
        model_dir: The local directory the model was saved from, when known.
    """
    if script_file is None:
        return None
    raw = os.fspath(script_file)
    parts = [p for p in PurePosixPath(raw.replace("\\", "/")).parts if p not in ("/", ".")]
    known = set(model_files)
    if "/".join(parts) in known:
        return "/".join(parts)
    if model_dir is not None and model_dir.is_dir():
        local = Path(raw).expanduser().resolve()
        if local.is_file() and local.is_relative_to(model_dir):
            return local.relative_to(model_dir).as_posix()
    for start in range(len(parts)):
        candidate = "/".join(parts[start:])
        if candidate in known:
            return candidate
    return parts[-1] if parts else raw


class Transformer:
    """A transformer: a script with class ``Transformer`` (``preprocess``/``postprocess``).

    The script is a file of the model version, like the predictor's script; a local path is
    reduced to its place among the model's files when the transformer is given to
    ``ms.create_predictor(..., transformer=...)``.

    Args:
        script_file: Path of the transformer script.
        resources: Instances, requests and limits; None = the defaults.
        environment: Base environment name[:version]; None = the server's interpreter, or
            shipyard/python when the model has a requirements.txt.
        scaling_configuration: ``TransformerScalingConfig`` to autoscale the transformer
            between min and max instances (min 1 or more); None = ``resources.num_instances``.
    """

    def __init__(
        self,
        script_file: str | os.PathLike[str],
        resources: TransformerResources | None = None,
        environment: str | None = None,
        scaling_configuration: ScalingConfig | None = None,
    ) -> None:
        self.script_file = os.fspath(script_file)
        self.resources = resources  # the setter takes None
        self.environment = environment
        self.scaling_configuration = scaling_configuration

    @property
    def resources(self) -> EditableTransformerResources:
        """Instances, requests and limits: editable in place or replaced."""
        return self._resources

    @resources.setter
    def resources(self, value: TransformerResources | None) -> None:
        self._resources = editable(value, EditableTransformerResources)

    @classmethod
    def from_spec(cls, spec: TransformerSpec) -> Transformer:
        """Build from a stored ``TransformerSpec``."""
        return cls(
            spec.script_file,
            resources=spec.resources,
            environment=spec.environment,
            scaling_configuration=spec.scaling,
        )

    def to_spec(self) -> TransformerSpec:
        """This transformer as a validated ``TransformerSpec``.

        Raises:
            InvalidSpec: A field is invalid.
        """
        return build_spec(
            lambda: TransformerSpec(
                script_file=self.script_file,
                resources=TransformerResources.model_validate(self.resources.model_dump()),
                scaling=self.scaling_configuration,
                environment=self.environment,
            ),
            "transformer",
        )

    def __repr__(self) -> str:
        return f"Transformer(script_file={self.script_file!r})"
