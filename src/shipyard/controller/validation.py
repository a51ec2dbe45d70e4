"""The one validation path of a deployment spec: create, update, rollback and dry run use it.

:meth:`SpecValidator.check` reports every problem at once, in two rounds (a spec whose values
are wrong is not looked up in the registry): first the values (``spec.validation``), what the
serving tool cannot honour (``spec.tools.resolve``), whether this server has a backend for the
tool (not on a dry run) and whether the replicas could ever fit the tool's node (or quota):
each replica alone, and the minimum instances of every component together. Then the registry
(the model version, its script files) and the environment (a known base, a well-formed
``requirements.txt``). A spec that could fit but not *now* is accepted; the returned
:class:`Verdict` says why it waits and what holds the capacity.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from shipyard.controller.environments import base_of, environment_request
from shipyard.controller.quotas import quota_errors
from shipyard.controller.scheduling import never_fits, shortfall, total
from shipyard.environments.catalogue import Catalogue
from shipyard.errors import InvalidSpec, NotFound
from shipyard.spec.capacity import Capacity, Demand, cores_number
from shipyard.spec.deployment import Component, DeploymentSpec, ServingTool
from shipyard.spec.quota import Quota
from shipyard.spec.resources import ComponentResources
from shipyard.spec.scaling import ScalingConfig, effective_scaling
from shipyard.spec.tools import resolve
from shipyard.spec.units import cores_text
from shipyard.spec.validation import FieldError, backend_errors, raise_for, spec_errors
from shipyard.store import ModelVersionRecord

NODE_FIX = (
    "lower the request, or give the node more with SHIPYARD_NODE_CORES, SHIPYARD_NODE_MEMORY_MB "
    "or SHIPYARD_GPUS"
)


class CapacityView(Protocol):
    """What the validator asks of the controller (the tools it runs and their nodes)."""

    @property
    def tools(self) -> frozenset[ServingTool]: ...

    def capacity(self, tool: ServingTool) -> Capacity | None: ...

    def allocated(self, tool: ServingTool) -> list[tuple[str, str, Demand]]: ...


@dataclass(frozen=True)
class Verdict:
    """A valid spec, and why its replicas would wait for capacity now (empty: they fit)."""

    waits: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Need:
    path: str  # "predictor.resources"
    resources: ComponentResources
    minimum: int  # instances that must fit together (at least one)


def _needs(spec: DeploymentSpec) -> list[_Need]:
    components: list[tuple[Component, ComponentResources, ScalingConfig | None]] = [
        (Component.PREDICTOR, spec.predictor.resources, spec.predictor.scaling)
    ]
    if spec.transformer is not None:
        t = spec.transformer
        components.append((Component.TRANSFORMER, t.resources, t.scaling))
    out = []
    for component, resources, scaling in components:
        config = effective_scaling(resources, scaling)
        minimum = config.min_instances if config is not None else resources.num_instances
        out.append(_Need(f"{component.value}.resources", resources, max(1, minimum)))
    return out


class SpecValidator:
    """Checks a deployment spec against the tool, the node, the registry and the environment."""

    def __init__(
        self,
        *,
        capacity: CapacityView,
        model: Callable[[str, str, int], ModelVersionRecord],
        catalogue: Callable[[], Catalogue],
        quota: Callable[[str, str | None], tuple[Quota, list[DeploymentSpec]]] | None = None,
    ) -> None:
        self._quota = quota
        """The project's quota and its other deployments' specs (but the one replaced)."""
        self._capacity = capacity
        self._model = model
        self._catalogue = catalogue

    def check(
        self,
        project_id: str,
        spec: DeploymentSpec,
        *,
        dry_run: bool,
        deployment_id: str | None = None,
    ) -> Verdict:
        """Raise ``InvalidSpec`` listing every problem; else say whether it waits for capacity.

        ``deployment_id`` names the deployment being replaced (its replicas' capacity counts
        as free for its new spec).
        """
        problems = spec_errors(spec) + resolve(spec).errors
        if not dry_run:
            problems += backend_errors(spec, self._capacity.tools)
        node = self._capacity.capacity(spec.serving_tool)
        if node is not None:
            problems += self._never_fits(spec, node)
        raise_for(problems)
        raise_for(self._registry_errors(project_id, spec))
        if self._quota is not None:
            quota, others = self._quota(project_id, deployment_id)
            raise_for(quota_errors(quota, spec, others))
        waits = self._waits(spec, node, deployment_id) if node is not None else []
        return Verdict(waits=waits)

    @staticmethod
    def _never_fits(spec: DeploymentSpec, node: Capacity) -> list[FieldError]:
        """Replicas that could never be scheduled on this node, even with nothing else on it:
        one alone, then the minimum instances of every component together."""
        errors = []
        needs = _needs(spec)
        for need in needs:
            reason = never_fits(node, Demand.of(need.resources.requests))
            if reason is not None:
                value = need.resources.requests.model_dump()
                errors.append(FieldError(f"{need.path}.requests", value, f"{reason}: {NODE_FIX}"))
        if errors:
            return errors
        together = total(Demand.of(n.resources.requests) * n.minimum for n in needs)
        reason = never_fits(node, together)
        if reason is None:
            return []
        count = " + ".join(
            f"{n.minimum} {n.path.split('.')[0]} x {cores_text(n.resources.requests.cores)}"
            for n in needs
        )
        message = (
            f"the minimum instances can never run together ({count}): {reason}: lower the "
            f"instances or the requests, or give the node more"
        )
        first = needs[0]
        return [FieldError(f"{first.path}.num_instances", first.resources.num_instances, message)]

    def _waits(self, spec: DeploymentSpec, node: Capacity, deployment_id: str | None) -> list[str]:
        """Why the minimum instances would not fit now, naming what holds the capacity."""
        held: dict[str, list[Demand]] = defaultdict(list)
        for dep_id, name, demand in self._capacity.allocated(spec.serving_tool):
            if dep_id != deployment_id:
                held[name].append(demand)
        needed = total(Demand.of(n.resources.requests) * n.minimum for n in _needs(spec))
        reason = shortfall(node, total(d for ds in held.values() for d in ds), needed)
        if reason is None:
            return []
        users = ", ".join(
            f"{name} ({len(ds)} replica{'s' if len(ds) > 1 else ''}, "
            f"{cores_number(total(ds).cores)} cores, {total(ds).memory} MiB)"
            for name, ds in sorted(held.items())
        )
        return [f"does not fit now: {reason}; in use by: {users or 'nothing'}"]

    def _registry_errors(self, project_id: str, spec: DeploymentSpec) -> list[FieldError]:
        p = spec.predictor
        try:
            model = self._model(project_id, p.model_name, p.model_version)
        except NotFound as exc:
            return [FieldError("predictor.model_version", p.model_version, exc.message)]
        problems: list[FieldError] = []
        scripts = [f for f in model.files if f.endswith(".py")]
        for path, script in (
            ("predictor.script_file", p.script_file),
            ("transformer.script_file", spec.transformer.script_file if spec.transformer else None),
        ):
            if script is not None and script not in model.files:
                hint = "it has no .py file"
                if scripts:
                    hint = f"files ending in .py: {', '.join(scripts)}"
                msg = (
                    f"no file {script!r} in model {model.model_name} v{model.version} "
                    f"(paths are relative to the model directory; {hint})"
                )
                problems.append(FieldError(path, script, msg))
        return problems + self._environment_errors(spec, Path(model.storage_path))

    def _environment_errors(self, spec: DeploymentSpec, model_dir: Path) -> list[FieldError]:
        """Unknown base environments and malformed requirements (resolution runs in the
        controller, right after the deployment is stored)."""
        errors = []
        for component in spec.components():
            try:
                environment_request(self._catalogue(), spec, component, model_dir)
            except InvalidSpec as exc:
                item = (exc.details.get("errors") or [{}])[0]
                path = str(item.get("field", f"{component.value}.environment"))
                value = item.get("value", base_of(spec, component))
                errors.append(FieldError(path, value, exc.message))
        return errors
