"""Headers shared by the gateway and the replica runtime, and the rule for header values.

:data:`STAGE_HEADER` is how the gateway tells a transformer replica which step a request is;
:data:`HOP_BY_HOP` are never forwarded. :func:`valid_value` (HTTP's own rule, kept in
:mod:`shipyard.http1.messages`) is checked before a value is forwarded or written (no CR, LF, NUL
or other controls but tab), so no caller can smuggle a header line through either hop.
"""

from __future__ import annotations

from shipyard.http1.messages import valid_name, valid_value

__all__ = ["HOP_BY_HOP", "STAGE_HEADER", "valid_name", "valid_value"]

STAGE_HEADER = b"x-shipyard-stage"
"""Set by the gateway on a transformer's requests: ``preprocess`` or ``postprocess``."""

HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"trailers",
        b"transfer-encoding",
        b"upgrade",
    }
)
"""Headers of one connection only (RFC 9110 section 7.6.1)."""
