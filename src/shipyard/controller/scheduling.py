"""Pure admission of replica starts against the node's capacity (the LOCAL backend's node).

A replica is started only when its *requests* fit in what the node has left once every live
replica's requests are counted (limits are enforced, not reserved — as Kubernetes does).
What does not fit waits, with a reason that names the resource, the request and what is free;
the next pass tries again, so it starts by itself once capacity frees up.
"""

from __future__ import annotations

from collections.abc import Iterable

from shipyard.spec.capacity import Capacity, Demand, cores_number
from shipyard.spec.units import cores_text

__all__ = ["Capacity", "Demand", "never_fits", "shortfall", "total"]
_EPS = 1e-9


def total(demands: Iterable[Demand]) -> Demand:
    out = Demand()
    for demand in demands:
        out = out + demand
    return out


def shortfall(capacity: Capacity, allocated: Demand, demand: Demand) -> str | None:
    """Why ``demand`` does not fit next to ``allocated`` (None when it fits)."""
    reasons = []
    free_cores = capacity.cores - allocated.cores
    if demand.cores > free_cores + _EPS:
        reasons.append(
            f"insufficient cpu: requested {cores_text(demand.cores)}, "
            f"{cores_number(free_cores)} free"
        )
    free_memory = capacity.memory - allocated.memory
    if demand.memory > free_memory:
        reasons.append(
            f"insufficient memory: requested {demand.memory} MiB, {max(0, free_memory)} MiB free"
        )
    free_gpus = capacity.gpus - allocated.gpus
    if demand.gpus > free_gpus:
        reasons.append(f"insufficient GPUs: requested {demand.gpus}, {max(0, free_gpus)} free")
    return "; ".join(reasons) or None


def never_fits(capacity: Capacity, demand: Demand) -> str | None:
    """Why ``demand`` could not fit even on an empty node (None when it could)."""
    reason = shortfall(capacity, Demand(), demand)
    if reason is None:
        return None
    return f"{reason.replace(' free', ' in all on this node')} (node: {capacity.describe()})"
