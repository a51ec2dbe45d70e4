from __future__ import annotations

import pytest

from shipyard.controller.status import SlotFailure, StatusInputs, derive
from shipyard.spec.status import ConditionStatus, ConditionType, DeploymentState, ReplicaExit

pytestmark = pytest.mark.unit


def inputs(**kw) -> StatusInputs:
    base = dict(
        name="iris", active=True, deleting=False, started_before=True,
        desired={"predictor": 2}, ready={"predictor": 2}, live=2, stopping=0, outdated=0,
    )  # fmt: skip
    base.update(kw)
    return StatusInputs(**base)


def test_all_ready_is_running():
    d = derive(inputs())
    assert d.state is DeploymentState.RUNNING
    ready = next(c for c in d.conditions if c.type is ConditionType.READY)
    assert ready.status is ConditionStatus.TRUE
    assert "2/2 predictor" in ready.message


def test_missing_replicas_is_starting_with_counts():
    d = derive(inputs(ready={"predictor": 1}))
    assert d.state is DeploymentState.STARTING
    assert "1/2 predictor instances ready" in d.message


def test_a_crashing_replica_is_never_running_and_fails_at_the_threshold():
    exit_ = ReplicaExit(code=3, reason="Error", message="exited with code 3")
    restarting = derive(
        inputs(ready={"predictor": 1}, failures=[SlotFailure("predictor", 1, 1, exit_)])
    )
    assert restarting.state is DeploymentState.STARTING
    assert "restarting after failure 1" in restarting.message
    failed = derive(
        inputs(
            ready={"predictor": 1}, failures=[SlotFailure("predictor", 1, 3, exit_)], threshold=3
        )
    )
    assert failed.state is DeploymentState.FAILED
    started = next(c for c in failed.conditions if c.type is ConditionType.STARTED)
    assert started.status is ConditionStatus.FALSE
    assert started.reason == "CrashLoopBackOff"
    assert "exited with code 3" in failed.message
    assert "shipyard deployments logs iris" in failed.message


def test_inactive_states():
    assert (
        derive(inputs(active=False, live=0, started_before=False)).state is DeploymentState.CREATED
    )
    assert derive(inputs(active=False, live=1)).state is DeploymentState.STOPPING
    assert derive(inputs(active=False, live=0)).state is DeploymentState.STOPPED


def test_zero_instances_is_idle_and_outdated_replicas_mean_updating():
    assert derive(inputs(desired={"predictor": 0}, ready={}, live=0)).state is DeploymentState.IDLE
    assert derive(inputs(outdated=1)).state is DeploymentState.UPDATING


def test_missing_artifact_fails_initialization():
    d = derive(inputs(init_error="the files of model m v1 are missing"))
    assert d.state is DeploymentState.FAILED
    init = next(c for c in d.conditions if c.type is ConditionType.INITIALIZED)
    assert init.status is ConditionStatus.FALSE


def test_an_environment_being_built_keeps_the_deployment_starting_with_its_progress():
    d = derive(
        inputs(
            ready={"predictor": 0},
            live=0,
            env_pending="predictor environment shipyard/python:1.0.0: installing: Prepared 9",
        )
    )
    assert d.state is DeploymentState.STARTING
    init = next(c for c in d.conditions if c.type is ConditionType.INITIALIZED)
    assert (init.status, init.reason) == (ConditionStatus.UNKNOWN, "EnvironmentBuilding")
    assert "Prepared 9" in init.message and "Prepared 9" in d.message


def test_a_failed_environment_fails_the_deployment_and_says_the_old_revision_serves():
    reason = "predictor: environment shipyard/python:1.0.0 + requirements.txt could not be resolved"
    d = derive(inputs(env_error=reason, outdated=2, outdated_ready=2))
    assert d.state is DeploymentState.FAILED
    init = next(c for c in d.conditions if c.type is ConditionType.INITIALIZED)
    assert (init.status, init.reason, init.message) == (
        ConditionStatus.FALSE,
        "EnvironmentBuildFailed",
        reason,
    )
    assert d.message == f"{reason}; the previous revision keeps serving (2 replicas)"
    fresh = derive(inputs(env_error=reason, ready={"predictor": 0}, live=0))
    assert fresh.message == reason


def test_a_rollout_whose_new_replicas_crash_fails_and_says_the_old_ones_serve():
    crash = ReplicaExit(code=3, reason="Error", message="exit code 3")
    d = derive(
        inputs(
            ready={"predictor": 0},
            live=3,
            outdated=2,
            outdated_ready=2,
            failures=[SlotFailure(component="predictor", slot=0, failures=3, exit=crash)],
        )
    )
    assert d.state is DeploymentState.FAILED
    assert d.message.startswith("rollout stopped: predictor replica 0 failed 3 times in a row")
    assert d.message.endswith("the previous revision keeps serving (2 replicas)")


def test_old_replicas_that_never_got_ready_are_not_said_to_keep_serving():
    crash = ReplicaExit(code=3, reason="OOMKilled", message="memory limit 64 MiB exceeded")
    d = derive(
        inputs(
            ready={"predictor": 0},
            live=1,
            outdated=1,
            failures=[SlotFailure(component="predictor", slot=0, failures=3, exit=crash)],
        )
    )
    assert d.state is DeploymentState.FAILED
    assert "keeps serving" not in d.message and "rollout stopped" not in d.message
