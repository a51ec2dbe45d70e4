"""Pods as the API returns them -> conditions (pure): the cases the integration tests skip."""

from __future__ import annotations

import pytest

from shipyard.backends.cluster import observe
from shipyard.backends.cluster.quantities import cpu_cores, memory_bytes
from shipyard.spec.status import ConditionStatus, ConditionType


def _pod(**status):
    spec = {"containers": [{"name": "runtime", "resources": {"limits": {"memory": "256Mi"}}}]}
    return {"metadata": {"name": "p"}, "spec": spec, "status": status}


def test_a_failed_model_download_is_initialized_false_with_its_message():
    pod = _pod(
        conditions=[{"type": "PodScheduled", "status": "True"}],
        initContainerStatuses=[{
            "name": "fetch-model",
            "state": {"terminated": {"exitCode": 1, "message": "cannot fetch the model files "
                                     "from http://x/artifact: HTTP Error 401: Unauthorized"}},
        }],
    )  # fmt: skip
    view = observe.component_view("predictor", 1, [observe.pod_view(pod, [])])
    initialized = view.condition(ConditionType.INITIALIZED)
    assert initialized.status is ConditionStatus.FALSE
    assert "401: Unauthorized" in initialized.message and not view.serving


def test_oom_with_a_limit_names_the_limit():
    pod = _pod(
        conditions=[
            {"type": "PodScheduled", "status": "True"},
            {"type": "Ready", "status": "True"},
        ],
        containerStatuses=[{"name": "runtime", "restartCount": 1, "state": {"running": {}},
                            "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}],
    )  # fmt: skip
    view = observe.component_view("predictor", 1, [observe.pod_view(pod, [])])
    started = view.condition(ConditionType.STARTED)
    assert started.reason == "OOMKilled"
    assert started.message == (
        "OOMKilled: the runtime container used more than its memory limit of 256Mi"
    )


def test_no_pods_yet_is_unknown_not_false():
    view = observe.component_view("predictor", 2, [])
    assert view.condition(ConditionType.SCHEDULED).status is ConditionStatus.UNKNOWN
    assert view.condition(ConditionType.READY).message == "0/2 pods ready"


@pytest.mark.parametrize(
    ("quantity", "cores"), [("250m", 0.25), ("2", 2.0), ("1500000n", 0.0015), ("10u", 1e-5)]
)
def test_cpu_quantities(quantity, cores):
    assert cpu_cores(quantity) == pytest.approx(cores)


def test_memory_quantities_and_garbage():
    assert memory_bytes("512Mi") == 512 * 2**20 and memory_bytes("1G") == 10**9
    with pytest.raises(ValueError, match="not a Kubernetes quantity"):
        memory_bytes("12 parsecs")
