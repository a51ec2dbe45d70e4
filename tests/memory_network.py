"""An in-memory network for the gateway's unit tests: real client, real server, no sockets.

:class:`MemoryNetwork.connect` is a :data:`shipyard.gateway.upstream.Connect`: it pairs the
gateway's own upstream protocol with a server-side protocol (an :class:`HttpServer`'s connection,
or any protocol a test wants, such as one that drops the connection) through two in-memory
transports. Bytes written on one side arrive on the other on the loop's next turn, in order;
closing one side closes the other after what was written arrived. Hosts the test does not
list refuse the connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from shipyard.wire.addresses import Address

ServerSide = Callable[[], asyncio.Protocol]


class _End(asyncio.Transport):
    """One end of an in-memory connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.Protocol) -> None:
        super().__init__()
        self._loop = loop
        self._protocol = protocol
        self._closing = False
        self.peer: _End | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._closing and self.peer is not None:
            self._loop.call_soon(self.peer._deliver, bytes(data))

    def _deliver(self, data: bytes) -> None:
        if not self._closing:
            self._protocol.data_received(data)

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._loop.call_soon(self._protocol.connection_lost, None)
        if self.peer is not None:
            self._loop.call_soon(self.peer._peer_closed)

    def abort(self) -> None:
        self.close()

    def _peer_closed(self) -> None:
        if self._closing:
            return
        if not self._protocol.eof_received():
            self.close()

    def write_eof(self) -> None:
        if self.peer is not None:
            self._loop.call_soon(self.peer._peer_closed)

    def can_write_eof(self) -> bool:
        return True

    def is_closing(self) -> bool:
        return self._closing

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return not self._closing

    def get_write_buffer_size(self) -> int:
        return 0

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default


class Dropper(asyncio.Protocol):
    """A server side that closes the connection as soon as a request arrives (a crash)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.close()


class MemoryNetwork:
    """Hosts reachable in memory, by the host name of their address."""

    def __init__(self, lookup: Callable[[str], ServerSide | None]) -> None:
        self._lookup = lookup
        self.connections = 0

    async def connect(self, address: Address, factory: Callable[[], asyncio.Protocol]) -> Any:
        server_side = self._lookup(address.host)
        if server_side is None:
            raise ConnectionRefusedError(f"connection to {address} refused")
        loop = asyncio.get_running_loop()
        client, server = factory(), server_side()
        near, far = _End(loop, client), _End(loop, server)
        near.peer, far.peer = far, near
        server.connection_made(far)
        client.connection_made(near)
        self.connections += 1
        return client
