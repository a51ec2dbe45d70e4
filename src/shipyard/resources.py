"""Resource types in the place ``hsml.resources`` users expect them.

``from shipyard.resources import PredictorResources, Resources`` works like
``from hsml.resources import ...``. Units: cores (fractional allowed), memory in MiB, whole GPUs.
"""

from __future__ import annotations

from shipyard.spec.resources import PredictorResources, Resources, TransformerResources

__all__ = ["PredictorResources", "Resources", "TransformerResources"]
