"""FertigationController: pulses, fail-safes, commands, snapshots, closed loop with the tank."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.io import Controller, Direction, Quality, Sample
from controllers.irrigation.fertigation import FertigationConfig, FertigationController
from sim.agri.fertigation import FertigationTank

EC, PH, IRR = "agri/an_lac/tank_ec_ms_cm", "agri/an_lac/tank_ph", "agri/an_lac/irrigating"
NUT, ACID = "agri/an_lac/dose_nutrient_on", "agri/an_lac/dose_acid_on"


def make(**kw: Any) -> FertigationController:
    return FertigationController(FertigationConfig.from_mapping({"site": "an_lac", **kw}))


def inp(
    now: float,
    ec: Any = 1.5,
    ph: Any = 6.0,
    irrigating: Any = True,
    quality: Quality = Quality.GOOD,
    age: float = 0.0,
) -> dict[str, Sample]:
    """Samples at ``now``; ``None`` leaves a point out; quality and age apply to EC and pH."""
    out = {}
    for name, value, q in ((EC, ec, quality), (PH, ph, quality), (IRR, irrigating, Quality.GOOD)):
        if value is not None:
            out[name] = Sample(value, q, now - (age if name != IRR else 0.0))
    return out


def codes(ctrl: FertigationController) -> list[str]:
    return [a.code for a in ctrl.alarms()]


# --------------------------------------------------------------------- config
def test_protocol_points_and_defaults() -> None:
    ctrl = make()
    assert isinstance(ctrl, Controller)
    assert ctrl.name == "fertigation/an_lac" and ctrl.scan_period_s == 10.0
    by = {p.name: p for p in ctrl.points()}
    assert [n for n, p in by.items() if p.direction is Direction.INPUT] == [EC, PH, IRR]
    assert [n for n, p in by.items() if p.direction is Direction.OUTPUT] == [NUT, ACID]
    assert (by[EC].low, by[EC].high, by[PH].low, by[PH].high) == (0.0, 10.0, 0.0, 14.0)
    cfg = ctrl.config
    assert (cfg.ec_setpoint_ms_cm, cfg.ph_low, cfg.ph_high, cfg.pulse_s) == (1.5, 5.8, 6.5, 20.0)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({}, "site"),
        ({"site": "a/b"}, "site"),
        ({"site": "an_lac", "colour": 1}, "colour"),
        ({"site": "an_lac", "pulse_s": 0}, "pulse_s"),
        ({"site": "an_lac", "ec_setpoint_ms_cm": math.nan}, "ec_setpoint_ms_cm"),
        ({"site": "an_lac", "ec_setpoint_ms_cm": 3.45}, "ec_setpoint_ms_cm"),
        ({"site": "an_lac", "ec_schedule": [[0, 1.2], [0, 1.4]]}, "ec_schedule"),
        ({"site": "an_lac", "ec_schedule": [[1.5, 1.2]]}, "ec_schedule"),
        ({"site": "an_lac", "ec_schedule": [[3, 9.0]]}, "ec_schedule"),
        ({"site": "an_lac", "ph_low": 6.2}, "ph_min_abs < ph_low < ph_target"),
        ({"site": "an_lac", "ph_deadband": 0.6}, "ph_deadband"),
        ({"site": "an_lac", "max_dose_s_per_h": 10}, "max_dose_s_per_h"),
        ({"site": "an_lac", "no_response_pulses": 0}, "no_response_pulses"),
        ({"site": "an_lac", "dose_only_while_irrigating": "yes"}, "dose_only_while_irrigating"),
    ],
)
def test_config_errors_name_the_key(data: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        FertigationConfig.from_mapping(data)


def test_schedule_steps_by_day_of_season() -> None:
    ctrl = make(ec_schedule=[[3, 1.2], [10, 1.8]], season_start_s=-86400.0)
    day = 86400.0
    assert ctrl.setpoint_ms_cm(0.0) == 1.5  # day 1: before the first entry
    assert ctrl.setpoint_ms_cm(2 * day) == 1.2  # day 3
    assert ctrl.setpoint_ms_cm(9 * day - 1) == 1.2
    assert ctrl.setpoint_ms_cm(9 * day) == 1.8  # day 10
    out = ctrl.scan(2 * day, inp(2 * day, ec=1.15))
    assert out[NUT] is False  # 1.15 is within 1.2 − 0.1
    out = ctrl.scan(9 * day, inp(9 * day, ec=1.65))
    assert out[NUT] is True  # 1.65 < 1.8 − 0.1


# --------------------------------------------------------------------- pulses
def test_pulse_then_mix_wait_then_judge_again() -> None:
    ctrl = make()
    ons = []
    for k in range(10):
        t = 10.0 * k
        ons.append(ctrl.scan(t, inp(t, ec=1.2 + 0.05 * (k >= 8)))[NUT])
    # on for 20 s (scans 0 and 10), quiet for 60 s, the next pulse at 80 s
    assert ons == [True, True, False, False, False, False, False, False, True, True]
    assert ctrl.dose_s_last_hour("nutrient", 90.0) == pytest.approx(30.0)


def test_hourly_dose_cap_per_pump() -> None:
    ctrl = make(max_dose_s_per_h=60, mix_wait_s=0, ec_min_rise_ms_cm=0.0)
    on = [t for t in (10.0 * k for k in range(720)) if ctrl.scan(t, inp(t, ec=1.0))[NUT]]
    assert on[:6] == [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]  # three 20 s pulses = 60 s
    assert len([t for t in on if t < 3600.0]) == 6
    assert on[6] == 3620.0  # the first pulse (0–20 s) has left the sliding hour
    assert ctrl.dose_s_last_hour("nutrient", 7190.0) == pytest.approx(60.0)


def test_dosing_needs_irrigation_unless_configured() -> None:
    idle = make()
    assert idle.scan(0.0, inp(0.0, ec=1.0, ph=7.0, irrigating=False)) == {NUT: False, ACID: False}
    free = make(dose_only_while_irrigating=False)
    assert free.scan(0.0, inp(0.0, ec=1.0, ph=7.0, irrigating=False))[NUT] is True
    ctrl = make()
    assert ctrl.scan(0.0, inp(0.0, ec=1.0))[NUT] is True
    assert ctrl.scan(10.0, inp(10.0, ec=1.0, irrigating=False))[NUT] is False  # cut short


def test_both_wanted_alternate_by_window() -> None:
    ctrl = make(mix_wait_s=0)
    seq = []
    for k in range(8):
        out = ctrl.scan(10.0 * k, inp(10.0 * k, ec=1.0 + 0.05 * k, ph=7.0 - 0.05 * k))
        seq.append("N" if out[NUT] else "A" if out[ACID] else "-")
        assert not (out[NUT] and out[ACID])
    assert "".join(seq) == "NNAANNAA"


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            # mostly usable values (limits are set so they never trip), some unusable ones
            st.one_of(st.floats(0.0, 8.0), st.sampled_from([None, math.nan, 12.0, -1.0])),
            st.one_of(st.floats(4.5, 9.5), st.sampled_from([None, math.nan, 15.0])),
            st.sampled_from([True, True, True, False, None, 2]),
            st.sampled_from([Quality.GOOD] * 4 + [Quality.UNCERTAIN, Quality.BAD]),
        ),
        min_size=1,
        max_size=400,
    )
)
def test_never_both_pumps_and_hourly_cap(steps: list[tuple[Any, Any, Any, Quality]]) -> None:
    ctrl = make(mix_wait_s=0, max_dose_s_per_h=60, ph_max_abs=9.9, ec_max_ms_cm=9.0)
    on: dict[str, list[float]] = {NUT: [], ACID: []}
    for k, (ec, ph, irr, q) in enumerate(steps):
        t = 10.0 * k
        out = ctrl.scan(t, inp(t, ec, ph, irr, q))
        assert set(out) == {NUT, ACID}
        assert not (out[NUT] and out[ACID])
        for name in (NUT, ACID):
            if out[name]:
                on[name].append(t)
                # a pump runs only on a usable reading of its own probe
                value = ec if name == NUT else ph
                assert q is Quality.GOOD and value is not None and not math.isnan(value)
                assert 0.0 <= value <= (10.0 if name == NUT else 14.0)
                assert irr is True
    for times in on.values():
        for t in times:
            assert sum(1 for s in times if t - 3600 < s <= t) * 10.0 <= 60.0


# ----------------------------------------------------------------- fail-safes
@pytest.mark.parametrize(
    "bad",
    [
        {"ec": math.nan},
        {"ec": None},
        {"ec": 12.0},
        {"ec": "1.2"},
        {"ec": 1.2, "quality": Quality.BAD},
        {"ec": 1.2, "quality": Quality.UNCERTAIN},
        {"ec": 1.2, "age": 300.0},
    ],
)
def test_unusable_ec_stops_nutrient_pump_alarm_once(bad: dict[str, Any]) -> None:
    ctrl = make()
    assert ctrl.scan(0.0, inp(0.0, ec=1.0))[NUT] is True
    for k in range(1, 20):
        t = 10.0 * k
        args = {"ec": 1.0, "ph": 6.0, **bad}
        if "quality" in bad or "age" in bad:
            args["ph"] = 7.0  # the same quality/age hits pH: acid must stay off too
        out = ctrl.scan(t, inp(t, **args))
        assert out[NUT] is False
        if "quality" in bad or "age" in bad:
            assert out[ACID] is False
    assert codes(ctrl).count("EC_PROBE_BAD") == 1
    ctrl.scan(200.0, inp(200.0, ec=1.5))
    ctrl.scan(210.0, inp(210.0, ec=math.nan))  # a new episode alarms again
    assert codes(ctrl).count("EC_PROBE_BAD") == 2


def test_unusable_ph_stops_acid_only() -> None:
    ctrl = make(mix_wait_s=0)
    out = ctrl.scan(0.0, inp(0.0, ec=1.6, ph=math.nan))
    assert out == {NUT: False, ACID: False}
    out = ctrl.scan(10.0, inp(10.0, ec=1.0, ph=math.nan))
    assert out[NUT] is True
    assert codes(ctrl) == ["PH_PROBE_BAD"]


def test_irrigating_unknown_counts_as_not_irrigating() -> None:
    ctrl = make()
    for k in range(5):
        out = ctrl.scan(10.0 * k, inp(10.0 * k, ec=1.0, irrigating=None))
        assert out[NUT] is False
    assert codes(ctrl) == ["IRRIGATING_BAD"]


@pytest.mark.parametrize(("ec", "ph", "code"), [(3.8, 6.0, "EC_LIMIT"), (1.0, 3.5, "PH_LIMIT")])
def test_limit_trip_latches_both_pumps_off_until_reset(ec: float, ph: float, code: str) -> None:
    ctrl = make()
    assert ctrl.scan(0.0, inp(0.0, ec=1.0, ph=7.0))[NUT] is True
    for k in range(1, 10):
        assert ctrl.scan(10.0 * k, inp(10.0 * k, ec=ec, ph=ph)) == {NUT: False, ACID: False}
    assert codes(ctrl).count(code) == 1 and ctrl.locks()["trip"] == code
    for k in range(10, 30):  # readings back to normal: still latched
        assert ctrl.scan(10.0 * k, inp(10.0 * k, ec=1.0, ph=6.0)) == {NUT: False, ACID: False}
    assert ctrl.command("r1", 300.0, "reset") == "applied"
    assert ctrl.scan(300.0, inp(300.0, ec=1.0, ph=6.0))[NUT] is True


def test_stuck_probe_gives_no_response_alarm_and_locks_that_pump() -> None:
    ctrl = make()
    acid_seen = False
    for k in range(60):
        t = 10.0 * k
        out = ctrl.scan(t, inp(t, ec=1.2, ph=6.0 if k < 40 else 7.0))  # EC reading frozen
        acid_seen |= out[ACID]
        if k >= 24:
            assert out[NUT] is False  # locked after 3 pulses (0, 80, 160 s; judged at 240 s)
    assert codes(ctrl) == ["DOSING_NO_RESPONSE"]
    assert ctrl.alarms()[0].target == "an_lac/nutrient" and ctrl.alarms()[0].time_s == 240.0
    assert ctrl.locks()["nutrient"] == "NO_RESPONSE" and acid_seen
    ctrl.command("r1", 1000.0, "reset")
    assert ctrl.scan(1000.0, inp(1000.0, ec=1.2))[NUT] is True
    assert ctrl.locks()["nutrient"] == ""


def test_flatline_detection_is_opt_in_and_counts_only_irrigation() -> None:
    plain, flat = make(), make(flatline_s=600)
    for k in range(200):  # EC 1.45 and pH 6.0 read unchanged for 2000 s
        t = 10.0 * k
        irrigating = k >= 100  # the first 1000 s the tank stands
        for ctrl in (plain, flat):
            ctrl.scan(t, inp(t, ec=1.45, ph=6.0, irrigating=irrigating))
    assert codes(plain) == []
    assert sorted(codes(flat)) == ["EC_FLATLINE", "PH_FLATLINE"]
    assert all(a.time_s == 1590.0 for a in flat.alarms())  # 600 s after the last idle scan
    out = flat.scan(2000.0, inp(2000.0, ec=1.2, ph=6.0))  # the EC reading moves again
    assert out[NUT] is True


def test_time_must_not_go_back() -> None:
    ctrl = make()
    ctrl.scan(100.0, inp(100.0))
    with pytest.raises(ValueError, match="backwards"):
        ctrl.scan(90.0, inp(90.0))
    with pytest.raises(ValueError, match="finite"):
        ctrl.scan(math.nan, inp(0.0))


# ------------------------------------------------------------------- commands
def test_commands_idempotent_superseded_and_validated() -> None:
    ctrl = make()
    assert ctrl.command("c1", 10.0, "set_ec", 2.0) == "applied"
    assert ctrl.setpoint_ms_cm(0.0) == 2.0
    assert ctrl.command("c1", 10.0, "set_ec", 2.0) == "duplicate"
    assert ctrl.command("c0", 5.0, "set_ec", 1.0) == "superseded"  # older than c1
    assert ctrl.command("c0", 5.0, "set_ec", 1.0) == "duplicate"
    assert ctrl.setpoint_ms_cm(0.0) == 2.0
    with pytest.raises(ValueError, match="set_ec needs value"):
        ctrl.command("c2", 20.0, "set_ec", 3.45)
    with pytest.raises(ValueError, match="set_ec needs value"):
        ctrl.command("c2", 20.0, "set_ec", None)
    with pytest.raises(ValueError, match="unknown kind"):
        ctrl.command("c2", 20.0, "flush")
    with pytest.raises(ValueError, match="cmd_id"):
        ctrl.command("", 20.0, "reset")
    assert ctrl.command("c2", 20.0, "clear_ec") == "applied"  # the failed c2 was not recorded
    assert ctrl.setpoint_ms_cm(0.0) == 1.5
    out = ctrl.scan(0.0, inp(0.0, ec=1.8))
    assert out[NUT] is False
    ctrl.command("c3", 30.0, "set_ec", 2.0)
    assert ctrl.scan(10.0, inp(10.0, ec=1.8))[NUT] is True
    assert ctrl.command("h1", 40.0, "stop") == "applied"
    assert ctrl.scan(20.0, inp(20.0, ec=1.8))[NUT] is False
    assert ctrl.command("h0", 35.0, "resume") == "superseded"
    assert ctrl.locks()["hold"] == "HOLD"
    assert ctrl.command("h2", 50.0, "resume") == "applied"
    assert ctrl.locks()["hold"] == ""


# ----------------------------------------------------------- snapshot/restore
def test_snapshot_restore_round_trip_mid_pulse() -> None:
    def feed(k: int) -> dict[str, Sample]:
        t = 10.0 * k
        ec = math.nan if k % 17 == 0 else 1.0 + 0.03 * (k % 9)
        return inp(t, ec=ec, ph=6.0 + 0.1 * (k % 7), irrigating=k % 23 != 0)

    a = make(ec_schedule=[[1, 1.4]])
    for k in range(41):
        a.scan(10.0 * k, feed(k))
    a.command("s1", 400.0, "set_ec", 1.3)
    snap = a.snapshot()
    assert a.snapshot() == snap  # the snapshot is a copy, not a view
    b = make(ec_schedule=[[1, 1.4]])
    b.restore(json.loads(json.dumps(snap)))
    assert b.snapshot() == snap
    for k in range(41, 400):
        assert a.scan(10.0 * k, feed(k)) == b.scan(10.0 * k, feed(k))
    assert a.alarms() == b.alarms() and a.snapshot() == b.snapshot()
    assert b.command("s1", 400.0, "set_ec", 1.3) == "duplicate"


def test_restore_rejects_foreign_or_malformed_and_keeps_state() -> None:
    a = make()
    a.scan(0.0, inp(0.0, ec=1.0))
    before = a.snapshot()
    other = FertigationController(FertigationConfig.from_mapping({"site": "dong_thanh"}))
    with pytest.raises(ValueError, match="snapshot is of"):
        a.restore(other.snapshot())
    broken = dict(before)
    del broken["intervals"]
    with pytest.raises(ValueError, match="lacks"):
        a.restore(broken)
    with pytest.raises(ValueError, match="unknown pump"):
        a.restore({**before, "pump": "base"})
    with pytest.raises(ValueError, match="malformed"):
        a.restore({**before, "no_response": {}})
    assert a.snapshot() == before


# ---------------------------------------------------------------- closed loop
def draw_lpm(t: float) -> float:
    """Drip draw (L/min): 05–08 h alternating 120/60 every 15 min, 16–18 h at 100."""
    h = t / 3600.0
    if 5.0 <= h < 8.0:
        return 120.0 if int((h - 5.0) * 4) % 2 == 0 else 60.0
    return 100.0 if 16.0 <= h < 18.0 else 0.0


def run_loop(
    tank: FertigationTank, ctrl: FertigationController, t0: float, t1: float, faults: Any = None
) -> list[tuple[float, float, float, bool, bool]]:
    """10 s steps; returns (t, true EC, true pH, nutrient on, acid on) per step."""
    rec = []
    t = t0
    while t < t1:
        if faults:
            faults(t, tank)
        q = draw_lpm(t)
        samples = tank.samples("an_lac")
        samples[IRR] = Sample(q > 0, Quality.GOOD, t)
        out = ctrl.scan(t, samples)
        tank.advance(10.0, q * 10.0 / 60.0, out[NUT], out[ACID])
        t += 10.0
        rec.append((t, tank.ec_ms_cm, tank.ph, out[NUT], out[ACID]))
    return rec


def test_closed_loop_day_holds_ec_and_ph_from_fresh_water() -> None:
    tank = FertigationTank(np.random.default_rng(11))  # source water: EC 0.25, pH 7.5
    ctrl = make()
    rec = run_loop(tank, ctrl, 0.0, 86400.0)
    assert ctrl.alarms() == []
    settled = [r for r in rec if 5.75 * 3600 <= r[0] < 8 * 3600 or 16.25 * 3600 <= r[0] < 18 * 3600]
    assert len(settled) > 1000
    assert all(abs(ec - 1.5) <= 0.2 for _, ec, _, _, _ in settled)
    assert all(5.8 <= ph <= 6.5 for _, _, ph, _, _ in settled)
    # outside the windows nothing doses, and EC stays put once the tank is settled
    assert not any(n or a for t, _, _, n, a in rec if draw_lpm(t - 10.0) == 0.0)
    assert all(abs(ec - 1.5) <= 0.2 for t, ec, _, _, _ in rec if t >= 5.75 * 3600)
    lhs = tank.initial_fertiliser_g + tank.fertiliser_g
    assert tank.fertiliser_in_tank_g + tank.nutrient_supplied_g == pytest.approx(lhs, rel=1e-9)


def test_closed_loop_stuck_pump_trips_on_ec_limit() -> None:
    tank = FertigationTank(
        np.random.default_rng(5), initial_fertiliser_g_l=1.04, start_s=5 * 3600.0
    )
    ctrl = make()

    def stick(t: float, tk: FertigationTank) -> None:
        if t == 5.5 * 3600:
            tk.fail_pump("nutrient", "stuck_on")

    rec = run_loop(tank, ctrl, 5 * 3600.0, 6 * 3600.0, stick)
    assert "EC_LIMIT" in codes(ctrl) and ctrl.locks()["trip"] == "EC_LIMIT"
    trip_t = next(a.time_s for a in ctrl.alarms() if a.code == "EC_LIMIT")
    assert 5.5 * 3600 < trip_t < 5.75 * 3600
    assert not any(n or a for t, _, _, n, a in rec if t > trip_t + 10.0)


@pytest.mark.parametrize(
    ("mode", "code"), [("stuck", "EC_FLATLINE"), ("fouled", "DOSING_NO_RESPONSE")]
)
def test_closed_loop_bad_ec_probe_stops_dosing(mode: str, code: str) -> None:
    tank = FertigationTank(
        np.random.default_rng(9), initial_fertiliser_g_l=1.04, start_s=5 * 3600.0
    )
    ctrl = make(flatline_s=600)

    def foul(t: float, tk: FertigationTank) -> None:
        if t == 5.25 * 3600:
            tk.fail_probe("ec", mode)

    rec = run_loop(tank, ctrl, 5 * 3600.0, 7 * 3600.0, foul)
    assert code in codes(ctrl)
    lock_t = next(a.time_s for a in ctrl.alarms() if a.code == code)
    assert 5.25 * 3600 < lock_t < 6.0 * 3600
    assert not any(n for t, _, _, n, _ in rec if t > lock_t + 10.0)
    assert max(ec for _, ec, _, _, _ in rec) < 2.2  # no runaway over-dosing
