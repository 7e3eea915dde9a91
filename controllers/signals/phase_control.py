"""Common machinery of controllers that pick the next green phase every scan.

A *phase-selecting* controller (max-pressure, the adaptive controller) owns
one intersection. Each scan it:

1. reads its lane detectors (:mod:`controllers.signals.detection`);
2. decides whether its input is trustworthy. If more than
   ``max_failed_fraction`` of its lanes are failed (missing, stale, bad or
   frozen), it **falls back to its fixed-time plan** (the same plan a
   :class:`~controllers.signals.fixed_time.FixedTimeController` would run) and
   comes back only after every lane but that fraction has been good for
   ``recover_after_s``. Fewer failed lanes are given a recall (see
   detection) and the controller keeps adapting: it degrades, it does not
   jump;
3. once the current phase has shown green for ``min_green_s``, asks its
   policy (:meth:`PhaseSelectingController.choose`) which green phase to show
   next — the same one to extend, another to switch;
4. requests that phase; the :class:`~controllers.signals.safety.SafetyLayer`
   times amber and red clearance and refuses anything conflicting or short.

Phases are the network's own green phases (``spec.green_phases``), so the
controller works on any SUMO network; links green in two consecutive phases
stay green through the change. ``max_green_s`` caps a phase while another
phase has demand; ``max_red_s`` is a starvation guard: a phase with demand
that has waited that long is served next, whatever the policy says.

Decision times (s, wall clock: reading inputs and choosing) are kept for
every scan that made a decision (the current phase past its minimum green)
in :attr:`PhaseSelectingController.decision_times_s`, for benchmarks.

Besides the signal state, the controller publishes the status OUTPUT
``tls/{id}/adaptive`` (bool: True while adapting, False while on the fixed
plan), so operators and the run's recording see every fallback and return.
"""

from __future__ import annotations

import math
import time
from array import array
from collections.abc import Mapping, Sequence
from typing import Any

from controllers.io import Direction, PointSpec, Sample, ValueType
from controllers.signals.detection import LaneDetector, LaneReading, PedestrianDetector
from controllers.signals.fixed_time import FixedTimeController, plan_request
from controllers.signals.intersection import GREEN_CHARS, IntersectionSpec
from controllers.signals.webster import SignalPlan

__all__ = ["PhaseSelectingController", "PhaseTimingLimits"]

_SNAPSHOT_VERSION = 1


class PhaseTimingLimits:
    """Timing limits of a phase-selecting controller (s).

    Args:
        max_green_s: longest green while another phase has demand (> min green).
        max_red_s: a phase with demand waiting this long is served next (> 0).
        max_failed_fraction: share of failed lanes above which the fixed plan
            runs (0..1).
        recover_after_s: good-input time needed to leave the fixed plan (>= 0).
    """

    __slots__ = ("max_failed_fraction", "max_green_s", "max_red_s", "recover_after_s")

    def __init__(
        self,
        max_green_s: float = 60.0,
        max_red_s: float = 120.0,
        max_failed_fraction: float = 0.25,
        recover_after_s: float = 10.0,
    ) -> None:
        for name, value in (("max_green_s", max_green_s), ("max_red_s", max_red_s)):
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite time > 0 s, got {value!r}")
        if not (0 <= max_failed_fraction <= 1):
            raise ValueError(f"max_failed_fraction must be in [0, 1], got {max_failed_fraction}")
        if not (math.isfinite(recover_after_s) and recover_after_s >= 0):
            raise ValueError(f"recover_after_s must be >= 0 s, got {recover_after_s!r}")
        self.max_green_s = float(max_green_s)
        self.max_red_s = float(max_red_s)
        self.max_failed_fraction = float(max_failed_fraction)
        self.recover_after_s = float(recover_after_s)


class PhaseSelectingController(FixedTimeController):
    """Base class: detector-driven phase selection with a fixed-plan fallback.

    Subclasses implement :meth:`choose`. Everything else — flash commands,
    the cabinet's watchdog status, the safety layer, the fallback — is shared
    and behaves as in :class:`FixedTimeController`.

    Args:
        spec: the intersection.
        plan: the fixed-time fallback plan.
        detectors: one :class:`LaneDetector` per controlled incoming lane and
            one :class:`PedestrianDetector` per signalised crossing (every lane
            in ``spec.link_lanes`` must have one).
        limits: timing limits.
        offset_s, scan_period_s, flash_command, cabinet_status: as for
            :class:`FixedTimeController`.
    """

    kind = "phase_selecting"

    def __init__(
        self,
        spec: IntersectionSpec,
        plan: SignalPlan,
        detectors: Sequence[LaneDetector | PedestrianDetector],
        *,
        limits: PhaseTimingLimits | None = None,
        offset_s: float = 0.0,
        scan_period_s: float = 1.0,
        flash_command: bool = True,
        cabinet_status: bool = True,
    ) -> None:
        super().__init__(
            spec,
            plan,
            offset_s=offset_s,
            scan_period_s=scan_period_s,
            flash_command=flash_command,
            cabinet_status=cabinet_status,
        )
        self.limits = limits or PhaseTimingLimits()
        if self.limits.max_green_s <= spec.min_green_s:
            raise ValueError(
                f"tls {spec.tls_id}: max_green_s {self.limits.max_green_s} s must exceed min "
                f"green {spec.min_green_s} s"
            )
        by_lane = {d.lane: d for d in detectors}
        missing = sorted(set(spec.link_lanes) - set(by_lane))
        if missing:
            raise ValueError(
                f"tls {spec.tls_id}: no detector for lanes {', '.join(missing)}; every "
                "controlled lane needs one"
            )
        self.lanes: tuple[str, ...] = tuple(dict.fromkeys(spec.link_lanes))
        self.detectors: tuple[LaneDetector | PedestrianDetector, ...] = tuple(
            by_lane[lane] for lane in self.lanes
        )
        lane_index = {lane: i for i, lane in enumerate(self.lanes)}
        phases = spec.green_phases
        #: per phase: indices (into self.lanes) of the lanes it gives green to
        self.phase_lanes: tuple[tuple[int, ...], ...] = tuple(
            tuple(
                sorted(
                    {lane_index[spec.link_lanes[i]] for i, c in enumerate(p) if c in GREEN_CHARS}
                )
            )
            for p in phases
        )
        self._phase_links = tuple(
            tuple(i for i, c in enumerate(p) if c in GREEN_CHARS) for p in phases
        )
        self.phase = 0
        self.green_since: float | None = None
        self.last_green = [-math.inf] * len(phases)  # s: when each phase last showed green
        self.adaptive = True
        self.fallbacks = 0
        self._good_since: float | None = 0.0
        self.decision_times_s = array("d")
        #: s: when a vehicle last crossed each lane's stop line (gap-out timer)
        self.last_crossing = [-math.inf] * len(self.lanes)
        #: per lane: one of its link indices (to see whether it shows green)
        self._lane_link = tuple(spec.link_lanes.index(lane) for lane in self.lanes)
        self._phase_sets = tuple(frozenset(links) for links in self._phase_links)
        self.mode_point = PointSpec(
            f"tls/{spec.tls_id}/adaptive",
            Direction.OUTPUT,
            "",
            ValueType.BOOL,
            description="True while adapting, False while running the fixed-time fallback",
        )
        self._first_scan = True

    # -------------------------------------------------------------- points
    def points(self) -> Sequence[PointSpec]:
        """State and mode outputs, flash/cabinet inputs, and the detector inputs of each lane."""
        own = [*super().points(), self.mode_point]
        for d in self.detectors:
            own.extend(d.points())
        return own

    # ---------------------------------------------------------------- policy
    def choose(self, now: float, readings: Sequence[LaneReading]) -> int:
        """Index of the green phase to show from now on (the current one = extend).

        Called only once the current phase :attr:`phase` has been green for
        min green. ``readings`` are in :attr:`lanes` order.
        """
        raise NotImplementedError

    # ------------------------------------------------------------ helpers
    def phase_demand(self, readings: Sequence[LaneReading], phase: int) -> float:
        """PCU on the lanes ``phase`` serves."""
        return sum(readings[i].demand_pcu for i in self.phase_lanes[phase])

    def _observe(self, now: float, inputs: Mapping[str, Sample]) -> None:
        """Hook: record extra inputs each scan, inside the timed decision (none here)."""

    def waited_s(self, now: float, phase: int) -> float:
        """Seconds since ``phase`` last showed green (inf if never)."""
        return now - self.last_green[phase]

    # ------------------------------------------------------------------ scan
    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan at ``now`` (s): read, maybe decide, request through the safety layer."""
        if self._flash_commanded(now, inputs):
            self.safety.flash()
        elif self.safety.forced_flash:
            self.safety.release_flash()
        if self._first_scan:
            self._first_scan = False
            self.last_green = [now] * len(self.last_green)  # waits count from power-up
        tick = time.perf_counter()
        self._observe(now, inputs)
        shown_now = self.safety.shown
        readings = [
            d.read(now, inputs, shown_now[i] in GREEN_CHARS)
            for d, i in zip(self.detectors, self._lane_link, strict=True)
        ]
        for i, r in enumerate(readings):
            if r.crossed:
                self.last_crossing[i] = now
        failed = sum(r.failed for r in readings)
        self._update_mode(now, failed / len(readings))
        if not self.adaptive:
            self.phase_index, request = plan_request(self.plan, now, self.offset_s)
            shown = self.safety.apply(now, request)
            self._track(now, shown, fallback=True)
            return {self.state_point.name: shown, self.mode_point.name: False}
        if self.green_since is not None and now - self.green_since >= self.spec.min_green_s:
            chosen = self._guarded_choice(now, readings)
            if chosen != self.phase:
                self.phase = chosen
                self.green_since = None
            self.decision_times_s.append(time.perf_counter() - tick)
        shown = self.safety.apply(now, self.spec.green_phases[self.phase])
        self._track(now, shown, fallback=False)
        return {self.state_point.name: shown, self.mode_point.name: True}

    def _guarded_choice(self, now: float, readings: Sequence[LaneReading]) -> int:
        """The policy's choice, overridden by the starvation guard and max green."""
        k = self.phase
        limits = self.limits
        demand = [self.phase_demand(readings, p) for p in range(len(self.phase_lanes))]
        overdue = [
            p
            for p in range(len(demand))
            if p != k and demand[p] > 0 and self.waited_s(now, p) >= limits.max_red_s
        ]
        if overdue:
            return max(overdue, key=lambda p: self.waited_s(now, p))
        chosen = self.choose(now, readings)
        assert self.green_since is not None
        if now - self.green_since >= limits.max_green_s:
            # max green: go to a phase that ends at least one of k's greens (a phase
            # that keeps them all would only extend the green under another name)
            ends = [
                p
                for p in range(len(demand))
                if p != k and demand[p] > 0 and not self._phase_sets[k] <= self._phase_sets[p]
            ]
            if chosen in ends:
                return chosen
            others = ends
            if others:
                return max(others, key=lambda p: (demand[p], self.waited_s(now, p)))
        return chosen

    def _update_mode(self, now: float, failed_fraction: float) -> None:
        limits = self.limits
        if failed_fraction > limits.max_failed_fraction:
            self._good_since = None
            if self.adaptive:
                self.adaptive = False
                self.fallbacks += 1
            return
        if self._good_since is None:
            self._good_since = now
        if not self.adaptive and now - self._good_since >= limits.recover_after_s:
            self.adaptive = True
            self.phase = self._closest_phase(self.safety.shown)
            self.green_since = None

    def _closest_phase(self, shown: str) -> int:
        """The green phase sharing most green links with ``shown`` (the plan's next if none)."""
        best, best_score = (self.phase_index + 1) % len(self._phase_links), 0
        for p, links in enumerate(self._phase_links):
            score = sum(1 for i in links if shown[i] in GREEN_CHARS)
            if score > best_score:
                best, best_score = p, score
        return best

    def _track(self, now: float, shown: str, *, fallback: bool) -> None:
        """Update green timers from what the safety layer actually showed."""
        for p, links in enumerate(self._phase_links):
            if all(shown[i] in GREEN_CHARS for i in links):
                self.last_green[p] = now
        if (
            not fallback
            and self.green_since is None
            and all(shown[i] in GREEN_CHARS for i in self._phase_links[self.phase])
        ):
            self.green_since = now

    # ------------------------------------------------------ snapshot / restore
    def snapshot(self) -> dict[str, Any]:
        """State as plain data: the fixed-time part plus phase, timers and mode."""
        state = super().snapshot()
        state["phase_selection"] = {
            "version": _SNAPSHOT_VERSION,
            "phase": self.phase,
            "green_since": self.green_since,
            "last_green": [None if math.isinf(t) else t for t in self.last_green],
            "adaptive": self.adaptive,
            "fallbacks": self.fallbacks,
            "good_since": self._good_since,
        }
        return state

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` of a controller of the same intersection."""
        try:
            own = state["phase_selection"]
            if own["version"] != _SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {own['version']!r}")
            phase = int(own["phase"])
            if not 0 <= phase < len(self._phase_links):
                raise ValueError(f"phase {phase} out of range")
            green_since = None if own["green_since"] is None else float(own["green_since"])
            last_green = [-math.inf if t is None else float(t) for t in own["last_green"]]
            if len(last_green) != len(self._phase_links):
                raise ValueError("last_green has the wrong number of phases")
            adaptive = bool(own["adaptive"])
            fallbacks = int(own["fallbacks"])
            good_since = None if own["good_since"] is None else float(own["good_since"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        super().restore(state)
        self._first_scan = False  # the restored waits stand
        self.phase, self.green_since, self.last_green = phase, green_since, last_green
        self.adaptive, self.fallbacks, self._good_since = adaptive, fallbacks, good_since
        for d in self.detectors:
            d.reset()
