"""GPU inventory: detection and exclusive allocation."""

from __future__ import annotations

import threading

import pytest

from shipyard.backends.gpus import (
    GpuInventory,
    InsufficientGpus,
    parse_gpu_list,
    parse_nvidia_smi,
)

pytestmark = pytest.mark.unit

NVIDIA_SMI = """\
GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-aaaa)
GPU 1: NVIDIA A100-SXM4-40GB (UUID: GPU-bbbb)
"""


def test_setting_and_nvidia_smi_are_parsed():
    assert parse_gpu_list(" 0, 1,,1 ") == ["0", "1"]
    assert parse_nvidia_smi(NVIDIA_SMI) == ["0", "1"]


def test_detect_prefers_the_setting_and_an_empty_setting_means_none():
    assert GpuInventory.detect("2,3", list_gpus=lambda: NVIDIA_SMI).devices == ("2", "3")
    assert GpuInventory.detect("", list_gpus=lambda: NVIDIA_SMI).devices == ()
    assert GpuInventory.detect(None, list_gpus=lambda: NVIDIA_SMI).devices == ("0", "1")
    assert GpuInventory.detect(None, list_gpus=lambda: "").devices == ()


def test_two_replicas_never_share_a_device_and_release_frees():
    gpus = GpuInventory(["0", "1", "2"])
    a = gpus.allocate("a", 2)
    b = gpus.allocate("b", 1)
    assert set(a).isdisjoint(b)
    assert gpus.free() == []
    gpus.release("a")
    assert gpus.free() == a
    assert set(gpus.allocate("c", 2)).isdisjoint(b)


def test_not_enough_free_devices_raises_a_typed_error_and_changes_nothing():
    gpus = GpuInventory(["0", "1"])
    gpus.allocate("a", 1)
    with pytest.raises(InsufficientGpus) as caught:
        gpus.allocate("b", 2)
    assert caught.value.message == "insufficient GPUs: requested 2, 1 free of 2"
    assert gpus.held() == {"a": ["0"]}


def test_allocation_is_idempotent_and_zero_devices_hold_nothing():
    gpus = GpuInventory(["0", "1"])
    assert gpus.allocate("a", 1) == gpus.allocate("a", 1) == ["0"]
    assert gpus.allocate("b", 0) == []
    assert gpus.held() == {"a": ["0"]}


def test_restore_keeps_only_devices_nobody_else_holds():
    gpus = GpuInventory(["0", "1"])
    gpus.allocate("a", 1)
    assert gpus.restore("b", ["0", "1", "7"]) == ["1"]
    assert gpus.free() == []


def test_concurrent_allocations_stay_exclusive():
    gpus = GpuInventory([str(i) for i in range(8)])
    got: dict[str, list[str]] = {}
    failures: list[str] = []

    def take(replica: str) -> None:
        try:
            got[replica] = gpus.allocate(replica, 1)
        except InsufficientGpus:
            failures.append(replica)

    threads = [threading.Thread(target=take, args=(f"r{i}",)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    devices = [d for held in got.values() for d in held]
    assert len(devices) == len(set(devices)) == 8
    assert len(failures) == 4
