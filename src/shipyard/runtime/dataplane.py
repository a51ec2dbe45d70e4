"""Protocol-agnostic request handling: model name, readiness, metadata and inference.

The REST layer (``shipyard.runtime.app``) translates the wire format with
``shipyard.runtime.protocols`` and delegates here. Every failure is a ``shipyard.errors`` class:
``NotFound`` (other model name), ``NotReady`` (still loading), ``InvalidInput`` (the input's
fault: a model's ``predict`` or ``preprocess`` raising ``ValueError``, ``TypeError``,
``KeyError`` or ``IndexError`` rejects its input, 400 with the model's message) and
``InferenceError`` (user code raised anything else; its traceback is logged).
"""

from __future__ import annotations

import asyncio
import logging
import time
from importlib import metadata
from typing import Any

from shipyard.errors import InferenceError, InvalidInput, NotFound, NotReady, ShipyardError
from shipyard.runtime.batching import Batcher, BatchPolicy
from shipyard.runtime.metrics import ReplicaMetrics
from shipyard.runtime.model import InputKind, ServedModel

log = logging.getLogger("shipyard.runtime")

STAGES = ("preprocess", "postprocess")
# what predict or preprocess raise when the input is at fault (answered 400, not 500)
_INPUT_FAULTS = (ValueError, TypeError, KeyError, IndexError)


def _shipyard_version() -> str:
    try:
        return metadata.version("shipyard")
    except metadata.PackageNotFoundError:
        return "0+unknown"


class DataPlane:
    """One served model behind the runtime's endpoints."""

    def __init__(
        self,
        model: ServedModel,
        *,
        name: str,
        version: str,
        any_name: bool,
        batching: BatchPolicy | None = None,
        metrics: ReplicaMetrics | None = None,
    ) -> None:
        """Wrap a (not yet loaded) model.

        Args:
            model: The model to serve.
            name: The ``<m>`` answered to in URLs.
            version: The model version reported in V2 answers.
            any_name: Answer to any ``<m>``.
            batching: Combine concurrent predictions into one model call (None = never).
            metrics: Where model calls are measured (a fresh one if None).
        """
        self._model = model
        self.metrics = metrics or ReplicaMetrics({"deployment": name, "model_version": version})
        self._batcher = (
            Batcher(model.predict, batching, self.metrics) if batching is not None else None
        )
        self.name = name
        self.version = version
        self._any_name = any_name
        self._ready = False
        self._server_metadata = {
            "name": "shipyard",
            "version": _shipyard_version(),
            "extensions": [],
        }

    @property
    def ready(self) -> bool:
        """Whether the model finished loading."""
        return self._ready

    @property
    def timings(self) -> dict[str, float]:
        """What the model's load spent on imports and building it (empty until ready)."""
        return self._model.timings if self._ready else {}

    @property
    def input_kind(self) -> InputKind:
        """What the model's predict takes (final once ready)."""
        return self._model.input_kind

    async def load(self) -> float:
        """Load the model and mark the plane ready.

        Returns:
            Seconds the load took.
        """
        started = time.perf_counter()
        await self._model.load()
        self._ready = True
        elapsed = time.perf_counter() - started
        log.info("loaded %s (%s) in %.3f s", self._model.source, self._model.platform, elapsed)
        return elapsed

    def check_name(self, name: str) -> None:
        """Raise ``NotFound`` unless this replica answers to ``name``."""
        if name != self.name and not self._any_name:
            raise NotFound(f"model {name!r} is not served here (this replica serves {self.name!r})")

    def check(self, name: str) -> None:
        """Raise ``NotFound`` for another model name, then ``NotReady`` while loading."""
        self.check_name(name)
        if not self._ready:
            raise NotReady(f"model {name!r} is still loading")

    def server_metadata(self) -> dict[str, Any]:
        """The V2 server metadata."""
        return self._server_metadata

    def model_metadata(self, name: str) -> dict[str, Any]:
        """The V2 model metadata (inputs and outputs are not declared by our model formats)."""
        self.check(name)
        return {
            "name": name,
            "versions": [self.version],
            "platform": self._model.platform,
            "inputs": [],
            "outputs": [],
        }

    async def infer(self, payload: Any) -> Any:
        """Run the model on a decoded payload.

        Raises:
            InferenceError: The model raised something other than a ``ShipyardError``.
        """
        try:
            if self._batcher is not None:
                return await self._batcher.submit(payload)
            return await self._predict(payload)
        except ShipyardError:
            raise
        except Exception as exc:
            raise self._classify(exc) from exc

    async def _predict(self, payload: Any) -> Any:
        """One unbatched model call, timed for the metrics."""
        started = time.perf_counter()
        try:
            return await self._model.predict(payload)
        finally:
            self.metrics.model_call(1, time.perf_counter() - started)

    def _classify(self, exc: Exception) -> ShipyardError:
        """What a model's exception means: the input's fault (400) or the model's (500)."""
        if isinstance(exc, _INPUT_FAULTS):
            log.warning("%s rejected an input: %s: %s", self._model.source, type(exc).__name__, exc)
            return InvalidInput(f"the model rejected the input: {type(exc).__name__}: {exc}")
        log.error("%s raised while predicting", self._model.source, exc_info=exc)
        return InferenceError(f"{type(exc).__name__}: {exc}")

    async def infer_many(self, payloads: list[Any]) -> list[Any]:
        """Run the model on payloads that arrived together (the parts of a gateway's bundle).

        Returns:
            Per payload, its prediction or the ``ShipyardError`` its model call raised (the
            other payloads' predictions are unaffected).
        """
        if self._batcher is not None:
            results = await self._batcher.submit_many(payloads)
        else:  # each its own call, concurrently as if they had come alone
            calls = (self._predict(payload) for payload in payloads)
            results = list(await asyncio.gather(*calls, return_exceptions=True))
            for result in results:
                if isinstance(result, BaseException) and not isinstance(result, Exception):
                    raise result
        classified: dict[int, ShipyardError] = {}
        for index, result in enumerate(results):
            if isinstance(result, Exception) and not isinstance(result, ShipyardError):
                error = classified.get(id(result))
                if error is None:  # one model call failing for several payloads: one log line
                    error = classified[id(result)] = self._classify(result)
                    error.__cause__ = result
                results[index] = error
        return results

    async def stage(self, name: str, payload: Any) -> Any:
        """Run a transformer step on a decoded payload.

        Raises:
            InvalidInput: Not a transformer, or ``preprocess`` rejected the input
                (``ValueError``, ``TypeError``, ``KeyError``, ``IndexError``).
            InferenceError: The step raised anything else.
        """
        if name not in STAGES or not self._model.has_stage(name):
            raise InvalidInput(f"this replica has no {name!r} step (it is not a transformer)")
        try:
            return await self._model.stage(name, payload)
        except ShipyardError:
            raise
        except _INPUT_FAULTS as exc:
            if name != "preprocess":
                log.exception("%s raised in %s", self._model.source, name)
                raise InferenceError(f"{name}: {type(exc).__name__}: {exc}") from exc
            raise InvalidInput(f"{name} rejected the input: {type(exc).__name__}: {exc}") from exc
        except Exception as exc:
            log.exception("%s raised in %s", self._model.source, name)
            raise InferenceError(f"{name}: {type(exc).__name__}: {exc}") from exc
