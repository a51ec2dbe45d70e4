"""Replica addresses as URLs: TCP (``http://host:port``) or a Unix socket on this machine.

A Unix socket is written ``http+unix://<socket path, percent-encoded>`` (the form of
``requests-unixsocket`` and others): the whole path is one URL authority, so a request target
can follow it as it follows ``host:port``. The local backend publishes its replicas this way
(contract section 2) and the gateway's client connects accordingly.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

UNIX_SCHEME = "http+unix://"


def unix_url(path: str) -> str:
    """The URL of an HTTP server listening on the Unix socket at ``path``."""
    return UNIX_SCHEME + quote(path, safe="")


@dataclass(frozen=True, slots=True)
class Address:
    """Where a server listens: a TCP host and port, or a Unix socket path (``port`` -1)."""

    host: str
    port: int
    header: str
    """The ``host`` header to send it."""

    @property
    def unix(self) -> bool:
        return self.port < 0

    def __str__(self) -> str:
        return self.host if self.unix else f"{self.host}:{self.port}"


def split_url(url: str) -> tuple[str, str]:
    """``(base, target)`` of an ``http://`` or ``http+unix://`` URL: the scheme and authority,
    then the rest (``/`` if none).

    Raises:
        ValueError: another scheme.
    """
    for scheme in ("http://", UNIX_SCHEME):
        if url.startswith(scheme):
            slash = url.find("/", len(scheme))
            if slash < 0:
                return url, "/"
            return url[:slash], url[slash:]
    raise ValueError(f"not an http:// or {UNIX_SCHEME} URL: {url[:80]!r}")


def parse_address(base: str) -> Address:
    """The address of a ``base`` returned by :func:`split_url`."""
    if base.startswith(UNIX_SCHEME):
        return Address(unquote(base[len(UNIX_SCHEME) :]), -1, "localhost")
    authority = base[len("http://") :]
    host, colon, port = authority.rpartition(":")
    if not colon or not port.isdigit() or host.endswith(":"):  # no port, or a bare IPv6
        host, port = authority, "80"
    return Address(host.strip("[]") or "127.0.0.1", int(port), authority)
