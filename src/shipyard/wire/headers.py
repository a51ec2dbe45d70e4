"""Headers shared by the gateway and the replica runtime, and the rule for header values.

:data:`STAGE_HEADER` is how the gateway tells a transformer replica which step a request is;
:data:`HOP_BY_HOP` are never forwarded. :func:`valid_value` is checked before a value is
forwarded or written (RFC 9110 section 5.5: no CR, LF, NUL or other controls but tab), so no
caller can smuggle a header line through either hop. Standard library only.
"""

from __future__ import annotations

import re

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

_INVALID_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def valid_value(value: bytes) -> bool:
    """Whether ``value`` may stand as a header value (visible bytes, spaces and tabs)."""
    return _INVALID_VALUE.search(value) is None


def valid_name(name: bytes) -> bool:
    """Whether ``name`` is a header name (an RFC 9110 token)."""
    return _TOKEN.fullmatch(name) is not None
