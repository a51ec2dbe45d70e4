"""Right-sizing advice from fixtures of observed usage (``controller.advice.advise``)."""

from __future__ import annotations

import pytest

from shipyard.controller.advice import Observed, Target, Window, advise, percentiles
from shipyard.spec.resources import ComponentResources, Resources

pytestmark = pytest.mark.unit
TARGET = Target("iris", "predictor")
WINDOW = Window(since=0, until=600)


def resources(cores: float, memory: int, lim_cores: float, lim_memory: int, n: int = 1):
    return ComponentResources(
        num_instances=n,
        requests=Resources(cores=cores, memory=memory),
        limits=Resources(cores=lim_cores, memory=lim_memory),
    )


def series(cpu: float, memory: float, n: int = 300, step: float = 2.0, jitter: float = 5.0):
    """``n`` samples every ``step`` s of a replica around ``cpu`` cores and ``memory`` MiB."""
    return [
        Observed(at=i * step, replica="r1", cpu_cores=cpu * (0.9 + 0.2 * (i % 5) / 4),
                 memory_mb=memory + jitter * ((i % 7) - 3) / 3)
        for i in range(n)
    ]  # fmt: skip


def test_a_model_settling_at_150_mib_under_a_1_gib_limit_is_advised_180_to_400() -> None:
    advice = advise(TARGET, series(0.1, 150), resources(0.5, 1024, 2, 1024), 0, WINDOW)
    assert advice.enough_data and advice.limits is not None and advice.requests is not None
    assert 180 <= advice.limits.memory <= 400
    assert 150 <= advice.requests.memory <= advice.limits.memory
    ev = advice.evidence
    assert ev.samples == 300 and ev.memory_mb is not None and 145 <= ev.memory_mb.p50 <= 155
    assert ev.memory_peak_mb == pytest.approx(155)
    assert "frees" in advice.effects[0] and "MiB of memory" in advice.effects[0]
    assert advice.command.startswith("shipyard deployments update iris --cores ")
    assert f"--limit-memory {advice.limits.memory}" in advice.command
    assert "d.save()" in advice.sdk and "d.predictor.resources.limits" in advice.sdk


def test_an_oom_killed_model_is_advised_more_than_its_limit() -> None:
    settled = advise(TARGET, series(0.1, 150), resources(0.5, 1024, 2, 1024), 0, WINDOW)
    killed = advise(TARGET, series(0.1, 190, jitter=10), resources(0.1, 128, 2, 200), 3, WINDOW)
    assert killed.limits is not None and settled.limits is not None
    assert killed.limits.memory >= 300 > 200
    assert killed.limits.memory > settled.limits.memory
    assert killed.evidence.oom_kills == 3
    assert "would have avoided 3 OOM kills" in killed.effects
    assert any("3 OOM kills at the 200 MiB limit" in r for r in killed.reasons)


def test_a_busy_model_at_its_half_core_limit_is_advised_more_cpu() -> None:
    busy = [Observed(at=i * 2.0, replica="r1", cpu_cores=0.5, memory_mb=100) for i in range(60)]
    advice = advise(TARGET, busy, resources(0.25, 128, 0.5, 256), 0, WINDOW)
    assert advice.limits is not None and advice.requests is not None
    assert advice.limits.cores == 1.0 and advice.requests.cores >= 0.5
    assert any("busy at its 0.5-core limit" in r for r in advice.reasons)
    assert "reserves 0.25 cores on the node" in advice.effects


def test_throttling_makes_cpu_busy_even_below_the_limit() -> None:
    calm = series(0.2, 100)
    advice = advise(TARGET, calm, resources(0.2, 128, 1, 256), 0, WINDOW, throttled=0.3)
    assert advice.limits is not None and advice.limits.cores == 2.0
    assert advice.evidence.throttled_fraction == 0.3
    assert any("throttled in 30% of periods" in r for r in advice.reasons)


@pytest.mark.parametrize(
    ("samples", "why"),
    [([], "no samples yet"),
     (series(0.1, 150, n=5), "5 samples, at least 30"),
     (series(0.1, 150, n=40, step=0.5), "20 s observed, at least 60 s")],
)  # fmt: skip
def test_right_after_a_start_there_is_not_enough_data(samples, why: str) -> None:
    advice = advise(TARGET, samples, resources(0.5, 1024, 2, 1024), 0, WINDOW)
    assert not advice.enough_data and advice.requests is None and advice.limits is None
    assert advice.reasons[0].startswith("not enough data") and why in advice.reasons[0]
    assert advice.command == "" and advice.sdk == ""


def test_a_well_sized_component_is_told_to_keep_its_resources() -> None:
    advice = advise(TARGET, series(0.1, 150), resources(0.1, 176, 0.25, 208), 0, WINDOW)
    assert advice.enough_data and advice.requests is None and advice.limits is None
    assert advice.reasons[-1].endswith("keep them") and advice.command == ""


def test_the_transformer_command_uses_its_own_flags() -> None:
    target = Target("iris", "transformer")
    advice = advise(target, series(0.1, 150), resources(0.5, 1024, 2, 1024), 0, WINDOW)
    assert "--transformer-limit-memory" in advice.command
    assert "d.predictor.transformer.resources" in advice.sdk


def test_buckets_count_by_their_weight_in_percentiles() -> None:
    stats = percentiles([(100.0, 90), (500.0, 10)])
    assert stats is not None and (stats.p50, stats.p95, stats.max) == (100.0, 500.0, 500.0)
    assert percentiles([]) is None


def test_oom_kills_are_enough_to_raise_the_memory_of_a_crash_loop() -> None:
    few = [Observed(at=1.0, replica="r1", cpu_cores=0.9, memory_mb=190)]
    advice = advise(TARGET, few, resources(0.1, 128, 1, 200), 4, WINDOW)
    assert advice.enough_data and advice.limits is not None
    assert advice.limits.memory >= 300 and advice.limits.cores == 1  # CPU kept
    assert "rests on the OOM kills alone" in advice.reasons[0]
    none = advise(TARGET, [], resources(0.1, 128, 1, 200), 2, WINDOW)
    assert none.limits is not None and none.limits.memory == 304


def test_throttling_measured_in_the_samples_is_the_evidence() -> None:
    samples = [
        Observed(at=i * 2.0, replica="r1", cpu_cores=0.3, memory_mb=100, cpu_throttled=0.25)
        for i in range(40)
    ] + [Observed(at=100.0, replica="r1", cpu_cores=0.3, memory_mb=100, weight=40)]
    advice = advise(TARGET, samples, resources(0.2, 128, 1, 256), 0, WINDOW)
    assert advice.evidence.throttled_fraction == 0.25  # unmeasured samples are left out
    assert advice.limits is not None and advice.limits.cores == 2.0
