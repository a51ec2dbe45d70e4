"""Deployments: waits, failures, updates, lifecycle, logs and predictions."""

from __future__ import annotations

import time

import pytest

from shipyard import DeploymentState
from shipyard.errors import (
    AlreadyExists,
    InvalidInput,
    InvalidSpec,
    ModelServeError,
    NotFound,
    NotReady,
    TimeoutExpired,
)
from shipyard.resources import PredictorResources, Resources
from shipyard.sdk import Deployment, Model, ModelServing

pytestmark = pytest.mark.unit


@pytest.fixture
def deployment(ms: ModelServing, my_model: Model) -> Deployment:
    return ms.create_predictor(my_model, name="iris").deploy()


def test_deploy_waits_until_running(fake, ms: ModelServing, my_model: Model) -> None:
    fake.rollout = ["STARTING", "RUNNING"]
    seen: list[str] = []
    deployment = ms.create_deployment(ms.create_predictor(my_model, name="iris"))
    deployment.save(await_update=5, on_status=lambda s: seen.append(s.state))
    assert seen == ["STARTING", "RUNNING"]
    assert deployment.status is not None and deployment.status.state is DeploymentState.RUNNING
    assert deployment.revision == 1
    assert deployment.endpoints["v1"] == "http://gateway.test/v1/models/iris:predict"


def test_wait_times_out_naming_the_state(fake, ms: ModelServing, my_model: Model) -> None:
    fake.rollout = ["STARTING"]  # never becomes RUNNING
    predictor = ms.create_predictor(my_model, name="iris")
    started = time.monotonic()
    with pytest.raises(TimeoutExpired) as caught:
        predictor.deploy(await_update=0.3)
    assert time.monotonic() - started < 2
    message = caught.value.message
    assert "did not become RUNNING at revision 1 within 0.3 s: it is STARTING" in message
    assert caught.value.details == {"state": "STARTING"}


def test_failed_deployment_raises_model_serve_error(fake, ms: ModelServing, my_model: Model):
    fake.rollout = ["STARTING", "FAILED"]
    with pytest.raises(ModelServeError) as caught:
        ms.create_predictor(my_model, name="iris").deploy()
    message = caught.value.message
    assert "deployment 'iris' is FAILED: predictor replica 0 failed 3 times" in message
    assert "STARTED=False CrashLoopBackOff" in message
    assert caught.value.details["conditions"][1]["reason"] == "CrashLoopBackOff"


def test_no_wait_returns_at_once(fake, ms: ModelServing, my_model: Model) -> None:
    fake.rollout = ["STARTING"]
    deployment = ms.create_predictor(my_model, name="iris").deploy(await_update=None)
    assert deployment.status is not None and deployment.status.state == "CREATING"
    last = fake.requests[-1]
    assert (last.method, last.url.path) == ("POST", "/api/v1/deployments")  # no polling


def test_save_again_updates_the_spec(fake, deployment: Deployment) -> None:
    deployment.predictor.resources = PredictorResources(
        num_instances=2, requests=Resources(cores=0.5, memory=64), limits=Resources(1, 512)
    )
    deployment.save(await_update=5)
    last = fake.requests[-2]  # PUT, then the GET of the wait
    assert (last.method, last.url.path) == ("PUT", "/api/v1/deployments/iris")
    resources = fake.posted[-1]["spec"]["predictor"]["resources"]
    assert resources["num_instances"] == 2
    assert resources["requests"] == {"cores": 0.5, "memory": 64, "gpus": 0}
    assert deployment.revision == 2


def test_resources_are_edited_in_place_as_in_hsml(fake, deployment: Deployment) -> None:
    deployment.predictor.resources.num_instances = 2
    deployment.predictor.resources.limits.memory = 768
    deployment.save(await_update=5)
    resources = fake.posted[-1]["spec"]["predictor"]["resources"]
    assert resources["num_instances"] == 2
    assert resources["limits"]["memory"] == 768
    # what came back from the server is editable too, and a new object (not the saved one)
    deployment.refresh()
    deployment.predictor.resources.num_instances = 3
    assert deployment.predictor.to_spec().predictor.resources.num_instances == 3


def test_a_wrong_value_is_refused_naming_the_field(deployment: Deployment) -> None:
    with pytest.raises(InvalidSpec, match="num_instances"):
        deployment.predictor.resources.num_instances = "two"  # type: ignore[assignment]
    with pytest.raises(InvalidSpec, match="memory"):
        deployment.predictor.resources.requests.memory = "lots"  # type: ignore[assignment]


def test_an_edit_that_breaks_a_rule_fails_on_save(fake, deployment: Deployment) -> None:
    deployment.predictor.resources.requests.memory = 4096  # above the 1024 MiB limit
    with pytest.raises(InvalidSpec, match="memory"):
        deployment.save(await_update=5)


def test_a_saved_spec_does_not_change_with_later_edits(deployment: Deployment) -> None:
    spec = deployment.predictor.to_spec()
    deployment.predictor.resources.num_instances = 5
    assert spec.predictor.resources.num_instances == 1


def test_creating_an_existing_name_is_refused(ms: ModelServing, my_model, deployment) -> None:
    with pytest.raises(AlreadyExists, match="'iris' already exists"):
        ms.create_predictor(my_model, name="iris").deploy()


def test_stop_and_start(fake, deployment: Deployment) -> None:
    deployment.stop(await_stopped=5)
    assert deployment.is_stopped()
    assert not deployment.active
    deployment.start(await_running=5)
    assert deployment.is_running(or_idle=False, or_updating=False)
    assert [r.url.path for r in fake.requests if r.method == "POST"][-2:] == [
        "/api/v1/deployments/iris/stop",
        "/api/v1/deployments/iris/start",
    ]


def test_get_state_returns_the_status(deployment: Deployment) -> None:
    status = deployment.get_state()
    assert status.state is DeploymentState.RUNNING
    assert status.replicas[0].pid == 1000


def test_get_deployment_and_list(ms: ModelServing, deployment: Deployment) -> None:
    fetched = ms.get_deployment("iris")
    assert fetched.predictor.model_name == "my_model"
    assert fetched.predictor.resources == deployment.predictor.resources
    assert [d.name for d in ms.get_deployments()] == ["iris"]


def test_delete(ms: ModelServing, deployment: Deployment) -> None:
    deployment.delete()
    with pytest.raises(NotFound, match="'iris' not found"):
        ms.get_deployment("iris")


def test_unsaved_deployment_operations_say_save_first(ms: ModelServing, my_model: Model) -> None:
    deployment = ms.create_deployment(ms.create_predictor(my_model), name="later")
    assert deployment.name == "later"
    with pytest.raises(NotFound, match=r"call deployment\.save"):
        deployment.start()


def test_get_logs_prints_and_returns(fake, deployment: Deployment, capsys) -> None:
    fake.logs["iris"] = [
        {"replica": "r0", "stream": "stdout", "line": f"line {i}"} for i in range(5)
    ]
    assert deployment.get_logs(tail=2) == ["line 3", "line 4"]
    assert capsys.readouterr().out == "line 3\nline 4\n"
    logs = [r for r in fake.requests if r.url.path.endswith("/logs")]
    assert logs[-1].url.params["component"] == "predictor"
    with pytest.raises(InvalidInput, match="unknown component"):
        deployment.get_logs(component="router")


def test_logs_show_the_current_replicas_unless_asked_for_all(
    fake, deployment: Deployment, capsys
) -> None:
    fake.logs["iris"] = [
        {"replica": "gone-1", "stream": "stdout", "line": "OOMKilled long ago"},
        {"replica": "r0", "stream": "stdout", "line": "ready"},
    ]
    assert [x.line for x in deployment.read_logs()] == ["ready"]
    everything = deployment.read_logs(current_only=False)
    assert [x.replica for x in everything] == ["gone-1", "r0"]
    assert deployment.get_logs(current_only=False) == ["OOMKilled long ago", "ready"]
    assert capsys.readouterr().out == "[gone-1] OOMKilled long ago\n[r0] ready\n"


def test_predict_inputs_go_to_the_gateway(fake, deployment: Deployment) -> None:
    answer = deployment.predict(inputs=[[5.1, 3.5, 1.4, 0.2]])
    assert answer == {"predictions": [4]}
    assert fake.predict_bodies[-1] == {"instances": [[5.1, 3.5, 1.4, 0.2]]}
    request = fake.requests[-1]
    assert str(request.url) == "http://gateway.test/v1/models/iris:predict"
    assert request.headers["authorization"] == "ApiKey sk-test"


def test_predict_data_is_sent_as_is(fake, deployment: Deployment) -> None:
    deployment.predict(data={"inputs": [[1, 2]]})
    assert fake.predict_bodies[-1] == {"inputs": [[1, 2]]}


def test_predict_needs_exactly_one_payload(deployment: Deployment) -> None:
    with pytest.raises(InvalidInput, match="either data"):
        deployment.predict()
    with pytest.raises(InvalidInput, match="either data"):
        deployment.predict(data={}, inputs=[])


def test_predict_on_stopped_deployment_is_not_ready(deployment: Deployment) -> None:
    deployment.stop(await_stopped=5)
    with pytest.raises(NotReady, match="is STOPPED"):
        deployment.predict(inputs=[[1]])
