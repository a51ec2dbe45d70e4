"""The gRPC load generator: V2 ``ModelInfer`` in a closed loop, the same client for every target.

wrk speaks only HTTP/1.1, so Open Inference Protocol V2 over gRPC is driven by this module, run
as its own process (``python -m bench.grpc_load``, so it never shares an interpreter with the
bench): ``concurrency`` coroutines on ``grpc.aio`` each send one ``ModelInfer`` (the bench's
one iris row as an FP32 [1, 4] tensor in ``fp32_contents``), wait for its answer and send the
next, for a fixed time after a short warm-up. The calls share :data:`CHANNELS` channels (HTTP/2
connections), round robin, whatever the target. It prints one ``BENCH_GRPC_RESULT`` JSON line;
:func:`run` turns it into a :class:`bench.load.LoadResult` (the client's CPU time in the wrk
column). The messages are Shipyard's generated ones (``inference.GRPCInferenceService``, the
same ``.proto`` as KServe's and Triton's), called by method path, so no stub is generated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from bench.load import LoadResult
from bench.model import ROW
from bench.settings import LOOPBACK, REPO

METHOD = "/inference.GRPCInferenceService/ModelInfer"
CHANNELS = 2
"""Channels (connections) the calls are spread over: one per gateway worker or server process
a target may have, so a target that serves gRPC from several processes can use them."""
PREFIX = "BENCH_GRPC_RESULT "


@dataclass(frozen=True)
class GrpcTarget:
    """Where a target serves V2 gRPC, and what every call carries."""

    address: str
    """``127.0.0.1:<port>``."""
    model: str
    authorization: str = ""
    """The ``authorization`` metadata (Shipyard's ``ApiKey ...``); empty: none."""


def run(target: GrpcTarget, *, concurrency: int, duration_s: float, warmup_s: float) -> LoadResult:
    """Drive ``target`` for ``duration_s`` seconds at ``concurrency`` from a fresh process.

    Raises:
        RuntimeError: the generator failed or printed no result.
    """
    if not target.address.startswith(f"{LOOPBACK}:"):
        raise ValueError(f"the bench only sends load to {LOOPBACK}, not to {target.address!r}")
    command = [sys.executable, "-m", "bench.grpc_load", target.address, target.model]
    command += [str(concurrency), str(duration_s), str(warmup_s)]
    env_auth = ["--authorization", target.authorization] if target.authorization else []
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [*command, *env_auth],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=duration_s + warmup_s + 60,
        check=False,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith(PREFIX)), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"gRPC load failed ({done.returncode}): {done.stderr[-2000:]}")
    raw = json.loads(line.removeprefix(PREFIX))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    seconds = raw["duration_s"]
    return LoadResult(
        concurrency=concurrency,
        duration_s=seconds,
        requests=raw["requests"],
        rps=raw["requests"] / seconds if seconds else 0.0,
        p50_ms=raw["p50_ms"],
        p90_ms=raw["p90_ms"],
        p99_ms=raw["p99_ms"],
        mean_ms=raw["mean_ms"],
        max_ms=raw["max_ms"],
        non2xx=raw["failed"],
        first_bad_status=0,
        socket_errors=0,
        wrk_cpu_s=cpu * seconds / (seconds + warmup_s),  # the measured part's share
    )


def _request() -> object:
    from shipyard.gateway.grpcv2 import grpc_predict_v2_pb2 as pb

    return pb.ModelInferRequest(
        model_name="",
        inputs=[
            pb.ModelInferRequest.InferInputTensor(
                name="input-0",
                datatype="FP32",
                shape=[1, len(ROW)],
                contents=pb.InferTensorContents(fp32_contents=ROW),
            )
        ],
    )


async def _drive(
    address: str, model: str, auth: str, concurrency: int, duration_s: float, warmup_s: float
) -> dict[str, float]:
    import grpc

    from shipyard.gateway.grpcv2 import grpc_predict_v2_pb2 as pb

    request = _request()
    request.model_name = model  # type: ignore[attr-defined]
    metadata = (("authorization", auth),) if auth else ()
    channels = [grpc.aio.insecure_channel(address) for _ in range(CHANNELS)]
    calls = [
        channel.unary_unary(
            METHOD,
            request_serializer=pb.ModelInferRequest.SerializeToString,
            response_deserializer=pb.ModelInferResponse.FromString,
        )
        for channel in channels
    ]
    latencies: list[float] = []
    failed = 0
    measuring = False

    async def loop(call: grpc.aio.UnaryUnaryMultiCallable, until: float) -> None:
        nonlocal failed
        while (now := time.perf_counter()) < until:
            try:
                await call(request, metadata=metadata, timeout=10.0)
            except grpc.aio.AioRpcError:
                if measuring:
                    failed += 1
                continue
            if measuring:
                latencies.append(time.perf_counter() - now)

    try:
        warm_until = time.perf_counter() + warmup_s
        await asyncio.gather(*(loop(calls[i % CHANNELS], warm_until) for i in range(concurrency)))
        measuring = True
        started = time.perf_counter()
        until = started + duration_s
        await asyncio.gather(*(loop(calls[i % CHANNELS], until) for i in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        for channel in channels:
            await channel.close()
    return _summary(latencies, failed, elapsed)


def _summary(latencies: list[float], failed: int, elapsed: float) -> dict[str, float]:
    ms = sorted(x * 1000 for x in latencies) or [0.0]

    def pct(p: float) -> float:
        return ms[min(len(ms) - 1, int(p * len(ms)))]

    return {
        "requests": len(latencies),
        "failed": failed,
        "duration_s": elapsed,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(ms),
        "max_ms": ms[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address")
    parser.add_argument("model")
    parser.add_argument("concurrency", type=int)
    parser.add_argument("duration_s", type=float)
    parser.add_argument("warmup_s", type=float)
    parser.add_argument("--authorization", default="")
    a = parser.parse_args()
    summary = asyncio.run(
        _drive(a.address, a.model, a.authorization, a.concurrency, a.duration_s, a.warmup_s)
    )
    print(PREFIX + json.dumps(summary), flush=True)


if __name__ == "__main__":
    main()
