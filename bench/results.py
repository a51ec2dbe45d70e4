"""Everything one run measured, as one value, written to ``bench/results.json``."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.baseline import Bare
from bench.envbuild import EnvBuilds
from bench.grpc_bench import GrpcRun
from bench.interleave import Interleaved
from bench.load import LoadResult
from bench.logging_cost import LoggingCost
from bench.machine import Machine
from bench.measure import TargetResult
from bench.model import Floor
from bench.pending import NotMeasured
from bench.settings import RunSettings


@dataclass(frozen=True)
class Skipped:
    """A target that could not be measured, and why."""

    name: str
    reason: str


@dataclass
class Results:
    """One bench run."""

    date: str
    command: str
    wall_s: float
    settings: RunSettings
    machine: Machine
    versions: dict[str, dict[str, str]]
    """Per target: the packages that matter and their installed versions."""
    install_s: dict[str, float]
    frozen: dict[str, dict[str, str]]
    """Per target: every installed distribution and its version (``uv pip freeze``)."""
    floor: Floor
    bare: dict[str, Bare]
    """Per target: the bare process on the interpreter of its workers."""
    targets: list[TargetResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    pending: list[NotMeasured] = field(default_factory=list)
    interleaved: list[Interleaved] = field(default_factory=list)
    """The headline comparisons measured again with the targets taking turns (one entry per
    concurrency); empty when Shipyard or every V1 peer is missing."""
    environment_builds: EnvBuilds | None = None
    """Shipyard's environment builds (cold, warm uv cache, reuse) and plain pip's; None when no
    Shipyard target ran."""
    grpc: list[GrpcRun] = field(default_factory=list)
    """V2 over gRPC of Shipyard and KServe (``bench.grpc_bench``)."""
    inference_logging: LoggingCost | None = None
    """Inference logging off / to a file / to HTTP (``bench.logging_cost``); None: not run."""

    def target(self, name: str) -> TargetResult | None:
        return next((t for t in self.targets if t.name == name), None)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, LoadResult):  # its derived figures too
            data["errors"] = value.errors
            data["wrk_cpu_share"] = value.wrk_cpu_share
        return data
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def write_json(results: Results, path: Path) -> None:
    """Write ``results`` as indented JSON."""
    path.write_text(json.dumps(_plain(results), indent=2) + "\n")
