"""``ModelRegistry``: create model versions per framework, fetch and list them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shipyard.sdk._http import Connection
from shipyard.sdk._invalid import spec_error
from shipyard.sdk._model import Model, model_url
from shipyard.spec.deployment import Framework


@dataclass(frozen=True)
class ModelSummary:
    """One model of the registry: its name, latest version and number of versions."""

    name: str
    latest_version: int | None
    versions: int
    created_at: str | None

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> ModelSummary:
        """Build from the API's ``ModelSummary`` answer."""
        versions = body.get("versions")
        count = len(versions) if isinstance(versions, list) else int(versions or 0)
        latest = body.get("latest_version")
        return cls(
            name=str(body["name"]),
            latest_version=int(latest) if latest is not None else None,
            versions=count,
            created_at=body.get("created_at"),
        )


class FrameworkModels:
    """Creates models of one framework (``mr.python``, ``mr.sklearn``, ...)."""

    def __init__(self, connection: Connection, framework: Framework) -> None:
        self._connection = connection
        self.framework = framework

    def create_model(
        self,
        name: str,
        version: int | None = None,
        metrics: Mapping[str, float] | None = None,
        description: str | None = None,
        input_example: Any = None,
        model_schema: Any = None,
    ) -> Model:
        """Create a local model object; ``model.save(path)`` uploads it as a new version.

        Args:
            name: The model name.
            version: The version to create; None = the next one (the registry numbers
                versions, so any other value than the next one is refused by ``save``).
            metrics: Training metrics, name to number.
            description: Free text.
            input_example: A JSON-serialisable example input (numpy/pandas are converted).
            model_schema: Not supported yet; must be None.

        Returns:
            The unsaved ``Model``.

        Raises:
            InvalidSpec: ``model_schema`` was given.
        """
        if model_schema is not None:
            message = "model_schema is not supported yet: leave it out (use input_example instead)"
            raise spec_error("model_schema", None, message)
        return Model(
            self._connection,
            name,
            framework=self.framework.value,
            version=version,
            description=description,
            metrics=metrics,
            input_example=input_example,
        )


class ModelRegistry:
    """The project's model registry (``project.get_model_registry()``)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    @property
    def python(self) -> FrameworkModels:
        """Models served by a Python predictor script (or ``package.py``)."""
        return FrameworkModels(self._connection, Framework.PYTHON)

    @property
    def sklearn(self) -> FrameworkModels:
        """scikit-learn models (``*.joblib``, ``*.pkl``) or a predictor script."""
        return FrameworkModels(self._connection, Framework.SKLEARN)

    @property
    def xgboost(self) -> FrameworkModels:
        """XGBoost models (``*.json``, ``*.ubj``, ``*.bst``, pickled) or a predictor script."""
        return FrameworkModels(self._connection, Framework.XGBOOST)

    @property
    def lightgbm(self) -> FrameworkModels:
        """LightGBM models (``*.txt``, pickled) or a predictor script."""
        return FrameworkModels(self._connection, Framework.LIGHTGBM)

    def framework(self, framework: str) -> FrameworkModels:
        """The model factory of a framework given by name (``python``, ``sklearn``, ...).

        Raises:
            InvalidSpec: Unknown framework.
        """
        try:
            return FrameworkModels(self._connection, Framework(framework.lower()))
        except ValueError:
            known = ", ".join(f.value for f in Framework)
            message = f"unknown framework {framework!r}: use one of {known}"
            raise spec_error("framework", framework, message) from None

    def get_model(self, name: str, version: int | None = None) -> Model:
        """Fetch one version of a model.

        Args:
            name: The model name.
            version: The version number; None = the latest.

        Raises:
            NotFound: No such model or version.
        """
        body = self._connection.json(
            "GET", model_url(name, "latest" if version is None else version)
        )
        return Model.from_response(self._connection, body)

    def get_models(self, name: str) -> list[Model]:
        """All versions of a model, oldest first.

        Raises:
            NotFound: No such model.
        """
        body = self._connection.json("GET", model_url(name))
        return [Model.from_response(self._connection, item) for item in body]

    def delete_model(self, name: str) -> list[int]:
        """Delete model ``name`` and every version of it.

        Returns:
            The numbers of the deleted versions.

        Raises:
            NotFound: No such model.
            Conflict: A deployment uses one of its versions (the message names it).
        """
        body = self._connection.json("DELETE", f"/models/{quote(name, safe='')}")
        return [int(item["version"]) for item in body]

    def list_models(self) -> list[ModelSummary]:
        """Every model of the project, with its latest version."""
        body = self._connection.json("GET", "/models")
        return [ModelSummary.from_response(item) for item in body]
