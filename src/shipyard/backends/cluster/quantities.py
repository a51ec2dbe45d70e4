"""Kubernetes quantities read back from the API (metrics, limits): ``"250m"``, ``"12345n"``,
``"512Mi"``, ``"1G"`` -> cores and bytes (pure)."""

from __future__ import annotations

import re

_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_CPU = {"n": 1e-9, "u": 1e-6, "m": 1e-3, "": 1.0, "k": 1e3}
_MEMORY = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
}


def _split(quantity: str, units: dict[str, float] | dict[str, int]) -> tuple[float, float]:
    match = _QUANTITY.match(quantity.strip())
    if not match or match.group(2) not in units:
        raise ValueError(f"not a Kubernetes quantity: {quantity!r}")
    return float(match.group(1)), float(units[match.group(2)])


def cpu_cores(quantity: str) -> float:
    """``"250m" -> 0.25``, ``"1500000n" -> 0.0015``, ``"2" -> 2.0``."""
    number, unit = _split(quantity, _CPU)
    return number * unit


def memory_bytes(quantity: str) -> int:
    """``"512Mi" -> 536870912``, ``"1G" -> 1000000000``."""
    number, unit = _split(quantity, _MEMORY)
    return round(number * unit)
