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

__all__ = ["ConflictMonitorBank"]


class ConflictMonitorBank:
    """Conflict monitors of many junctions, scanned together every ``period_s`` seconds."""

    name = "monitor/conflicts"

    def __init__(self, specs: Iterable[IntersectionSpec], period_s: float) -> None:
        self.monitors = {spec.tls_id: ConflictMonitor(spec) for spec in specs}
        self.scan_period_s = period_s
        self._points = {tls: f"tls/{tls}/state_actual" for tls in self.monitors}
        self._last = dict.fromkeys(self.monitors, "")

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
            # an unchanged state has no transition to judge: skip it (hot path)
            if sample.quality is Quality.GOOD and state and state != self._last[tls]:
                self.monitors[tls].check(now, state)
                self._last[tls] = state
        return {}

    def snapshot(self) -> dict[str, Any]:
        return {"violations": self.violations_by_junction()}

    def restore(self, state: Mapping[str, Any]) -> None:
        raise NotImplementedError(
            "a conflict monitor restarts with its cabinet; it is not restored"
        )
