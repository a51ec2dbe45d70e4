"""Replica logs as the API returns them (``GET /deployments/{name}/logs``)."""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.errors import InvalidInput
from shipyard.sdk._http import Connection
from shipyard.spec.deployment import Component


@dataclass(frozen=True)
class LogLine:
    """One line of a replica's log."""

    replica: str
    stream: str
    line: str


def fetch_logs(connection: Connection, url: str, component: str, tail: int) -> list[LogLine]:
    """The last ``tail`` lines of each replica of ``component`` from the logs endpoint ``url``.

    Raises:
        InvalidInput: Unknown component.
    """
    try:
        kind = Component(component)
    except ValueError:
        raise InvalidInput(
            f"unknown component {component!r}: use predictor or transformer"
        ) from None
    body = connection.json("GET", url, params={"component": kind.value, "tail": tail})
    return [
        LogLine(str(item.get("replica", "")), str(item.get("stream", "")), str(item["line"]))
        for item in body.get("lines", [])
    ]


def format_lines(lines: list[LogLine]) -> list[str]:
    """Lines for display: prefixed with ``[replica]`` when they come from several replicas."""
    several = len({line.replica for line in lines}) > 1
    return [f"[{line.replica}] {line.line}" if several else line.line for line in lines]
