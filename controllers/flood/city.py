"""The city's flood-warning level, aggregated from all warning points.

City rule (:func:`city_level`)
------------------------------
``city = max(R, min(S_worst, street_cap), S_quorum)`` where

- ``R`` is the highest level of the river gauges: the official alert levels
  at Đông Hà station are city-wide by definition (alert III means evacuating
  low-lying wards such as Đông Giang);
- ``S_worst`` is the worst street point. Street flooding is local (one of
  the city's chronic hotspots fills while the next street is dry), so street
  points *alone* raise the city at most to ``street_cap`` (default II:
  roads closed somewhere, the IOC acts city-wide on traffic);
- ``S_quorum`` is the highest level ``k`` that at least ``street_quorum``
  street points (default 3) have reached: widespread street flooding is a
  city-wide emergency even with the river low, and is not capped.

``points_failed`` counts the points whose sensor health is FAILED (their
levels are still counted: a failed point holds its last confirmed level or
takes its neighbours' vote, see :mod:`controllers.flood.point`).

The controller
--------------
In the field each point decides on its own device and the centre only
aggregates. In the twin the process image lets a point be written by exactly
one controller, and a controller cannot read another controller's outputs,
so :class:`CityFloodController` *runs* the point controllers and aggregates
their results in the same scan: register either it, or the point controllers
on their own (then there are no city outputs), never both. Each point still
decides only from its own inputs and, while its uplink is up, its neighbours'
readings.

Points: all points of every point controller, plus OUTPUT
``flood/city/warning_level`` (int 0..3) and ``flood/city/points_failed``
(int 0..number of points).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controllers.flood.faults import SensorHealth
from controllers.flood.levels import WarningLevel
from controllers.flood.point import FloodPointController
from controllers.io import Direction, PointSpec, Sample, ValueType

__all__ = ["CityFloodController", "CityRule", "city_level"]

_SNAPSHOT_VERSION = 1
CITY_LEVEL_POINT = "flood/city/warning_level"
CITY_FAILED_POINT = "flood/city/points_failed"


@dataclass(frozen=True)
class CityRule:
    """How street points weigh in the city level (see the module notes).

    Attributes:
        street_cap: the highest city level street points alone give, unless
            the quorum is met (0..3).
        street_quorum: this many street points at level ``k`` or above raise
            the city to ``k`` (>= 1).
    """

    street_cap: int = 2
    street_quorum: int = 3

    def __post_init__(self) -> None:
        cap, quorum = self.street_cap, self.street_quorum
        if isinstance(cap, bool) or not isinstance(cap, int) or not 0 <= cap <= 3:
            raise ValueError(f"CityRule.street_cap must be an integer 0..3, got {cap!r}")
        if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1:
            raise ValueError(f"CityRule.street_quorum must be an integer >= 1, got {quorum!r}")


def city_level(
    river_levels: Iterable[int], street_levels: Iterable[int], rule: CityRule | None = None
) -> WarningLevel:
    """The city level from the river gauges' and street points' levels (each 0..3)."""
    rule = rule or CityRule()
    river = [max(0, min(3, int(v))) for v in river_levels]
    street = [max(0, min(3, int(v))) for v in street_levels]
    r = max(river, default=0)
    worst = max(street, default=0)
    quorum = max(
        (k for k in (1, 2, 3) if sum(1 for v in street if v >= k) >= rule.street_quorum),
        default=0,
    )
    return WarningLevel(max(r, min(worst, rule.street_cap), quorum))


class CityFloodController:
    """All warning points and the city level; implements ``controllers.io.Controller``.

    Args:
        points: the point controllers (unique names, at least one).
        rule: the city rule.
        scan_period_s: seconds between scans (> 0); default the shortest of
            the points' scan periods.
        name: the controller's name.
    """

    def __init__(
        self,
        points: Sequence[FloodPointController],
        *,
        rule: CityRule | None = None,
        scan_period_s: float | None = None,
        name: str = "flood/city",
    ) -> None:
        points = tuple(points)
        if not points:
            raise ValueError("CityFloodController needs at least one FloodPointController")
        if not all(isinstance(p, FloodPointController) for p in points):
            raise ValueError("CityFloodController.points must all be FloodPointController")
        names = [p.name for p in points]
        if len(set(names)) != len(names):
            raise ValueError(f"CityFloodController.points has a point twice: {names}")
        if scan_period_s is None:
            scan_period_s = min(p.scan_period_s for p in points)
        if not (math.isfinite(scan_period_s) and scan_period_s > 0):
            raise ValueError(f"scan_period_s must be a finite time > 0 s, got {scan_period_s!r}")
        self.name = name
        self.scan_period_s = float(scan_period_s)
        self.rule = rule or CityRule()
        self.controllers = points
        self.level = WarningLevel.NONE
        self.points_failed = 0
        self._specs = self._declare()

    def _declare(self) -> tuple[PointSpec, ...]:
        seen: dict[str, PointSpec] = {}
        for ctrl in self.controllers:
            for spec in ctrl.points():
                first = seen.setdefault(spec.name, spec)
                if (first.direction, first.unit, first.value_type) != (
                    spec.direction,
                    spec.unit,
                    spec.value_type,
                ):
                    raise ValueError(
                        f"point {spec.name} is declared twice with different direction, unit or "
                        "type; give the points consistent configurations"
                    )
                if spec.direction is Direction.OUTPUT and first is not spec:
                    raise ValueError(f"point {spec.name} is written by two point controllers")
        city = (
            PointSpec(
                CITY_LEVEL_POINT,
                Direction.OUTPUT,
                "1",
                ValueType.INT,
                low=0,
                high=3,
                description="city flood warning level: 0 none, 1..3 báo động I..III",
            ),
            PointSpec(
                CITY_FAILED_POINT,
                Direction.OUTPUT,
                "1",
                ValueType.INT,
                low=0,
                high=len(self.controllers),
                description="warning points whose level sensor has failed",
            ),
        )
        return (*seen.values(), *city)

    def points(self) -> Sequence[PointSpec]:
        """Every point controller's points (each name once), then the two city outputs."""
        return self._specs

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """Scan every point at ``now`` (s), then aggregate the city level."""
        outputs: dict[str, Any] = {}
        for ctrl in self.controllers:
            outputs.update(ctrl.scan(now, inputs))
        river = [c.level for c in self.controllers if c.config.kind == "river"]
        street = [c.level for c in self.controllers if c.config.kind == "street"]
        self.level = city_level(river, street, self.rule)
        self.points_failed = sum(1 for c in self.controllers if c.health is SensorHealth.FAILED)
        outputs[CITY_LEVEL_POINT] = int(self.level)
        outputs[CITY_FAILED_POINT] = self.points_failed
        return outputs

    def snapshot(self) -> dict[str, Any]:
        """State as plain data: every point controller's snapshot, by point name."""
        return {
            "version": _SNAPSHOT_VERSION,
            "name": self.name,
            "level": int(self.level),
            "points_failed": self.points_failed,
            "points": {c.name: c.snapshot() for c in self.controllers},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` of a city controller with the same points.

        Raises:
            ValueError: another controller's snapshot, or malformed; then
                every point keeps the state it had.
        """
        try:
            if state["version"] != _SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {state['version']!r}")
            if state["name"] != self.name:
                raise ValueError(f"snapshot is of {state['name']!r}, this is {self.name!r}")
            level = WarningLevel(int(state["level"]))
            failed = int(state["points_failed"])
            own = state["points"]
            missing = sorted({c.name for c in self.controllers} - set(own))
            if missing:
                raise ValueError(f"snapshot has no state for {', '.join(missing)}")
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        before = [c.snapshot() for c in self.controllers]
        try:
            for c in self.controllers:
                c.restore(own[c.name])
        except ValueError:
            for c, old in zip(self.controllers, before, strict=True):
                c.restore(old)
            raise
        self.level, self.points_failed = level, failed
