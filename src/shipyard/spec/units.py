"""Exact unit conversions between the resource units users bring and the ones we store.

Shipyard stores CPU as ``cores`` (a float that is always a whole number of millicpus, so
``0.25``, never ``0.2500000001``) and memory as MiB (an int). Fiddler's ``cpu`` is in millicpus
and its ``memory`` in MiB; Kubernetes wants quantities (``"250m"``, ``"512Mi"``). Every
conversion goes through the integer number of millicpus, so nothing drifts:
``millicpus_to_cores(250) == 0.25`` and ``cores_to_quantity(0.25) == "250m"``.

Pure functions, no I/O; used by ``spec.validation``, ``spec.tools``, the SDK and the backends.
"""

from __future__ import annotations

MILLICPUS_PER_CORE = 1000
# How far (in millicpus) a float may sit from a whole millicpu and still count as one:
# absorbs binary rounding such as 0.1 + 0.2 == 0.30000000000000004, nothing more.
_TOLERANCE_MILLICPUS = 1e-6


def millicpus_to_cores(millicpus: int) -> float:
    """Cores from millicpus, exactly: ``250 -> 0.25``, ``1 -> 0.001``, ``1500 -> 1.5``.

    The result is the float nearest to ``millicpus / 1000``, which converts back to the same
    integer with ``cores_to_millicpus``.
    """
    return millicpus / MILLICPUS_PER_CORE


def cores_to_millicpus(cores: float) -> int:
    """The whole number of millicpus nearest to ``cores`` (``0.25 -> 250``)."""
    return round(cores * MILLICPUS_PER_CORE)


def is_whole_millicpus(cores: float) -> bool:
    """Whether ``cores`` is a whole number of millicpus (a multiple of 0.001 cores)."""
    return abs(cores * MILLICPUS_PER_CORE - cores_to_millicpus(cores)) <= _TOLERANCE_MILLICPUS


def normalize_cores(cores: float) -> float:
    """``cores`` snapped to its whole number of millicpus (``0.30000000000000004 -> 0.3``)."""
    return millicpus_to_cores(cores_to_millicpus(cores))


def cores_to_quantity(cores: float) -> str:
    """A Kubernetes CPU quantity, always in millicpus: ``0.25 -> "250m"``, ``2 -> "2000m"``."""
    return f"{cores_to_millicpus(cores)}m"


def mib_to_quantity(mib: int) -> str:
    """A Kubernetes memory quantity: ``512 -> "512Mi"``."""
    return f"{mib}Mi"


def cores_text(cores: float) -> str:
    """Cores for people, exact to the millicpu: ``"1 core"``, ``"0.25 cores"``, ``"1.5 cores"``."""
    millicpus = cores_to_millicpus(cores)
    whole, milli = divmod(abs(millicpus), MILLICPUS_PER_CORE)
    number = f"{whole}.{milli:03d}".rstrip("0") if milli else str(whole)
    number = f"-{number}" if millicpus < 0 else number
    return f"{number} core" if number == "1" else f"{number} cores"


def memory_text(mib: int) -> str:
    """Memory for people: ``"512 MiB"``."""
    return f"{mib} MiB"
