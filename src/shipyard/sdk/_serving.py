"""``ModelServing``: create predictors, transformers and deployments; fetch deployments."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from shipyard.sdk._components import (
    Transformer,
    default_deployment_name,
    deployment_name,
    resolve_script,
)
from shipyard.sdk._deployment import Deployment, Predictor
from shipyard.sdk._http import Connection
from shipyard.sdk._invalid import spec_error
from shipyard.sdk._model import Model
from shipyard.sdk._params import DeploymentParams
from shipyard.sdk._wait import await_gone
from shipyard.spec.batching import InferenceBatcher
from shipyard.spec.deployment import ServingTool
from shipyard.spec.logging import InferenceLogger
from shipyard.spec.resources import PredictorResources, TransformerResources
from shipyard.spec.scaling import ScalingConfig


def _not_supported(field: str, value: Any) -> None:
    if value is not None:
        message = f"{field} is not supported yet: leave it out (Shipyard never ignores a setting)"
        raise spec_error(field, None, message)


def _environment(environment: str | None, image_uri: str | None) -> str | None:
    if environment is not None and image_uri is not None and environment != image_uri:
        message = (
            f"environment {environment!r} and deployment_params.image_uri {image_uri!r} differ: "
            "give one of them"
        )
        raise spec_error("deployment_params.image_uri", image_uri, message)
    return environment if environment is not None else image_uri


class ModelServing:
    """The project's model serving (``project.get_model_serving()``)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def create_predictor(
        self,
        model: Model,
        name: str | None = None,
        serving_tool: str | ServingTool | None = None,
        script_file: str | os.PathLike[str] | None = None,
        resources: PredictorResources | None = None,
        inference_logger: InferenceLogger | None = None,
        inference_batcher: InferenceBatcher | None = None,
        transformer: Transformer | None = None,
        environment: str | None = None,
        deployment_params: DeploymentParams | None = None,
        scaling_configuration: ScalingConfig | None = None,
    ) -> Predictor:
        """Describe how to serve a saved model version (nothing is sent to the server yet).

        Script paths (``script_file`` and the transformer's) name a file *inside the model
        version*. A local path is reduced to that: ``"model_dir/predictor.py"`` or
        ``"/abs/path/model_dir/sub/predictor.py"`` becomes the part relative to the model
        directory (``"predictor.py"``, ``"sub/predictor.py"``) when the file is among the
        model's files (or lies in the directory it was saved from); otherwise its file name.

        Args:
            model: A saved model version (from ``model.save()`` or ``mr.get_model()``).
            name: Deployment name; default: the model name lowercased, ``_`` -> ``-``.
            serving_tool: ``LOCAL`` (default), ``DOCKER``, ``KUBERNETES`` or ``KSERVE``.
            script_file: Predictor script; None = detect (predictor.py, package.py, model file).
            resources: Instances, requests and limits; None = the defaults
                (requests 0.2 cores / 32 MiB, limits 2 cores / 1024 MiB, 1 instance).
            inference_logger: ``InferenceLogger(mode="ALL", url=..., file=..., sample_rate=1)``
                logs requests and/or responses as CloudEvents to ``url`` and/or JSON lines to
                ``file`` (under the server's logs/inference); None = no logging.
            inference_batcher: ``InferenceBatcher(enabled=True, max_batch_size=32,
                max_latency=5, timeout=60)`` combines concurrent requests to one replica into
                one model call (``max_latency`` in ms, ``timeout`` in s); None = no batching.
            transformer: Optional ``Transformer`` for pre- and post-processing.
            environment: Base environment name[:version]; None = the server's interpreter,
                or shipyard/python when the model has a requirements.txt.
            deployment_params: Fiddler-style sizing applied over ``resources``: ``cpu``
                millicpus and ``memory`` MiB become the request and the limit per instance,
                ``replicas`` the instances, ``image_uri`` the environment.
            scaling_configuration: ``PredictorScalingConfig(min_instances, max_instances,
                scale_metric, target, ...)`` to autoscale between min and max instances
                (min 0 = scale to zero when idle); None = ``resources.num_instances``.

        Returns:
            The ``Predictor``; call ``deploy()`` on it.

        Raises:
            InvalidSpec: An unsupported option was given, the model is not saved, or the
                name or serving tool is invalid.
        """
        if deployment_params is not None:
            resources = deployment_params.to_resources(resources)
            environment = _environment(environment, deployment_params.image_uri)
        if inference_logger is not None and not isinstance(inference_logger, InferenceLogger):
            message = "use shipyard.InferenceLogger(mode, url, file, sample_rate)"
            raise spec_error("inference_logger", repr(inference_logger), message)
        if inference_batcher is not None and not isinstance(inference_batcher, InferenceBatcher):
            message = "use shipyard.InferenceBatcher(enabled, max_batch_size, max_latency, timeout)"
            raise spec_error("inference_batcher", repr(inference_batcher), message)
        if not model.saved or model.version is None:
            message = f"model {model.name!r} has not been saved: call model.save(path) first"
            raise spec_error("model", model.name, message)
        model_dir = model.local_path if model.local_path and model.local_path.is_dir() else None
        if transformer is not None:
            transformer.script_file = (
                resolve_script(transformer.script_file, model.files, model_dir)
                or transformer.script_file
            )
        return Predictor(
            self._connection,
            name=name or default_deployment_name(model.name),
            model_name=model.name,
            model_version=model.version,
            serving_tool=serving_tool,
            script_file=resolve_script(script_file, model.files, model_dir),
            resources=resources,
            transformer=transformer,
            environment=environment,
            scaling_configuration=scaling_configuration,
            inference_batcher=inference_batcher,
            inference_logger=inference_logger,
        )

    def create_transformer(
        self,
        script_file: str | os.PathLike[str],
        resources: TransformerResources | None = None,
    ) -> Transformer:
        """Describe a transformer (same as ``shipyard.Transformer(script_file, resources)``).

        Args:
            script_file: Script with class ``Transformer`` (``preprocess``/``postprocess``).
            resources: Instances, requests and limits; None = the defaults.
        """
        return Transformer(script_file, resources=resources)

    def create_deployment(self, predictor: Predictor, name: str | None = None) -> Deployment:
        """A deployment of ``predictor``, not yet on the server: call ``save()``.

        Args:
            predictor: The predictor to deploy.
            name: Deployment name; default: the predictor's name (which this sets).
        """
        if name is not None:
            predictor.name = deployment_name(name)
        return Deployment(self._connection, predictor)

    def get_deployment(self, name: str) -> Deployment:
        """Fetch a deployment by name.

        Raises:
            NotFound: No such deployment.
        """
        body = self._connection.json("GET", f"/deployments/{quote(name, safe='')}")
        return Deployment.from_response(self._connection, body)

    def await_deleted(self, name: str, timeout: float = 600) -> None:
        """Wait until deployment ``name`` is gone from the server (its name free again).

        Returns at once when there is no such deployment.

        Raises:
            TimeoutExpired: It was still there (or being deleted) after ``timeout`` seconds.
        """
        await_gone(name, lambda: self.get_deployment(name).get_state(), timeout)

    def get_deployments(self) -> list[Deployment]:
        """Every deployment of the project."""
        body = self._connection.json("GET", "/deployments")
        return [Deployment.from_response(self._connection, item) for item in body]
