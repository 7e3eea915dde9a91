"""The coordinated adaptive signal controller: max-pressure with predicted platoons.

Choice of design
----------------
The controller decides every second, like SURTRAC, but from the
max-pressure family rather than a schedule search. Max-pressure needs only
local counts, is throughput-optimal under its assumptions, and stays stable
when demand exceeds capacity, which a schedule search over a short horizon
does not guarantee. On Đông Hà's network a plain max-pressure controller
(:mod:`controllers.signals.maxpressure`) beat both Webster fixed-time plans
and a one-second delay-balance rule we tried first (it held greens too long:
its myopic benefit estimate over-valued trickling arrivals).

Each scan, once the current phase ``k`` has had its minimum green, the
pressure of every green phase is the sum over the lanes it serves of
(PCU in the lane's detection zone + PCU predicted to arrive) minus (PCU on
the detected lanes it feeds). Another phase is shown when its pressure beats
``k``'s by ``switch_margin_pcu``; phases nobody waits for are skipped and
the green rests while no one else waits — except when ``k`` feeds a road
fuller than its own approach (negative pressure): then any other phase is
better than pushing vehicles into a blocked exit. Max green and the
starvation guard (:mod:`controllers.signals.phase_control`) bound it.

**Predicted platoons** (coordination): a lane fed by an upstream signal
within a few hundred metres has an :class:`UpstreamFeed` — the upstream
junction's stop-line counts of the lanes whose movements lead here, the
share of them that comes this way, and the free-flow travel time. Vehicles
that crossed the upstream stop line ``travel_s`` ago (up to
``platoon_horizon_s`` more) are about to enter this lane's detection zone:
they are added to its demand before any detector here sees them, so a green
is held for a platoon already on its way and a red approach about to receive
one is served sooner. Along the pilot corridors (Lê Duẩn/QL1, Hùng Vương,
Lê Lợi/QL9) the prediction weighs ``corridor_weight`` times: progression
along the corridor is favoured, a green wave formed by the decisions rather
than by a common cycle.

Two further mechanisms are implemented and tested but **off by default**,
because on development seeds of the Đông Hà peak (seeds 101-102; the
benchmark uses others) each made delay worse: *ageing* (a red phase's
pressure grows with its wait) broke max-pressure's ties towards more
changes, more lost time and spill-back, and a 3 s stop-line *gap-out* cut
greens before platoons arrived. The same development runs showed the
platoon prediction itself costing delay against plain max-pressure on one
of the two seeds (free-flow travel times overestimate how soon a platoon
arrives in congestion); ``platoon_horizon_s = 0`` turns it off.

Assumptions and limits
----------------------
Demand is in PCU from each lane's traffic-mix average (see
:mod:`controllers.signals.detection`); waiting pedestrians count 0.75 PCU
each; downstream terms exist only where the next junction is signalised
and detected; turning shares at the upstream junction are by link count,
not measured; arrivals through unsignalised junctions are not predicted;
the detection zone of a lane shorter than the zone is the lane only.
All times in s.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controllers.io import Direction, PointSpec, Sample, ValueType
from controllers.signals.detection import (
    LaneDetector,
    LaneReading,
    PedestrianDetector,
    good_count,
)
from controllers.signals.intersection import IntersectionSpec
from controllers.signals.maxpressure import MaxPressureController
from controllers.signals.phase_control import PhaseTimingLimits
from controllers.signals.webster import SignalPlan

__all__ = ["AdaptiveController", "AdaptiveTuning", "UpstreamFeed"]

_HISTORY_S = 600.0  # s of upstream state history kept (longest travel time)


@dataclass(frozen=True)
class UpstreamFeed:
    """Traffic reaching one of this junction's lanes from an upstream signal.

    Attributes:
        lane: this junction's incoming lane that the platoon reaches.
        count_points: the upstream junction's stop-line count points
            (``tls/UP/det/LANE/count``, cumulative vehicles) of the lanes whose
            movements lead onto this lane's road.
        shares: per count point, the share (0..1] of its vehicles that reach
            ``lane`` (link share of the upstream lane x this lane's share of
            the road's lanes).
        travel_s: travel time (s, > 0) from the upstream stop line to this
            lane's detection zone at free flow.
        pcu_per_vehicle: traffic-mix average PCU per vehicle (> 0).
        corridor: True when the feed runs along a coordinated corridor.
    """

    lane: str
    count_points: tuple[str, ...]
    shares: tuple[float, ...]
    travel_s: float
    pcu_per_vehicle: float = 0.45
    corridor: bool = False

    def __post_init__(self) -> None:
        if not self.count_points or len(self.shares) != len(self.count_points):
            raise ValueError(
                f"feed to {self.lane}: needs one share per count point, got "
                f"{len(self.shares)} shares for {len(self.count_points)} points"
            )
        if not all(math.isfinite(x) and 0 < x <= 1 for x in self.shares):
            raise ValueError(f"feed to {self.lane}: shares must be in (0, 1], got {self.shares}")
        if not (math.isfinite(self.travel_s) and 0 < self.travel_s <= _HISTORY_S):
            raise ValueError(
                f"feed to {self.lane}: travel_s must be in (0, {_HISTORY_S:g}] s, "
                f"got {self.travel_s!r}"
            )
        if not (math.isfinite(self.pcu_per_vehicle) and self.pcu_per_vehicle > 0):
            raise ValueError(f"feed to {self.lane}: pcu_per_vehicle must be > 0")


@dataclass(frozen=True)
class AdaptiveTuning:
    """Parameters of the adaptive controller (reasoned defaults, not fitted to a benchmark).

    Attributes:
        aging_s: a red phase that has waited this long counts its pressure
            double (s, > 0); None (the default) turns ageing off: on Đông Hà's
            network it broke max-pressure's ties towards more changes, more
            lost time and spill-back (measured on development seeds), and the
            starvation guard already bounds every wait.
        corridor_weight: weight of predicted platoons on corridor feeds (>= 1).
        platoon_horizon_s: predicted arrivals within this time (s, >= 0) count
            towards a lane's demand; 0 turns prediction off.
        switch_margin_pcu: pressure (PCU, >= 0) another phase must gain over
            the current one to be switched to.
        max_gap_s: if set, the green gaps out when no vehicle has crossed the
            stop line of any of its lanes for this long (s, > 0), as an
            actuated controller's passage time. None (the default): no
            gap-out; on development seeds of Đông Hà's peak a 3 s gap-out
            cut greens too early and led to spill-back.
        cut_ratio: a red phase's aged pressure must exceed this multiple of
            the current phase's (>= 1) to end a green that has not gapped out.
    """

    aging_s: float | None = None
    corridor_weight: float = 1.5
    platoon_horizon_s: float = 6.0
    switch_margin_pcu: float = 0.0
    max_gap_s: float | None = None
    cut_ratio: float = 1.0

    def __post_init__(self) -> None:
        if self.aging_s is not None and not (math.isfinite(self.aging_s) and self.aging_s > 0):
            raise ValueError(f"aging_s must be > 0 s, got {self.aging_s!r}")
        if not (math.isfinite(self.corridor_weight) and self.corridor_weight >= 1):
            raise ValueError(f"corridor_weight must be >= 1, got {self.corridor_weight!r}")
        if self.max_gap_s is not None and not (
            math.isfinite(self.max_gap_s) and self.max_gap_s > 0
        ):
            raise ValueError(f"max_gap_s must be > 0 s, got {self.max_gap_s!r}")
        if not (math.isfinite(self.cut_ratio) and self.cut_ratio >= 1):
            raise ValueError(f"cut_ratio must be >= 1, got {self.cut_ratio!r}")
        for name in ("platoon_horizon_s", "switch_margin_pcu"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be >= 0, got {value!r}")


class _FeedState:
    """Weighted cumulative count history of one feed: (time s, vehicles), newest last."""

    __slots__ = ("_last", "feed", "history", "lane_index")

    def __init__(self, feed: UpstreamFeed, lane_index: int) -> None:
        self.feed = feed
        self.lane_index = lane_index
        self.history: deque[tuple[float, float]] = deque()
        self._last: list[float | None] = [None] * len(feed.count_points)

    def observe(self, now: float, inputs: Mapping[str, Sample]) -> None:
        """Add the vehicles counted since the last scan (a bad or reset counter adds none)."""
        added = 0.0
        for j, (name, share) in enumerate(
            zip(self.feed.count_points, self.feed.shares, strict=True)
        ):
            value = good_count(inputs.get(name))
            if value is None:
                self._last[j] = None
                continue
            last = self._last[j]
            if last is not None and value > last:
                added += (value - last) * share
            self._last[j] = float(value)
        total = (self.history[-1][1] if self.history else 0.0) + added
        if not self.history or added > 0:
            self.history.append((now, total))
        while len(self.history) > 1 and now - self.history[1][0] > _HISTORY_S:
            self.history.popleft()

    def _count_at(self, t: float) -> float:
        value = 0.0
        for time_s, total in self.history:
            if time_s > t:
                break
            value = total
        return value

    def vehicles_between(self, start: float, end: float) -> float:
        """Vehicles (share-weighted) counted upstream between ``start`` and ``end`` (s)."""
        if end <= start:
            return 0.0
        return max(0.0, self._count_at(end) - self._count_at(start))


class AdaptiveController(MaxPressureController):
    """Coordinated adaptive control of one intersection (see module docstring).

    Args:
        spec, plan, detectors, limits, offset_s, scan_period_s, flash_command,
            cabinet_status: see :class:`PhaseSelectingController`.
        feeds: upstream feeds of this junction's lanes (coordination).
        corridor_lanes: lanes on a coordinated corridor (weighted up).
        tuning: the delay-balance parameters.
    """

    kind = "adaptive"

    def __init__(
        self,
        spec: IntersectionSpec,
        plan: SignalPlan,
        detectors: Sequence[LaneDetector | PedestrianDetector],
        *,
        feeds: Sequence[UpstreamFeed] = (),
        downstream: Mapping[str, Sequence[LaneDetector]] | None = None,
        corridor_lanes: Sequence[str] = (),
        tuning: AdaptiveTuning | None = None,
        limits: PhaseTimingLimits | None = None,
        offset_s: float = 0.0,
        scan_period_s: float = 1.0,
        flash_command: bool = True,
        cabinet_status: bool = True,
    ) -> None:
        super().__init__(
            spec,
            plan,
            detectors,
            downstream=downstream,
            limits=limits,
            offset_s=offset_s,
            scan_period_s=scan_period_s,
            flash_command=flash_command,
            cabinet_status=cabinet_status,
        )
        self.tuning = tuning or AdaptiveTuning()
        index = {lane: i for i, lane in enumerate(self.lanes)}
        unknown = sorted({f.lane for f in feeds} - set(index))
        if unknown:
            raise ValueError(
                f"tls {spec.tls_id}: feeds name lanes {', '.join(unknown)} that this junction "
                "does not control"
            )
        self._feeds = [_FeedState(f, index[f.lane]) for f in feeds]
        self._feed_points = sorted({p for f in feeds for p in f.count_points})

        weight = self.tuning.corridor_weight
        corridor = set(corridor_lanes)
        self._feed_weight = [weight if (f.corridor or f.lane in corridor) else 1.0 for f in feeds]

    def points(self) -> Sequence[PointSpec]:
        """As the base class, plus the upstream junctions' stop-line count points."""
        own = list(super().points())
        seen = {p.name for p in own}
        for name in self._feed_points:
            if name not in seen:
                own.append(PointSpec(name, Direction.INPUT, "1", ValueType.INT, low=0))
        return own

    def _observe(self, now: float, inputs: Mapping[str, Sample]) -> None:
        """Record upstream counts (every scan, inside the timed decision)."""
        for fs in self._feeds:
            fs.observe(now, inputs)

    def arriving_pcu(self, now: float, horizon_s: float) -> list[float]:
        """Per lane: PCU predicted to enter the detection zone within ``horizon_s`` (s).

        They are the vehicles that crossed the upstream stop line between
        ``now - travel_s`` and ``now - travel_s + horizon_s`` (only the past
        is known), weighted by the feed's corridor weight.
        """
        arriving = [0.0] * len(self.lanes)
        for fs, weight in zip(self._feeds, self._feed_weight, strict=True):
            f = fs.feed
            start = now - f.travel_s
            end = min(now, start + horizon_s)
            vehicles = fs.vehicles_between(start, end)
            if vehicles > 0:
                arriving[fs.lane_index] += weight * vehicles * f.pcu_per_vehicle
        return arriving

    def choose(self, now: float, readings: Sequence[LaneReading]) -> int:
        """Extend the current phase until it gaps out or a red phase's aged pressure wins."""
        tuning = self.tuning
        k = self.phase
        last_crossing = self.last_crossing
        lane_pcu = [r.demand_pcu - self._downstream_pcu(i) for i, r in enumerate(readings)]
        arriving = [0.0] * len(readings)
        if self._feeds and tuning.platoon_horizon_s > 0:
            arriving = self.arriving_pcu(now, tuning.platoon_horizon_s)
            lane_pcu = [a + b for a, b in zip(lane_pcu, arriving, strict=True)]
        current = sum(lane_pcu[i] for i in self.phase_lanes[k])
        best, best_score = k, -math.inf
        for p, lanes in enumerate(self.phase_lanes):
            if p == k:
                continue
            if current >= 0 and not any(readings[i].demand_pcu > 0 for i in lanes):
                # skip a phase nobody waits for -- unless the current green feeds a road
                # fuller than its own approach (negative pressure): then any other phase
                # is better than pushing vehicles into a blocked exit
                continue
            score = sum(lane_pcu[i] for i in lanes)
            if score > 0 and tuning.aging_s is not None:  # a negative pressure stays low
                score *= 1.0 + self.waited_s(now, p) / tuning.aging_s
            if score > best_score:
                best, best_score = p, score
        if best == k:
            return k  # nobody else is waiting: rest in the current green
        served = self.phase_lanes[k]
        counted = [i for i in served if readings[i].count_ok]
        gapped_out = (
            tuning.max_gap_s is not None
            and len(counted) == len(served)  # every lane's count read GOOD: silence means no one
            and all(now - last_crossing[i] >= tuning.max_gap_s for i in counted)
            and sum(arriving[i] for i in served) <= 0.5  # no platoon on its way
        )
        if gapped_out:
            return best
        bar = current * tuning.cut_ratio if current > 0 else current
        return best if best_score > bar + tuning.switch_margin_pcu else k
