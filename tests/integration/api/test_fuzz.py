"""The API fuzzed from its own OpenAPI document (issue 18, item 6): schemathesis generates
requests for every operation (a bounded number each), sends them with the administrator key to
the real app over real HTTP (``tests.live_api``, a fake serving backend), and no answer is a
500 or a status the document does not list for that operation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.live_api import LiveApi

pytestmark = pytest.mark.integration
EXAMPLES = 40
"""Generated requests per operation (about 60 operations: under a minute)."""


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    with LiveApi(tmp_path_factory.mktemp("fuzz") / "home") as api:
        yield api


def _fuzz(operation: Any, live: LiveApi, calls: list[str], failures: list[str]) -> None:
    """Send ``EXAMPLES`` generated requests to one operation; note each bad answer."""
    documented = set(operation.definition.raw.get("responses", {}))
    auth = {"Authorization": f"ApiKey {live.api_key}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case: schemathesis.Case) -> None:
        calls.append(case.method)
        response = case.call(base_url=live.host, headers=auth, timeout=30)
        status = response.status_code
        if status == 500 or (str(status) not in documented and "default" not in documented):
            failures.append(
                f"{case.method} {case.formatted_path} -> {status}: {response.text[:200]}"
            )

    check()


def test_no_operation_answers_500_or_an_undocumented_status(live: LiveApi) -> None:
    schema = schemathesis.openapi.from_url(f"{live.host}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    failures: list[str] = []
    calls: list[str] = []
    for operation in operations:
        _fuzz(operation, live, calls, failures)
    assert len(calls) >= 2 * len(operations)  # examples were really generated and sent
    assert not failures, "\n".join(sorted(set(failures))[:30])
