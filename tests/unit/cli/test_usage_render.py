"""The pieces of ``shipyard deployments usage``: ``--since`` parsing, sparklines, and the
SDK's conversion of times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import typer

from shipyard.cli.usage import parse_since, sparkline
from shipyard.errors import InvalidInput
from shipyard.sdk._usage import epoch_seconds

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30m", timedelta(minutes=30)), ("6h", timedelta(hours=6)), ("1.5d", timedelta(hours=36)),
     ("2026-12-05T09:00:00+00:00", datetime(2026, 12, 5, 9, tzinfo=UTC))],
)  # fmt: skip
def test_since_is_a_duration_or_a_zoned_time(text: str, expected: object) -> None:
    assert parse_since(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "10", "2026-12-05T09:00:00", "-1h"])
def test_since_refuses_anything_else(text: str) -> None:
    with pytest.raises(typer.BadParameter, match="neither a duration"):
        parse_since(text)


def test_sparkline_is_full_at_the_limit_and_squeezed_to_its_width() -> None:
    assert sparkline([0.0, 0.5, 1.0, 2.0], top=1.0) == "▁▅██"
    assert sparkline([None, 1.0], top=1.0) == " █"
    assert len(sparkline([float(i) for i in range(300)], top=300.0, width=30)) == 30
    assert sparkline([], top=1.0) == ""


def test_sdk_times_are_epoch_seconds() -> None:
    assert epoch_seconds(timedelta(minutes=1), "since", now=1000.0) == 940.0
    assert epoch_seconds(datetime(1970, 1, 1, 0, 1, tzinfo=UTC), "since") == 60.0
    assert epoch_seconds(5, "since") == 5.0
    for bad in (datetime(2026, 1, 1), timedelta(seconds=-1), -3, True, "1h"):
        with pytest.raises(InvalidInput, match="since="):
            epoch_seconds(bad, "since")  # type: ignore[arg-type]
