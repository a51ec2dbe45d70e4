"""The gateway's inference log (shipyard.gateway.inferencelog), sinks faked or on tmp_path."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx
import pytest

from shipyard.gateway.inferencelog import (
    POSTS_IN_FLIGHT,
    REQUEST_TYPE,
    RESPONSE_TYPE,
    InferenceLog,
    RotatingFile,
)
from shipyard.wire.routes import DeploymentRoute, LogRoute

pytestmark = pytest.mark.unit


def route(**sink) -> DeploymentRoute:
    return DeploymentRoute(
        "p1", "iris", "RUNNING", revision=3, model_version="2", inference_logger=LogRoute(**sink)
    )


def make(handler, tmp_path, **options):
    counts: Counter[str] = Counter()
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    log = InferenceLog(
        client, folder=tmp_path, count=lambda p, d, outcome: counts.update([outcome]), **options
    )
    return log, counts


def record(log, target, status=200):
    request = (b'{"instances": [[1, 2]]}', b"application/json")
    log.record(target, request, (status, b'{"predictions": [1]}', b"application/json"), 0.0125)


async def drain(log, count):
    for _ in range(count):
        await log.deliver(log._queue.get_nowait())


async def test_a_pair_shares_its_ce_id_and_carries_the_deployment(tmp_path):
    seen = []
    log, counts = make(lambda r: seen.append(r) or httpx.Response(202), tmp_path)
    record(log, route(url="http://receiver/", file="iris.jsonl"))
    await drain(log, 2)
    assert [r.headers["ce-type"] for r in seen] == [REQUEST_TYPE, RESPONSE_TYPE]
    assert seen[0].headers["ce-id"] == seen[1].headers["ce-id"]
    first = seen[0].headers
    assert (first["ce-inferenceservicename"], first["ce-namespace"]) == ("iris", "p1")
    assert (first["ce-revision"], first["ce-modelversion"], first["ce-status"]) == ("3", "2", "200")
    assert first["ce-latencyms"] == "12.500" and first["ce-specversion"] == "1.0"
    assert json.loads(seen[1].content) == {"predictions": [1]}
    lines = [json.loads(x) for x in (tmp_path / "iris.jsonl").read_text().splitlines()]
    assert [x["type"] for x in lines] == [REQUEST_TYPE, RESPONSE_TYPE]
    assert lines[0]["body"] == {"instances": [[1, 2]]} and lines[1]["deployment"] == "iris"
    assert counts == {"delivered": 2}


@pytest.mark.parametrize(("mode", "types"), [("MODEL_INPUTS", [REQUEST_TYPE]),
                                              ("PREDICTIONS", [RESPONSE_TYPE])])  # fmt: skip
async def test_modes_choose_requests_or_responses(tmp_path, mode, types):
    seen = []
    log, _ = make(lambda r: seen.append(r) or httpx.Response(200), tmp_path)
    record(log, route(mode=mode, url="http://receiver/"))
    assert log._queue.qsize() == 1
    await drain(log, 1)
    assert [r.headers["ce-type"] for r in seen] == types


async def test_sampling_skips_requests_above_the_rate(tmp_path):
    draws = iter([0.1, 0.7, 0.2])
    log, _ = make(lambda r: httpx.Response(200), tmp_path, sample=lambda: next(draws))
    for _ in range(3):
        record(log, route(url="http://receiver/", sample_rate=0.5))
    assert log._queue.qsize() == 4  # two of three requests, two events each


async def test_a_full_queue_drops_and_counts_without_waiting(tmp_path):
    log, counts = make(lambda r: httpx.Response(200), tmp_path, capacity=3)
    for _ in range(5):
        record(log, route(url="http://receiver/"))
    assert log._queue.qsize() == 3 and counts == {"dropped": 7}


async def test_a_sink_that_is_down_is_a_problem_until_it_delivers_again(tmp_path):
    up = False

    def handler(request):
        if not up:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200)

    changes = []
    log, counts = make(handler, tmp_path, health=lambda r, problem: changes.append(problem))
    target = route(url="http://receiver/")
    record(log, target)
    await drain(log, 2)
    assert "ConnectError" in log.problems[target.key] and counts == {"failed": 2}
    up = True
    record(log, target)
    await drain(log, 2)
    assert target.key not in log.problems and counts["delivered"] == 2
    assert len(changes) == 2 and "ConnectError" in changes[0] and changes[1] is None


def test_files_rotate_by_size_keeping_the_backups(tmp_path):
    rotating = RotatingFile(tmp_path / "log.jsonl", max_bytes=10, backups=2)
    for text in (b"aaaaaa\n", b"bbbbbb\n", b"cccccc\n", b"dddddd\n"):
        rotating.append(text)
    assert (tmp_path / "log.jsonl").read_bytes() == b"dddddd\n"
    assert (tmp_path / "log.jsonl.1").read_bytes() == b"cccccc\n"
    assert (tmp_path / "log.jsonl.2").read_bytes() == b"bbbbbb\n"
    assert not (tmp_path / "log.jsonl.3").exists()


async def test_a_file_outside_the_folder_is_refused(tmp_path):
    log, counts = make(lambda r: httpx.Response(200), tmp_path / "logs")
    record(log, route(file="../escape.jsonl"))
    await drain(log, 2)
    assert not (tmp_path / "escape.jsonl").exists() and counts == {"failed": 2}


async def test_a_batch_writes_each_files_lines_at_once_and_posts_each_event(tmp_path):
    seen = []
    log, counts = make(lambda r: seen.append(r) or httpx.Response(200), tmp_path)
    for _ in range(3):
        record(log, route(url="http://receiver/", file="iris.jsonl"))
    record(log, route(file="other.jsonl", mode="PREDICTIONS"))
    events = [log._queue.get_nowait() for _ in range(log._queue.qsize())]
    await log.deliver_many(events)
    lines = (tmp_path / "iris.jsonl").read_text().splitlines()
    assert [json.loads(x)["type"] for x in lines] == [REQUEST_TYPE, RESPONSE_TYPE] * 3
    assert len((tmp_path / "other.jsonl").read_text().splitlines()) == 1
    assert len(seen) == 6 and counts == {"delivered": 7}
    log.close()


def test_a_kept_file_follows_a_rotation_or_removal_by_another_worker(tmp_path):
    path = tmp_path / "log.jsonl"
    ours = RotatingFile(path, max_bytes=1000, backups=2)
    ours.append(b"a\n")
    path.rename(tmp_path / "log.jsonl.1")  # a sibling worker rotated it
    ours.append(b"b\n")
    assert path.read_bytes() == b"b\n" and (tmp_path / "log.jsonl.1").read_bytes() == b"a\n"
    path.unlink()  # removed by hand
    ours.append(b"c\n")
    assert path.read_bytes() == b"c\n"
    ours.close()


class RawReceiver:
    """A fake of the gateway's lean HTTP/1.1 client: records what it was asked to send."""

    def __init__(self, status: int = 200, error: Exception | None = None) -> None:
        self.sent: list[tuple[str, dict[bytes, bytes], bytes]] = []
        self._status, self._error = status, error

    async def send(self, url, method, headers, body):
        from shipyard.gateway.upstream import Answer

        if self._error is not None:
            raise self._error
        self.sent.append((url, dict(headers), body))
        return Answer(self._status, [], b"")

    async def aclose(self) -> None: ...


async def test_plain_http_receivers_get_the_lean_client_and_others_httpx(tmp_path):
    from shipyard.gateway.upstream import NotSent

    via_httpx = []
    raw = RawReceiver()
    log, counts = make(lambda r: via_httpx.append(r) or httpx.Response(200), tmp_path, raw=raw)
    record(log, route(url="http://receiver:8080/events"))
    record(log, route(url="https://receiver/", mode="PREDICTIONS"))
    await drain(log, 3)
    assert [(url, h[b"ce-type"].decode()) for url, h, _ in raw.sent] == [
        ("http://receiver:8080/events", REQUEST_TYPE),
        ("http://receiver:8080/events", RESPONSE_TYPE),
    ]
    assert raw.sent[0][2] == b'{"instances": [[1, 2]]}' and raw.sent[0][1][b"ce-namespace"] == b"p1"
    assert [str(r.url) for r in via_httpx] == ["https://receiver/"]
    assert counts == {"delivered": 3}
    down = RawReceiver(error=NotSent("connection refused"))
    log, counts = make(lambda r: httpx.Response(200), tmp_path, raw=down)
    target = route(url="http://receiver/")
    record(log, target)
    await drain(log, 2)
    assert "NotSent" in log.problems[target.key] and counts == {"failed": 2}


class SlowReceiver(RawReceiver):
    """Answers only when the test lets it, counting the POSTs it holds at once."""

    def __init__(self, fail_every: int = 0) -> None:
        super().__init__()
        self.holding = self.most = 0
        self.calls = 0
        self.fail_every = fail_every
        self.gate: asyncio.Event = asyncio.Event()

    async def send(self, url, method, headers, body):
        from shipyard.gateway.upstream import NotSent

        self.calls += 1
        number = self.calls
        self.holding += 1
        self.most = max(self.most, self.holding)
        try:
            await self.gate.wait()
            if self.fail_every and number % self.fail_every == 0:
                raise NotSent("connection refused")
        finally:
            self.holding -= 1
        return await super().send(url, method, headers, body)


async def test_a_batch_sends_its_cloudevents_a_few_at_once_each_once(tmp_path):
    receiver = SlowReceiver(fail_every=5)
    log, counts = make(lambda r: httpx.Response(200), tmp_path, raw=receiver)
    for _ in range(10):
        record(log, route(url="http://receiver/"))
    events = [log._queue.get_nowait() for _ in range(log._queue.qsize())]
    delivery = asyncio.create_task(log.deliver_many(events))
    for _ in range(1000):  # bounded: the senders reach the receiver in a few loop turns
        if receiver.holding >= POSTS_IN_FLIGHT:
            break
        await asyncio.sleep(0)
    assert receiver.most == POSTS_IN_FLIGHT  # that many in flight at once, never more
    receiver.gate.set()
    await delivery
    assert receiver.calls == 20 and len(receiver.sent) == 16  # each event sent once
    assert counts == {"delivered": 16, "failed": 4}
