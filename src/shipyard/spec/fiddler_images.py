"""Fiddler's base image names, which Shipyard accepts as aliases of its own base environments.

Layer: ``shipyard.spec`` (pure data and one pure function). The catalogue
(``shipyard/environments/builtin/*.toml``) maps each image URI to a Shipyard base; that base
pins *other* versions than Fiddler's image did (scikit-learn 1.9.1, not 1.1.1) and runs on the
server's Python. ``shipyard.spec.tools.resolve`` turns each use of such a name into a resolution
warning that says so, listing the pins of Fiddler's image (from Fiddler's "Flexible Model
Deployment" page), so that a model relying on one of them pins it in its ``requirements.txt``.
"""

from __future__ import annotations

FIDDLER_PINS: dict[str, tuple[str, ...]] = {
    "md-base/python/machine-learning:1.1.0": (
        "catboost==1.1.1", "joblib==1.2.0", "lightgbm==3.3.0", "nltk==3.7", "numpy==1.23.4",
        "pandas==1.5.1", "scikit-learn==1.1.1", "shap==0.40.0", "xgboost==1.7.1",
    ),
    "md-base/python/deep-learning:1.2.0": (
        "joblib==1.2.0", "nltk==3.7", "numpy==1.23.4", "pandas==1.5.1", "Pillow==9.3.0",
        "tensorflow==2.9.3", "torch==1.13.1", "torchvision==0.14.1", "transformers==4.24.0",
    ),
    "md-base/python/python-38:1.1.0": (),
    "md-base/python/python-39:1.1.0": (),
}  # fmt: skip
"""Fiddler's image URI -> the model-facing packages it pinned (its server's own left out)."""


def alias_message(uri: str) -> str | None:
    """What using ``uri`` means here, or None when it is not one of Fiddler's image names."""
    if uri not in FIDDLER_PINS:
        return None
    pins = FIDDLER_PINS[uri]
    had = f"Fiddler's image pinned {', '.join(pins)}" if pins else "Fiddler's image pins nothing"
    return (
        f"{uri} is an alias: Shipyard serves it with its own base environment, on the server's "
        f"Python, with other package versions ({had}); see `shipyard environments show {uri}` "
        "and pin in the model's requirements.txt what it needs"
    )
