"""Messages the CLI prints speak in its options, not in spec fields (the commands themselves:
``tests/integration/client/test_cli_more.py``)."""

from __future__ import annotations

import pytest

from shipyard.cli._options import cli_terms

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("raise limits.memory", "raise --limit-memory"),
        ("predictor.resources.requests.cores=4.0: too many", "--cores=4.0: too many"),
        ("transformer.resources.limits.memory: 1", "--transformer-limit-memory: 1"),
        ("predictor.batching.max_batch_size: >= 2", "--batch-size: >= 2"),
        ("the limits.memory_mb field", "the limits.memory_mb field"),  # not a field we know
        ("see shipyard.limits.memory", "see shipyard.limits.memory"),  # part of another name
    ],
)
def test_messages_speak_in_options(text: str, expected: str) -> None:
    assert cli_terms(text) == expected
