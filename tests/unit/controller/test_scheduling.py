from __future__ import annotations

import pytest

from shipyard.controller.scheduling import never_fits, shortfall, total
from shipyard.spec.capacity import Capacity, Demand
from shipyard.spec.resources import Resources

pytestmark = pytest.mark.unit
NODE = Capacity(cores=2.0, memory=2048, gpus=1)


def test_a_demand_that_fits_has_no_shortfall():
    assert shortfall(NODE, Demand(1.0, 1024, 0), Demand(1.0, 1024, 1)) is None


def test_shortfall_names_resource_request_and_free_amount():
    reason = shortfall(NODE, Demand(0.5, 1800, 0), Demand(0.2, 4096, 0))
    assert reason == "insufficient memory: requested 4096 MiB, 248 MiB free"
    cpu = shortfall(NODE, Demand(1.9, 0, 0), Demand(0.2, 1, 0))
    assert cpu is not None and cpu.startswith("insufficient cpu: requested 0.2 cores, 0.1 free")
    gpus = shortfall(NODE, Demand(0, 0, 1), Demand(0, 0, 1))
    assert gpus == "insufficient GPUs: requested 1, 0 free"


def test_fractional_cores_add_up_without_float_drift():
    allocated = total([Demand(0.1, 0, 0)] * 10)  # 0.1 * 10 in floats is 0.9999999999999999
    assert shortfall(Capacity(1.1, 10, 0), allocated, Demand(0.1, 0, 0)) is None


def test_never_fits_speaks_of_the_whole_node():
    reason = never_fits(NODE, Demand.of(Resources(cores=1, memory=4096, gpus=2)))
    assert reason is not None
    assert "requested 4096 MiB, 2048 MiB in all on this node" in reason
    assert "requested 2, 1 in all on this node" in reason
    assert never_fits(NODE, Demand(2.0, 2048, 1)) is None


def test_numbers_are_written_as_people_write_them():
    residue = shortfall(Capacity(1.0, 10, 0), Demand(1.0 - 2.22045e-16, 0, 0), Demand(1.0, 0, 0))
    assert residue == "insufficient cpu: requested 1 core, 0 free"
    assert "e-" not in residue
    assert Capacity(1.0, 512, 1).describe() == "1 core, 512 MiB, 1 GPU"
    assert Capacity(2.5, 512, 0).describe() == "2.5 cores, 512 MiB, 0 GPUs"
    assert Demand(1.5, 256, 0).describe() == "1.5 cores, 256 MiB"
