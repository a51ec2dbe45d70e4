"""The node's GPUs and which replica holds each one (exclusive assignment).

The LOCAL backend hands devices to replicas through ``CUDA_VISIBLE_DEVICES`` (set by
:mod:`shipyard.backends.limits.enforcement`); a device belongs to at most one replica at a time.
The inventory comes from a setting (``SHIPYARD_GPUS="0,1"``) or from ``nvidia-smi -L``.
Allocation is pure bookkeeping, safe to call from several threads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Sequence

from shipyard.errors import ModelServeError

_NVIDIA_SMI_LINE = re.compile(r"^GPU (\d+):", re.MULTILINE)


class InsufficientGpus(ModelServeError):
    """A replica asks for more GPUs than are free on this node."""


def parse_gpu_list(text: str) -> list[str]:
    """``"0, 1"`` -> ``["0", "1"]`` (empty items dropped, order kept, duplicates removed)."""
    return list(dict.fromkeys(item.strip() for item in text.split(",") if item.strip()))


def parse_nvidia_smi(text: str) -> list[str]:
    """Device indices from ``nvidia-smi -L`` (``GPU 0: NVIDIA A100 (UUID: GPU-...)``)."""
    return _NVIDIA_SMI_LINE.findall(text)


def _nvidia_smi_output() -> str:
    binary = shutil.which("nvidia-smi")
    if binary is None:
        return ""
    try:
        done = subprocess.run(
            [binary, "-L"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


class GpuInventory:
    """The devices of one node and their exclusive holders."""

    def __init__(self, devices: Sequence[str]) -> None:
        self.devices: tuple[str, ...] = tuple(dict.fromkeys(devices))
        self._held: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    @classmethod
    def detect(
        cls, setting: str | None = None, *, list_gpus: Callable[[], str] = _nvidia_smi_output
    ) -> GpuInventory:
        """From the setting when given (``""`` = no GPUs), else from ``nvidia-smi -L``."""
        if setting is not None:
            return cls(parse_gpu_list(setting))
        return cls(parse_nvidia_smi(list_gpus()))

    def _free_locked(self) -> list[str]:
        taken = {d for devices in self._held.values() for d in devices}
        return [d for d in self.devices if d not in taken]

    def free(self) -> list[str]:
        """Devices no replica holds, in inventory order."""
        with self._lock:
            return self._free_locked()

    def held(self) -> dict[str, list[str]]:
        """Replica id -> its devices."""
        with self._lock:
            return {r: list(d) for r, d in self._held.items()}

    def allocate(self, replica_id: str, count: int) -> list[str]:
        """Give ``count`` free devices to ``replica_id`` (the same ones again if it holds them).

        Raises:
            InsufficientGpus: fewer than ``count`` devices are free.
        """
        with self._lock:
            current = self._held.get(replica_id, [])
            if len(current) == count:
                return list(current)
            free = current + self._free_locked()
            if count > len(free):
                raise InsufficientGpus(
                    f"insufficient GPUs: requested {count}, {len(free)} free of "
                    f"{len(self.devices)}",
                    details={"requested": count, "free": len(free), "total": len(self.devices)},
                )
            chosen = sorted(free[:count], key=self.devices.index)
            if chosen:
                self._held[replica_id] = chosen
            else:
                self._held.pop(replica_id, None)
            return list(chosen)

    def restore(self, replica_id: str, devices: Sequence[str]) -> list[str]:
        """Record devices an adopted replica already uses; returns those it may keep.

        A device unknown to the inventory or held by another replica is not given.
        """
        with self._lock:
            free = set(self._free_locked()) | set(self._held.get(replica_id, []))
            kept = [d for d in devices if d in free]
            if kept:
                self._held[replica_id] = kept
            return kept

    def release(self, replica_id: str) -> None:
        """Free the devices of ``replica_id`` (nothing happens if it holds none)."""
        with self._lock:
            self._held.pop(replica_id, None)
