"""The gateway's replica client when a pooled connection died before its loss was delivered.

uvloop raises ``RuntimeError`` from ``write`` on a transport whose handle is already closed (a
replica killed between two requests) before ``connection_lost`` reaches the protocol. Nothing
was sent, so the request must go on a fresh connection, never surface as a 500.
"""

from __future__ import annotations

import asyncio
from typing import Any

from shipyard.gateway.upstream import RawUpstream
from shipyard.wire.addresses import Address

ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


class Transport(asyncio.Transport):
    """Answers every request at once; ``dead`` mimics a handle closed under the protocol."""

    def __init__(self, protocol: asyncio.Protocol, *, dead: bool, closing: bool) -> None:
        super().__init__()
        self.protocol, self.dead, self.closing, self.writes = protocol, dead, closing, 0

    def write(self, data: Any) -> None:
        if self.dead:
            raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")
        self.writes += 1
        asyncio.get_running_loop().call_soon(self.protocol.data_received, ANSWER)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True


class Network:
    def __init__(self) -> None:
        self.transports: list[Transport] = []

    async def connect(self, address: Address, factory: Any) -> asyncio.Protocol:
        protocol = factory()
        transport = Transport(protocol, dead=False, closing=False)
        self.transports.append(transport)
        protocol.connection_made(transport)
        return protocol


async def _kill_pooled_then_send(*, closing: bool) -> Network:
    network = Network()
    client = RawUpstream(timeout_s=5, connect=network.connect)
    first = await client.send("http://127.0.0.1:9/x", "POST", [], b"{}")
    assert first.status == 200
    pooled = network.transports[0]
    pooled.dead, pooled.closing = True, closing  # the replica died; no connection_lost yet
    second = await client.send("http://127.0.0.1:9/x", "POST", [], b"{}")
    assert (second.status, second.content) == (200, b"ok")
    await client.aclose()
    return network


async def test_a_pooled_connection_whose_write_raises_is_replaced_by_a_fresh_one() -> None:
    network = await _kill_pooled_then_send(closing=False)
    assert len(network.transports) == 2
    assert network.transports[1].writes == 1


async def test_a_pooled_connection_already_closing_is_never_written_to() -> None:
    network = await _kill_pooled_then_send(closing=True)
    assert len(network.transports) == 2
    assert network.transports[0].writes == 1
