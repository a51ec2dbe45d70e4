"""Everything the CLI prints: error lines, tables, and the live status line of a wait.

Results go to stdout; errors, progress and live status go to stderr (so stdout can be piped).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table
from rich.text import Text

from shipyard.cli._options import cli_terms
from shipyard.errors import InvalidInput, ShipyardError
from shipyard.sdk import Deployment, Revision
from shipyard.spec.status import ConditionStatus, DeploymentStatus, ReplicaExit

STATE_STYLES = {"RUNNING": "green", "FAILED": "red", "STOPPED": "dim", "IDLE": "cyan"}


def out() -> Console:
    """The console for results (stdout); tables are not cut to 80 columns when piped."""
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = 1000
    return console


def _table(*headers: str) -> Table:
    return Table(*headers, box=None, pad_edge=False)


def err() -> Console:
    """The console for errors, progress and live status (stderr)."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def print_error(exc: ShipyardError) -> None:
    """Print ``error: <message>`` in red on stderr (no traceback), in the CLI's terms
    (``--limit-memory``, not ``limits.memory``)."""
    err().print(Text(f"error: {cli_terms(exc.message)}", style="red"))


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON on stdout (``--json``)."""
    typer.echo(json.dumps(data, indent=2, default=str))


def deployment_json(deployment: Deployment) -> dict[str, Any]:
    """A deployment as the API describes it: spec, status, endpoints, resolution."""
    return {
        "name": deployment.name,
        "revision": deployment.revision,
        "active": deployment.active,
        "spec": deployment.predictor.to_spec().model_dump(mode="json"),
        "status": deployment.status.model_dump(mode="json") if deployment.status else None,
        "endpoints": deployment.endpoints,
        "resolution": (
            deployment.resolution.model_dump(mode="json") if deployment.resolution else None
        ),
        "created_at": deployment.created_at,
        "updated_at": deployment.updated_at,
    }


def revision_json(revision: Revision) -> dict[str, Any]:
    """One revision of a deployment's spec, as JSON data."""
    return revision.model_dump(mode="json")


def read_json_arg(value: str, option: str) -> Any:
    """Decode a JSON option value, or the JSON file named by ``@path``.

    Raises:
        InvalidInput: The file cannot be read or the text is not JSON.
    """
    text = value
    if value.startswith("@"):
        try:
            text = Path(value[1:]).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"{option}: cannot read {value[1:]!r}: {exc.strerror}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{option} is not valid JSON: {exc}") from None


def state_text(state: str) -> Text:
    return Text(state, style=STATE_STYLES.get(state, "yellow"))


def ready_text(status: DeploymentStatus, desired: Mapping[str, int]) -> str:
    """``1/2 predictor ready, 1/1 transformer ready``."""
    parts = [
        f"{status.available_instances.get(str(c), 0)}/{n} {c} ready" for c, n in desired.items()
    ]
    return ", ".join(parts) or "no instances"


def latest_condition(status: DeploymentStatus) -> str:
    """The first condition that is not True (what is being waited for), else the last one."""
    if not status.conditions:
        return status.message
    pending = [c for c in status.conditions if c.status is not ConditionStatus.TRUE]
    cond = pending[0] if pending else status.conditions[-1]
    text = f"{cond.type}={cond.status}" + (f" {cond.reason}" if cond.reason else "")
    return text + (f": {cond.message}" if cond.message else "")


def desired_instances(deployment: Deployment) -> dict[str, int]:
    spec = deployment.predictor.to_spec()
    return {str(c): n for c, n in spec.components().items()}


class LiveStatus:
    """Shows a deployment's state while the SDK waits: a spinner line on a terminal, else one
    line on stderr each time the state or ready count changes. Use as the ``on_status`` hook.
    """

    def __init__(self, deployment: Deployment, action: str) -> None:
        self._name = deployment.name
        self._desired = desired_instances(deployment)
        self._action = action
        self._console = err()
        self._status: Status | None = None
        self._last = ""

    def __enter__(self) -> LiveStatus:
        if self._console.is_terminal:
            self._status = self._console.status(f"{self._action} {self._name}...")
            self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def __call__(self, status: DeploymentStatus) -> None:
        line = cli_terms(
            f"{self._name}: {status.state} · {ready_text(status, self._desired)}"
            f" · {latest_condition(status)}"
        )
        if self._status is not None:
            self._status.update(Text(line))
        elif line != self._last:
            self._console.print(Text(line, style="dim"))
        self._last = line


def exit_text(last: ReplicaExit | None) -> str:
    if last is None:
        return ""
    parts = [last.reason or "exited"]
    if last.code is not None:
        parts.append(f"code {last.code}")
    if last.signal is not None:
        parts.append(f"signal {last.signal}")
    return " ".join(parts) + (f": {cli_terms(last.message)}" if last.message else "")


def deployment_summary(deployment: Deployment) -> None:
    """Print a deployment's state, revision, model and endpoints."""
    status = deployment.status or DeploymentStatus()
    spec = deployment.predictor
    console = out()
    line = Text(f"deployment {deployment.name}: ")
    line.append_text(state_text(str(status.state)))
    line.append(f" (revision {deployment.revision}, model {spec.model_name}:{spec.model_version})")
    console.print(line)
    if status.message:
        console.print(Text(f"  {cli_terms(status.message)}"))
    for protocol, url in sorted(deployment.endpoints.items()):
        console.print(Text(f"  {protocol}: {url}"))
    for name, url in sorted(status.addresses.items()):  # a cluster tool's own addresses
        console.print(Text(f"  direct {name}: {url}"))


def rows_table(rows: Sequence[Sequence[str]], *headers: str) -> Table:
    """A plain table of text rows."""
    table = _table(*headers)
    for row in rows:
        table.add_row(*row)
    return table


def deployments_table(deployments: list[Deployment]) -> Table:
    table = _table("NAME", "STATE", "READY", "MODEL", "REVISION", "V1 ENDPOINT")
    for d in deployments:
        status = d.status or DeploymentStatus()
        table.add_row(
            d.name,
            state_text(str(status.state)),
            ready_text(status, desired_instances(d)),
            f"{d.predictor.model_name}:{d.predictor.model_version}",
            str(d.revision),
            d.endpoints.get("v1", ""),
        )
    return table


def conditions_table(status: DeploymentStatus) -> Table:
    table = _table("CONDITION", "STATUS", "REASON", "MESSAGE")
    for c in status.conditions:
        style = {"True": "green", "False": "red"}.get(str(c.status), "yellow")
        table.add_row(str(c.type), Text(str(c.status), style=style), c.reason, cli_terms(c.message))
    return table


def replicas_table(status: DeploymentStatus) -> Table:
    table = _table("REPLICA", "COMPONENT", "SLOT", "REV", "PHASE", "PID", "RESTARTS", "LAST EXIT")
    for r in status.replicas:
        table.add_row(
            r.id,
            r.component,
            str(r.slot),
            str(r.revision),
            str(r.phase),
            str(r.pid or ""),
            str(r.restarts),
            exit_text(r.last_exit),
        )
    return table


def _amount(value: object, unit: str, digits: int = 0) -> str:
    if not isinstance(value, int | float):
        return "-"
    return f"{value:.{digits}f}{unit}"


def usage_table(status: DeploymentStatus) -> Table | None:
    """CPU (cores) and memory (MiB) in use per replica, against its request and limit."""
    rows = [r for r in status.replicas if r.usage is not None]
    if not rows:
        return None
    table = _table("REPLICA", "CPU", "CPU REQ/LIM", "MEMORY", "PEAK", "MEM REQ/LIM", "ENFORCED BY")
    for r in rows:
        u = r.usage
        assert u is not None
        req, lim = u.requests, u.limits
        req_cores, lim_cores = _amount(req and req.cores, "", 2), _amount(lim and lim.cores, "", 2)
        req_mem, lim_mem = _amount(req and req.memory, ""), _amount(lim and lim.memory, "")
        table.add_row(
            r.id,
            _amount(u.cpu_cores, " cores", 2),
            f"{req_cores} / {lim_cores}",
            _amount(u.memory_mb, " MB"),
            _amount(u.memory_peak_mb, " MB"),
            f"{req_mem} / {lim_mem} MB",
            u.enforcement or "-",
        )
    return table


def environments_table(status: DeploymentStatus) -> Table | None:
    """What each component runs in: base, phase, key, locked packages, progress or failure."""
    if not status.environments:
        return None
    table = _table("COMPONENT", "ENVIRONMENT", "PHASE", "KEY", "PACKAGES", "DETAIL")
    for component, env in status.environments.items():
        detail = env.message
        if env.reused:
            detail = "reused an existing environment"
        table.add_row(
            component,
            env.base or "server interpreter",
            str(env.phase),
            env.key or "-",
            str(len(env.packages)) if env.packages else "-",
            detail,
        )
    return table


def when_text(moment: datetime) -> str:
    """A moment for tables, in UTC to the second: ``2025-01-01 12:00:05``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def print_changes(name: str, revision: int, what: str, changes: Sequence[str]) -> None:
    """Print a new revision and the fields it changed, one ``path: old -> new`` line each."""
    console = out()
    console.print(Text(f"deployment {name}: revision {revision} ({what})"))
    for line in changes:
        console.print(Text(f"  {line}"))
