"""What a node offers (``Capacity``) and what a replica asks of it (``Demand``).

Units as everywhere: cores (fractional), memory in MiB, whole GPUs.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard.spec.resources import Resources
from shipyard.spec.units import cores_text, memory_text


def gpus_text(gpus: int) -> str:
    """``"1 GPU"``, ``"2 GPUs"``, ``"0 GPUs"``."""
    return f"{gpus} GPU" if gpus == 1 else f"{gpus} GPUs"


def cores_number(cores: float) -> str:
    """Cores as a number exact to the millicpu, never a float residue (``"0.1"``, ``"0"``)."""
    return cores_text(max(0.0, cores)).split()[0]


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

    def __mul__(self, times: int) -> Demand:
        return Demand(self.cores * times, self.memory * times, self.gpus * times)

    def describe(self) -> str:
        """``"1.5 cores, 512 MiB"`` (GPUs only when there are some)."""
        parts = [cores_text(self.cores), memory_text(self.memory)]
        return ", ".join(parts + ([gpus_text(self.gpus)] if self.gpus else []))


@dataclass(frozen=True)
class Capacity:
    """What the node offers: cores, memory in MiB, GPUs."""

    cores: float
    memory: int
    gpus: int

    def describe(self) -> str:
        return f"{cores_text(self.cores)}, {memory_text(self.memory)}, {gpus_text(self.gpus)}"
