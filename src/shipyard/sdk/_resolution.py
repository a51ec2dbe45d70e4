"""What the serving tool applies, as the server reports it, and how the SDK surfaces warnings.

Every ``Deployment`` answer carries a ``resolution`` (``shipyard.spec.tools.Resolution``): the
requests, limits and instances the chosen serving tool applies per component, and a warning for
each field it applies differently from the spec (e.g. DOCKER raising the request to the limit).
The SDK turns those warnings into ``ShipyardWarning`` (``warnings.warn``) on ``save()`` and
``dry_run()``, so nothing a tool changes goes unnoticed.
"""

from __future__ import annotations

import warnings
from typing import Any

from shipyard.sdk._components import parse_answer
from shipyard.spec.tools import Resolution


class ShipyardWarning(UserWarning):
    """A setting is applied differently from how it was written (see the message)."""


def parse_resolution(body: dict[str, Any]) -> Resolution | None:
    """The ``resolution`` of a ``Deployment`` answer; None if the server sent none."""
    data = body.get("resolution")
    return None if data is None else parse_answer(Resolution, data, "deployment resolution")


def warn_about(resolution: Resolution | None, deployment: str, stacklevel: int = 3) -> None:
    """Emit one ``ShipyardWarning`` per warning of ``resolution``."""
    for warning in resolution.warnings if resolution is not None else []:
        message = f"deployment {deployment!r}: {warning.field}: {warning.message}"
        warnings.warn(message, ShipyardWarning, stacklevel=stacklevel)
