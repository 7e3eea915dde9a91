"""The fixed-time controller: schedule, offset, snapshot/restore, flash command."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from controllers.io import Controller, Direction, Quality, Sample, ValueType
from controllers.signals import (
    ConflictMonitor,
    FixedTimeController,
    IntersectionSpec,
    SignalPlan,
    TimeWentBackwardsError,
    plan_request,
    webster_plan,
)

STATE = "tls/J1/state"
FLASH = "tls/J1/cmd/flash"
CABINET = "tls/J1/flashing"


def spec4() -> IntersectionSpec:
    return IntersectionSpec.from_program(
        "J1", ["GGrr", "yyrr", "rrGG", "rryy"], ["n_0", "s_0", "e_0", "w_0"]
    )


def plan_40s() -> SignalPlan:
    """Green 20 s / 10 s, amber 3 s, all-red 2 s: cycle 40 s."""
    return SignalPlan.fixed(["GGrr", "rrGG"], [20, 10], 3, 2)


def expected_state(now: float, offset: float = 0.0) -> str:
    pos = (now - offset) % 40
    for end, state in ((20, "GGrr"), (23, "yyrr"), (25, "rrrr"), (35, "rrGG"), (38, "rryy")):
        if pos < end:
            return state
    return "rrrr"


def run(
    ctrl: FixedTimeController,
    times: list[float],
    inputs: dict[float, dict[str, Sample]] | None = None,
) -> list[tuple[float, str]]:
    inputs = inputs or {}
    return [(t, ctrl.scan(t, inputs.get(t, {}))[STATE]) for t in times]


def violations(spec: IntersectionSpec, trace: list[tuple[float, str]]) -> list[str]:
    monitor = ConflictMonitor(spec)
    for t, state in trace:
        monitor.check(t, state)
    return monitor.log


def test_implements_the_controller_protocol_and_declares_points() -> None:
    ctrl = FixedTimeController(spec4(), plan_40s())
    assert isinstance(ctrl, Controller)
    assert ctrl.name == "signals/J1" and ctrl.scan_period_s == 1.0
    points = {p.name: p for p in ctrl.points()}
    assert points[STATE].direction is Direction.OUTPUT
    assert points[STATE].value_type is ValueType.STR and points[STATE].choices == "GgyroO"
    assert points[FLASH].direction is Direction.INPUT
    assert points[FLASH].value_type is ValueType.BOOL
    assert points[CABINET].direction is Direction.INPUT
    bare = FixedTimeController(spec4(), plan_40s(), flash_command=False, cabinet_status=False)
    assert [p.name for p in bare.points()] == [STATE]


def test_phase_order_and_cycle_length_over_several_cycles() -> None:
    spec = spec4()
    ctrl = FixedTimeController(spec, plan_40s())
    times = [float(t) for t in range(0, 200)]
    trace = run(ctrl, times)
    # cold start: all red for amber + all-red (5 s), then the plan exactly
    assert [s for _, s in trace[:5]] == ["rrrr"] * 5
    for t, state in trace[5:]:
        assert state == expected_state(t), t
        assert ctrl.points()[0].check(state) == state
    onsets = [t for (t, s), (_, p) in zip(trace[1:], trace, strict=False) if s == "GGrr" != p]
    assert onsets == [5.0, 40.0, 80.0, 120.0, 160.0]
    assert violations(spec, trace) == []


def test_phase_index_follows_the_plan() -> None:
    ctrl = FixedTimeController(spec4(), plan_40s())
    seen = []
    for t in range(0, 80):
        ctrl.scan(float(t), {})
        seen.append(ctrl.phase_index)
    assert seen[:25] == [0] * 25 and seen[25:40] == [1] * 15 and seen[40] == 0


def test_offset_shifts_the_schedule() -> None:
    spec = spec4()
    ctrl = FixedTimeController(spec, plan_40s(), offset_s=13.0)
    trace = run(ctrl, [float(t) for t in range(0, 200)])
    for t, state in trace:
        if t >= 40:
            assert state == expected_state(t, offset=13.0), t
    assert trace[53][1] == "GGrr" and trace[52][1] == "rrrr"
    assert violations(spec, trace) == []


def test_plan_request_holds_continuing_links_through_the_change() -> None:
    plan = SignalPlan.fixed(["GGrr", "GrGr"], [10, 10], 3, 2)
    assert plan_request(plan, 5.0) == (0, "GGrr")
    assert plan_request(plan, 11.0) == (0, "Grrr")  # link 0 stays green into phase 1
    assert plan_request(plan, 16.0) == (1, "GrGr")
    assert plan_request(plan, 27.0) == (1, "Grrr")
    assert plan_request(plan, -3.0) == (1, "Grrr")  # before the offset: previous cycle


def test_snapshot_restore_continues_without_a_seam() -> None:
    spec = spec4()
    first = FixedTimeController(spec, plan_40s())
    head = run(first, [float(t) for t in range(0, 58)])  # t=57: amber of phase 0 ... red
    state = json.loads(json.dumps(first.snapshot()))
    second = FixedTimeController(spec, plan_40s())
    second.restore(state)
    tail_times = [float(t) for t in range(58, 200)]
    tail = run(second, tail_times)
    assert tail == run(first, tail_times)
    assert violations(spec, head + tail) == []
    assert second.snapshot()["safety"] == first.snapshot()["safety"]


def test_hand_over_to_another_offset_keeps_every_interval() -> None:
    spec = spec4()
    first = FixedTimeController(spec, plan_40s())
    head = run(first, [float(t) for t in range(0, 44)])  # phase 0 green since t=40
    second = FixedTimeController(spec, plan_40s(), offset_s=23.0)
    second.restore(first.snapshot())
    tail = run(second, [float(t) for t in range(44, 200)])
    # the new schedule is in phase 0's change interval, but min green (7 s) is served first
    assert [s for _, s in tail[:4]] == ["GGrr", "GGrr", "GGrr", "yyrr"]
    assert violations(spec, head + tail) == []
    assert tail[-1][1] == expected_state(199.0, offset=23.0)


def test_restore_rejects_another_controller() -> None:
    other = IntersectionSpec.from_program("J2", ["GGrr", "rrGG"], list("abcd"))
    with pytest.raises(ValueError, match="signals/J2"):
        FixedTimeController(spec4(), plan_40s()).restore(
            FixedTimeController(other, plan_40s()).snapshot()
        )


def test_flash_command_forces_flash_and_release_restarts_safely() -> None:
    spec = spec4()
    ctrl = FixedTimeController(spec, plan_40s())
    on = {FLASH: Sample(True, Quality.GOOD, 0.0)}
    off = {FLASH: Sample(False, Quality.GOOD, 0.0)}
    inputs = {float(t): on for t in range(50, 60)} | {float(t): off for t in range(60, 70)}
    trace = run(ctrl, [float(t) for t in range(0, 120)], inputs)
    assert trace[49][1] == "GGrr"
    assert all(s == "oooo" for _, s in trace[50:60])
    assert [s for _, s in trace[60:65]] == ["rrrr"] * 5  # start-up clearance after flash
    assert trace[65][1] == "rrGG"  # the plan resumes at its cycle position (phase 1)
    assert violations(spec, trace) == []


@pytest.mark.parametrize(
    "sample",
    [
        None,  # missing
        Sample(True, Quality.BAD, 0.0),
        Sample(True, Quality.UNCERTAIN, 0.0),
        Sample(None, Quality.GOOD, 0.0),
        Sample("yes", Quality.GOOD, 0.0),
        Sample(2, Quality.GOOD, 0.0),
    ],
)
def test_missing_or_bad_flash_command_is_no_command(sample: Sample | None) -> None:
    ctrl = FixedTimeController(spec4(), plan_40s())
    inputs = {} if sample is None else {FLASH: sample}
    states = [ctrl.scan(float(t), inputs)[STATE] for t in range(0, 30)]
    assert "oooo" not in states
    assert states[10] == "GGrr"
    malformed = sample is not None and sample.quality is Quality.GOOD
    assert ctrl.bad_commands == (30 if malformed else 0)


def test_webster_plan_with_fractional_greens_runs_an_hour_cleanly() -> None:
    spec = spec4()
    plan = webster_plan(spec, [540, 300, 200, 360])  # greens 24.8 / 17.2 s, cycle 52 s
    ctrl = FixedTimeController(spec, plan, offset_s=7.5)
    trace = run(ctrl, [float(t) for t in range(0, 3600)])
    assert violations(spec, trace) == []
    onsets = [t for (t, s), (_, p) in zip(trace[1:], trace, strict=False) if s == "GGrr" != p]
    periods = {b - a for a, b in itertools.pairwise(onsets[1:])}
    assert periods <= {51.0, 52.0, 53.0}  # 1 s scans quantise a 52 s cycle
    assert abs((onsets[-1] - onsets[1]) / (len(onsets) - 2) - 52.0) < 0.1


def test_jittery_scan_times_stay_safe() -> None:
    spec = spec4()
    rng = random.Random(7)
    ctrl = FixedTimeController(spec, plan_40s())
    t, times = 0.0, []
    for _ in range(2000):
        t += rng.uniform(0.05, 2.5)
        times.append(t)
    trace = run(ctrl, times)
    assert violations(spec, trace) == []
    assert {"GGrr", "rrGG", "yyrr", "rryy"} <= {s for _, s in trace}


def test_time_going_backwards_is_an_error() -> None:
    ctrl = FixedTimeController(spec4(), plan_40s())
    ctrl.scan(10.0, {})
    with pytest.raises(TimeWentBackwardsError):
        ctrl.scan(9.0, {})


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (SignalPlan.fixed(["GGrr", "rrGG"], [20, 5], 3, 2), "shorter than min green"),
        (SignalPlan.fixed(["GGGr", "rrGG"], [20, 10], 3, 2), "conflicting links 0 and 2"),
        (SignalPlan.fixed(["GGrr", "rrGG"], [20, 10], 2, 2), "amber/all-red"),
        (SignalPlan.fixed(["GGr", "rrG"], [20, 10], 3, 2), "expected 4"),
    ],
)
def test_plans_that_cannot_run_safely_are_rejected(plan: SignalPlan, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FixedTimeController(spec4(), plan)


def test_cabinet_flash_is_followed_and_left_through_all_red() -> None:
    """A cabinet that flashed on its own is never taken from flash straight to green."""
    spec = spec4()
    ctrl = FixedTimeController(spec, plan_40s())
    flashing = {t: {CABINET: Sample(True, Quality.GOOD, t)} for t in (20.0, 21.0, 22.0)}
    flashing[23.0] = {CABINET: Sample(True, Quality.BAD, 23.0)}  # bad status = no information
    trace = run(ctrl, [float(t) for t in range(0, 60)], flashing)
    shown = dict(trace)
    assert shown[19.0] == "GGrr"
    assert all(shown[t] == "oooo" for t in (20.0, 21.0, 22.0))
    assert all(shown[t] == "rrrr" for t in (23.0, 24.0, 25.0, 26.0, 27.0))  # start-up all-red
    assert violations(spec, trace) == []
