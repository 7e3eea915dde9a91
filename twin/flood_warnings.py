"""How much warning did people get? The warning probe of a flood run.

A coupling-like observer (it changes nothing): every ``period_s`` it reads
the TRUE water at each warning point from the flood plant (the river's
water level at each gauge's own river cell, the depth at the cell for street
points)
and the warning level each point's controller published in the process
image. From these it keeps, per point and alert level k = I, II, III:

* ``crossed_s`` — the first time the true water reached level k's threshold;
* ``warned_s`` — the first time the controller's ``warning_level`` was >= k;
* ``delay_s = warned_s - crossed_s`` — the detection delay (sensor period,
  uplink, spike/step confirmation); negative means warned before the water
  got there (a neighbour's vote or the rate-of-rise alarm);

and, with the road closures of :class:`twin.flood_coupling.FloodTrafficCoupling`,
the **lead time** of each closed road: its closure time minus the first
warning (level >= I) of the nearest warning point — how long drivers and
the police had between the warning and the road going under.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import median
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from sim.hydro.plant import FloodPlant
    from sim.hydro.sites import WarningSite
    from twin.flood_coupling import FloodTrafficCoupling
    from twin.kernel import Kernel

__all__ = ["FloodWarningProbe", "PointRecord"]

LEVELS = (1, 2, 3)


@dataclass
class PointRecord:
    """One warning point's crossings and warnings (s, run clock; None = never)."""

    point: str
    kind: str
    thresholds: tuple[float, float, float]
    x_m: float
    y_m: float
    crossed_s: dict[int, float | None] = field(default_factory=lambda: dict.fromkeys(LEVELS))
    warned_s: dict[int, float | None] = field(default_factory=lambda: dict.fromkeys(LEVELS))
    siren_s: float | None = None
    max_true_m: float = -math.inf

    def delay_s(self, level: int) -> float | None:
        """Warning minus crossing time for ``level`` (s), when both happened."""
        crossed, warned = self.crossed_s[level], self.warned_s[level]
        return None if crossed is None or warned is None else warned - crossed


class FloodWarningProbe:
    """Observes true water and published warnings at every point (module docstring).

    Args:
        flood: the flood plant.
        sites: the warning sites (positions and kinds).
        thresholds: per point id, its I/II/III thresholds (m: stage for river
            gauges, depth for street points), as configured in its controller.
        period_s: sampling interval (s).
    """

    name = "flood-warning-probe"

    def __init__(
        self,
        flood: FloodPlant,
        sites: Sequence[WarningSite],
        thresholds: dict[str, tuple[float, float, float]],
        *,
        period_s: float = 60.0,
    ) -> None:
        self.flood = flood
        self.period_s = float(period_s)
        self.records: dict[str, PointRecord] = {}
        xs = np.array([s.x_m for s in sites])
        ys = np.array([s.y_m for s in sites])
        rows, cols = flood.cells_of_xy(xs, ys)
        self._cells: dict[str, tuple[int, int]] = {}
        for site, r, c in zip(sites, rows.tolist(), cols.tolist(), strict=True):
            if r < 0 or c < 0:
                continue  # a point off the flood grid cannot be judged
            kind = site.kind.value if hasattr(site.kind, "value") else str(site.kind)
            self.records[site.id] = PointRecord(
                site.id, kind, thresholds[site.id], float(site.x_m), float(site.y_m)
            )
            self._cells[site.id] = (r, c)

    def _true_value(self, point: str) -> float:
        # what the point's own sensor would read without error: the river's water level
        # at that gauge (upstream gauges stand higher than Đông Hà station), the depth at
        # a street point
        return self.flood.true_level_m(point)

    def step(self, now: float, kernel: Kernel) -> None:
        """Record crossings and warnings at ``now``."""
        for point, record in self.records.items():
            value = self._true_value(point)
            record.max_true_m = max(record.max_true_m, value)
            for k, threshold in zip(LEVELS, record.thresholds, strict=True):
                if record.crossed_s[k] is None and value >= threshold:
                    record.crossed_s[k] = now
            sample = kernel.read(f"flood/{point}/warning_level")
            if sample.good and sample.value is not None:
                for k in LEVELS:
                    if record.warned_s[k] is None and int(sample.value) >= k:
                        record.warned_s[k] = now
            siren = kernel.read(f"flood/{point}/siren")
            if record.siren_s is None and siren.good and siren.value:
                record.siren_s = now

    def first_warning_s(self, point: str) -> float | None:
        """When ``point`` first warned (level >= I)."""
        return self.records[point].warned_s[1]

    def lead_times_s(self, coupling: FloodTrafficCoupling) -> dict[str, float | None]:
        """Per closed road: closure time minus its nearest point's first warning (s)."""
        if not self.records:
            return {}
        ids = list(self.records)
        px = np.array([self.records[p].x_m for p in ids])
        py = np.array([self.records[p].y_m for p in ids])
        leads: dict[str, float | None] = {}
        for edge, record in sorted(coupling.records.items()):
            if record.first_closed_s is None:
                continue
            nearest = ids[int(np.argmin(np.hypot(px - record.x_m, py - record.y_m)))]
            warned = self.first_warning_s(nearest)
            leads[edge] = None if warned is None else record.first_closed_s - warned
        return leads

    def kpis(self, coupling: FloodTrafficCoupling | None = None) -> dict[str, Any]:
        """Per point crossings/warnings/delays, and lead-time statistics of road closures."""
        points: dict[str, Any] = {}
        delays: list[float] = []
        for point, r in sorted(self.records.items()):
            points[point] = {
                "kind": r.kind,
                "max_true_m": round(r.max_true_m, 3),
                "crossed_s": {str(k): v for k, v in r.crossed_s.items()},
                "warned_s": {str(k): v for k, v in r.warned_s.items()},
                "delay_s": {str(k): r.delay_s(k) for k in LEVELS},
                "siren_s": r.siren_s,
            }
            delays += [d for d in (r.delay_s(k) for k in LEVELS) if d is not None]
        out: dict[str, Any] = {
            "points": points,
            "warning_delay_s": _stats(delays),
            "missed_warnings": sum(
                1
                for r in self.records.values()
                for k in LEVELS
                if r.crossed_s[k] is not None and r.warned_s[k] is None
            ),
        }
        if coupling is not None:
            leads = self.lead_times_s(coupling)
            known = [v for v in leads.values() if v is not None]
            out["closure_lead_time_s"] = _stats(known)
            out["closures_without_prior_warning"] = sum(
                1 for v in leads.values() if v is None or v < 0
            )
        return out


def _stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "min": None, "median": None, "max": None}
    return {
        "n": len(values),
        "min": round(min(values), 1),
        "median": round(median(values), 1),
        "max": round(max(values), 1),
    }
