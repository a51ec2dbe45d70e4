"""``DeploymentParams``: Fiddler's way to size a deployment, converted exactly to ours.

Fiddler's ``cpu`` is in millicpus (250 = 0.25 cores) and its ``memory`` in MiB; Fiddler reserves
both per replica, so they become the request *and* the limit of every predictor instance
(``cores = cpu / 1000`` exactly, ``memory`` unchanged). ``replicas`` is the number of
instances (0 = scale to zero) and ``image_uri`` the base environment's name.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shipyard.errors import InvalidSpec
from shipyard.sdk._invalid import field_errors
from shipyard.sdk._resources import PredictorResources, editable
from shipyard.spec import resources as spec
from shipyard.spec.overlay import ResourceChange
from shipyard.spec.units import millicpus_to_cores
from shipyard.spec.validation import FieldError

# field -> (smallest accepted value, what is accepted)
_RULES = {
    "cpu": (1, "a whole number of millicpus per replica, 1 or more (250 = 0.25 cores)"),
    "memory": (1, "a whole number of MiB per replica, 1 or more (512 = 512 MiB)"),
    "replicas": (0, "a whole number of replicas, 0 or more (0 = scale to zero)"),
}


def _problems(values: dict[str, Any]) -> list[FieldError]:
    out = []
    for name, (low, accepted) in _RULES.items():
        value = values[name]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            out.append(FieldError(name, value, f"{name} must be {accepted}"))
    return out


class DeploymentParams(BaseModel):
    """Fiddler-style deployment parameters: millicpus, MiB and replicas.

    ``DeploymentParams(cpu=250, memory=512, replicas=1)`` asks for 0.25 cores and 512 MiB per
    replica, reserved (request = limit), on 1 replica. Unset values keep the predictor's own.

    Args:
        image_uri: The base environment (name:version or a Fiddler image URI such as
            md-base/python/machine-learning:1.1.0); None = the server's interpreter, or
            shipyard/python when the model has a requirements.txt.
        cpu: Millicpus per replica (1000 = 1 core); None = keep.
        memory: MiB per replica; None = keep.
        replicas: Instances of the predictor, 0 = scale to zero; None = keep.

    Raises:
        InvalidSpec: A value is not a whole number in its range (the message names the unit).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    image_uri: str | None = Field(default=None, description="Base environment name:version.")
    cpu: int | None = Field(
        default=None, strict=True, gt=0, description="Millicpus per replica (250 = 0.25 cores)."
    )
    memory: int | None = Field(
        default=None, strict=True, gt=0, description="Memory per replica in MiB."
    )
    replicas: int | None = Field(
        default=None, strict=True, ge=0, description="Replicas; 0 = scale to zero."
    )

    def __init__(
        self,
        image_uri: str | None = None,
        cpu: int | None = None,
        memory: int | None = None,
        replicas: int | None = None,
    ) -> None:
        problems = _problems({"cpu": cpu, "memory": memory, "replicas": replicas})
        if problems:
            text = "; ".join(f"{e.field}={e.value!r}: {e.message}" for e in problems)
            raise InvalidSpec(f"invalid deployment params: {text}", details=field_errors(*problems))
        super().__init__(image_uri=image_uri, cpu=cpu, memory=memory, replicas=replicas)

    @property
    def cores(self) -> float | None:
        """``cpu`` in cores, exactly (``250 -> 0.25``); None when unset."""
        return None if self.cpu is None else millicpus_to_cores(self.cpu)

    def to_resources(self, base: spec.PredictorResources | None = None) -> PredictorResources:
        """Predictor resources with these parameters applied over ``base`` (None = defaults).

        ``cpu`` and ``memory`` set the request and the limit alike (Fiddler reserves them);
        ``replicas`` sets ``num_instances``; GPUs and anything unset keep ``base``'s values
        (the one overlay rule, ``shipyard.spec.overlay``).
        """
        change = ResourceChange.reserved(self.cores, self.memory, self.replicas)
        return change.apply(editable(base, PredictorResources))
