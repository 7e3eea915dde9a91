"""Plain max-pressure signal control (Varaiya 2013), the reference for the adaptive controller.

Each scan, once the current phase has had its minimum green, the controller
computes every green phase's *pressure*

    pressure(p) = sum over the lanes p serves of
                  (PCU on the lane - PCU on the lane it feeds, if that is detected)

and shows the phase with the highest pressure (ties keep the current phase).
Max-pressure needs only local counts and is throughput-optimal under its
assumptions (point queues, known saturation flows, phases chosen each slot);
it pays no attention to lost time, so at light demand it switches more than
needed. Downstream lanes count only where a detector exists (the incoming
lane of the next signalised junction); elsewhere the downstream term is 0.
Counts are in PCU (see :mod:`controllers.signals.detection`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from controllers.io import PointSpec, Sample
from controllers.signals.detection import LaneDetector, LaneReading, PedestrianDetector
from controllers.signals.intersection import IntersectionSpec
from controllers.signals.phase_control import PhaseSelectingController, PhaseTimingLimits
from controllers.signals.webster import SignalPlan

__all__ = ["MaxPressureController"]


class MaxPressureController(PhaseSelectingController):
    """Max-pressure control of one intersection (``controllers.io.Controller``).

    Args:
        spec, plan, detectors, limits, offset_s, scan_period_s, flash_command,
            cabinet_status: see :class:`PhaseSelectingController`.
        downstream: optional map from an incoming lane to the detectors of the
            lanes its movements feed (lanes of the next signalised junction).
    """

    kind = "maxpressure"

    def __init__(
        self,
        spec: IntersectionSpec,
        plan: SignalPlan,
        detectors: Sequence[LaneDetector | PedestrianDetector],
        *,
        downstream: Mapping[str, Sequence[LaneDetector]] | None = None,
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
            limits=limits,
            offset_s=offset_s,
            scan_period_s=scan_period_s,
            flash_command=flash_command,
            cabinet_status=cabinet_status,
        )
        self.downstream: dict[int, tuple[LaneDetector, ...]] = {}
        for lane, dets in (downstream or {}).items():
            if lane in self.lanes and dets:
                self.downstream[self.lanes.index(lane)] = tuple(dets)
        self._downstream_inputs: Mapping[str, Sample] = {}
        self._downstream_now = 0.0

    def points(self) -> Sequence[PointSpec]:
        """As the base class, plus the downstream detectors read."""
        own = list(super().points())
        seen = {p.name for p in own}
        for dets in self.downstream.values():
            for d in dets:
                for p in d.points():
                    if p.name not in seen:
                        own.append(p)
                        seen.add(p.name)
        return own

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, object]:
        """Keep the scan's inputs for the downstream terms, then scan as the base class."""
        self._downstream_inputs = inputs
        self._downstream_now = now
        return super().scan(now, inputs)

    def _downstream_pcu(self, lane: int) -> float:
        dets = self.downstream.get(lane)
        if not dets:
            return 0.0
        readings = [d.read(self._downstream_now, self._downstream_inputs) for d in dets]
        good = [r.demand_pcu for r in readings if not r.failed]
        return sum(good) / len(dets) if good else 0.0

    def pressures(self, readings: Sequence[LaneReading]) -> list[float]:
        """Pressure (PCU) of every green phase."""
        out = [readings[i].demand_pcu - self._downstream_pcu(i) for i in range(len(readings))]
        return [sum(out[i] for i in lanes) for lanes in self.phase_lanes]

    def choose(self, now: float, readings: Sequence[LaneReading]) -> int:
        """The phase of highest pressure; the current phase on a tie."""
        pressure = self.pressures(readings)
        best = self.phase
        for p, value in enumerate(pressure):
            if value > pressure[best]:
                best = p
        return best
