"""MistingController: set-points, pulses, daylight, RH limit, budget, fail-safes, snapshots.

Ends with a closed loop against :class:`sim.agri.microclimate.NetHouseClimate`
over a hot Laos-wind day.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.io import Controller, Direction, Quality, Sample
from controllers.irrigation.misting import MistingConfig, MistingController, vpd_kpa
from sim.agri.microclimate import NetHouseClimate

START = 1767225600 - 7 * 3600  # run time 0 = 2026-01-01 00:00 local (UTC+7)
H = 3600.0
NOON = 12 * H


def make(houses: list[dict[str, Any]] | None = None, **over: Any) -> MistingController:
    data: dict[str, Any] = {
        "site": "an_lac",
        "start_utc_s": START,
        "houses": houses
        or [{"id": "H1", "mist_flow_lpm": 3.0}, {"id": "H2", "mist_flow_lpm": 6.0}],
        **over,
    }
    return MistingController(MistingConfig.from_mapping(data))


def readings(
    now: float, temp: Any = 36.0, rh: Any = 40.0, house: str = "H1", **extra: Sample
) -> dict[str, Sample]:
    """GOOD samples for ``house`` (and a cool, fine H2), stamped ``now``."""
    s = {
        f"agri/{house}/air_temp_c": Sample(temp, Quality.GOOD, now),
        f"agri/{house}/air_rh_pct": Sample(rh, Quality.GOOD, now),
    }
    if house != "H2":
        s["agri/H2/air_temp_c"] = Sample(26.0, Quality.GOOD, now)
        s["agri/H2/air_rh_pct"] = Sample(70.0, Quality.GOOD, now)
    s.update(extra)
    return s


def drive(
    ctrl: MistingController, t0: float, scans: int, temp: float = 36.0, rh: float = 40.0
) -> list[bool]:
    """H1's outputs over ``scans`` scans every scan period from ``t0``."""
    out = []
    for i in range(scans):
        now = t0 + i * ctrl.scan_period_s
        out.append(ctrl.scan(now, readings(now, temp, rh))["agri/H1/mist_on"])
    return out


def runs(flags: list[bool]) -> list[tuple[int, int]]:
    """(start index, length) of each run of True."""
    found, start = [], None
    for i, f in enumerate([*flags, False]):
        if f and start is None:
            start = i
        elif not f and start is not None:
            found.append((start, i - start))
            start = None
    return found


# ------------------------------------------------------------------- contract
def test_protocol_and_points() -> None:
    ctrl = make()
    assert isinstance(ctrl, Controller)
    assert ctrl.name == "misting/an_lac"
    assert ctrl.scan_period_s == 10.0
    specs = {p.name: p for p in ctrl.points()}
    assert set(specs) == {
        f"agri/{h}/{leaf}" for h in ("H1", "H2") for leaf in ("air_temp_c", "air_rh_pct", "mist_on")
    }
    t, rh, out = specs["agri/H1/air_temp_c"], specs["agri/H1/air_rh_pct"], specs["agri/H1/mist_on"]
    assert (t.direction, t.low, t.high) == (Direction.INPUT, -10.0, 60.0)
    assert (rh.direction, rh.low, rh.high) == (Direction.INPUT, 0.0, 100.0)
    assert out.direction is Direction.OUTPUT
    assert out.check(True) is True


def test_vpd_tetens() -> None:
    assert vpd_kpa(25.0, 50.0) == pytest.approx(3.168 / 2, abs=2e-3)  # e°(25) = 3.168 kPa
    assert vpd_kpa(30.0, 100.0) == 0.0


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"site": None}, "misting.site"),
        ({"start_utc_s": None}, "misting.start_utc_s"),
        ({"colour": "red"}, "misting: unknown key(s) ['colour']"),
        ({"t_on_c": "hot"}, "misting.t_on_c"),
        ({"t_off_c": 33.0}, "misting.t_off_c"),
        ({"vpd_off_kpa": 2.5}, "misting.vpd_off_kpa"),
        ({"rh_max_pct": 0.0}, "misting.rh_max_pct"),
        ({"day_end_h": 6.0}, "misting.day_end_h"),
        ({"day_start_h": 25.0}, "misting.day_start_h"),
        ({"on_s": 5.0}, "misting.on_s"),
        ({"off_s": -1.0}, "misting.off_s"),
        ({"scan_period_s": 0.0}, "misting.scan_period_s"),
        ({"sensor_max_age_s": 5.0}, "misting.sensor_max_age_s"),
        ({"utc_offset_h": math.nan}, "misting.utc_offset_h"),
        ({"houses": []}, "misting.houses"),
        ({"houses": [{"id": "H1"}]}, "misting.houses[0].mist_flow_lpm"),
        ({"houses": [{"id": "a/b", "mist_flow_lpm": 1}]}, "misting.houses[0].id"),
        (
            {"houses": [{"id": "H1", "mist_flow_lpm": 1, "daily_budget_l": 0}]},
            "misting.houses[0].daily_budget_l",
        ),
        (
            {"houses": [{"id": "H1", "mist_flow_lpm": 1, "nozzles": 4}]},
            "misting.houses[0]: unknown key(s) ['nozzles']",
        ),
        (
            {"houses": [{"id": "H1", "mist_flow_lpm": 1}, {"id": "H1", "mist_flow_lpm": 2}]},
            "misting.houses[1].id",
        ),
    ],
)
def test_config_errors_name_the_key(change: dict[str, Any], key: str) -> None:
    data: dict[str, Any] = {
        "site": "an_lac",
        "start_utc_s": START,
        "houses": [{"id": "H1", "mist_flow_lpm": 3.0}],
    }
    for k, v in change.items():
        if v is None:
            del data[k]
        else:
            data[k] = v
    with pytest.raises(ValueError, match=re.escape(key)):
        MistingConfig.from_mapping(data)


def test_config_defaults() -> None:
    cfg = make().config
    assert (cfg.t_on_c, cfg.t_off_c, cfg.vpd_on_kpa, cfg.vpd_off_kpa) == (32.0, 30.0, 2.0, 1.5)
    assert (cfg.on_s, cfg.off_s, cfg.rh_max_pct, cfg.scan_period_s) == (30.0, 150.0, 85.0, 10.0)
    assert cfg.house("H2").mist_flow_lpm == 6.0
    assert cfg.house("H1").daily_budget_l is None


def test_time_must_not_go_backwards() -> None:
    ctrl = make()
    ctrl.scan(NOON, readings(NOON))
    with pytest.raises(ValueError, match="backwards"):
        ctrl.scan(NOON - 10, readings(NOON - 10))


# ---------------------------------------------------------------------- logic
def test_hot_noon_pulses_30_s_on_150_s_off() -> None:
    out = drive(make(), NOON, 60)
    assert runs(out) == [(0, 3), (18, 3), (36, 3), (54, 3)]


def test_cool_humid_air_needs_no_mist() -> None:
    assert not any(drive(make(), NOON, 40, temp=26.0, rh=70.0))


def test_vpd_alone_starts_mist() -> None:
    assert vpd_kpa(31.0, 30.0) > 2.0
    assert any(drive(make(), NOON, 5, temp=31.0, rh=30.0))


def test_hysteresis_between_on_and_off_set_points() -> None:
    ctrl = make()
    assert any(drive(ctrl, NOON, 3, temp=33.0, rh=70.0))  # T >= 32: on
    # 31 °C, VPD 1.1 kPa: still wanted (above t_off), pulses continue
    assert any(drive(ctrl, NOON + 30, 30, temp=31.0, rh=75.0))
    assert not any(drive(ctrl, NOON + 330, 40, temp=29.5, rh=75.0))  # below both off points
    assert not any(drive(ctrl, NOON + 800, 40, temp=31.0, rh=75.0))  # not above the on points
    assert not any(drive(make(), NOON, 40, temp=31.0, rh=75.0))


@pytest.mark.parametrize("hour", [0.0, 3.0, 6.8, 17.0, 20.0, 23.5])
def test_never_at_night(hour: float) -> None:
    assert not any(drive(make(), hour * H, 40, temp=40.0, rh=30.0))


def test_evening_cuts_a_pulse() -> None:
    out = drive(make(), 17 * H - 20, 5)
    assert out == [True, True, False, False, False]


@pytest.mark.parametrize(("rh", "mists"), [(85.0, False), (95.0, False), (84.9, True)])
def test_rh_limit(rh: float, mists: bool) -> None:
    t = 45.0  # VPD high even at 95 % RH: only the limit can stop the mist
    assert any(drive(make(), NOON, 20, temp=t, rh=rh)) is mists


def test_rising_rh_cuts_a_pulse_and_starts_the_rest() -> None:
    ctrl = make()
    assert drive(ctrl, NOON, 2) == [True, True]
    assert ctrl.scan(NOON + 20, readings(NOON + 20, 36.0, 86.0))["agri/H1/mist_on"] is False
    # RH back down: the rest of off_s counts from the cut
    out = drive(ctrl, NOON + 30, 20)
    assert runs(out) == [(14, 3)]


def test_daily_budget_stops_mist_and_alarms_once_per_day() -> None:
    ctrl = make([{"id": "H1", "mist_flow_lpm": 6.0, "daily_budget_l": 8.0}])  # 1 L per scan
    out = drive(ctrl, NOON, 200)
    assert sum(out) == 8  # 8 L: pulses of 3, 3 and 2 scans
    assert ctrl.water_used_today_l()["H1"] == pytest.approx(8.0)
    codes = [a.code for a in ctrl.alarms()]
    assert codes == ["BUDGET_REACHED"]
    # next local day: budget renewed, alarm again when it runs out
    out = drive(ctrl, NOON + 24 * H, 200)
    assert sum(out) == 8
    assert [a.code for a in ctrl.alarms()] == ["BUDGET_REACHED", "BUDGET_REACHED"]
    assert ctrl.water_used_l()["H1"] == pytest.approx(16.0)


def test_water_estimate_follows_open_time() -> None:
    ctrl = make()
    drive(ctrl, NOON, 180)  # 10 pulses of 30 s at 3 L/min
    assert ctrl.water_used_l()["H1"] == pytest.approx(10 * 1.5)
    assert ctrl.water_used_l()["H2"] == 0.0


# ------------------------------------------------------------------ fail-safe
BAD_INPUTS: list[tuple[str, Any]] = [
    ("nan", lambda now: Sample(math.nan, Quality.GOOD, now)),
    ("bad quality", lambda now: Sample(36.0, Quality.BAD, now)),
    ("uncertain", lambda now: Sample(36.0, Quality.UNCERTAIN, now)),
    ("stale", lambda now: Sample(36.0, Quality.GOOD, now - 61.0)),
    ("out of range", lambda now: Sample(150.0, Quality.GOOD, now)),
    ("text", lambda now: Sample("36", Quality.GOOD, now)),
    ("bool", lambda now: Sample(True, Quality.GOOD, now)),
    ("missing", lambda now: None),
]


@pytest.mark.parametrize("point", ["air_temp_c", "air_rh_pct"])
@pytest.mark.parametrize(("kind", "make_sample"), BAD_INPUTS, ids=[k for k, _ in BAD_INPUTS])
def test_bad_input_closes_mist_and_alarms_once(point: str, kind: str, make_sample: Any) -> None:
    ctrl = make([{"id": "H1", "mist_flow_lpm": 3.0}, {"id": "H2", "mist_flow_lpm": 3.0}])
    now = NOON
    assert ctrl.scan(now, readings(now) | readings(now, house="H2"))["agri/H1/mist_on"]
    for i in range(1, 30):  # H1 broken for 290 s while its pulse was on; H2 fine and hot
        now = NOON + 10 * i
        inputs = readings(now) | readings(now, house="H2")
        sample = make_sample(now)
        if sample is None:
            del inputs[f"agri/H1/{point}"]
        else:
            inputs[f"agri/H1/{point}"] = sample
        assert ctrl.scan(now, inputs)["agri/H1/mist_on"] is False
    alarms = ctrl.alarms()
    assert [(a.target, a.code) for a in alarms] == [("H1", "SENSOR_BAD")]
    assert point in alarms[0].detail
    assert ctrl.last_vpd_kpa["H1"] is None
    # recovery: good readings again, misting resumes; a new fault is a new episode
    assert any(drive(ctrl, NOON + 300, 20))
    ctrl.scan(NOON + 500, readings(NOON + 500, temp=math.nan))
    assert [(a.target, a.code) for a in ctrl.alarms()] == [("H1", "SENSOR_BAD")] * 2


def test_other_house_keeps_working_while_one_is_broken() -> None:
    ctrl = make([{"id": "H1", "mist_flow_lpm": 3.0}, {"id": "H2", "mist_flow_lpm": 3.0}])
    h2 = []
    for i in range(20):
        now = NOON + 10 * i
        inputs = readings(now, house="H2")  # no H1 inputs at all
        h2.append(ctrl.scan(now, inputs)["agri/H2/mist_on"])
    assert runs(h2) == [(0, 3), (18, 2)]
    assert [(a.target, a.code) for a in ctrl.alarms()] == [("H1", "SENSOR_BAD")]


# ----------------------------------------------------------- snapshot/restore
def test_snapshot_restore_round_trips_exactly() -> None:
    houses = [
        {"id": "H1", "mist_flow_lpm": 6.0, "daily_budget_l": 20.0},
        {"id": "H2", "mist_flow_lpm": 3.0},
    ]
    ctrl = make(houses)
    drive(ctrl, NOON, 7)  # H1 wanted, mid-rest after its first pulse, 3 L used
    now = NOON + 70
    h1_only = {k: v for k, v in readings(now).items() if k.startswith("agri/H1/")}
    ctrl.scan(now, h1_only)  # H2: a sensor episode in progress
    snap = json.loads(json.dumps(ctrl.snapshot()))
    twin = make(houses)
    twin.restore(snap)
    assert twin.snapshot() == ctrl.snapshot()
    mists = 0
    for i in range(1, 200):
        now = NOON + 70 + 10 * i
        # 31 °C / 75 % mists only while the hysteresis latch is set; the budget then stops it
        inputs = readings(now, 31.0, 75.0) if i < 150 else readings(now, 29.0, 75.0)
        out = ctrl.scan(now, inputs)
        assert twin.scan(now, inputs) == out
        mists += out["agri/H1/mist_on"]
    assert mists > 10
    assert twin.snapshot() == ctrl.snapshot()
    assert twin.alarms() == ctrl.alarms()
    assert [a.code for a in ctrl.alarms()] == ["SENSOR_BAD", "BUDGET_REACHED"]


def test_restore_rejects_foreign_or_malformed_snapshots() -> None:
    ctrl = make()
    drive(ctrl, NOON, 5)
    before = ctrl.snapshot()
    other = make(name="misting/dong_thanh")
    with pytest.raises(ValueError, match="snapshot is of"):
        other.restore(before)
    broken = json.loads(json.dumps(before))
    del broken["houses"]["H1"]["off_since_s"]
    with pytest.raises(ValueError, match="off_since_s"):
        ctrl.restore(broken)
    broken = json.loads(json.dumps(before))
    broken["houses"]["H2"]["used_today_l"] = "lots"
    with pytest.raises(ValueError, match="used_today_l"):
        ctrl.restore(broken)
    with pytest.raises(ValueError, match="version"):
        ctrl.restore({**before, "version": 99})
    assert ctrl.snapshot() == before


# ------------------------------------------------------------------ property
@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from([5.0, 10.0, 10.0, 10.0, 20.0, 45.0]),  # dt to this scan
            st.one_of(st.floats(-20.0, 70.0), st.just(math.nan)),  # temperature
            st.floats(-5.0, 105.0),  # RH
            st.sampled_from([Quality.GOOD] * 6 + [Quality.UNCERTAIN, Quality.BAD]),
            st.sampled_from([0.0] * 8 + [90.0]),  # sample age
        ),
        min_size=1,
        max_size=120,
    ),
    start_h=st.floats(5.0, 18.0),
)
def test_property_safe_and_pulsed(steps: list[tuple[float, float, float, Quality, float]],
                                  start_h: float) -> None:  # fmt: skip
    ctrl = make()
    cfg = ctrl.config
    now = start_h * H
    last_end = -math.inf
    pulse_start: float | None = None
    was_on = False
    for dt, temp, rh, quality, age in steps:
        now += dt
        inputs = {
            "agri/H1/air_temp_c": Sample(temp, quality, now - age),
            "agri/H1/air_rh_pct": Sample(rh, Quality.GOOD, now),
        }
        on = ctrl.scan(now, inputs)["agri/H1/mist_on"]
        hour = (now / H) % 24
        valid = (
            quality is Quality.GOOD
            and age <= cfg.sensor_max_age_s
            and -10.0 <= temp <= 60.0  # NaN fails too
            and 0.0 <= rh <= 100.0
        )
        if on:
            assert valid and rh < cfg.rh_max_pct and cfg.day_start_h <= hour < cfg.day_end_h
            if not was_on:
                assert now - last_end >= cfg.off_s - 1e-9
                pulse_start = now
            assert pulse_start is not None and now - pulse_start < cfg.on_s
        elif was_on:
            last_end = now
        was_on = on


# ---------------------------------------------------------------- closed loop
def laos_day(hour: float) -> tuple[float, float, float, float]:
    """Outside (T °C, RH %, wind m/s, solar W/m²) of a gió Lào day at local ``hour``.

    A humid dawn (RH ~90 %) drying to 40 % at 39.5 °C by mid-afternoon.
    """
    hours = [0.0, 5.0, 8.0, 10.0, 14.0, 17.0, 20.0, 24.0]
    temp = float(np.interp(hour, hours, [28.5, 27.5, 31.0, 35.0, 39.5, 37.5, 31.5, 28.5]))
    rh = float(np.interp(hour, hours, [85.0, 92.0, 88.0, 62.0, 40.0, 45.0, 70.0, 85.0]))
    wind = 3.0 if 9.0 <= hour < 19.0 else 1.5
    solar = max(0.0, 950.0 * math.sin(math.pi * (hour - 5.8) / 12.6))
    return temp, rh, wind, solar


def test_closed_loop_over_a_laos_wind_day() -> None:
    """House 0 is misted by the controller, house 1 is the same house without mist."""
    flow = 0.008 * 500.0
    ctrl = make([{"id": "NH1", "mist_flow_lpm": flow}])
    model = NetHouseClimate([500.0, 500.0], mist_flow_lpm=flow)
    model.reset(*laos_day(0.0)[:2])
    scan = ctrl.scan_period_s
    n = int(24 * H / scan)
    log = np.zeros((n, 7))  # hour, T0, RH0, RH1, VPD0, VPD1, mist
    mist = np.array([False, False])
    for i in range(n):
        now = i * scan
        temp, rh, vpd = model.temp_c, model.rh_pct, model.vpd_kpa
        inputs = {
            "agri/NH1/air_temp_c": Sample(float(temp[0]), Quality.GOOD, now),
            "agri/NH1/air_rh_pct": Sample(float(rh[0]), Quality.GOOD, now),
        }
        mist[0] = ctrl.scan(now, inputs)["agri/NH1/mist_on"]
        log[i] = (now / H, temp[0], rh[0], rh[1], vpd[0], vpd[1], mist[0])
        t_out, rh_out, wind, solar = laos_day(now / H)
        model.advance(scan, t_out, rh_out, wind, solar, mist)
    hour, t0, rh0, rh1, vpd0, vpd1, on = log.T
    on = on.astype(bool)
    assert max(rh0.max(), rh1.max(), *model.rh_pct) <= 100.0
    # misting happened, only in daylight and only below the RH limit
    assert on.sum() > 100
    assert np.all((hour[on] >= 7.0) & (hour[on] < 17.0))
    assert np.all(rh0[on] < ctrl.config.rh_max_pct)
    # the humid morning: hot enough to want mist, but too humid to give it
    humid_and_hot = (hour >= 7.0) & (hour < 17.0) & (t0 >= 32.0) & (rh0 >= 85.0)
    assert humid_and_hot.sum() > 10
    # pulses: at most 30 s on (3 scans), at least 150 s (15 scans) off between them
    pulses = runs(list(on))
    assert max(length for _, length in pulses) <= 3
    gaps = [b[0] - (a[0] + a[1]) for a, b in itertools.pairwise(pulses)]
    assert min(gaps) >= 15
    # the effect: lower VPD in the hot afternoon than the same house without mist
    afternoon = (hour >= 12.0) & (hour < 17.0)
    assert vpd0[afternoon].mean() < vpd1[afternoon].mean() - 0.1
    assert np.all(vpd0[afternoon] <= vpd1[afternoon] + 1e-9)
    # the controller's water estimate matches the water the model received
    assert ctrl.water_used_l()["NH1"] == pytest.approx(model.mist_water_l[0], abs=flow * scan / 60)
    assert model.mist_water_l[1] == 0.0
