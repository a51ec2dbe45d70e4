"""Bare model files of the built-in frameworks: sklearn, xgboost and lightgbm.

The framework libraries are imported inside the load functions only, in the load thread. Each
model predicts on a ``numpy.ndarray``; errors a framework raises for malformed features
(``ValueError``, ``TypeError``, LightGBM's own error) are the client's fault and become 400.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidInput, ModelServeError
from shipyard.runtime.model import AdaptedModel, InputKind, Loaded

PICKLES = (".joblib", ".pkl", ".pickle")
_XGBOOST = (".json", ".ubj", ".bst")
_LIGHTGBM = (".txt",)
SUFFIX_GROUPS: dict[str | None, tuple[tuple[str, ...], ...]] = {
    "sklearn": (PICKLES,),
    "xgboost": (_XGBOOST, PICKLES),
    "lightgbm": (_LIGHTGBM, PICKLES),
    "python": (),
    None: (PICKLES, (".ubj", ".bst", ".json"), _LIGHTGBM),
}
"""Model-file suffixes to look for, by ``--framework``, in order of preference."""
_NOT_MODELS = {"input_example.json", "model_schema.json", "metadata.json", "requirements.txt"}


class _InputErrors:
    """A framework's predict whose input errors are the client's fault (HTTP 400)."""

    def __init__(self, predict: Callable[[Any], Any], errors: tuple[type[Exception], ...]) -> None:
        self._predict = predict
        self._errors = errors

    def predict(self, features: Any) -> Any:
        try:
            return self._predict(features)
        except self._errors as exc:
            raise InvalidInput(f"{type(exc).__name__}: {exc}") from None


def _unpickle(path: Path) -> Any:
    try:
        import joblib
    except ImportError:
        if path.suffix == ".joblib":
            raise ModelServeError(f"{path} needs joblib, which is not installed") from None
        with path.open("rb") as file:
            return pickle.load(file)
    return joblib.load(path)


def _load_pickle(path: Path) -> Loaded:
    obj = _unpickle(path)
    if not callable(getattr(obj, "predict", None)):
        raise ModelServeError(f"{path}: the unpickled {type(obj).__name__} has no predict()")
    package = type(obj).__module__.partition(".")[0]
    platform = package if package in ("sklearn", "xgboost", "lightgbm") else "sklearn"
    return Loaded(_InputErrors(obj.predict, (ValueError, TypeError)), InputKind.NDARRAY, platform)


def _load_xgboost(path: Path) -> Loaded:
    import xgboost

    booster = xgboost.Booster(model_file=str(path))

    def predict(features: Any) -> Any:
        return booster.predict(xgboost.DMatrix(features))

    return Loaded(_InputErrors(predict, (ValueError, TypeError)), InputKind.NDARRAY, "xgboost")


def _load_lightgbm(path: Path) -> Loaded:
    import lightgbm

    booster = lightgbm.Booster(model_file=str(path))
    errors = (ValueError, TypeError, lightgbm.basic.LightGBMError)
    return Loaded(_InputErrors(booster.predict, errors), InputKind.NDARRAY, "lightgbm")


def _files(model_dir: Path, *, recursive: bool) -> list[Path]:
    paths = sorted(model_dir.rglob("*") if recursive else model_dir.iterdir())
    return [
        p
        for p in paths
        if p.is_file()
        and p.name not in _NOT_MODELS
        and not p.name.startswith("requirements")
        and not any(
            part.startswith(".") or part == "__pycache__"
            for part in p.relative_to(model_dir).parts  # not the parents: ~/.shipyard is fine
        )
    ]


def find_model_file(model_dir: Path, framework: str | None) -> Path | None:
    """The model file of ``framework`` in ``model_dir`` (top level first, then subfolders).

    Raises:
        ModelServeError: Several files could be the model and none is named ``model.*``.
    """
    for recursive in (False, True):
        files = _files(model_dir, recursive=recursive)
        for suffixes in SUFFIX_GROUPS[framework]:
            matches = [p for p in files if p.suffix.lower() in suffixes]
            if len(matches) > 1:
                matches = [p for p in matches if p.stem == "model"] or matches
            if len(matches) == 1:
                return matches[0]
            if matches:
                names = ", ".join(str(p.relative_to(model_dir)) for p in matches)
                raise ModelServeError(f"several model files in {model_dir} ({names}): keep one")
    return None


def describe(framework: str | None) -> str:
    """What :func:`find_model_file` looks for, for error messages."""
    suffixes = [s for group in SUFFIX_GROUPS[framework] for s in group]
    if not suffixes:
        return f"no model file (--framework {framework} has none)"
    what = f"a {framework} model file" if framework else "a model file"
    return f"{what} ({', '.join('*' + s for s in suffixes)})"


def framework_model(path: Path, framework: str | None) -> AdaptedModel:
    """The model in a bare file: native xgboost/lightgbm formats, or a pickle with predict()."""
    suffix = path.suffix.lower()
    if suffix in PICKLES:
        load, platform = _load_pickle, framework or "sklearn"
    elif suffix in _LIGHTGBM:
        load, platform = _load_lightgbm, "lightgbm"
    else:
        load, platform = _load_xgboost, "xgboost"
    return AdaptedModel(lambda: load(path), source=str(path), platform=platform)
