"""The fixed-time signal controller, and the plan schedule adaptive controllers fall back on.

Fallback chain of every signal controller in the twin (DESIGN.md):

1. the adaptive controller's own decision, while its inputs are good;
2. a fixed-time plan (this module's :func:`plan_request`, usually a
   :func:`~controllers.signals.webster.webster_plan`) when its inputs are
   missing, stale or bad;
3. flashing amber on every link, the last resort, shown by the
   :class:`~controllers.signals.safety.SafetyLayer` on a malformed request or
   a commanded flash.

Whatever a controller requests passes through its SafetyLayer; only the safe
state reaches the output point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from controllers.io import Direction, PointSpec, PointValueError, Quality, Sample, ValueType
from controllers.signals.intersection import GREEN_CHARS, IntersectionSpec
from controllers.signals.safety import SafetyLayer
from controllers.signals.webster import SignalPlan

__all__ = ["FixedTimeController", "check_plan", "plan_request", "state_point"]

_SNAPSHOT_VERSION = 1
_EDGE_S = 1e-9  # s


def check_plan(spec: IntersectionSpec, plan: SignalPlan) -> None:
    """Raise ValueError unless ``plan`` can run on ``spec`` as timed.

    The plan's phases must have ``spec.n_links`` links and show only
    compatible links green together; its greens, amber and all-red must be at
    least the spec's minimum green, amber and all-red (s).
    """
    tag = f"tls {spec.tls_id}"
    for k, phase in enumerate(plan.phases):
        if len(phase) != spec.n_links:
            raise ValueError(
                f"{tag}: plan phase {k} {phase!r} has {len(phase)} links, expected {spec.n_links}"
            )
        greens = [i for i, ch in enumerate(phase) if ch in GREEN_CHARS]
        for a in greens:
            for b in greens:
                if not spec.compatible[a][b]:
                    raise ValueError(
                        f"{tag}: plan phase {k} {phase!r} shows conflicting links {a} and {b} "
                        "green together"
                    )
    short = [k for k, g in enumerate(plan.green_s) if g < spec.min_green_s]
    if short:
        raise ValueError(
            f"{tag}: plan greens of phases {short} are shorter than min green {spec.min_green_s} s"
        )
    if plan.amber_s < spec.amber_s or plan.all_red_s < spec.all_red_s:
        raise ValueError(
            f"{tag}: plan amber/all-red {plan.amber_s}/{plan.all_red_s} s are shorter than the "
            f"intersection's {spec.amber_s}/{spec.all_red_s} s"
        )


def state_point(tls_id: str) -> PointSpec:
    """The OUTPUT point of the state a junction's signal heads show (``tls/{id}/state``)."""
    return PointSpec(
        f"tls/{tls_id}/state",
        Direction.OUTPUT,
        "",
        ValueType.STR,
        choices="GgyroO",
        description="signal state shown, one char per link (SUMO convention)",
    )


def plan_request(plan: SignalPlan, now: float, offset_s: float = 0.0) -> tuple[int, str]:
    """The phase index and the state to *request* at ``now`` (s) under ``plan``.

    The cycle position is ``(now - offset_s) mod cycle_s``. Phase ``i``
    occupies ``green_s[i] + amber_s + all_red_s`` seconds: during its green it
    requests the phase's state; during its amber and all-red it requests the
    links that stay green into the next phase (others red), so the safety
    layer times the change and the next phase is granted at its slot start.
    The returned request is not yet safe: pass it through a SafetyLayer.
    """
    # _EDGE_S absorbs float noise so a boundary computed as 17.200000000000003
    # is not missed by a scan at exactly 17.2 s.
    pos = math.fmod(now - offset_s + _EDGE_S, plan.cycle_s)
    if pos < 0:
        pos += plan.cycle_s
    n = len(plan.phases)
    for i, slot in enumerate(plan.slot_s):
        if pos < slot or i == n - 1:
            phase = plan.phases[i]
            if pos < plan.green_s[i]:
                return i, phase
            following = plan.phases[(i + 1) % n]
            return i, "".join(
                ch if ch in GREEN_CHARS and following[k] in GREEN_CHARS else "r"
                for k, ch in enumerate(phase)
            )
        pos -= slot
    raise AssertionError("unreachable: a plan has at least one phase")


class FixedTimeController:
    """Fixed-time control of one intersection; implements ``controllers.io.Controller``.

    Args:
        spec: the intersection.
        plan: the timing plan (checked with :func:`check_plan`).
        offset_s: cycle offset (s) for corridor coordination: phase 0's green
            starts at ``offset_s + k * cycle_s``.
        scan_period_s: seconds between scans (> 0).
        flash_command: declare the optional INPUT ``tls/{id}/cmd/flash``.
        cabinet_status: declare the INPUT ``tls/{id}/flashing``, the cabinet's
            own flash status (its watchdog flashes when commands stop arriving).

    Points:
        OUTPUT ``tls/{id}/state`` (str over ``GgyroO``): the safe state shown.
        INPUT ``tls/{id}/cmd/flash`` (bool, optional): a GOOD ``True`` sample
        forces flashing amber for that scan; ``False``, or a missing, stale,
        bad or malformed sample, is "no command" (normal operation). A bad
        command never triggers flash; it is counted in ``bad_commands``.
        INPUT ``tls/{id}/flashing`` (bool, optional): a GOOD ``True`` means the
        cabinet is flashing on its own (watchdog). The controller then shows
        flash too, and when the cabinet stops flashing it restarts through the
        all-red start-up, so the cabinet never goes from flash straight to a
        green its controller believed was already running. Missing or bad =
        no information (normal operation).
    """

    def __init__(
        self,
        spec: IntersectionSpec,
        plan: SignalPlan,
        *,
        offset_s: float = 0.0,
        scan_period_s: float = 1.0,
        flash_command: bool = True,
        cabinet_status: bool = True,
    ) -> None:
        check_plan(spec, plan)
        if not math.isfinite(offset_s):
            raise ValueError(f"offset_s must be finite, got {offset_s!r}")
        if not (math.isfinite(scan_period_s) and scan_period_s > 0):
            raise ValueError(f"scan_period_s must be a finite time > 0 s, got {scan_period_s!r}")
        self.spec = spec
        self.plan = plan
        self.offset_s = float(offset_s)
        self.name = f"signals/{spec.tls_id}"
        self.scan_period_s = float(scan_period_s)
        self.safety = SafetyLayer(spec)
        self.phase_index = 0
        self.bad_commands = 0
        self.state_point = state_point(spec.tls_id)
        self.flash_point: PointSpec | None = None
        if flash_command:
            self.flash_point = PointSpec(
                f"tls/{spec.tls_id}/cmd/flash",
                Direction.INPUT,
                "",
                ValueType.BOOL,
                description="True forces flashing amber; missing or bad = no command",
            )

        self.cabinet_point: PointSpec | None = None
        if cabinet_status:
            self.cabinet_point = PointSpec(
                f"tls/{spec.tls_id}/flashing",
                Direction.INPUT,
                "",
                ValueType.BOOL,
                description="the cabinet is flashing amber on its own (watchdog)",
            )

    def points(self) -> Sequence[PointSpec]:
        """The output state point, and the flash command and cabinet status inputs if declared."""
        extra = [p for p in (self.flash_point, self.cabinet_point) if p is not None]
        return (self.state_point, *extra)

    def _flash_commanded(self, now: float, inputs: Mapping[str, Sample]) -> bool:
        return self._true_input(self.flash_point, now, inputs) or self._true_input(
            self.cabinet_point, now, inputs
        )

    def _true_input(
        self, point: PointSpec | None, now: float, inputs: Mapping[str, Sample]
    ) -> bool:
        """True only for a GOOD sample holding True; anything else is "no command"."""
        if point is None:
            return False
        sample = inputs.get(point.name)
        if sample is None:
            return False
        try:
            if point.quality_at(sample, now) is not Quality.GOOD:
                return False
            return bool(point.check(sample.value))
        except (PointValueError, AttributeError, TypeError):
            self.bad_commands += 1
            return False

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan at ``now`` (s): the plan's request, made safe, on the state point."""
        if self._flash_commanded(now, inputs):
            self.safety.flash()
        elif self.safety.forced_flash:
            self.safety.release_flash()
        self.phase_index, request = plan_request(self.plan, now, self.offset_s)
        return {self.state_point.name: self.safety.apply(now, request)}

    def snapshot(self) -> dict[str, Any]:
        """State as plain data: the safety layer's timers and counters, plus config."""
        return {
            "version": _SNAPSHOT_VERSION,
            "name": self.name,
            "phase_index": self.phase_index,
            "bad_commands": self.bad_commands,
            "offset_s": self.offset_s,
            "plan": self.plan.to_dict(),
            "safety": self.safety.snapshot(),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` of a controller of the same intersection.

        The plan and offset stay this controller's own (configuration, not
        state); the safety layer's timers carry over so no interval is cut.
        """
        try:
            if state["version"] != _SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {state['version']!r}")
            if state["name"] != self.name:
                raise ValueError(f"snapshot is of {state['name']!r}, this is {self.name!r}")
            phase_index = int(state["phase_index"])
            bad_commands = int(state["bad_commands"])
            safety = state["safety"]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        self.safety.restore(safety)
        self.phase_index = phase_index
        self.bad_commands = bad_commands
