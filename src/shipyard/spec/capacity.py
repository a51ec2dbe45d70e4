"""What a node offers (``Capacity``) and what a replica asks of it (``Demand``).

Units as everywhere: cores (fractional), memory in MiB, whole GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.spec.resources import Resources


@dataclass(frozen=True)
class Demand:
    """Requested cores, memory (MiB) and GPUs of one replica."""

    cores: float = 0.0
    memory: int = 0
    gpus: int = 0

    @classmethod
    def of(cls, requests: Resources) -> Demand:
        return cls(cores=requests.cores, memory=requests.memory, gpus=requests.gpus)

    def __add__(self, other: Demand) -> Demand:
        return Demand(self.cores + other.cores, self.memory + other.memory, self.gpus + other.gpus)


@dataclass(frozen=True)
class Capacity:
    """What the node offers: cores, memory in MiB, GPUs."""

    cores: float
    memory: int
    gpus: int

    def describe(self) -> str:
        return f"{self.cores:g} cores, {self.memory} MiB, {self.gpus} GPUs"
