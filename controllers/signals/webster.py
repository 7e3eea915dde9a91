"""Webster fixed-time signal plans, sized in car-equivalent units (PCU).

Units: flows in PCU/h (passenger-car units per hour), saturation flows in
PCU/h per lane, times in s. The caller converts vehicle counts to PCU before
calling :func:`webster_plan`, with the weights of the reviewed traffic table
(Hanoi measurements: a motorbike ~ 0.29 PCU, a car 1, a bus ~ 3.1 PCU); this
module applies no vehicle weights itself.

Method (Webster 1958, as in DOMAIN.md "Traffic facts"):

* per incoming lane, flow q = the sum of its links' flows;
* per green phase i, critical ratio y_i = max over the lanes with a green
  link in that phase of q / s (s = saturation flow per lane); Y = sum y_i;
* lost time L = sum over phases of (amber + all-red + start-up lost time);
* optimal cycle C0 = (1.5 L + 5) / (1 - Y), clamped to [min_cycle, max_cycle];
  if Y >= 0.95 the junction is over capacity: C = max_cycle and
  ``oversaturated`` is set;
* effective greens share C - L in proportion to y_i (equally if all y are 0);
* the displayed green of a phase is its effective green plus the start-up
  lost time, and at least the intersection's min green; a phase raised to
  min green takes its time from the others. Only when the min greens alone
  do not fit is the cycle longer than C.

The phase sequence is the reference program's green phases; each phase
change costs one amber and one all-red interval.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from controllers.signals.intersection import GREEN_CHARS, IntersectionSpec, validate_state

__all__ = ["OVERSATURATION_Y", "SignalPlan", "webster_plan"]

#: Sum of critical flow ratios at or above which a junction is over capacity.
OVERSATURATION_Y = 0.95
_TOL = 1e-6  # s; tolerance on the cycle-length consistency check


def _finite(name: str, value: float, *, low: float = 0.0, strict: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or (strict and value == low):
        relation = ">" if strict else ">="
        raise ValueError(f"{name} must be {relation} {low}, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class SignalPlan:
    """A fixed-time plan: a sequence of green phases with their durations.

    Each phase occupies ``green_s[i] + amber_s + all_red_s`` seconds of the
    cycle, in order; ``cycle_s`` is the sum of those.

    Attributes:
        phases: green phase state strings (chars ``GgroO``, one per link).
        green_s: displayed green per phase (s, > 0).
        amber_s: amber after each green (s, > 0).
        all_red_s: red clearance after each amber (s, > 0).
        cycle_s: cycle length (s) = sum of the phases' slots.
        Y: sum of critical flow ratios (1), None for a hand-made plan.
        oversaturated: True when Y >= 0.95 (the cycle was set to max).
        flow_ratios: critical flow ratio y_i per phase (1), empty if unknown.
        lost_time_s: lost time L per cycle (s), None if unknown.
    """

    phases: tuple[str, ...]
    green_s: tuple[float, ...]
    amber_s: float
    all_red_s: float
    cycle_s: float
    Y: float | None = None
    oversaturated: bool = False
    flow_ratios: tuple[float, ...] = ()
    lost_time_s: float | None = None

    def __post_init__(self) -> None:
        phases = tuple(self.phases)
        greens = tuple(_finite("green_s", g, strict=True) for g in self.green_s)
        if not phases:
            raise ValueError("a signal plan needs at least one phase")
        if len(greens) != len(phases):
            raise ValueError(f"green_s has {len(greens)} entries for {len(phases)} phases")
        n = len(phases[0]) if isinstance(phases[0], str) else 0
        for k, phase in enumerate(phases):
            validate_state(phase, n, what=f"plan phase {k}")
            if "y" in phase:
                raise ValueError(f"plan phase {k} {phase!r} must not contain amber 'y'")
        amber = _finite("amber_s", self.amber_s, strict=True)
        all_red = _finite("all_red_s", self.all_red_s, strict=True)
        cycle = _finite("cycle_s", self.cycle_s, strict=True)
        expected = sum(greens) + len(phases) * (amber + all_red)
        if abs(cycle - expected) > _TOL:
            raise ValueError(
                f"cycle_s {cycle} s does not match the phases' slots (greens + amber + "
                f"all-red) = {expected} s"
            )
        ratios = tuple(_finite("flow_ratios", y) for y in self.flow_ratios)
        if ratios and len(ratios) != len(phases):
            raise ValueError(f"flow_ratios has {len(ratios)} entries for {len(phases)} phases")
        object.__setattr__(self, "phases", phases)
        object.__setattr__(self, "green_s", greens)
        object.__setattr__(self, "amber_s", amber)
        object.__setattr__(self, "all_red_s", all_red)
        object.__setattr__(self, "cycle_s", cycle)
        object.__setattr__(self, "flow_ratios", ratios)

    @classmethod
    def fixed(
        cls, phases: Sequence[str], green_s: Sequence[float], amber_s: float, all_red_s: float
    ) -> SignalPlan:
        """A hand-made plan; the cycle is computed from the greens and intervals (s)."""
        greens = tuple(float(g) for g in green_s)
        cycle = sum(greens) + len(greens) * (float(amber_s) + float(all_red_s))
        return cls(tuple(phases), greens, amber_s, all_red_s, cycle)

    @property
    def slot_s(self) -> tuple[float, ...]:
        """Seconds each phase occupies: green + amber + all-red."""
        return tuple(g + self.amber_s + self.all_red_s for g in self.green_s)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable); times in s, ratios dimensionless."""
        return {
            "phases": list(self.phases),
            "green_s": list(self.green_s),
            "amber_s": self.amber_s,
            "all_red_s": self.all_red_s,
            "cycle_s": self.cycle_s,
            "Y": self.Y,
            "oversaturated": self.oversaturated,
            "flow_ratios": list(self.flow_ratios),
            "lost_time_s": self.lost_time_s,
        }


def _split(avail: float, ratios: Sequence[float], floor: float) -> list[float]:
    """Share ``avail`` s in proportion to ``ratios``, each share at least ``floor`` s."""
    shares = [0.0] * len(ratios)
    free = list(range(len(ratios)))
    while free:
        total = sum(ratios[i] for i in free)
        trial = {i: (avail * ratios[i] / total if total > 0 else avail / len(free)) for i in free}
        low = [i for i in free if trial[i] < floor]
        if not low:
            for i in free:
                shares[i] = trial[i]
            break
        for i in low:
            shares[i] = floor
            avail -= floor
        free = [i for i in free if i not in low]
    return shares


def webster_plan(
    spec: IntersectionSpec,
    link_flow_pcu_h: Sequence[float],
    *,
    saturation_pcu_h_per_lane: float = 1800.0,
    min_cycle_s: float = 40,
    max_cycle_s: float = 120,
    startup_lost_s: float = 2.0,
) -> SignalPlan:
    """Webster's fixed-time plan for ``spec``'s green phases.

    Args:
        spec: the intersection; its green phases, amber, all-red and min green
            are used.
        link_flow_pcu_h: per link (signal index) the demand in PCU/h (>= 0),
            already weighted by vehicle class by the caller.
        saturation_pcu_h_per_lane: saturation flow per lane (PCU/h, > 0);
            DOMAIN.md: ~1,800-1,900.
        min_cycle_s, max_cycle_s: cycle bounds (s), 0 < min <= max.
        startup_lost_s: start-up lost time per phase (s, >= 0).

    Returns:
        The plan; ``Y >= 0.95`` sets ``oversaturated`` and the cycle to
        ``max_cycle_s``.
    """
    flows = [_finite("link_flow_pcu_h", q) for q in link_flow_pcu_h]
    if len(flows) != spec.n_links:
        raise ValueError(
            f"tls {spec.tls_id}: {len(flows)} link flows given, expected one per link "
            f"({spec.n_links})"
        )
    sat = _finite("saturation_pcu_h_per_lane", saturation_pcu_h_per_lane, strict=True)
    c_min = _finite("min_cycle_s", min_cycle_s, strict=True)
    c_max = _finite("max_cycle_s", max_cycle_s, strict=True)
    if c_min > c_max:
        raise ValueError(f"min_cycle_s {c_min} must not exceed max_cycle_s {c_max}")
    startup = _finite("startup_lost_s", startup_lost_s)

    lane_flow: dict[str, float] = {}
    for lane, q in zip(spec.link_lanes, flows, strict=True):
        lane_flow[lane] = lane_flow.get(lane, 0.0) + q
    ratios: list[float] = []
    for phase in spec.green_phases:
        lanes = {spec.link_lanes[i] for i, ch in enumerate(phase) if ch in GREEN_CHARS}
        ratios.append(max(lane_flow[lane] for lane in lanes) / sat)
    total_y = sum(ratios)

    n_phases = len(spec.green_phases)
    lost = n_phases * (spec.amber_s + spec.all_red_s + startup)
    oversaturated = total_y >= OVERSATURATION_Y
    c_opt = c_max if oversaturated else (1.5 * lost + 5.0) / (1.0 - total_y)
    cycle = min(max(c_opt, c_min), c_max)
    floor = max(spec.min_green_s - startup, 0.0)
    effective = _split(cycle - lost, ratios, floor)
    greens = tuple(max(e + startup, spec.min_green_s) for e in effective)
    return SignalPlan(
        phases=spec.green_phases,
        green_s=greens,
        amber_s=spec.amber_s,
        all_red_s=spec.all_red_s,
        cycle_s=sum(greens) + n_phases * (spec.amber_s + spec.all_red_s),
        Y=total_y,
        oversaturated=oversaturated,
        flow_ratios=tuple(ratios),
        lost_time_s=lost,
    )
