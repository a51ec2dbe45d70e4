"""The interleaved re-check's verdicts: the median of per-round ratios, not a ratio of medians."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from bench import goals
from bench.interleave import Interleaved
from bench.load import LoadResult

pytestmark = pytest.mark.unit


def run(rps: float, p50_ms: float) -> LoadResult:
    ms = p50_ms
    return LoadResult(32, 8.0, int(rps * 8), rps, ms, ms, ms, ms, ms, 0, 0, 0, 0.1)


def drifting() -> Interleaved:
    """The machine halves its speed after round 1 and recovers in round 3: both targets follow."""
    check = Interleaved(32, 8.0, ["kserve", "shipyard"])
    check.runs["kserve"] = [run(4000, 8.0), run(2000, 16.0), run(4200, 7.6)]
    check.runs["shipyard"] = [run(6400, 5.0), run(3300, 9.0), run(2600, 12.0)]
    return check


def test_ratios_pair_the_turns_of_each_round():
    ratios = drifting().ratios("shipyard", "kserve", "rps")
    assert ratios == pytest.approx([1.6, 1.65, 2600 / 4200])


def test_the_verdict_is_the_median_of_the_rounds_ratios():
    results: Any = SimpleNamespace(interleaved=[drifting()])
    turns = goals._taking_turns(results, 32, "shipyard", "rps")
    assert turns is not None
    assert turns.peer == "kserve"
    assert turns.ratio == pytest.approx(1.6)  # the ratio of medians would say 3300 / 4000
    assert (turns.ours, turns.theirs) == (3300, 4000)
    assert turns.rounds(2) == "1.60, 1.65, 0.62"


def test_no_verdict_from_a_concurrency_that_did_not_run():
    results: Any = SimpleNamespace(interleaved=[drifting()])
    assert goals._taking_turns(results, 1, "shipyard", "p50_ms") is None
