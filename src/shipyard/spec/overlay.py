"""The one rule for partial resource changes: ``ResourceChange(...).apply(base)``.

Every client that changes only some of a component's resources goes through it: the CLI's
``deployments update|scale`` options (``--memory``, ``--limit-cores``, ...), Fiddler's
``DeploymentParams`` (``cpu``/``memory`` set the request and the limit alike) and the
Fiddler client's ``update_model_deployment``. The rule:

* a value that is not given (None) keeps the base's;
* GPUs must be equal on both sides, so a GPU count given on one side only is used for both;
* the result has the base's type (predictor or transformer resources, frozen or editable).

Checking the result (a request above its limit, ...) is the spec validation's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from shipyard.spec.resources import ComponentResources, Resources

C = TypeVar("C", bound=ComponentResources)


@dataclass(frozen=True)
class ResourceChange:
    """The resource fields a caller gives; None = keep the base's value."""

    instances: int | None = None
    request_cores: float | None = None
    request_memory: int | None = None
    request_gpus: int | None = None
    limit_cores: float | None = None
    limit_memory: int | None = None
    limit_gpus: int | None = None

    @classmethod
    def reserved(
        cls, cores: float | None, memory: int | None, instances: int | None = None
    ) -> ResourceChange:
        """Reserved resources (Fiddler's way): each value is the request *and* the limit."""
        return cls(
            instances=instances,
            request_cores=cores,
            request_memory=memory,
            limit_cores=cores,
            limit_memory=memory,
        )

    @property
    def empty(self) -> bool:
        """Whether nothing is given (applying it changes nothing)."""
        return all(value is None for value in vars(self).values())

    def apply(self, base: C) -> C:
        """``base`` with the given fields changed, by the rule of this module."""
        request_gpus = self.request_gpus if self.request_gpus is not None else self.limit_gpus
        limit_gpus = self.limit_gpus if self.limit_gpus is not None else self.request_gpus
        return type(base)(
            num_instances=_keep(self.instances, base.num_instances),
            requests=Resources(
                cores=_keep(self.request_cores, base.requests.cores),
                memory=_keep(self.request_memory, base.requests.memory),
                gpus=_keep(request_gpus, base.requests.gpus),
            ),
            limits=Resources(
                cores=_keep(self.limit_cores, base.limits.cores),
                memory=_keep(self.limit_memory, base.limits.memory),
                gpus=_keep(limit_gpus, base.limits.gpus),
            ),
        )


T = TypeVar("T", int, float)


def _keep(given: T | None, base: T) -> T:
    return given if given is not None else base
