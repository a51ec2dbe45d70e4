"""Which environment each component of a deployment runs in, as a request to the builder.

A component runs in the server's own interpreter (EMBEDDED) when it names no base environment
and its model files have no ``requirements.txt`` (a transformer may have its own, in its
script's folder: ``requirements_dir``); otherwise in the named base (default: the
bare ``shipyard/python``) plus those requirements. A model version's files never change, so
:class:`EnvironmentRequests` reads and parses each version's ``requirements.txt`` once, not on
every reconcile pass.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.environments.catalogue import DEFAULT_BASE, REQUIREMENTS_FILE, Catalogue
from shipyard.environments.manager import EnvironmentManager, EnvironmentRequest
from shipyard.environments.requirements import parse
from shipyard.errors import InvalidSpec
from shipyard.spec.deployment import Component, DeploymentSpec


def base_of(spec: DeploymentSpec, component: Component) -> str | None:
    if component is Component.TRANSFORMER:
        return spec.transformer.environment if spec.transformer else None
    return spec.predictor.environment


def requirements_dir(spec: DeploymentSpec, component: Component, model_dir: Path) -> Path:
    """Where a component's ``requirements.txt`` is: a transformer whose script sits in a
    folder with its own ``requirements.txt`` (``transformer/requirements.txt`` beside
    ``transformer/transformer.py``) gets its own environment, side by side with the
    predictor's; every other component reads the model version's top folder."""
    if component is Component.TRANSFORMER and spec.transformer is not None:
        folder = (model_dir / spec.transformer.script_file).parent
        inside = folder.resolve().is_relative_to(model_dir.resolve())
        if inside and folder != model_dir and (folder / REQUIREMENTS_FILE).is_file():
            return folder
    return model_dir


def requirement_lines(model_dir: Path) -> tuple[str, ...] | None:
    """The requirement lines of a model version's ``requirements.txt`` (None: it has none).

    Raises:
        InvalidSpec: The file is malformed (the message names the line and the fix).
    """
    req_file = model_dir / REQUIREMENTS_FILE
    if not req_file.is_file():
        return None
    text = req_file.read_text(encoding="utf-8")
    return tuple(r.text for r in parse(text, source=REQUIREMENTS_FILE))


def request_for(
    catalogue: Catalogue,
    spec: DeploymentSpec,
    component: Component,
    lines: tuple[str, ...] | None,
) -> EnvironmentRequest | None:
    """The request for a component's environment given its model's requirement lines."""
    ref = base_of(spec, component)
    if ref is None and lines is None:
        return None
    base = catalogue.get(ref or DEFAULT_BASE, field=f"{component.value}.environment")
    return EnvironmentRequest(base=base, requirements=lines or (), source=REQUIREMENTS_FILE)


def environment_request(
    catalogue: Catalogue, spec: DeploymentSpec, component: Component, model_dir: Path
) -> EnvironmentRequest | None:
    """The request for a component's environment; None when it runs EMBEDDED.

    Raises:
        InvalidSpec: The base is unknown or the requirements file is malformed.
    """
    folder = requirements_dir(spec, component, model_dir)
    return request_for(catalogue, spec, component, requirement_lines(folder))


class EnvironmentRequests:
    """:func:`environment_request` with each model directory's requirements parsed once."""

    def __init__(self, environments: EnvironmentManager) -> None:
        self._environments = environments  # its catalogue grows when an administrator adds
        self._lines: dict[Path, tuple[str, ...] | InvalidSpec | None] = {}
        self.parsed = 0  # how many files were read and parsed

    def of(
        self, spec: DeploymentSpec, component: Component, model_dir: Path
    ) -> EnvironmentRequest | None:
        """Raises ``InvalidSpec`` like :func:`environment_request`."""
        model_dir = requirements_dir(spec, component, model_dir)
        if model_dir not in self._lines:
            self.parsed += 1
            try:
                self._lines[model_dir] = requirement_lines(model_dir)
            except InvalidSpec as exc:
                self._lines[model_dir] = exc
        lines = self._lines[model_dir]
        if isinstance(lines, InvalidSpec):
            raise lines
        return request_for(self._environments.catalogue, spec, component, lines)
