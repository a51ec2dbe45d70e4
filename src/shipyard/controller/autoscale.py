"""The autoscaling decision: metric samples + the last decision -> how many instances now.

Pure, with the time passed in, in the manner of Knative's KPA:

- the metric (in-flight requests or requests per second, for the whole deployment) is
  averaged over the stable window and over the short panic window;
- wanted instances = ceil(average / target per replica), for each window;
- when the panic window wants ``panic_threshold`` times the current count or more, the
  autoscaler panics: it scales up to the panic figure at once and does not scale down until the
  spike has been gone for a whole stable window;
- otherwise it follows the stable figure; a scale-down must be wanted for
  ``scale_down_delay_s`` before it happens;
- with ``min_instances`` 0 it goes to zero only after ``scale_to_zero_after_s`` without any
  request, and never while a request is in flight or a replica is still starting;
- a held request (``wake``) or any traffic while at zero brings one instance back at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from shipyard.spec.scaling import ScaleMetric, ScalingConfig


@dataclass(frozen=True)
class Sample:
    """Traffic of one deployment over one reporting interval, ending at ``at``."""

    at: float
    concurrency: float  # average in-flight requests over the interval
    rps: float  # requests completed or started per second over the interval
    in_flight: int  # in flight (or held) at the end of the interval


@dataclass(frozen=True)
class ScaleState:
    """What the autoscaler remembers of one component between decisions."""

    desired: int
    last_active: float  # when traffic was last seen (or the state was created)
    panic_until: float | None = None
    wanted: tuple[tuple[float, int], ...] = field(default=())  # (at, stable figure) history


@dataclass(frozen=True)
class Decision:
    desired: int
    state: ScaleState
    reason: str


def _average(samples: Sequence[Sample], metric: ScaleMetric, since: float) -> float | None:
    values = [
        s.concurrency if metric is ScaleMetric.CONCURRENCY else s.rps
        for s in samples
        if s.at > since
    ]
    return sum(values) / len(values) if values else None


def decide(
    config: ScalingConfig,
    state: ScaleState,
    samples: Sequence[Sample],
    *,
    now: float,
    starting: int = 0,
) -> Decision:
    """The instance count for now, and the state to pass to the next call.

    Args:
        config: The component's scaling settings.
        state: The previous decision's state (``initial_state`` the first time).
        samples: Traffic samples, oldest first; older than the stable window are ignored.
        now: The current time (monotonic seconds).
        starting: Replicas of the component still starting (never scaled to zero under them).
    """
    current = state.desired
    latest = samples[-1] if samples else None
    in_flight = latest.in_flight if latest is not None and latest.at > now - 5.0 else 0
    last_active = state.last_active
    if in_flight > 0 or (latest is not None and latest.rps > 0 and latest.at > last_active):
        last_active = max(last_active, latest.at if latest is not None else now)
    stable = _average(samples, config.scale_metric, now - config.stable_window_s) or 0.0
    panic = _average(samples, config.scale_metric, now - config.panic_window_s) or 0.0
    want_stable = math.ceil(stable / config.target - 1e-9)
    want_panic = math.ceil(panic / config.target - 1e-9)

    panic_until = state.panic_until
    if panic_until is not None and now >= panic_until:
        panic_until = None
    if current > 0 and want_panic >= config.panic_threshold * current:
        panic_until = now + config.stable_window_s
    kept = [(at, n) for at, n in state.wanted if at > now - config.scale_down_delay_s]
    wanted = (*kept, (now, want_stable))

    if panic_until is not None:
        desired, reason = max(want_panic, current), "panic: a spike in the panic window"
    else:
        desired = max(n for _, n in wanted) if config.scale_down_delay_s > 0 else want_stable
        reason = f"stable window average {stable:.2f} for a target of {config.target:g}"
    if desired == 0 and in_flight > 0:
        desired, reason = 1, "a request is in flight"
    elif desired == 0 and current > 0:
        idle_for = now - last_active
        if idle_for < config.scale_to_zero_after_s or starting > 0:
            desired = 1
            reason = f"idle for {idle_for:.0f} s of {config.scale_to_zero_after_s:g} s"
    if desired == 0:
        reason = f"scaled to zero: no traffic for {now - last_active:.0f} s"
    if desired < config.min_instances:
        desired, reason = config.min_instances, f"minimum of {config.min_instances}"
    if desired > config.max_instances:
        desired, reason = config.max_instances, f"maximum of {config.max_instances}"
    new_state = ScaleState(
        desired=desired, last_active=last_active, panic_until=panic_until, wanted=wanted
    )
    return Decision(desired=desired, state=new_state, reason=reason)


def initial_state(initial: int, now: float) -> ScaleState:
    """The state of a component that starts with ``initial`` instances at ``now``."""
    return ScaleState(desired=initial, last_active=now)


def wake(state: ScaleState, now: float) -> ScaleState:
    """A request is waiting for a replica: at least one instance, counted as traffic now."""
    return replace(state, desired=max(state.desired, 1), last_active=now)
