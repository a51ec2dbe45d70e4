"""Adaptive batching in the gateway: which requests leave together, and what each caller gets."""

from __future__ import annotations

import asyncio
import json

import pytest

from shipyard.errors import BackendUnavailable, TimeoutExpired
from shipyard.gateway import bundling
from shipyard.gateway.bundling import MAX_COALESCED, Bundler
from shipyard.http1 import Request, Response
from shipyard.wire.routes import DeploymentRoute

from .test_app import AUTH_A, World, deployment, open_gateway

pytestmark = pytest.mark.unit


def route(replicas: int = 1, max_batch_size: int = 8, latency_s: float = 5.0) -> DeploymentRoute:
    urls = tuple(f"http://r{i}" for i in range(replicas))
    return DeploymentRoute("pa", "iris", "RUNNING", "", 1, urls, max_batch_size=max_batch_size,
                           max_latency_s=latency_s)  # fmt: skip


def call(i: int) -> Request:
    return Request("POST", "/v1/models/iris:predict", [], b"%d" % i)


class Replicas:
    """A fake ``send``: records bundles; holds each until released when ``hold`` is set."""

    def __init__(self, hold: bool = False) -> None:
        self.bundles: list[list[bytes]] = []
        self.hold = hold
        self.released = asyncio.Event()
        self.error: Exception | None = None
        self.short = False

    async def send(self, route: DeploymentRoute, requests: list[Request]) -> list[Response]:
        self.bundles.append([r.body for r in requests])
        if self.hold:
            await self.released.wait()
        if self.error is not None:
            raise self.error
        answers = [Response(200, b"answer to " + r.body) for r in requests]
        return answers[:-1] if self.short else answers


async def submit_all(bundler: Bundler, r: DeploymentRoute, ids: range) -> list[asyncio.Task]:
    tasks = [asyncio.ensure_future(bundler.submit(r, call(i))) for i in ids]
    await asyncio.sleep(0)  # the tasks run and submit
    return tasks


async def test_requests_arriving_together_leave_as_one_bundle_and_get_their_own_answers():
    replicas = Replicas()
    bundler = Bundler(replicas.send)
    tasks = await submit_all(bundler, route(), range(5))
    answers = await asyncio.gather(*tasks)
    assert replicas.bundles == [[b"0", b"1", b"2", b"3", b"4"]]
    assert [a.body for a in answers] == [b"answer to %d" % i for i in range(5)]
    alone = await asyncio.wait_for(bundler.submit(route(), call(9)), 1.0)  # nothing waits
    assert alone.body == b"answer to 9" and replicas.bundles[-1] == [b"9"]


async def test_while_every_replica_is_busy_requests_gather_until_one_is_free():
    replicas = Replicas(hold=True)
    bundler = Bundler(replicas.send)
    r = route(replicas=2)
    first = await submit_all(bundler, r, range(2))
    second = await submit_all(bundler, r, range(2, 4))  # one replica still free: leaves at once
    await asyncio.sleep(0)
    third = await submit_all(bundler, r, range(4, 7))
    await asyncio.sleep(0.01)
    assert replicas.bundles == [[b"0", b"1"], [b"2", b"3"]]  # 4-6 wait: both replicas busy
    assert bundler.in_flight(r.key) == 2
    replicas.hold = False
    replicas.released.set()
    await asyncio.gather(*first, *second, *third)
    assert replicas.bundles[2] == [b"4", b"5", b"6"]  # sent as soon as a bundle came back
    assert bundler.in_flight(r.key) == 0


async def test_a_full_bundle_leaves_at_once_and_a_waiting_one_after_the_latency_bound():
    replicas = Replicas(hold=True)
    bundler = Bundler(replicas.send)
    r = route(max_batch_size=2, latency_s=0.02)
    tasks = await submit_all(bundler, r, range(5))
    await asyncio.sleep(0)
    assert replicas.bundles == [[b"0", b"1"], [b"2", b"3"]]  # full: no wait for a free replica
    await asyncio.sleep(0.1)
    assert replicas.bundles[2:] == [[b"4"]]  # the replica is still busy: the bound sent it
    replicas.released.set()
    await asyncio.gather(*tasks)


async def test_a_failed_bundle_fails_each_of_its_requests_with_the_error():
    replicas = Replicas()
    replicas.error = TimeoutExpired("deployment 'iris' did not answer in time")
    bundler = Bundler(replicas.send)
    tasks = await submit_all(bundler, route(), range(3))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(e, TimeoutExpired) for e in results)
    replicas.error, replicas.short = None, True
    tasks = await submit_all(bundler, route(), range(3))
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(e, BackendUnavailable) for e in results)
    assert "2 answers came back for a bundle of 3 requests" in str(results[0])


async def batched_world(predictor: list[str]) -> World:
    world = World(deployments=[deployment("iris", predictor, max_batch_size=8, max_latency_ms=5)])
    return world


async def post_together(world: World, count: int) -> list:
    async with open_gateway(world) as gateway:
        await world.wait_applied()
        return await asyncio.gather(
            *(
                gateway.post("/v1/models/iris:predict", json={"instances": [[i]]}, headers=AUTH_A)
                for i in range(count)
            )
        )


async def test_the_gateway_sends_concurrent_calls_as_one_bundle_to_one_replica():
    world = await batched_world(["http://r1", "http://r2"])
    answers = await post_together(world, 4)
    bundles = [r for r in world.received if r.url.path == "/internal/bundle"]
    assert (
        len(bundles) == 1 and bundles[0].headers["content-type"] == "application/x-shipyard-bundle"
    )
    assert [a.status_code for a in answers] == [200] * 4
    for i, answer in enumerate(answers):
        assert answer.json()["echo"] == {"instances": [[i]]}
        assert answer.headers["content-type"] == "application/json"


async def test_a_replica_without_bundles_gets_the_calls_one_by_one():
    world = await batched_world(["http://old"])
    answers = await post_together(world, 3)
    paths = [r.url.path for r in world.received]
    assert paths == ["/internal/bundle"] + ["/v1/models/iris:predict"] * 3
    assert [a.status_code for a in answers] == [201] * 3
    assert {json.loads(r.content)["instances"][0][0] for r in world.received[1:]} == {0, 1, 2}


async def test_transformer_deployments_are_not_bundled():
    extra = {"max_batch_size": 8, "has_transformer": True, "transformer": ["http://t1"]}
    world = World(deployments=[deployment("iris", ["http://r1"], **extra)])
    answers = await post_together(world, 3)
    assert [a.status_code for a in answers] == [200] * 3
    assert len(world.received) == 9  # preprocess, predict, postprocess: each call alone
    assert all(r.url.path != "/internal/bundle" for r in world.received)


async def test_without_batching_a_lone_call_goes_at_once_and_others_spread_over_free_replicas():
    replicas = Replicas(hold=True)
    bundler = Bundler(replicas.send)
    r = route(replicas=3, max_batch_size=0)
    alone = asyncio.ensure_future(bundler.submit(r, call(0)))
    await asyncio.sleep(0)
    assert replicas.bundles == [[b"0"]]  # no loop turn waited
    rest = await submit_all(bundler, r, range(1, 10))
    await asyncio.sleep(0.01)
    assert replicas.bundles[1:3] == [[b"1", b"2", b"3", b"4"], [b"5", b"6", b"7", b"8"]]
    assert replicas.bundles[3:] == [[b"9"]]  # MAX_COALESCED = 8 closed the first at once
    assert bundler.in_flight(r.key) == 4  # nothing waits for a free replica without batching
    replicas.released.set()
    answers = await asyncio.gather(alone, *rest)
    assert [a.body for a in answers] == [b"answer to %d" % i for i in range(10)]
    assert MAX_COALESCED == 8


async def test_without_batching_the_gateway_still_sends_calls_read_together_as_a_bundle():
    world = World(deployments=[deployment("iris", ["http://lag"])])
    answers = await post_together(world, 3)
    paths = [r.url.path for r in world.received]
    assert paths == ["/v1/models/iris:predict", "/internal/bundle"]  # the first went alone
    assert [a.status_code for a in answers] == [201, 200, 200]
    assert [a.json()["echo"]["instances"] for a in answers[1:]] == [[[1]], [[2]]]


async def test_large_bodies_go_alone_and_close_a_bundle_at_the_byte_bound(monkeypatch):
    monkeypatch.setattr(bundling, "MAX_BUNDLE_BYTES", 100)
    replicas = Replicas(hold=True)
    bundler = Bundler(replicas.send)
    r = route(max_batch_size=32)
    big = Request("POST", "/v1/models/iris:predict", [], b"x" * 100)
    half = Request("POST", "/v1/models/iris:predict", [], b"y" * 60)
    tasks = [asyncio.ensure_future(bundler.submit(r, req)) for req in (half, big, half, half)]
    await asyncio.sleep(0.01)
    sizes = [sum(len(body) for body in bundle) for bundle in replicas.bundles]
    assert sizes == [100, 120]  # the big one alone; two halves reached the bound together
    assert bundler.in_flight(r.key) == 2  # the last half waits for a free replica
    replicas.released.set()
    await asyncio.gather(*tasks)
    assert [len(b) for b in replicas.bundles[2]] == [60]
