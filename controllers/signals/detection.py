"""Lane demand as a signal controller sees it: detector (or camera) points turned into PCU.

Each controlled incoming lane has a lane-area detector (a loop array or a
camera zone) over its last stretch before the stop line. The controller reads
two of its points:

- ``PREFIX/vehicles``: vehicles in the zone (count, >= 0);
- ``PREFIX/queue_m``: jam length in the zone (m, >= 0);
- ``PREFIX/count`` (optional): vehicles that crossed the stop line since
  start (cumulative count, a loop or a camera line), for gap-out.

**Car-equivalents.** Demand is counted in passenger-car units (PCU), not
vehicles: ``demand_pcu = vehicles x pcu_per_vehicle``, where
``pcu_per_vehicle`` is the lane's traffic-mix average (for Đông Hà's mix of
83 % motorbikes at 0.29 PCU, 11 % cars, 3 % trucks at 2.5, 1 % buses at 3.1
and 2 % bicycles it is about 0.45 PCU per vehicle). A queue of thirty
motorbikes then weighs like about fourteen cars, which is what it takes to
discharge it; a vehicle count would weigh it like thirty.

**Quality.** A lane whose ``vehicles`` sample is missing, not GOOD (the
kernel has already aged it: stale is UNCERTAIN, older is BAD), or
malformed is *failed*. A lane whose non-zero reading has not changed at all
through ``frozen_after_s`` seconds of its own green is *frozen* (a stuck loop
or a frozen camera image: traffic given green does not hold still to the
vehicle and the metre that long) and
counts as failed too; only seconds while the lane *shows green* count
towards that, since a queue blocked on red (or by spill-back) may hold still.
Like a cabinet's detector-fault handling, a failed
lane is given a *recall*: it is assumed to carry its last good demand, or
``recall_pcu`` if that was less, so its phase keeps being served.

**Pedestrians** waiting at a signalised crossing (``PREFIX/waiting``,
persons) are weighed in car-equivalents of *person delay*: a car carries
about 1.3 persons, so one waiting pedestrian weighs ``1 / 1.3 ≈ 0.75`` PCU by
default (:class:`PedestrianDetector`). A crossing with nobody waiting has no
demand, so a pedestrian-only phase is skipped until someone presses, as with
a push button.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType

__all__ = ["LaneDetector", "LaneReading", "PedestrianDetector", "good_count", "read_lanes"]


def good_count(sample: Sample | None) -> int | None:
    """The value of a GOOD, well-formed count sample (an int >= 0), else None."""
    if sample is None or sample.quality is not Quality.GOOD:
        return None
    value = sample.value
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        return None
    return value


@dataclass(frozen=True)
class LaneReading:
    """One lane at one scan.

    Attributes:
        demand_pcu: PCU in the detection zone (>= 0); the recall value if failed.
        queued: True when the zone reports a jam (queue_m > 0).
        failed: True when the reading is missing, not GOOD, malformed or frozen.
        crossed: vehicles that crossed the stop line since the previous scan
            (0 if unknown or the lane has no count).
        count_ok: True when the stop-line count was read GOOD at this scan
            (only then does ``crossed == 0`` mean nobody crossed).
    """

    demand_pcu: float
    queued: bool
    failed: bool
    crossed: int = 0
    count_ok: bool = False


class LaneDetector:
    """The detection zone of one incoming lane and how to read it.

    Args:
        lane: the lane id (as in the network).
        prefix: point-name prefix of its detector, e.g. ``tls/J07/det/e12_0``.
        pcu_per_vehicle: traffic-mix average PCU per vehicle (> 0, <= 5).
        recall_pcu: demand assumed while the lane's input is failed (PCU, >= 0).
        frozen_after_s: a non-zero reading unchanged through this much green
            is frozen (s, > 0).
        count: also read the stop-line count (``PREFIX/count``).
    """

    __slots__ = (
        "_green_unchanged_s",
        "_last_change",
        "_last_count",
        "_last_good_pcu",
        "_last_read",
        "_last_value",
        "_was_green",
        "count_point",
        "frozen_after_s",
        "lane",
        "pcu_per_vehicle",
        "prefix",
        "queue_point",
        "recall_pcu",
        "vehicles_point",
    )

    def __init__(
        self,
        lane: str,
        prefix: str,
        *,
        pcu_per_vehicle: float = 0.45,
        recall_pcu: float = 4.0,
        frozen_after_s: float = 60.0,
        count: bool = True,
    ) -> None:
        if not (math.isfinite(pcu_per_vehicle) and 0 < pcu_per_vehicle <= 5):
            raise ValueError(
                f"lane {lane}: pcu_per_vehicle must be in (0, 5], got {pcu_per_vehicle}"
            )
        if not (math.isfinite(recall_pcu) and recall_pcu >= 0):
            raise ValueError(f"lane {lane}: recall_pcu must be >= 0, got {recall_pcu}")
        if not (math.isfinite(frozen_after_s) and frozen_after_s > 0):
            raise ValueError(f"lane {lane}: frozen_after_s must be > 0 s, got {frozen_after_s}")
        self.lane = lane
        self.prefix = prefix
        self.pcu_per_vehicle = float(pcu_per_vehicle)
        self.recall_pcu = float(recall_pcu)
        self.frozen_after_s = float(frozen_after_s)
        self.vehicles_point = f"{prefix}/vehicles"
        self.queue_point = f"{prefix}/queue_m"
        self.count_point = f"{prefix}/count" if count else None
        self._last_count: int | None = None
        self._last_value: tuple[object, object] | None = None
        self._last_change = -math.inf
        self._last_good_pcu = 0.0
        self._green_unchanged_s = 0.0
        self._last_read: float | None = None
        self._was_green = False

    def _recall(self) -> LaneReading:
        return LaneReading(max(self.recall_pcu, self._last_good_pcu), True, True)

    def points(self) -> tuple[PointSpec, ...]:
        """The INPUT points read (specs agree with the traffic plant's)."""
        own = (
            PointSpec(self.vehicles_point, Direction.INPUT, "1", ValueType.INT, low=0),
            PointSpec(self.queue_point, Direction.INPUT, "m", ValueType.FLOAT, low=0),
        )
        if self.count_point is None:
            return own
        return (*own, PointSpec(self.count_point, Direction.INPUT, "1", ValueType.INT, low=0))

    def _crossed(self, inputs: Mapping[str, Sample]) -> int | None:
        """Vehicles counted at the stop line since the last read (None if unknown)."""
        if self.count_point is None:
            return None
        value = good_count(inputs.get(self.count_point))
        if value is None:
            self._last_count = None
            return None
        last, self._last_count = self._last_count, value
        if last is None:
            return None
        return value - last if value > last else 0

    def read(self, now: float, inputs: Mapping[str, Sample], green: bool = False) -> LaneReading:
        """The lane's reading at ``now`` (s) from the scan's ``inputs``.

        ``green``: the lane shows green now (frozen-value detection counts
        only green time).
        """
        crossed = self._crossed(inputs)
        step = 0.0 if self._last_read is None else max(0.0, now - self._last_read)
        green_through = green and self._was_green  # green over the whole interval
        self._last_read, self._was_green = now, green
        vehicles = inputs.get(self.vehicles_point)
        queue = inputs.get(self.queue_point)
        if (
            vehicles is None
            or vehicles.quality is not Quality.GOOD
            or not isinstance(vehicles.value, int | float)
            or isinstance(vehicles.value, bool)
            or not math.isfinite(vehicles.value)
            or vehicles.value < 0
        ):
            self._last_value = None
            return self._recall()
        queue_m = 0.0
        if (
            queue is not None
            and queue.quality is Quality.GOOD
            and isinstance(queue.value, float | int)
        ):
            queue_m = float(queue.value) if math.isfinite(queue.value) else 0.0
        value = (vehicles.value, queue_m)
        if value != self._last_value or crossed:
            self._last_value = value
            self._last_change = now
            self._green_unchanged_s = 0.0
        elif vehicles.value > 0:
            if green_through:
                self._green_unchanged_s += step
            if self._green_unchanged_s >= self.frozen_after_s:
                return self._recall()
        demand = float(vehicles.value) * self.pcu_per_vehicle
        self._last_good_pcu = demand
        return LaneReading(demand, queue_m > 0.0, False, crossed or 0, crossed is not None)

    def reset(self) -> None:
        """Forget the frozen-value history (after a restore)."""
        self._last_value = None
        self._last_change = -math.inf
        self._last_good_pcu = 0.0
        self._last_count = None
        self._green_unchanged_s = 0.0
        self._last_read = None
        self._was_green = False


class PedestrianDetector:
    """Persons waiting at one signalised crossing, in car-equivalents of delay.

    Same reading interface as :class:`LaneDetector`; a failed reading gets a
    recall of ``recall_pcu`` (the crossing is served as if someone waited).

    Args:
        lane: the crossing's lane id (the link's "lane" in the layout).
        prefix: point-name prefix, e.g. ``tls/J07/ped/_J07_c0_0``.
        pcu_per_person: weight of one waiting person (PCU, > 0, <= 5).
        recall_pcu: demand assumed while the input is failed (PCU, >= 0).
    """

    __slots__ = ("count_point", "lane", "pcu_per_person", "prefix", "recall_pcu", "waiting_point")

    def __init__(
        self, lane: str, prefix: str, *, pcu_per_person: float = 0.75, recall_pcu: float = 1.0
    ) -> None:
        if not (math.isfinite(pcu_per_person) and 0 < pcu_per_person <= 5):
            raise ValueError(f"crossing {lane}: pcu_per_person must be in (0, 5]")
        if not (math.isfinite(recall_pcu) and recall_pcu >= 0):
            raise ValueError(f"crossing {lane}: recall_pcu must be >= 0")
        self.lane = lane
        self.prefix = prefix
        self.pcu_per_person = float(pcu_per_person)
        self.recall_pcu = float(recall_pcu)
        self.waiting_point = f"{prefix}/waiting"
        self.count_point: str | None = None  # no stop-line count: never gaps out a phase

    def points(self) -> tuple[PointSpec, ...]:
        """The INPUT point read."""
        return (PointSpec(self.waiting_point, Direction.INPUT, "1", ValueType.INT, low=0),)

    def read(self, now: float, inputs: Mapping[str, Sample], green: bool = False) -> LaneReading:
        """The crossing's reading at ``now`` (s); ``green`` is unused (no frozen check)."""
        value = good_count(inputs.get(self.waiting_point))
        if value is None:
            return LaneReading(self.recall_pcu, True, True)
        return LaneReading(value * self.pcu_per_person, value > 0, False)

    def reset(self) -> None:
        """Nothing to forget (no history kept)."""


def read_lanes(
    detectors: Sequence[LaneDetector | PedestrianDetector],
    now: float,
    inputs: Mapping[str, Sample],
) -> list[LaneReading]:
    """Read every lane of a junction (same order as ``detectors``)."""
    return [d.read(now, inputs) for d in detectors]
