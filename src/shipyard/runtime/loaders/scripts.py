"""Python-script model formats: Hopsworks predictor and transformer scripts, Fiddler package.py.

A script is imported by path with ``importlib``; its own directory is put first on ``sys.path``
(users expect sibling imports to work), nothing else is added. The import and the user's
``__init__``/``get_model()`` run in the load thread, never on the event loop.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
import time
from collections.abc import Callable, Collection
from pathlib import Path
from types import ModuleType

from shipyard.errors import ModelServeError
from shipyard.runtime.model import AdaptedModel, InputKind, Loaded

PREDICTOR_CLASSES = ("Predictor", "Predict")
PREFERRED_SCRIPTS = ("predictor.py", "predict.py")


def defines_class(path: Path, names: Collection[str]) -> bool:
    """Whether the script defines a top-level class named one of ``names`` (parsed, not run)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return False
    return any(isinstance(node, ast.ClassDef) and node.name in names for node in tree.body)


def find_predictor_script(model_dir: Path) -> Path | None:
    """``predictor.py``, ``predict.py``, or the single top-level ``*.py`` defining the class.

    Raises:
        ModelServeError: Several scripts define ``Predictor``/``Predict``.
    """
    for name in PREFERRED_SCRIPTS:
        if (model_dir / name).is_file():
            return model_dir / name
    found = [p for p in sorted(model_dir.glob("*.py")) if defines_class(p, PREDICTOR_CLASSES)]
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise ModelServeError(
            f"several scripts in {model_dir} define class Predictor or Predict ({names}): "
            "choose one with --script"
        )
    return found[0] if found else None


def _timed(started: float, imported: float) -> tuple[tuple[str, float], ...]:
    """``imports`` (running the script) and ``model_load`` (building its object) in seconds."""
    return (("imports", imported - started), ("model_load", time.perf_counter() - imported))


def import_script(path: Path) -> ModuleType:
    """Import a user script by path, as module ``<stem>`` unless that name is taken.

    Raises:
        ModelServeError: The path cannot be imported as a module.
        Exception: Whatever running the script raised.
    """
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = path.stem
    if not name.isidentifier() or name in sys.modules:
        name = f"_shipyard_user_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelServeError(f"{path} cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _predictor_factory(path: Path) -> Callable[[], Loaded]:
    def load() -> Loaded:
        started = time.perf_counter()
        module = import_script(path)
        imported = time.perf_counter()
        for class_name in PREDICTOR_CLASSES:
            cls = getattr(module, class_name, None)
            if isinstance(cls, type):
                obj = cls()
                return Loaded(obj, InputKind.PYTHON, "python", timings=_timed(started, imported))
        get_model = getattr(module, "get_model", None)
        if callable(get_model):
            obj = get_model()
            timings = _timed(started, imported)
            return Loaded(obj, InputKind.DATAFRAME, "python-package", timings=timings)
        raise ModelServeError(
            f"{path} defines neither class Predictor (or Predict) nor a get_model() function"
        )

    return load


def _transformer_factory(path: Path) -> Callable[[], Loaded]:
    def load() -> Loaded:
        started = time.perf_counter()
        cls = getattr(import_script(path), "Transformer", None)
        imported = time.perf_counter()
        if not isinstance(cls, type):
            raise ModelServeError(f"{path} does not define class Transformer")
        methods = ("preprocess", "postprocess")
        obj = cls()
        timings = _timed(started, imported)
        return Loaded(obj, InputKind.PYTHON, "python-transformer", methods, timings)

    return load


def script_model(path: Path) -> AdaptedModel:
    """A predictor script (class ``Predictor``/``Predict``) or a ``package.py`` (``get_model``)."""
    return AdaptedModel(_predictor_factory(path), source=str(path), platform="python")


def transformer_model(path: Path) -> AdaptedModel:
    """A transformer script: class ``Transformer``; predict is ``postprocess(preprocess(x))``."""
    return AdaptedModel(_transformer_factory(path), source=str(path), platform="python-transformer")
