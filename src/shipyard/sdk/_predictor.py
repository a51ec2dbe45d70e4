"""The editable description of what a deployment serves, as a builder over ``DeploymentSpec``.

``PredictorSpecBuilder`` holds a model version, its script, resources, serving tool and
transformer, and turns them into a validated ``DeploymentSpec`` (``to_spec``) or back
(``from_spec``). The public ``Predictor`` (``shipyard.sdk._deployment``) adds ``deploy()``.
"""

from __future__ import annotations

from typing import Self

from shipyard.sdk._components import Transformer, deployment_name, parse_serving_tool
from shipyard.sdk._http import Connection
from shipyard.sdk._invalid import build_spec
from shipyard.sdk._resources import (
    InferenceBatcher as EditableBatcher,
)
from shipyard.sdk._resources import (
    PredictorResources,
    editable,
    editable_or_none,
    frozen_or_none,
)
from shipyard.sdk._resources import (
    ScalingConfig as EditableScaling,
)
from shipyard.spec import resources as spec_resources
from shipyard.spec.batching import InferenceBatcher
from shipyard.spec.deployment import DeploymentSpec, PredictorSpec, ServingTool
from shipyard.spec.logging import InferenceLogger
from shipyard.spec.scaling import ScalingConfig


class PredictorSpecBuilder:
    """The attributes of a ``Predictor`` and their conversion to and from ``DeploymentSpec``."""

    def __init__(
        self,
        connection: Connection,
        *,
        name: str,
        model_name: str,
        model_version: int,
        serving_tool: str | ServingTool | None = None,
        script_file: str | None = None,
        resources: spec_resources.PredictorResources | None = None,
        transformer: Transformer | None = None,
        environment: str | None = None,
        scaling_configuration: ScalingConfig | None = None,
        inference_batcher: InferenceBatcher | None = None,
        inference_logger: InferenceLogger | None = None,
    ) -> None:
        self._connection = connection
        self.name = deployment_name(name)
        self.model_name = model_name
        self.model_version = model_version
        self.serving_tool: ServingTool = parse_serving_tool(serving_tool)
        self.script_file = script_file
        self.resources = resources  # the setter takes None
        self.transformer = transformer
        self.environment = environment
        self.scaling_configuration = scaling_configuration
        self.inference_batcher = inference_batcher
        self.inference_logger = inference_logger
        """Inference logging (``shipyard.InferenceLogger``); None = off."""

    @property
    def resources(self) -> PredictorResources:
        """Instances, requests and limits: editable in place (``resources.num_instances = 2``)
        or replaced; checked when the deployment is saved."""
        return self._resources

    @resources.setter
    def resources(self, value: spec_resources.PredictorResources | None) -> None:
        self._resources = editable(value, PredictorResources)

    @property
    def scaling_configuration(self) -> EditableScaling | None:
        """Autoscaling (editable in place: ``.max_instances = 4``); None = fixed instances."""
        return self._scaling

    @scaling_configuration.setter
    def scaling_configuration(self, value: ScalingConfig | None) -> None:
        self._scaling = editable_or_none(value, EditableScaling)

    @property
    def inference_batcher(self) -> EditableBatcher | None:
        """Adaptive batching (editable in place: ``.max_batch_size = 64``); None = off."""
        return self._batcher

    @inference_batcher.setter
    def inference_batcher(self, value: InferenceBatcher | None) -> None:
        self._batcher = editable_or_none(value, EditableBatcher)

    @classmethod
    def from_spec(cls, connection: Connection, spec: DeploymentSpec) -> Self:
        """Build from a stored ``DeploymentSpec``."""
        return cls(
            connection,
            name=spec.name,
            model_name=spec.predictor.model_name,
            model_version=spec.predictor.model_version,
            serving_tool=spec.serving_tool,
            script_file=spec.predictor.script_file,
            resources=spec.predictor.resources,
            transformer=Transformer.from_spec(spec.transformer) if spec.transformer else None,
            environment=spec.predictor.environment,
            scaling_configuration=spec.predictor.scaling,
            inference_batcher=spec.predictor.batching,
            inference_logger=spec.predictor.inference_logger,
        )

    def to_spec(self) -> DeploymentSpec:
        """The ``DeploymentSpec`` this predictor describes.

        Raises:
            InvalidSpec: A field is invalid (``details.errors`` lists them).
        """
        predictor = build_spec(
            lambda: PredictorSpec(
                model_name=self.model_name,
                model_version=self.model_version,
                script_file=self.script_file,
                resources=spec_resources.PredictorResources.model_validate(
                    self.resources.model_dump()
                ),
                scaling=frozen_or_none(self.scaling_configuration, ScalingConfig),
                batching=frozen_or_none(self.inference_batcher, InferenceBatcher),
                environment=self.environment,
                inference_logger=self.inference_logger,
            ),
            "predictor",
        )
        transformer = self.transformer.to_spec() if self.transformer is not None else None
        return build_spec(
            lambda: DeploymentSpec(
                name=self.name,
                serving_tool=parse_serving_tool(self.serving_tool),
                predictor=predictor,
                transformer=transformer,
            ),
            "deployment",
        )

    def __repr__(self) -> str:
        return f"Predictor(name={self.name!r}, model={self.model_name!r}:{self.model_version})"
