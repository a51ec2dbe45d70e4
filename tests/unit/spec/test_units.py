"""Exact conversions between millicpus, cores, MiB and Kubernetes quantities."""

from __future__ import annotations

import pytest

from shipyard.spec.units import (
    cores_text,
    cores_to_millicpus,
    cores_to_quantity,
    is_whole_millicpus,
    memory_text,
    mib_to_quantity,
    millicpus_to_cores,
    normalize_cores,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("millicpus", "cores", "quantity", "text"),
    [
        (1, 0.001, "1m", "0.001 cores"),
        (250, 0.25, "250m", "0.25 cores"),
        (500, 0.5, "500m", "0.5 cores"),
        (1000, 1.0, "1000m", "1 core"),
        (1500, 1.5, "1500m", "1.5 cores"),
        (2000, 2.0, "2000m", "2 cores"),
        (123456, 123.456, "123456m", "123.456 cores"),
    ],
)
def test_millicpus_convert_exactly(millicpus: int, cores: float, quantity: str, text: str):
    assert millicpus_to_cores(millicpus) == cores
    assert cores_to_millicpus(cores) == millicpus
    assert cores_to_quantity(millicpus_to_cores(millicpus)) == quantity
    assert cores_text(cores) == text


def test_every_millicpu_round_trips_without_drift():
    for millicpus in range(1, 200_001):
        cores = millicpus_to_cores(millicpus)
        assert cores_to_millicpus(cores) == millicpus
        assert is_whole_millicpus(cores)
        assert normalize_cores(cores) == cores


def test_sub_millicpu_values_and_rounding_noise():
    assert not is_whole_millicpus(0.0005)
    assert not is_whole_millicpus(0.2501)
    assert is_whole_millicpus(0.1 + 0.2)  # 0.30000000000000004
    assert normalize_cores(0.1 + 0.2) == 0.3
    assert cores_to_quantity(0.1 + 0.2) == "300m"
    assert cores_text(-0.25) == "-0.25 cores"


def test_memory_is_mib():
    assert mib_to_quantity(512) == "512Mi"
    assert mib_to_quantity(1024) == "1024Mi"
    assert memory_text(512) == "512 MiB"
