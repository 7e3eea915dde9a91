"""The conflict-monitor bank: every junction's independent monitor, fed what SUMO shows.

Like a cabinet's malfunction management unit it does not trust the controller:
it reads back the state actually shown (``tls/J/state_actual``) each step and
counts conflicting greens, short greens, short ambers and short clearances.
It has the controller shape so the kernel schedules it, but writes no outputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType
from controllers.signals import ConflictMonitor, IntersectionSpec
from twin.eventlog import EventLog

__all__ = ["ConflictMonitorBank"]


class ConflictMonitorBank:
    """Conflict monitors of many junctions, scanned together every ``period_s`` seconds."""

    name = "monitor/conflicts"

    def __init__(
        self, specs: Iterable[IntersectionSpec], period_s: float, events: EventLog | None = None
    ) -> None:
        self.monitors = {spec.tls_id: ConflictMonitor(spec) for spec in specs}
        self.scan_period_s = period_s
        self._points = {tls: f"tls/{tls}/state_actual" for tls in self.monitors}
        self._last = dict.fromkeys(self.monitors, "")
        self.blind_scans = dict.fromkeys(self.monitors, 0)
        self._blind_now = dict.fromkeys(self.monitors, False)
        self._events = events

    @property
    def blind(self) -> int:
        """Scans, all junctions, where the shown state could not be read (not GOOD)."""
        return sum(self.blind_scans.values())

    def violation_log(self) -> list[str]:
        """Descriptions of the violations seen (each monitor keeps its first 1000)."""
        return [line for m in self.monitors.values() for line in m.log]

    @property
    def violations(self) -> int:
        """Violations seen so far, all junctions."""
        return sum(m.violations for m in self.monitors.values())

    def violations_by_junction(self) -> dict[str, int]:
        """Violations per junction id."""
        return {tls: m.violations for tls, m in self.monitors.items()}

    def points(self) -> list[PointSpec]:
        return [PointSpec(p, Direction.INPUT, "", ValueType.STR) for p in self._points.values()]

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        for tls, point in self._points.items():
            sample = inputs[point]
            state = sample.value
            if sample.quality is not Quality.GOOD or not state:
                self.blind_scans[tls] += 1  # the read-back is missing: nothing can be judged
                if not self._blind_now[tls]:
                    self._blind_now[tls] = True
                    self._emit(now, "monitor_blind", junction=tls, quality=sample.quality.name)
                continue
            if self._blind_now[tls]:
                self._blind_now[tls] = False
                self._emit(now, "monitor_sight_restored", junction=tls)
            # an unchanged state has no transition to judge: skip it (hot path)
            if state != self._last[tls]:
                found = self.monitors[tls].check(now, state)
                self._last[tls] = state
                if found:
                    self._emit(now, "interlock_violation", junction=tls, violations=found)
        return {}

    def _emit(self, now: float, kind: str, **fields: Any) -> None:
        if self._events is not None:
            self._events.emit(now, kind, **fields)

    def snapshot(self) -> dict[str, Any]:
        return {"violations": self.violations_by_junction()}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore violation counters; interval timers restart (unknown history is not judged)."""
        for tls, count in state.get("violations", {}).items():
            if tls in self.monitors:
                self.monitors[tls].violations = int(count)
