"""A deployment's usage history and right-sizing advice as the SDK reads them
(``GET /deployments/{name}/usage`` and ``/advice``).

Layer: ``shipyard.sdk``. ``Deployment.get_usage(since=...)`` calls ``fetch_usage``; the answer
is ``shipyard.spec.usage.UsageOut`` (the API's own model): per replica its samples (every one
of the last hour) and min/mean/max buckets before them, with requests and limits, and the OOM
kills, restarts and scale changes in the range.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from shipyard.errors import InvalidInput
from shipyard.sdk._components import parse_answer
from shipyard.sdk._http import Connection
from shipyard.spec.advice import DeploymentAdvice
from shipyard.spec.coldstart import ColdStartsOut
from shipyard.spec.usage import UsageOut

When = datetime | timedelta | float | int


def epoch_seconds(value: When, name: str, now: float | None = None) -> float:
    """``value`` as seconds since the epoch: an aware datetime, a timedelta (that long before
    now) or a number of epoch seconds.

    Raises:
        InvalidInput: A naive datetime, a negative duration or a negative number.
    """
    now = time.time() if now is None else now
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidInput(
                f"{name}={value!r} has no time zone: pass an aware datetime, "
                "e.g. datetime.now(UTC) - timedelta(hours=2)"
            )
        return value.timestamp()
    if isinstance(value, timedelta):
        if value.total_seconds() < 0:
            raise InvalidInput(f"{name}={value!r} is negative: pass how long ago, e.g. 2 hours")
        return now - value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidInput(
            f"{name}={value!r} is invalid: pass a datetime, a timedelta or epoch seconds"
        )
    return float(value)


def fetch_usage(connection: Connection, url: str, since: When, until: When | None) -> UsageOut:
    """The usage history at ``url`` from ``since`` to ``until`` (default: now)."""
    params = {"since": epoch_seconds(since, "since")}
    if until is not None:
        params["until"] = epoch_seconds(until, "until")
    body = connection.json("GET", url, params=params)
    return parse_answer(UsageOut, body, "usage history")


def fetch_advice(
    connection: Connection, url: str, since: When | None, until: When | None
) -> DeploymentAdvice:
    """The right-sizing advice at ``url`` over ``[since, until]`` (server defaults for None)."""
    params = {}
    if since is not None:
        params["since"] = epoch_seconds(since, "since")
    if until is not None:
        params["until"] = epoch_seconds(until, "until")
    body = connection.json("GET", url, params=params)
    return parse_answer(DeploymentAdvice, body, "right-sizing advice")


def fetch_cold_starts(connection: Connection, url: str) -> ColdStartsOut:
    """The cold-start breakdown at ``url``."""
    return parse_answer(ColdStartsOut, connection.json("GET", url), "cold starts")
