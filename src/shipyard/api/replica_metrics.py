"""The replicas' own metrics, gathered into the control plane's ``/metrics`` at each scrape.

Local replicas listen on Unix sockets, which Prometheus cannot reach: the control plane asks
each ready replica of the routing table for its ``GET /metrics`` (``shipyard.runtime.metrics``,
short timeout; a replica that does not answer is skipped) and renders their samples as one set
of families, each sample labelled with the project and the replica (``<component>-<index>``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from shipyard.wire.addresses import parse_address, split_url
from shipyard.wire.replica_token import HEADER, ReplicaTokens

_FAMILY = re.compile(r"^# (HELP|TYPE) (\S+)")
_PREFIX = "shipyard_replica_"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _fetch(url: str, token: bytes, timeout_s: float) -> str | None:
    """A replica's ``/metrics`` text, or None when it cannot be had (``token``: its project's
    admission token, which local replicas ask of every caller)."""
    headers = {HEADER.decode(): token.decode()}
    try:
        base, _ = split_url(url)
        address = parse_address(base)
        if address.unix:
            transport = httpx.HTTPTransport(uds=address.host)
            with httpx.Client(transport=transport, timeout=timeout_s, trust_env=False) as client:
                answer = client.get("http://localhost/metrics", headers=headers)
        else:
            answer = httpx.get(
                base + "/metrics", headers=headers, timeout=timeout_s, trust_env=False
            )
    except (httpx.HTTPError, ValueError, OSError):
        return None
    return answer.text if answer.status_code == 200 else None


def _replicas(snapshot: dict[str, Any]) -> Iterator[tuple[str, str, str]]:
    """``(project, replica label, URL)`` of every ready replica in a routing table."""
    for entry in snapshot.get("deployments") or []:
        for component in ("predictor", "transformer"):
            for index, url in enumerate(entry.get(component) or []):
                yield str(entry.get("project_id", "")), f"{component}-{index}", str(url)


def merge(texts: Iterable[tuple[str, str, str]]) -> bytes:
    """One exposition of ``(project, replica, text)`` outputs: families once, labels added."""
    headers: dict[str, list[str]] = {}
    samples: dict[str, list[str]] = {}
    for project, replica, text in texts:
        extra = f'project="{_escape(project)}",replica="{_escape(replica)}"'
        family = ""
        for line in text.splitlines():
            found = _FAMILY.match(line)
            if found:
                family = found.group(2)
                lines = headers.setdefault(family, [])
                if len(lines) < 2:
                    lines.append(line)
                continue
            if not line.startswith(_PREFIX):
                continue  # only the replicas' own families
            name, brace, rest = line.partition("{")
            if brace:
                labelled = f"{name}{{{extra},{rest}"
            else:
                name, _, value = line.partition(" ")
                labelled = f"{name}{{{extra}}} {value}"
            samples.setdefault(family or name, []).append(labelled)
    out: list[str] = []
    for family, lines in samples.items():
        out += headers.get(family, []) + lines
    return ("\n".join(out) + "\n").encode() if out else b""


def replica_metrics(snapshot: dict[str, Any], secret: str, timeout_s: float = 1.0) -> bytes:
    """The ready replicas' metrics of a routing-table snapshot, merged (``secret``: the server's
    internal token, from which each project's replica token derives)."""
    tokens = ReplicaTokens(secret)
    texts = (
        (project, replica, text)
        for project, replica, url in _replicas(snapshot)
        if (text := _fetch(url, tokens(project), timeout_s)) is not None
    )
    return merge(texts)
