from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.gateway.fakes import (
    KEYS,
    TOKEN,
    FakeControl,
    FakeReplica,
    GatewayProcess,
    deployment,
)


@pytest.fixture(scope="module")
def control() -> Iterator[FakeControl]:
    fake = FakeControl(TOKEN, KEYS)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def replicas() -> Iterator[tuple[FakeReplica, FakeReplica]]:
    r1, r2 = FakeReplica("r1"), FakeReplica("r2")
    r1.server.start()
    r2.server.start()
    yield r1, r2
    r1.server.stop()
    r2.server.stop()


@pytest.fixture(scope="module")
def gateway(
    control: FakeControl, replicas: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    control.publish([])
    proc = GatewayProcess(control.url, TOKEN, tmp_path_factory.mktemp("gw") / "gateway.log")
    proc.start()
    try:
        control.wait_applied()
        yield proc
    finally:
        assert proc.stop() == 0, proc.log_path.read_text()
        assert "Traceback" not in proc.log_path.read_text()


@pytest.fixture(scope="module")
def client(gateway: GatewayProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=10, trust_env=False) as http:
        yield http


@pytest.fixture
def routes(control: FakeControl, replicas: Any, gateway: GatewayProcess) -> FakeControl:
    """The standard table, applied by the gateway: iris (A, r1+r2), old (A, STOPPED), bonly (B)."""
    r1, r2 = replicas
    control.available = True
    control.publish(
        [
            deployment("iris", [r1.url, r2.url]),
            deployment("old", [], state="STOPPED", message="stopped by the user"),
            deployment("bonly", [r1.url], project="proj-b"),
        ]
    )
    control.wait_applied()
    return control
