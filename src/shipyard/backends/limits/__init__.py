"""Resource limits of LOCAL replicas: cgroups beneath our own (v2, else v1), else best-effort.

The LOCAL backend uses only what is exported here: :func:`detect_enforcer` once at start-up,
then one :class:`Enforcement` per replica from :meth:`Enforcer.prepare`.
"""

from __future__ import annotations

from shipyard.backends.limits.cgroups import CgroupError
from shipyard.backends.limits.enforcement import Enforcement, Enforcer, detect_enforcer
from shipyard.backends.limits.usage import OOM_REASON, ReplicaUsage

__all__ = [
    "OOM_REASON",
    "CgroupError",
    "Enforcement",
    "Enforcer",
    "ReplicaUsage",
    "detect_enforcer",
]
