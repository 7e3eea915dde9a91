"""The NTCIP cabinet: phase control is obeyed, never at the cost of an interlock."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.io import Quality, Sample
from controllers.signals import ConflictMonitor, IntersectionSpec, SignalPlan
from controllers.signals.cabinet import SignalCabinet
from controllers.signals.ntcip import (
    PATTERN_FLASH,
    PATTERN_FREE,
    PATTERN_STANDBY,
    FlashStatus,
    UnitControlStatus,
    mask,
    phase_status,
    point_name,
)

# Three phases over 6 links: NS through (0, 1), NS left (2) with 0 kept, EW (3, 4, 5).
COMPATIBLE = [
    [1, 1, 1, 0, 0, 0],
    [1, 1, 0, 0, 0, 0],
    [1, 0, 1, 0, 0, 0],
    [0, 0, 0, 1, 1, 1],
    [0, 0, 0, 1, 1, 1],
    [0, 0, 0, 1, 1, 1],
]
PHASES = ("GGrrrr", "GrGrrr", "rrrGGG")
SPEC = IntersectionSpec(
    "J1", 6, COMPATIBLE, PHASES, tuple(f"l{i}" for i in range(6)), 7.0, 3.0, 2.0
)
PLAN = SignalPlan(PHASES, (20.0, 10.0, 25.0), 3.0, 2.0, 70.0)
FIELDS = ("omit", "hold", "force_off", "veh_call", "ped_call")


def command(
    t: float,
    beat: int,
    *,
    pattern: int = PATTERN_FREE,
    quality: Quality = Quality.GOOD,
    **masks: int,
) -> dict[str, Sample]:
    """One scan's phase-control samples, stamped ``t`` (s)."""
    out = {
        point_name("J1", f"phase_control/{f}"): Sample(masks.get(f, 0), quality, t) for f in FIELDS
    }
    out[point_name("J1", "coord/pattern_command")] = Sample(pattern, quality, t)
    out[point_name("J1", "central/heartbeat")] = Sample(beat, quality, t)
    return out


def ask_for(phase: int, n: int = 3) -> dict[str, int]:
    """The central's masks asking for ``phase``: hold and call it, end the others."""
    others = mask([p for p in range(n) if p != phase])
    return {"hold": 1 << phase, "veh_call": 1 << phase, "force_off": others, "omit": others}


def run(cabinet: SignalCabinet, start: int, end: int, masks: dict[str, int], **kw) -> list[dict]:
    return [
        cabinet.scan(float(t), command(float(t), t + 1, **masks, **kw)) for t in range(start, end)
    ]


def state(out: dict) -> str:
    return out["tls/J1/state"]


def test_follows_phase_control_and_hold_outlasts_max_green():
    cabinet = SignalCabinet(SPEC, PLAN, max_green_s=30.0)
    outs = run(cabinet, 0, 20, ask_for(0))
    assert state(outs[-1]) == "GGrrrr"
    assert outs[-1][point_name("J1", "unit/control_status")] == UnitControlStatus.SYSTEM_CONTROL
    assert outs[-1][point_name("J1", "phase_status/greens")] == 0b001
    # hold 0 while phase 2 is called and phase 0 forced off: hold wins, past max green
    held = {"hold": 0b001, "veh_call": 0b100, "force_off": 0b001}
    outs = run(cabinet, 20, 100, held)
    assert all(state(o) == "GGrrrr" for o in outs)
    # ask for phase 2: amber 3 s, all-red 2 s, then green
    outs = run(cabinet, 100, 110, ask_for(2))
    shown = [state(o) for o in outs]
    assert shown[0] == "yyrrrr" and shown[3] == "rrrrrr" and shown[5] == "rrrGGG"
    assert outs[1][point_name("J1", "phase_status/next")] == 0b100
    assert outs[1][point_name("J1", "phase_status/yellows")] == 0b011


def test_max_green_ends_an_unheld_green_when_another_phase_calls():
    cabinet = SignalCabinet(SPEC, PLAN, max_green_s=30.0)
    run(cabinet, 0, 10, ask_for(0))
    outs = run(cabinet, 10, 60, {"veh_call": 0b100})  # no hold, no force-off
    first_amber = next(t for t, o in zip(range(10, 60), outs, strict=True) if "y" in state(o))
    green_from = 5  # all-red start-up of amber + all-red
    assert first_amber == green_from + 30


def test_green_rests_without_calls_and_skips_omitted_phases():
    cabinet = SignalCabinet(SPEC, PLAN)
    run(cabinet, 0, 15, ask_for(0))
    outs = run(cabinet, 15, 40, {"force_off": 0b001})  # forced off, but nobody calls
    assert all(state(o) == "GGrrrr" for o in outs)
    outs = run(cabinet, 40, 60, {"force_off": 0b001, "veh_call": 0b110, "omit": 0b010})
    assert state(outs[-1]) == "rrrGGG"  # phase 2 (index 1) is omitted: phase 3 served


def test_heartbeat_silence_falls_back_to_the_time_base_plan_and_returns():
    cabinet = SignalCabinet(SPEC, PLAN, backup_s=10.0)
    run(cabinet, 0, 30, ask_for(2))
    frozen = [cabinet.scan(float(t), command(float(t), 999, **ask_for(2))) for t in range(30, 60)]
    status = [o[point_name("J1", "unit/control_status")] for o in frozen]
    # the heartbeat last changed at t=30 (the first 999): backup from t=41
    assert status[:11] == [UnitControlStatus.SYSTEM_CONTROL] * 11
    assert set(status[11:]) == {UnitControlStatus.BACKUP_MODE}
    assert cabinet.backups == 1
    assert frozen[-1][point_name("J1", "coord/pattern_status")] == 1
    # back under control once the heartbeat moves again
    outs = run(cabinet, 60, 120, ask_for(2))
    assert outs[-1][point_name("J1", "unit/control_status")] == UnitControlStatus.SYSTEM_CONTROL
    assert state(outs[-1]) == "rrrGGG"


def test_standby_runs_the_plan_like_a_fixed_time_controller():
    from controllers.signals import FixedTimeController

    cabinet = SignalCabinet(SPEC, PLAN, offset_s=7.0)
    fixed = FixedTimeController(SPEC, PLAN, offset_s=7.0, flash_command=False, cabinet_status=False)
    for t in range(0, 200):
        out = cabinet.scan(float(t), command(float(t), t + 1, pattern=PATTERN_STANDBY))
        assert state(out) == fixed.scan(float(t), {})["tls/J1/state"]
    assert out[point_name("J1", "unit/control_status")] == UnitControlStatus.SYSTEM_STANDBY


def test_flash_command_flashes_at_once_and_leaves_through_all_red():
    cabinet = SignalCabinet(SPEC, PLAN)
    run(cabinet, 0, 20, ask_for(0))
    outs = run(cabinet, 20, 25, ask_for(0), pattern=PATTERN_FLASH)
    assert all(state(o) == "oooooo" for o in outs)
    assert outs[0][point_name("J1", "unit/flash_status")] == FlashStatus.AUTOMATIC
    outs = run(cabinet, 25, 40, ask_for(0))
    assert [state(o) for o in outs[:5]] == ["rrrrrr"] * 5 and state(outs[5]) == "GGrrrr"


def test_malformed_and_stale_commands_are_refused_and_counted():
    cabinet = SignalCabinet(SPEC, PLAN)
    run(cabinet, 0, 20, ask_for(0))
    bad = command(20.0, 21, **ask_for(2))
    bad[point_name("J1", "phase_control/veh_call")] = Sample(float("nan"), Quality.GOOD, 20.0)
    bad[point_name("J1", "coord/pattern_command")] = Sample(77, Quality.GOOD, 20.0)
    out = cabinet.scan(20.0, bad)
    assert cabinet.bad_commands == 2  # NaN call refused, unknown pattern refused
    assert out[point_name("J1", "unit/control_status")] == UnitControlStatus.SYSTEM_STANDBY
    # a command sample older than the backup time is BAD: no call, and no heartbeat
    old = command(0.0, 22, **ask_for(2))
    out = cabinet.scan(21.0, old)
    assert out[point_name("J1", "phase_status/calls")] == 0


def test_mmu_trip_latches_flash_until_reset():
    cabinet = SignalCabinet(SPEC, PLAN)
    run(cabinet, 0, 20, ask_for(0))
    real_apply = cabinet.safety.apply
    cabinet.safety.apply = lambda now, request: "GGrGGG"  # a broken timing unit
    out = cabinet.scan(20.0, command(20.0, 21, **ask_for(0)))
    assert cabinet.mmu_tripped and out[point_name("J1", "mmu/violations")] >= 1
    cabinet.safety.apply = real_apply
    outs = run(cabinet, 21, 30, ask_for(0))
    assert all(state(o) == "oooooo" for o in outs)
    assert outs[-1][point_name("J1", "unit/flash_status")] == FlashStatus.MMU
    cabinet.reset_mmu()
    outs = run(cabinet, 30, 50, ask_for(0))
    assert state(outs[-1]) == "GGrrrr"


def test_snapshot_restore_continues_identically():
    a = SignalCabinet(SPEC, PLAN)
    run(a, 0, 33, ask_for(1))
    b = SignalCabinet(SPEC, PLAN)
    b.restore(a.snapshot())
    for t in range(33, 120):
        masks = ask_for((t // 17) % 3)
        assert a.scan(float(t), command(float(t), t + 1, **masks)) == b.scan(
            float(t), command(float(t), t + 1, **masks)
        )


# --------------------------------------------------------------- property test
_MASK = st.integers(0, 7)
_SCAN = st.fixed_dictionaries(
    {
        "dt": st.sampled_from([0.0, 0.5, 1.0, 1.0, 1.0, 2.0, 12.0]),
        "masks": st.fixed_dictionaries({f: _MASK for f in FIELDS}),
        "pattern": st.sampled_from([PATTERN_FREE, PATTERN_FREE, PATTERN_STANDBY, 1, 255, 3]),
        "beat": st.sampled_from(["next", "next", "next", "same"]),
        "junk": st.sampled_from([None, None, None, None, "nan", "neg", "big", "text"]),
        "quality": st.sampled_from([Quality.GOOD] * 5 + [Quality.UNCERTAIN, Quality.BAD]),
    }
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SCAN, min_size=5, max_size=120))
def test_no_command_sequence_breaks_an_interlock(scans):
    """Whatever the central sends — conflicting masks, junk, silence — the cabinet's
    states pass an independent conflict monitor, and its status is consistent."""
    cabinet = SignalCabinet(SPEC, PLAN, max_green_s=25.0, backup_s=10.0)
    monitor = ConflictMonitor(SPEC)
    t, beat = 0.0, 1
    junk_values = {"nan": math.nan, "neg": -1, "big": 1 << 20, "text": "GG"}
    for s in scans:
        t += s["dt"]
        beat += s["beat"] == "next"
        samples = command(t, beat, pattern=s["pattern"], quality=s["quality"], **s["masks"])
        if s["junk"] is not None:
            samples[point_name("J1", "phase_control/hold")] = Sample(
                junk_values[s["junk"]], Quality.GOOD, t
            )
        out = cabinet.scan(t, samples)
        shown = state(out)
        assert monitor.check(t, shown) == []
        greens, yellows, reds = phase_status(cabinet.links, shown)
        assert out[point_name("J1", "phase_status/greens")] == greens
        assert greens & yellows == 0 and greens | yellows | reds == 0b111
        control = out[point_name("J1", "unit/control_status")]
        commanded = s["pattern"] == PATTERN_FLASH and s["quality"] is not Quality.BAD
        if commanded and control != UnitControlStatus.BACKUP_MODE:
            assert shown == "oooooo"
    assert not cabinet.mmu_tripped


def test_entering_free_with_nothing_green_serves_the_held_phase():
    cabinet = SignalCabinet(SPEC, PLAN)
    run(cabinet, 0, 30, ask_for(1))  # free on phase 2 (index 1)
    run(cabinet, 30, 60, {}, pattern=PATTERN_STANDBY)  # the plan runs
    # find a scan in the plan's clearance (nothing green), then ask for phase 3 (index 2)
    t = 60
    while any(c in "Gg" for c in cabinet.safety.shown):
        cabinet.scan(float(t), command(float(t), t + 1, pattern=PATTERN_STANDBY))
        t += 1
    outs = run(cabinet, t, t + 12, ask_for(2))
    shown = [state(o) for o in outs]
    assert "GrGrrr" not in shown  # not the stale phase 2
    assert shown[-1] == "rrrGGG"


def test_restoring_into_a_running_cabinet_does_not_trip_its_monitor():
    a, b = SignalCabinet(SPEC, PLAN), SignalCabinet(SPEC, PLAN)
    run(a, 0, 40, ask_for(0))
    run(b, 0, 40, ask_for(2))
    assert state(a.scan(40.0, command(40.0, 41, **ask_for(0)))) == "GGrrrr"
    b.restore(a.snapshot())
    outs = run(b, 41, 80, ask_for(0))
    assert not b.mmu_tripped and state(outs[-1]) == "GGrrrr"
    a.restore(a.snapshot())  # a drill rewind to the same moment is fine too
    assert not a.mmu_tripped


def test_status_while_flashing_and_time_going_backwards_changes_nothing():
    from controllers.signals import TimeWentBackwardsError

    cabinet = SignalCabinet(SPEC, PLAN)
    outs = run(cabinet, 0, 20, ask_for(0), pattern=PATTERN_FLASH)
    assert outs[-1][point_name("J1", "unit/control_status")] == UnitControlStatus.SYSTEM_CONTROL
    run(cabinet, 20, 50, ask_for(0))
    before = cabinet.snapshot()
    with pytest.raises(TimeWentBackwardsError):
        cabinet.scan(40.0, command(40.0, 999, **ask_for(2)))
    assert cabinet.snapshot() == before
    out = cabinet.scan(50.0, command(50.0, 51, **ask_for(0)))
    assert out[point_name("J1", "unit/control_status")] == UnitControlStatus.SYSTEM_CONTROL
