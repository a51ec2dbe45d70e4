"""The one validation path of deployment specs: tool, node capacity, registry, environment."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shipyard.controller.validation import SpecValidator
from shipyard.environments.catalogue import Catalogue
from shipyard.errors import InvalidSpec, NotFound
from shipyard.spec.capacity import Capacity, Demand
from shipyard.spec.deployment import DeploymentSpec, PredictorSpec, ServingTool, TransformerSpec
from shipyard.spec.resources import PredictorResources, Resources, TransformerResources
from shipyard.spec.scaling import ScalingConfig
from shipyard.store import ModelVersionRecord

pytestmark = pytest.mark.unit
NODE = Capacity(cores=2.0, memory=4096, gpus=0)


class Node:
    """The controller's side: tools it runs, the node, and what holds capacity now."""

    def __init__(self, capacity: Capacity | None = NODE) -> None:
        self.node = capacity
        self.held: list[tuple[str, str, Demand]] = []

    @property
    def tools(self) -> frozenset[ServingTool]:
        return frozenset({ServingTool.LOCAL})

    def capacity(self, tool: ServingTool) -> Capacity | None:
        return self.node if tool is ServingTool.LOCAL else None

    def allocated(self, tool: ServingTool) -> list[tuple[str, str, Demand]]:
        return self.held


def validator(tmp_path: Path, node: Node) -> SpecValidator:
    def model(project_id: str, name: str, version: int) -> ModelVersionRecord:
        if name != "m":
            raise NotFound(f"model {name!r} not found")
        return ModelVersionRecord(
            id="mv", project_id=project_id, model_name=name, version=version,
            framework="sklearn", description="", metrics={}, input_example=None,
            checksum="sha256:x", size_bytes=1, files=["model.joblib", "predictor.py"],
            storage_path=str(tmp_path), created_at=datetime(2026, 1, 1, tzinfo=UTC),
        )  # fmt: skip

    catalogue = Catalogue.load()
    return SpecValidator(capacity=node, model=model, catalogue=lambda: catalogue)


def spec(
    instances: int = 1,
    cores: float = 0.5,
    *,
    scaling: ScalingConfig | None = None,
    transformer: int = 0,
    tool: ServingTool = ServingTool.LOCAL,
) -> DeploymentSpec:
    resources = PredictorResources(
        num_instances=instances,
        requests=Resources(cores, 256),
        limits=Resources(max(cores, 1.0), 512),
    )
    predictor = PredictorSpec(model_name="m", model_version=1, resources=resources, scaling=scaling)
    extra = None
    if transformer:
        extra = TransformerSpec(
            script_file="predictor.py",
            resources=TransformerResources(
                num_instances=transformer, requests=Resources(cores, 256), limits=Resources(1, 512)
            ),
        )
    return DeploymentSpec(name="d", predictor=predictor, transformer=extra, serving_tool=tool)


def test_replicas_whose_minimum_instances_never_fit_together_are_refused(tmp_path) -> None:
    # the README's Fiddler line: 3 instances of 1.5 cores on a node of 2
    with pytest.raises(InvalidSpec) as caught:
        validator(tmp_path, Node()).check("p", spec(3, 1.5), dry_run=True)
    [error] = caught.value.details["errors"]
    assert error["field"] == "predictor.resources.num_instances" and error["value"] == 3
    assert (
        "the minimum instances can never run together (3 predictor x 1.5 cores"
        in (error["message"])
    )
    assert "requested 4.5 cores, 2 in all on this node" in error["message"]
    assert "e-" not in error["message"]


def test_every_component_counts_and_autoscaling_counts_its_minimum(tmp_path) -> None:
    check = validator(tmp_path, Node()).check
    with pytest.raises(InvalidSpec, match=r"2 predictor x 0.75 cores \+ 1 transformer"):
        check("p", spec(2, 0.75, transformer=1), dry_run=False)
    scaling = ScalingConfig(min_instances=1, max_instances=10)
    assert check("p", spec(1, 0.75, scaling=scaling), dry_run=False).waits == []
    to_zero = ScalingConfig(min_instances=0, max_instances=3)
    assert check("p", spec(0, 1.5, scaling=to_zero), dry_run=False).waits == []  # one must fit


def test_one_replica_bigger_than_the_node_is_refused_with_the_node_described(tmp_path) -> None:
    with pytest.raises(InvalidSpec) as caught:
        validator(tmp_path, Node()).check("p", spec(1, 3.0), dry_run=True)
    [error] = caught.value.details["errors"]
    assert error["field"] == "predictor.resources.requests"
    assert (
        "requested 3 cores, 2 in all on this node (node: 2 cores, 4096 MiB, 0 GPUs)"
        in (error["message"])
    )


def test_what_fits_but_not_now_is_accepted_and_says_what_holds_the_capacity(tmp_path) -> None:
    node = Node()
    node.held = [
        ("id-a", "iris", Demand(1.0 - 2.22045e-16, 512, 0)),
        ("id-a", "iris", Demand(0.5, 512, 0)),
    ]
    check = validator(tmp_path, node).check
    [wait] = check("p", spec(1, 1.0), dry_run=False).waits
    assert wait == (
        "does not fit now: insufficient cpu: requested 1 core, 0.5 free; "
        "in use by: iris (2 replicas, 1.5 cores, 1024 MiB)"
    )
    assert check("p", spec(1, 1.0), dry_run=False, deployment_id="id-a").waits == []


def test_the_registry_and_the_backend_are_checked(tmp_path) -> None:
    check = validator(tmp_path, Node()).check
    bad = spec().model_copy(
        update={"predictor": spec().predictor.model_copy(update={"model_name": "gone"})}
    )
    with pytest.raises(InvalidSpec, match=r"predictor\.model_version=1: model 'gone' not found"):
        check("p", bad, dry_run=True)
    with pytest.raises(InvalidSpec, match="serving tool DOCKER has no backend"):
        check("p", spec(tool=ServingTool.DOCKER), dry_run=False)
    assert check("p", spec(tool=ServingTool.DOCKER), dry_run=True).waits == []  # no node to ask


def test_a_models_requirements_are_parsed_once_not_on_every_pass(tmp_path) -> None:
    from shipyard.controller.environments import EnvironmentRequests
    from shipyard.spec.deployment import Component

    class Manager:
        catalogue = Catalogue.load()

    (tmp_path / "requirements.txt").write_text("scikit-learn==1.5.2\n")
    requests = EnvironmentRequests(Manager())  # type: ignore[arg-type]
    for _ in range(5):
        request = requests.of(spec(), Component.PREDICTOR, tmp_path)
        assert request is not None and request.requirements == ("scikit-learn==1.5.2",)
    assert requests.parsed == 1
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "requirements.txt").write_text("-e .\n")
    for _ in range(2):
        with pytest.raises(InvalidSpec, match="line 1"):
            requests.of(spec(), Component.PREDICTOR, tmp_path / "bad")
    assert requests.parsed == 2
