"""A signal controller, unchanged, as the central system of an NTCIP cabinet.

The twin's signal controllers decide a signal *state* per scan. A field
cabinet (:class:`~controllers.signals.cabinet.SignalCabinet`, or a real ASC)
takes *phase control* instead. :class:`NtcipCentral` wraps any
:class:`~controllers.signals.fixed_time.FixedTimeController` (fixed-time,
max-pressure, adaptive) and translates, every scan:

- while the wrapped controller adapts (a
  :class:`~controllers.signals.phase_control.PhaseSelectingController` with
  good inputs): pattern :data:`~controllers.signals.ntcip.PATTERN_FREE`, and
  for the phase ``j`` it has chosen — hold ``j``, call ``j``, force off and
  omit every other phase. The cabinet then ends the current green (after its
  minimum green) and serves ``j``; because the cabinet times the change with
  the same intersection timings as the controller's own safety layer, it
  shows the same states, scan for scan (a test checks this on SUMO);
- while it runs its fixed plan (a fixed-time controller, or a fallback):
  pattern :data:`~controllers.signals.ntcip.PATTERN_STANDBY` — the cabinet runs
  its own time-base plan, as a field controller does when a central system
  hands back control;
- while it shows flashing amber (its cabinet-status input says the heads
  flash, or its safety layer faulted):
  pattern :data:`~controllers.signals.ntcip.PATTERN_FLASH`;
- always: the heartbeat, a counter changed every scan.

Inputs are the wrapped controller's inputs (detectors, the heads' flash
status) plus the cabinet's NTCIP status. The wrapped controller's operator
flash command is not one of them: under NTCIP the operations centre commands
flash at the cabinet itself (pattern 255), so it is not routed through here. the wrapped
controller's own outputs (state, mode) stay inside. :attr:`plan_mismatches`
counts scans in which the cabinet's time-base cycle differs from the wrapped
controller's fallback plan (then a fallback would not run the same plan). :attr:`disagreements`
counts scans in which the cabinet's green phases (as published after a scan)
differ from the state the wrapped controller decided in that scan (they agree
when the cabinet follows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controllers.io import Direction, PointSpec, Quality, Sample
from controllers.signals.fixed_time import FixedTimeController
from controllers.signals.ntcip import (
    CONTROL_FIELDS,
    HEARTBEAT_MODULUS,
    PATTERN_FLASH,
    PATTERN_FREE,
    PATTERN_STANDBY,
    control_points,
    phase_links,
    phase_status,
    point_name,
    status_points,
)
from controllers.signals.phase_control import PhaseSelectingController

__all__ = ["NtcipCentral"]


class NtcipCentral:
    """Drives an NTCIP cabinet with a wrapped signal controller; a ``Controller``.

    Args:
        inner: the signal controller (its name and scan period are this one's).
        backup_s: the cabinet's backup time (s); only the point definitions use it.
    """

    def __init__(self, inner: FixedTimeController, *, backup_s: float = 10.0) -> None:
        self.inner = inner
        self.name = inner.name
        self.scan_period_s = inner.scan_period_s
        spec = inner.spec
        self.links = phase_links(spec)
        n = len(self.links)
        self._all = (1 << n) - 1
        self.controls = control_points(spec.tls_id, n, Direction.OUTPUT, backup_s=backup_s)
        self.status = status_points(spec.tls_id, n, Direction.INPUT)
        self._control_names = [p.name for p in self.controls]
        self._greens_point = point_name(spec.tls_id, "phase_status/greens")
        self._cycle_point = point_name(spec.tls_id, "coord/cycle_s")
        self.heartbeat = 0
        self.disagreements = 0
        self.plan_mismatches = 0
        self._last_decided: str | None = None

    def points(self) -> Sequence[PointSpec]:
        """The wrapped controller's inputs, the cabinet's status, the phase-control outputs."""
        flash = self.inner.flash_point
        own = [p for p in self.inner.points() if p.direction is Direction.INPUT and p is not flash]
        return (*own, *self.status, *self.controls)

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """Scan the wrapped controller at ``now`` (s) and translate its decision."""
        self._compare(inputs.get(self._greens_point))
        cycle = inputs.get(self._cycle_point)
        if (
            cycle is not None
            and cycle.quality is Quality.GOOD
            and isinstance(cycle.value, int | float)
            and abs(cycle.value - self.inner.plan.cycle_s) > 1e-6
        ):
            self.plan_mismatches += 1
        decided = self.inner.scan(now, inputs)[self.inner.state_point.name]
        self._last_decided = decided
        self.heartbeat = (self.heartbeat + 1) % HEARTBEAT_MODULUS
        zero = (0,) * len(CONTROL_FIELDS)
        if all(ch in "oO" for ch in decided):
            values = (*zero, PATTERN_FLASH)
        elif isinstance(self.inner, PhaseSelectingController) and self.inner.adaptive:
            chosen = 1 << self.inner.phase
            others = self._all & ~chosen
            values = (others, chosen, others, chosen, 0, PATTERN_FREE)
        else:
            values = (*zero, PATTERN_STANDBY)
        return dict(zip(self._control_names, (*values, self.heartbeat), strict=True))

    def _compare(self, greens: Sample | None) -> None:
        """Count a scan whose cabinet greens (published after the previous scan) differ
        from the previous scan's decision."""
        if greens is None or greens.quality is not Quality.GOOD or self._last_decided is None:
            return
        if greens.value != phase_status(self.links, self._last_decided)[0]:
            self.disagreements += 1

    def snapshot(self) -> dict[str, Any]:
        """The wrapped controller's snapshot, with the heartbeat."""
        return {"inner": self.inner.snapshot(), "heartbeat": self.heartbeat}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` (the heartbeat carries on, so the cabinet sees no gap)."""
        try:
            inner, heartbeat = state["inner"], int(state["heartbeat"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        self.inner.restore(inner)
        self.heartbeat = heartbeat % HEARTBEAT_MODULUS
        self._last_decided = None  # the cabinet's next status is judged afresh
