"""Find what to serve (contract section 1 detection order) and build its ServedModel.

Detection only looks at files; importing and loading happen later in the load thread. Order
when ``--script`` is not given: a predictor script, then ``package.py``, then a bare model file
of ``--framework`` (guessed by suffix when no framework is given).
"""

from __future__ import annotations

from pathlib import Path

from shipyard.errors import ModelServeError
from shipyard.runtime.config import RuntimeConfig
from shipyard.runtime.loaders import frameworks, scripts
from shipyard.runtime.model import ServedModel


def _existing(script: Path) -> Path:
    if not script.is_file():
        raise ModelServeError(f"script {script} does not exist")
    return script


def detect(config: RuntimeConfig) -> ServedModel:
    """The model this replica serves (not loaded yet).

    Args:
        config: The replica's configuration.

    Returns:
        A ServedModel whose ``load()`` imports and builds it.

    Raises:
        ModelServeError: Nothing loadable was found; the message lists what was looked for.
    """
    if config.component == "transformer":
        if config.script is None:
            raise ModelServeError("a transformer needs --script (a script with class Transformer)")
        return scripts.transformer_model(_existing(config.script))
    if config.script is not None:
        return scripts.script_model(_existing(config.script))
    model_dir = config.model_dir
    if not model_dir.is_dir():
        raise ModelServeError(f"model directory {model_dir} does not exist (MODEL_FILES_PATH)")
    script = scripts.find_predictor_script(model_dir)
    if script is not None:
        return scripts.script_model(script)
    if (model_dir / "package.py").is_file():
        return scripts.script_model(model_dir / "package.py")
    model_file = frameworks.find_model_file(model_dir, config.framework)
    if model_file is not None:
        return frameworks.framework_model(model_file, config.framework)
    raise ModelServeError(
        f"nothing to serve in {model_dir}: looked for predictor.py, predict.py or one *.py "
        "defining class Predictor or Predict; package.py with get_model(); and "
        f"{frameworks.describe(config.framework)}. Pass --script, or --framework for a bare "
        "model file."
    )
