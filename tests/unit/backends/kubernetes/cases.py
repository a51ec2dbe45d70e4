"""Deployment specs the rendering tests share: the iris example and the serving-tool matrix.

Golden files live next to the tests that use them (``golden/<case>.yaml``): the exact YAML a
dry run prints. ``SHIPYARD_UPDATE_GOLDEN=1`` rewrites them; review the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from shipyard.backends.cluster.inputs import ClusterTarget, KServeMode, RenderInput
from shipyard.spec.batching import InferenceBatcher
from shipyard.spec.deployment import (
    Component,
    DeploymentSpec,
    PredictorSpec,
    ServingTool,
    TransformerSpec,
)
from shipyard.spec.resources import PredictorResources, Resources, TransformerResources
from shipyard.spec.scaling import ScaleMetric, ScalingConfig

DEPLOYMENT_ID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PROJECT_ID = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
IMAGE = "registry.example.com/shipyard/runtime:env-3f2a9c"
TARGET = ClusterTarget(namespace="shipyard-demo", api_url="http://shipyard.shipyard:8470")

# the seed's resource allocation example (hsml): minimum 1 core / 128 MB / 1 GPU, maximum 2 / 256
SEED_MIN = Resources(cores=1, memory=128, gpus=1)
SEED_MAX = Resources(cores=2, memory=256, gpus=1)


def iris(tool: ServingTool) -> DeploymentSpec:
    predictor = PredictorSpec(model_name="iris", model_version=1, script_file="predictor.py")
    return DeploymentSpec(name="iris", serving_tool=tool, predictor=predictor)


def seed_predictor(tool: ServingTool, instances: int = 1) -> PredictorSpec:
    res = PredictorResources(num_instances=instances, requests=SEED_MIN, limits=SEED_MAX)
    return PredictorSpec(model_name="fraud", model_version=3, resources=res)


def seed_transformer(instances: int = 2) -> TransformerSpec:
    res = TransformerResources(num_instances=instances, requests=SEED_MIN, limits=SEED_MAX)
    return TransformerSpec(script_file="transformer.py", resources=res)


def render_input(
    spec: DeploymentSpec,
    *,
    stopped: bool = False,
    mode: KServeMode = KServeMode.SERVERLESS,
    framework: str | None = None,
) -> RenderInput:
    target = ClusterTarget(namespace=TARGET.namespace, api_url=TARGET.api_url, kserve_mode=mode)
    return RenderInput(
        deployment_id=DEPLOYMENT_ID,
        project_id=PROJECT_ID,
        revision=2,
        spec=spec,
        target=target,
        images={Component.PREDICTOR: IMAGE, Component.TRANSFORMER: IMAGE},
        framework=framework,
        stopped=stopped,
    )


KUBERNETES_CASES: dict[str, RenderInput] = {
    "kubernetes-iris": render_input(iris(ServingTool.KUBERNETES), framework="python"),
    # matrix row: Kubernetes / Predictor / minimum resources (the limits are not applied)
    "kubernetes-predictor-minimum": render_input(
        DeploymentSpec(
            name="fraud",
            serving_tool=ServingTool.KUBERNETES,
            predictor=seed_predictor(ServingTool.KUBERNETES, instances=2),
        ),
        framework="sklearn",
    ),
    "kubernetes-autoscaling": render_input(
        DeploymentSpec(
            name="fraud",
            serving_tool=ServingTool.KUBERNETES,
            predictor=PredictorSpec(
                model_name="fraud",
                model_version=3,
                scaling=ScalingConfig(
                    min_instances=2, max_instances=6, scale_metric=ScaleMetric.RPS, target=50
                ),
                batching=InferenceBatcher(enabled=True, max_batch_size=16, max_latency=10),
            ),
        ),
        framework="xgboost",
    ),
    "kubernetes-stopped": render_input(
        iris(ServingTool.KUBERNETES), stopped=True, framework="python"
    ),
}

KSERVE_CASES: dict[str, RenderInput] = {
    "kserve-iris": render_input(iris(ServingTool.KSERVE), framework="python"),
    # matrix rows: KServe / Predictor and Transformer / minimum and maximum resources
    "kserve-predictor-transformer-min-max": render_input(
        DeploymentSpec(
            name="fraud",
            serving_tool=ServingTool.KSERVE,
            predictor=seed_predictor(ServingTool.KSERVE),
            transformer=seed_transformer(),
        ),
        framework="sklearn",
    ),
    # the seed's note: KServe deployments scale to zero with 0 instances (Serverless mode)
    "kserve-scale-to-zero-batching": render_input(
        DeploymentSpec(
            name="fraud",
            serving_tool=ServingTool.KSERVE,
            predictor=PredictorSpec(
                model_name="fraud",
                model_version=3,
                resources=PredictorResources(num_instances=0),
                batching=InferenceBatcher(enabled=True, max_batch_size=32, max_latency=5.5),
            ),
        ),
        framework="lightgbm",
    ),
    "kserve-autoscaling-standard": render_input(
        DeploymentSpec(
            name="fraud",
            serving_tool=ServingTool.KSERVE,
            predictor=PredictorSpec(
                model_name="fraud",
                model_version=3,
                scaling=ScalingConfig(min_instances=1, max_instances=5, target=8),
            ),
            transformer=TransformerSpec(
                script_file="transformer.py",
                scaling=ScalingConfig(min_instances=1, max_instances=3, target=2.5),
            ),
        ),
        mode=KServeMode.STANDARD,
    ),
    "kserve-stopped": render_input(iris(ServingTool.KSERVE), stopped=True, framework="python"),
}


def to_yaml(objects: list[dict[str, Any]]) -> str:
    """The YAML a dry run prints (``--dry-run -o yaml``)."""
    return yaml.safe_dump_all(objects, sort_keys=False)


def check_golden(folder: Path, case: str, text: str) -> None:
    path = folder / "golden" / f"{case}.yaml"
    if os.environ.get("SHIPYARD_UPDATE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no golden file {path}: run with SHIPYARD_UPDATE_GOLDEN=1"
    assert text == path.read_text(), f"{case} differs from {path}"
