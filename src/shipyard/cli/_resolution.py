"""How the CLI shows what a serving tool applies: one table per component, warnings in yellow.

``shipyard deploy --dry-run`` prints the tables (stdout) and the warnings (stderr); a real
``deploy``/``deployments create`` prints only the warnings. Units are always written out:
cores (with the Kubernetes millicpu quantity) and MiB.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from shipyard.cli._options import cli_terms
from shipyard.cli._render import err, out
from shipyard.spec.resources import Resources
from shipyard.spec.tools import CAPABILITIES, Resolution, ResolvedComponent
from shipyard.spec.units import cores_text, cores_to_quantity, memory_text

NOT_APPLIED = "not applied"


def _cells(r: Resources | None) -> tuple[str, str, str]:
    if r is None:
        return NOT_APPLIED, NOT_APPLIED, NOT_APPLIED
    cpu = f"{cores_text(r.cores)} ({cores_to_quantity(r.cores)})"
    return cpu, memory_text(r.memory), str(r.gpus)


def component_table(component: ResolvedComponent) -> Table:
    """``RESOURCE / REQUEST / LIMIT`` rows (cpu, memory, gpus) of one resolved component."""
    table = Table("RESOURCE", "REQUEST", "LIMIT", box=None, pad_edge=False)
    requests, limits = _cells(component.requests), _cells(component.limits)
    for row, name in enumerate(("cpu", "memory", "gpus")):
        table.add_row(name, requests[row], limits[row])
    return table


def instances_text(instances: int) -> str:
    if instances == 0:
        return "0 instances (scale to zero when idle)"
    return f"{instances} instance" + ("" if instances == 1 else "s")


def print_resolution(name: str, resolution: Resolution) -> None:
    """Print, per component, what ``resolution.serving_tool`` applies (stdout)."""
    console = out()
    tool = resolution.serving_tool
    caps = CAPABILITIES[tool]
    console.print(
        Text(f"dry run: deployment {name} on {tool.value} (nothing was created or started)")
    )
    console.print(
        Text(
            f"  {tool.value} resources: {caps.resources.text}, autoscaling: "
            f"{'yes' if caps.autoscaling else 'no'}, inference batching: {caps.batching.value}",
            style="dim",
        )
    )
    for component in resolution.components:
        console.print()
        console.print(Text(f"{component.component.value}: {instances_text(component.instances)}"))
        console.print(component_table(component))
        console.print(Text(f"  applied: {component.applied}", style="dim"))


def print_warnings(resolution: Resolution | None) -> None:
    """Print each warning of ``resolution`` as one yellow line on stderr."""
    console = err()
    for warning in resolution.warnings if resolution is not None else []:
        line = f"warning: {cli_terms(warning.field)}: {cli_terms(warning.message)}"
        console.print(Text(line, style="yellow"))
