"""Resource types in the place ``hsml.resources`` users expect them.

``from shipyard.resources import PredictorResources, Resources`` works like
``from hsml.resources import ...``. Units: cores (fractional allowed), memory in MiB, whole GPUs.
They are the SDK's editable resources (``shipyard.sdk._resources``): fields may be changed in
place, as hsml's (``deployment.predictor.resources.num_instances = 2; deployment.save()``).
"""

from __future__ import annotations

from shipyard.sdk._resources import PredictorResources, Resources, TransformerResources

__all__ = ["PredictorResources", "Resources", "TransformerResources"]
