"""The signal cabinet's own controller unit, driven by NTCIP 1202-style phase control.

:class:`SignalCabinet` is what sits in the field cabinet (an actuated signal
controller, ASC, with its malfunction management unit): a central system
does not send it signal states but *phase control* — omit, hold, force-off,
vehicle and pedestrian calls, a pattern command and a heartbeat (see
:mod:`controllers.signals.ntcip`). The cabinet sequences its phases from them
and times every interval itself, so nothing a central system sends can make
it unsafe.

Each scan (``now`` in s):

1. **Which mode.** The conflict monitor (MMU) has tripped → flash, latched
   until :meth:`SignalCabinet.reset_mmu`. Else the heartbeat has not changed
   for ``backup_s`` (or never arrived) → *backup*: the cabinet runs its
   time-base plan. Else by the pattern command: 255 flash, 254 free
   (sequenced by phase control), 0 or 1 the time-base plan; any other
   pattern is refused (counted in ``bad_commands``) and read as 0.
2. **Free: sequencing.** The phase being served (``serving``) keeps its
   green while it is held, or while it is neither forced off nor omitted and
   has not reached ``max_green_s`` with a call waiting elsewhere. When its
   green ends, the next phase is the first one after it (in phase order,
   wrapping) with a vehicle or pedestrian call and not omitted; with none,
   the green rests. On entering free the cabinet serves the phase sharing most
   green links with what is shown; with nothing green (a clearance, the
   start-up), a held phase, else the first called one that is not omitted.
   The choice is committed: a phase once chosen is served
   (for at least its minimum green) even if the central system changes its
   mind during the clearance, as an ASC commits its next phase.
3. **Every state** passes through the cabinet's own
   :class:`~controllers.signals.safety.SafetyLayer` (minimum green, amber,
   red clearance, conflict card) and then its own
   :class:`~controllers.signals.conflict_monitor.ConflictMonitor`; a breach
   trips the MMU.

``unit/control_status`` says who is in control: SYSTEM_CONTROL (free, or a
commanded flash), SYSTEM_STANDBY (pattern 0), TIMEBASE (pattern 1),
BACKUP_MODE (heartbeat silent) or OTHER (the MMU holds it in flash).

Commands are read with their quality: a malformed or out-of-range value is
refused (counted, read as 0: no omit, no hold, no call); a stale one (older
than ``backup_s``) is BAD and reads as 0 too.

Local detector actuation (calls from the cabinet's own loops) and
preemption are not modelled: calls come from the central system.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from controllers.io import Direction, PointSpec, PointValueError, Quality, Sample
from controllers.signals.conflict_monitor import ConflictMonitor
from controllers.signals.fixed_time import check_plan, plan_request, state_point
from controllers.signals.intersection import GREEN_CHARS, IntersectionSpec
from controllers.signals.ntcip import (
    CONTROL_FIELDS,
    PATTERN_FLASH,
    PATTERN_FREE,
    PATTERN_PLAN,
    PATTERN_STANDBY,
    STATUS_FIELDS,
    FlashStatus,
    UnitControlStatus,
    control_points,
    phase_links,
    phase_status,
    point_name,
    status_points,
)
from controllers.signals.safety import SafetyLayer, TimeWentBackwardsError
from controllers.signals.webster import SignalPlan

__all__ = ["SignalCabinet"]

_SNAPSHOT_VERSION = 1


class SignalCabinet:
    """A junction's cabinet controller under NTCIP phase control; a ``Controller``.

    Args:
        spec: the intersection (conflict card, minimum intervals in s).
        plan: the time-base plan (run in standby, backup and pattern 1).
        offset_s: the plan's cycle offset (s).
        backup_s: heartbeat silence (s, > 0) after which the cabinet runs its plan.
        max_green_s: longest green (s, > min green) while another phase is called
            and nothing holds the green.
        scan_period_s: seconds between scans (> 0).

    Points: INPUT the phase-control, pattern and heartbeat points of
    :func:`~controllers.signals.ntcip.control_points`; OUTPUT ``tls/{id}/state``
    (to the signal heads) and the status points of
    :func:`~controllers.signals.ntcip.status_points`.
    """

    def __init__(
        self,
        spec: IntersectionSpec,
        plan: SignalPlan,
        *,
        offset_s: float = 0.0,
        backup_s: float = 10.0,
        max_green_s: float = 120.0,
        scan_period_s: float = 1.0,
    ) -> None:
        check_plan(spec, plan)
        if not (math.isfinite(max_green_s) and max_green_s > spec.min_green_s):
            raise ValueError(
                f"tls {spec.tls_id}: max_green_s {max_green_s!r} s must exceed min green "
                f"{spec.min_green_s} s"
            )
        if not (math.isfinite(scan_period_s) and scan_period_s > 0):
            raise ValueError(f"scan_period_s must be a finite time > 0 s, got {scan_period_s!r}")
        if not math.isfinite(offset_s):
            raise ValueError(f"offset_s must be finite, got {offset_s!r}")
        self.spec, self.plan = spec, plan
        self.offset_s, self.backup_s = float(offset_s), float(backup_s)
        self.max_green_s = float(max_green_s)
        self.name = f"cabinet/{spec.tls_id}"
        self.scan_period_s = float(scan_period_s)
        self.links = phase_links(spec)
        n = len(self.links)
        self._all = (1 << n) - 1
        self.safety = SafetyLayer(spec)
        self.monitor = ConflictMonitor(spec)
        self.inputs = control_points(spec.tls_id, n, Direction.INPUT, backup_s=backup_s)
        self._by_field = {
            field: p
            for field, p in zip((*CONTROL_FIELDS, "pattern", "heartbeat"), self.inputs, strict=True)
        }
        self.state_point = state_point(spec.tls_id)
        self.outputs = (self.state_point, *status_points(spec.tls_id, n, Direction.OUTPUT))
        self._status_names = [point_name(spec.tls_id, f) for f in STATUS_FIELDS]
        tail = (
            "unit/control_status",
            "unit/flash_status",
            "coord/pattern_status",
            "coord/cycle_s",
            "coord/offset_s",
            "mmu/violations",
        )
        self._unit_names = [point_name(spec.tls_id, f) for f in tail]
        #: 0-based index of the phase being served (green, or the one being moved to)
        self.serving = 0
        self.green_since: float | None = None
        self.control_status = UnitControlStatus.BACKUP_MODE
        self.mmu_tripped = False
        self.bad_commands = 0
        self.backups = 0  # times the heartbeat went silent
        self._heartbeat: int | None = None
        self._heartbeat_changed_at = -math.inf
        self._free = False
        self._last_now: float | None = None

    # ------------------------------------------------------------- points
    def points(self) -> Sequence[PointSpec]:
        """The control inputs, the state output and the status outputs."""
        return (*self.inputs, *self.outputs)

    # --------------------------------------------------------------- scan
    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan at ``now`` (s): mode, sequencing, safe state and status.

        Raises TimeWentBackwardsError, with nothing changed, for a ``now`` earlier
        than the previous scan's or not finite."""
        last = self._last_now
        if not (isinstance(now, int | float) and math.isfinite(now)) or (
            last is not None and now < last
        ):
            raise TimeWentBackwardsError(
                f"{self.name}: scan at {now!r} s after a scan at {last!r} s"
            )
        self._last_now = float(now)
        raw = {field: self._read(point, now, inputs) for field, point in self._by_field.items()}
        command = {field: value or 0 for field, value in raw.items()}
        alive = self._heartbeat_alive(now, raw["heartbeat"])
        pattern = command["pattern"]
        if pattern not in (PATTERN_STANDBY, PATTERN_PLAN, PATTERN_FREE, PATTERN_FLASH):
            self.bad_commands += 1
            pattern = PATTERN_STANDBY
        flash = self.mmu_tripped or (alive and pattern == PATTERN_FLASH)
        free = alive and pattern == PATTERN_FREE and not flash
        if flash:
            self.safety.flash()
        elif self.safety.forced_flash:
            self.safety.release_flash()
        if free:
            if not self._free:  # entering free: serve what is shown, else what is asked
                self.serving, self.green_since = self._entry_phase(command), None
            request = self._sequence(now, command)
            self.control_status = UnitControlStatus.SYSTEM_CONTROL
        else:
            _, request = plan_request(self.plan, now, self.offset_s)
            self.control_status = (
                UnitControlStatus.OTHER  # the MMU holds it
                if self.mmu_tripped
                else UnitControlStatus.BACKUP_MODE
                if not alive
                else UnitControlStatus.SYSTEM_CONTROL  # a commanded flash
                if flash
                else UnitControlStatus.SYSTEM_STANDBY
                if pattern == PATTERN_STANDBY
                else UnitControlStatus.TIMEBASE
            )
        self._free = free
        shown = self.safety.apply(now, request)
        if free and self.green_since is None and self._is_green(self.serving, shown):
            self.green_since = now
        if self.monitor.check(now, shown):
            self.mmu_tripped = True
        return self._outputs(shown, command, flash, free, pattern)

    def reset_mmu(self) -> None:
        """The technician's reset after an MMU trip: leave flash through the start-up."""
        self.mmu_tripped = False

    # ----------------------------------------------------------- helpers
    def _read(self, point: PointSpec, now: float, inputs: Mapping[str, Sample]) -> int | None:
        """A command's value; None when missing, BAD (stale) or refused (counted)."""
        sample = inputs.get(point.name)
        if sample is None:
            return None
        try:
            if point.quality_at(sample, now) is Quality.BAD:
                return None
            return int(point.check(sample.value))
        except (PointValueError, AttributeError, TypeError, ValueError):
            self.bad_commands += 1
            return None

    def _heartbeat_alive(self, now: float, heartbeat: int | None) -> bool:
        """True while the heartbeat changed within the backup time (s)."""
        if heartbeat is not None and heartbeat != self._heartbeat:
            self._heartbeat, self._heartbeat_changed_at = heartbeat, now
        alive = now - self._heartbeat_changed_at <= self.backup_s
        if not alive and self.control_status is not UnitControlStatus.BACKUP_MODE:
            self.backups += 1
        return alive

    def _sequence(self, now: float, command: Mapping[str, int]) -> str:
        """The phase-control state machine; returns the state to request."""
        c = self.serving
        if self.green_since is not None and self._is_green(c, self.safety.shown):
            bit = 1 << c
            calls = (command["phase_control/veh_call"] | command["phase_control/ped_call"]) & ~(
                command["phase_control/omit"]
            )
            others = calls & self._all & ~bit
            ended = bool((command["phase_control/force_off"] | command["phase_control/omit"]) & bit)
            maxed = now - self.green_since >= self.max_green_s and others != 0
            if (ended or maxed) and not command["phase_control/hold"] & bit:
                following = self._next_called(c, others)
                if following is not None:
                    self.serving, self.green_since = following, None
        return self.spec.green_phases[self.serving]

    def _is_green(self, phase: int, shown: str) -> bool:
        return all(shown[i] in GREEN_CHARS for i in self.links[phase])

    def _next_called(self, current: int, calls: int) -> int | None:
        n = len(self.links)
        for step in range(1, n):
            p = (current + step) % n
            if calls & (1 << p):
                return p
        return None

    def _entry_phase(self, command: Mapping[str, int]) -> int:
        """The phase to serve on entering free: the one sharing most green links with
        what is shown; with nothing green, a held phase, else the first called one that
        is not omitted, else the one served last."""
        shown = self.safety.shown
        best, best_score = self.serving, 0
        for p, own in enumerate(self.links):
            score = sum(1 for i in own if shown[i] in GREEN_CHARS)
            if score > best_score:
                best, best_score = p, score
        if best_score > 0:
            return best
        omit = command["phase_control/omit"]
        for wanted in (
            command["phase_control/hold"] & ~omit,
            (command["phase_control/veh_call"] | command["phase_control/ped_call"]) & ~omit,
        ):
            for p in range(len(self.links)):
                if wanted & (1 << p):
                    return p
        return self.serving

    def _outputs(
        self, shown: str, command: Mapping[str, int], flash: bool, free: bool, pattern: int
    ) -> dict[str, Any]:
        greens, yellows, reds = phase_status(self.links, shown)
        nxt = 0 if (greens >> self.serving) & 1 or not free else 1 << self.serving
        calls = (command["phase_control/veh_call"] | command["phase_control/ped_call"]) & self._all
        if self.mmu_tripped:
            flash_status = FlashStatus.MMU
        elif flash:
            flash_status = FlashStatus.AUTOMATIC
        elif self.safety.counters["grants"] == 0:
            flash_status = FlashStatus.STARTUP  # the all-red start-up after power-up
        else:
            flash_status = FlashStatus.NOT_FLASH
        pattern_status = (
            PATTERN_FLASH if flash else PATTERN_FREE if free else PATTERN_PLAN
        )  # fmt: skip
        values: list[int] = [greens, yellows, reds, nxt, calls]
        out: dict[str, Any] = {self.state_point.name: shown}
        out.update(zip(self._status_names, values, strict=True))
        out.update(
            zip(
                self._unit_names,
                (
                    int(self.control_status),
                    int(flash_status),
                    pattern_status,
                    self.plan.cycle_s,
                    self.offset_s % self.plan.cycle_s,
                    self.monitor.violations,
                ),
                strict=True,
            )
        )
        return out

    # ------------------------------------------------------ snapshot / restore
    def snapshot(self) -> dict[str, Any]:
        """State as plain data (safety layer timers, sequencing, heartbeat, counters)."""
        return {
            "version": _SNAPSHOT_VERSION,
            "name": self.name,
            "serving": self.serving,
            "green_since": self.green_since,
            "control_status": int(self.control_status),
            "mmu_tripped": self.mmu_tripped,
            "bad_commands": self.bad_commands,
            "backups": self.backups,
            "heartbeat": self._heartbeat,
            "heartbeat_changed_at": (
                None if math.isinf(self._heartbeat_changed_at) else self._heartbeat_changed_at
            ),
            "free": self._free,
            "last_now": self._last_now,
            "mmu_violations": self.monitor.violations,
            "safety": self.safety.snapshot(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` of a cabinet of the same junction."""
        try:
            if state["version"] != _SNAPSHOT_VERSION or state["name"] != self.name:
                raise ValueError(f"snapshot of {state['name']!r} v{state['version']!r}")
            serving = int(state["serving"])
            if not 0 <= serving < len(self.links):
                raise ValueError(f"serving phase {serving} out of range")
            green_since = None if state["green_since"] is None else float(state["green_since"])
            control = UnitControlStatus(int(state["control_status"]))
            changed = state["heartbeat_changed_at"]
            heartbeat = state["heartbeat"]
            fields = (bool(state["mmu_tripped"]), int(state["bad_commands"]), int(state["backups"]))
            free = bool(state["free"])
            last_now = None if state["last_now"] is None else float(state["last_now"])
            violations = int(state["mmu_violations"])
            safety = state["safety"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        self.safety.restore(safety)
        self.serving, self.green_since, self.control_status = serving, green_since, control
        self.mmu_tripped, self.bad_commands, self.backups = fields
        self._heartbeat = None if heartbeat is None else int(heartbeat)
        self._heartbeat_changed_at = -math.inf if changed is None else float(changed)
        self._free = free
        self._last_now = last_now
        # the monitor starts over with unknown history (it does not judge intervals
        # already running); its count carries on
        self.monitor = ConflictMonitor(self.spec)
        self.monitor.violations = violations
