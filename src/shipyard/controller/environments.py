"""Which environment each component of a deployment runs in, as a request to the builder.

A component runs in the server's own interpreter (EMBEDDED) when it names no base environment
and its model files have no ``requirements.txt``; otherwise in the named base (default: the
bare ``shipyard/python``) plus those requirements.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.environments.catalogue import DEFAULT_BASE, REQUIREMENTS_FILE, Catalogue
from shipyard.environments.manager import EnvironmentRequest
from shipyard.environments.requirements import parse
from shipyard.spec.deployment import Component, DeploymentSpec


def base_of(spec: DeploymentSpec, component: Component) -> str | None:
    if component is Component.TRANSFORMER:
        return spec.transformer.environment if spec.transformer else None
    return spec.predictor.environment


def environment_request(
    catalogue: Catalogue, spec: DeploymentSpec, component: Component, model_dir: Path
) -> EnvironmentRequest | None:
    """The request for a component's environment; None when it runs EMBEDDED.

    Raises:
        InvalidSpec: The base is unknown or the requirements file is malformed.
    """
    ref = base_of(spec, component)
    req_file = model_dir / REQUIREMENTS_FILE
    text = req_file.read_text(encoding="utf-8") if req_file.is_file() else None
    if ref is None and text is None:
        return None
    field = f"{component.value}.environment"
    base = catalogue.get(ref or DEFAULT_BASE, field=field)
    lines = tuple(r.text for r in parse(text or "", source=REQUIREMENTS_FILE))
    return EnvironmentRequest(base=base, requirements=lines, source=REQUIREMENTS_FILE)
