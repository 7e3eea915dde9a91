"""The section controller: points, config errors, central decisions, snapshot, fuzzing."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.io import Controller, Direction, Quality, Sample
from controllers.lighting import (
    FAULT_CODES,
    LightingClass,
    LightingController,
    LightingControllerConfig,
    OverrideCommand,
)

POLES = ["HV-E01", "HV-E02", "HV-E03", "HV-W01", "HV-W02", "HV-W03"]
CABINETS = ["HV-C1", "HV-C2"]
TABLE = {"M1": 100.0, "M2": 90.0, "M3": 72.0, "M4": 55.0, "M5": 40.0, "M6": 28.0}


def mapping(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "lighting/hung_vuong",
        "site": {"lat_deg": 16.82, "lon_deg": 107.10},
        "start": "2026-01-01T19:00:00+07:00",
        "calendar": {
            "programs": {
                "n": [
                    {"at": "sunset", "offset_min": -10, "level_pct": 100},
                    {"at": "sunrise", "offset_min": 10, "level_pct": 0},
                ]
            }
        },
        "poles": [
            {
                "id": p,
                "cabinet": "HV-C1" if int(p[4:]) <= 2 else "HV-C2",
                "side": p[3],
                "index": int(p[4:]),
            }
            for p in POLES
        ],
        "cabinets": {c: {"commissioning": TABLE} for c in CABINETS},
        "volume_bands": {"capacity_veh_h": 2000},  # limits 1300, 900, 300, 140 veh/h
        "time_bands": [
            {"start": "17:00", "name": "evening", "design_volume": "very_high"},
            {"start": "23:00", "name": "night", "design_volume": "moderate"},
            {"start": "05:00", "name": "morning", "design_volume": "high"},
        ],
        "class_step_down_hold_s": 600,
        "boost": {"hold_s": 20, "neighbours": 1},
    }
    data.update(extra)
    return data


def make(**extra: Any) -> LightingController:
    return LightingController(LightingControllerConfig.from_mapping(mapping(**extra)))


def good(
    t: float,
    *,
    volume: float | None = 1000.0,
    rain: float | None = 0.0,
    ambient: float | None = 0.1,
) -> dict[str, Sample]:
    ins: dict[str, Sample] = {}
    for c in CABINETS:
        for key, value in (("volume_veh_h", volume), ("rain_mm_h", rain), ("ambient_lx", ambient)):
            ins[f"light/{c}/{key}"] = (
                Sample(value, Quality.GOOD, t)
                if value is not None
                else Sample(None, Quality.BAD, t)
            )
        ins[f"light/{c}/supply_ok"] = Sample(True, Quality.GOOD, t)
    for p in POLES:
        ins[f"light/{p}/link_ok"] = Sample(True, Quality.GOOD, t)
        ins[f"light/{p}/motion"] = Sample(False, Quality.GOOD, t)
    return ins


def test_points_declare_the_whole_contract() -> None:
    ctrl = make()
    assert isinstance(ctrl, Controller)
    specs = {s.name: s for s in ctrl.points()}
    for p in POLES:
        for leaf in ("motion", "power_w", "link_ok"):
            assert specs[f"light/{p}/{leaf}"].direction is Direction.INPUT
        assert specs[f"light/{p}/dim_pct"].direction is Direction.OUTPUT
        assert (specs[f"light/{p}/dim_pct"].low, specs[f"light/{p}/dim_pct"].high) == (0.0, 100.0)
        assert specs[f"light/{p}/fault"].direction is Direction.OUTPUT
    for c in CABINETS:
        for leaf in (
            "ambient_lx",
            "rain_mm_h",
            "volume_veh_h",
            "supply_ok",
            "power_w",
            "energy_kwh",
        ):
            spec = specs[f"light/{c}/{leaf}"]
            assert spec.direction is Direction.INPUT and math.isfinite(spec.bad_after_s)
    assert len(specs) == len(POLES) * 5 + len(CABINETS) * 6
    assert ctrl.scan_period_s == 1.0 and ctrl.name == "lighting/hung_vuong"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"site": {"lat_deg": 16.8}}, r"site: missing \['lon_deg'\]"),
        (
            {"poles": [{"id": "HV-E01", "cabinet": "HV-C9", "side": "E", "index": 1}]},
            "unknown cabinet 'HV-C9'",
        ),
        ({"poles": [{"id": "HV/E01", "cabinet": "HV-C1", "side": "E", "index": 1}]}, r"poles\[0\]"),
        ({"cabinets": {"HV-C1": {"commissioning": {"M7": 50}}}}, r"cabinets\.HV-C1\.commissioning"),
        (
            {"cabinets": {"HV-C1": {"commissioning": {"M3": 150}}}},
            r"cabinets\.HV-C1\.commissioning\.M3",
        ),
        ({"road": {"speed": "warp"}}, r"road\.speed"),
        ({"boost": {"hold_s": -1}}, r"boost\.hold_s"),
        ({"driver": {"rated_w": 0}}, r"driver\.rated_w"),
        ({"faults": {"rel_tol": 2}}, r"faults\.rel_tol"),
        ({"rain": {"dry_after_s": -5}}, r"rain\.dry_after_s"),
        ({"photocell": {"dark_below_lx": 60}}, r"photocell\.light_above_lx"),
        ({"time_bands": [{"start": "7pm"}]}, r"time_bands\[0\]\.start"),
        ({"mode": "smart"}, "mode must be one of"),
        ({"start": "2026-01-01T19:00:00"}, "UTC offset"),
        ({"colour": "warm"}, r"unknown key\(s\) \['colour'\]"),
        (
            {"calendar": {"programs": {"n": [{"at": "sunset", "level_pct": 1}]}, "default": "x"}},
            "calendar.default",
        ),
        ({"link": {"central_ttl": 5}}, r"link: unknown key"),
        ({"volume_bands": {"capacity_veh_h": -1}}, "volume_bands"),
    ],
)
def test_config_errors_name_the_bad_key(change: dict[str, Any], message: str) -> None:
    data = mapping()
    data.update(change)
    if "cabinets" in change or "poles" in change:
        data["poles"] = change.get(
            "poles", [{"id": "HV-E01", "cabinet": "HV-C1", "side": "E", "index": 1}]
        )
        data["cabinets"] = change.get("cabinets", {"HV-C1": {"commissioning": TABLE}})
    with pytest.raises(ValueError, match=message):
        LightingControllerConfig.from_mapping(data)


def test_config_derives_neighbours_and_accepts_start_utc_s() -> None:
    data = mapping()
    del data["start"]
    data["start_utc_s"] = 1767268800
    cfg = LightingControllerConfig.from_mapping(data)
    e2 = cfg.poles[1]
    assert cfg.neighbours_of(e2) == ("HV-E01", "HV-E03", "HV-W01", "HV-W02", "HV-W03")
    assert cfg.neighbours_of(cfg.poles[0]) == ("HV-E02", "HV-W01", "HV-W02")


def test_class_follows_volume_with_a_hold_before_stepping_down() -> None:
    ctrl = make()
    ctrl.scan(0, good(0, volume=1000.0))  # high: 3.5 -> M2
    assert ctrl.decisions["HV-C1"].selection.lighting_class is LightingClass.M2
    assert ctrl.levels["HV-E01"] == 90.0
    ctrl.scan(10, good(10, volume=100.0))  # very low would be M4, but only after 600 s
    assert ctrl.levels["HV-E01"] == 90.0
    ctrl.scan(609, good(609, volume=100.0))
    assert ctrl.levels["HV-E01"] == 90.0
    ctrl.scan(610, good(610, volume=100.0))
    assert ctrl.levels["HV-E01"] == 55.0
    ctrl.scan(611, good(611, volume=1400.0))  # brighter at once
    assert ctrl.levels["HV-E01"] == 90.0


def test_rain_makes_the_class_brighter_until_the_road_dries() -> None:
    ctrl = make(rain={"wet_above_mm_h": 0.5, "dry_after_s": 100})
    ctrl.scan(0, good(0, volume=500.0))  # moderate: M3
    assert ctrl.levels["HV-E01"] == 72.0
    ctrl.scan(1, good(1, volume=500.0, rain=5.0))
    assert ctrl.levels["HV-E01"] == 90.0
    ctrl.scan(100, good(100, volume=500.0))
    assert ctrl.levels["HV-E01"] == 90.0  # still wet
    ctrl.scan(200, good(200, volume=500.0))  # dry now; the darker class waits its hold
    assert ctrl.levels["HV-E01"] == 90.0
    ctrl.scan(800, good(800, volume=500.0))
    assert ctrl.levels["HV-E01"] == 72.0


def test_fallbacks_for_bad_cabinet_inputs() -> None:
    ctrl = make()
    ctrl.scan(0, good(0, volume=None))  # evening band design volume: very high -> M2
    d = ctrl.decisions["HV-C1"]
    assert "volume bad" in d.notes and d.selection.volume_option == "very_high"
    assert ctrl.levels["HV-E01"] == 90.0
    ctrl.scan(1, good(1, volume=500.0, rain=None))  # bad rain counts as wet
    assert ctrl.decisions["HV-C1"].selection.wet
    # by day with a bad photocell: the astro calendar decides -> off
    day = make(start="2026-01-01T11:00:00+07:00")
    out = day.scan(0, good(0, ambient=None))
    assert all(out[f"light/{p}/dim_pct"] == 0.0 for p in POLES)


def test_photocell_switches_on_in_a_dark_daytime_storm_with_hysteresis() -> None:
    ctrl = make(start="2026-01-01T11:00:00+07:00")
    assert ctrl.scan(0, good(0, ambient=5000.0))["light/HV-E01/dim_pct"] == 0.0
    assert ctrl.scan(1, good(1, ambient=10.0))["light/HV-E01/dim_pct"] > 0.0
    assert "photocell on" in ctrl.decisions["HV-C1"].notes
    assert ctrl.scan(2, good(2, ambient=35.0))["light/HV-E01/dim_pct"] > 0.0  # hysteresis
    assert ctrl.scan(3, good(3, ambient=80.0))["light/HV-E01/dim_pct"] == 0.0


def drive(
    ctrl: LightingController, steps: list[tuple[float, dict[str, Sample]]]
) -> list[dict[str, Any]]:
    return [ctrl.scan(t, ins) for t, ins in steps]


def scripted(start: float, n: int, seed: int) -> list[tuple[float, dict[str, Sample]]]:
    steps = []
    for k in range(n):
        t = start + k * 7.0
        ins = good(t, volume=float((k * 97 + seed) % 1500), rain=float(k % 11 == 0) * 3.0)
        ins[f"light/{POLES[(k + seed) % 6]}/motion"] = Sample(True, Quality.GOOD, t)
        ins[f"light/{POLES[k % 6]}/link_ok"] = Sample(k % 5 != 0, Quality.GOOD, t)
        ins[f"light/{POLES[k % 4]}/power_w"] = Sample(0.5 if k > n // 2 else 40.0, Quality.GOOD, t)
        steps.append((t, ins))
    return steps


def test_snapshot_restore_round_trip_gives_identical_outputs() -> None:
    a = make()
    a.command(OverrideCommand("op1", 30.0, 100.0, 200.0, ("HV-C2",)))
    drive(a, scripted(0.0, 40, seed=3))
    state = json.loads(json.dumps(a.snapshot()))
    b = make()
    b.restore(state)
    assert b.snapshot() == a.snapshot()
    later = scripted(300.0, 60, seed=5)
    a.command(OverrideCommand("op2", 400.0, 20.0, None, ("HV-E01",)))
    b.command(OverrideCommand("op2", 400.0, 20.0, None, ("HV-E01",)))
    assert drive(a, copy.deepcopy(later)) == drive(b, copy.deepcopy(later))
    assert a.alerts() == b.alerts()
    assert a.snapshot() == b.snapshot()


def test_restore_refuses_foreign_or_malformed_snapshots() -> None:
    a = make()
    a.scan(0, good(0))
    state = a.snapshot()
    with pytest.raises(ValueError, match="snapshot is of"):
        make(name="lighting/other").restore(state)
    broken = dict(state)
    del broken["nodes"]
    with pytest.raises(ValueError, match="malformed"):
        make().restore(broken)


def test_time_must_not_go_backwards() -> None:
    ctrl = make()
    ctrl.scan(10, good(10))
    with pytest.raises(ValueError, match="backwards"):
        ctrl.scan(5, good(5))
    with pytest.raises(ValueError, match="finite"):
        ctrl.scan(math.nan, good(11))


GARBAGE = st.one_of(
    st.none(),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**9), 10**9),
    st.text(max_size=3),
    st.just([1, 2]),
)
SAMPLE = st.one_of(
    st.builds(Sample, GARBAGE, st.sampled_from(list(Quality)), st.floats(-1e6, 1e6)),
    st.just(None),
    st.just("not a sample"),
)
NAMES = [f"light/{p}/{leaf}" for p in POLES for leaf in ("motion", "power_w", "link_ok")] + [
    f"light/{c}/{leaf}"
    for c in CABINETS
    for leaf in ("ambient_lx", "rain_mm_h", "volume_veh_h", "supply_ok", "power_w", "energy_kwh")
]


@settings(max_examples=60, deadline=None)
@given(
    start_h=st.integers(0, 23),
    scans=st.lists(
        st.tuples(st.floats(0.0, 3600.0), st.dictionaries(st.sampled_from(NAMES), SAMPLE)),
        min_size=1,
        max_size=25,
    ),
)
def test_outputs_always_fit_their_points_whatever_arrives(
    start_h: int, scans: list[tuple[float, dict[str, Any]]]
) -> None:
    ctrl = make(start=f"2026-06-15T{start_h:02d}:30:00+07:00")
    specs = {s.name: s for s in ctrl.points() if s.direction is Direction.OUTPUT}
    t = 0.0
    for dt_s, ins in scans:
        t += dt_s
        out = ctrl.scan(t, ins)
        assert set(out) == set(specs)
        for name, value in out.items():
            specs[name].check(value)
            if name.endswith("dim_pct"):
                assert isinstance(value, float) and 0.0 <= value <= 100.0
            else:
                assert value in ("", *FAULT_CODES)
    json.dumps(ctrl.snapshot())


@settings(max_examples=40, deadline=None)
@given(start_h=st.integers(0, 23), dt_s=st.floats(1.0, 5000.0))
def test_a_section_with_every_input_missing_goes_full_on(start_h: int, dt_s: float) -> None:
    ctrl = make(start=f"2026-03-01T{start_h:02d}:00:00+07:00")
    ctrl.scan(0.0, {})
    out = ctrl.scan(dt_s, {})
    assert all(out[f"light/{p}/dim_pct"] == 100.0 for p in POLES)


def test_switching_times_over_two_days_follow_the_astro_clock() -> None:
    """End to end: run seconds -> local time (UTC+7, no DST) -> sunset/sunrise offsets."""
    import datetime as dt

    from controllers.lighting import sun_times

    ctrl = make(start="2026-01-01T12:00:00+07:00", boost={"enabled": False})
    start = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    switches: list[tuple[dt.datetime, bool]] = []
    lit = None
    for k in range(0, 2 * 86400, 30):
        on = ctrl.scan(float(k), good(k, ambient=None))["light/HV-E01/dim_pct"] > 0
        if on != lit and lit is not None:
            switches.append((start + dt.timedelta(seconds=k), on))
        lit = on
    assert [on for _, on in switches] == [True, False, True, False]
    for when, on in switches:
        sun = sun_times(when.date(), 16.82, 107.10, 7.0)
        event = sun.sunset_h - 10 / 60 if on else sun.sunrise_h + 10 / 60  # type: ignore[operator]
        local_h = when.hour + when.minute / 60 + when.second / 3600
        assert abs(local_h - event) * 3600 <= 30.0


def test_motion_boost_never_exceeds_the_bands_design_class() -> None:
    """Busy evening (class = design class): a detection changes nothing; quiet evening
    (class stepped down): a detection lifts the pole one class, not beyond the design."""
    ctrl = make()
    busy = good(0.0, volume=1500.0)  # very high: the design class of the evening band
    out = ctrl.scan(0.0, busy)
    steady = out["light/HV-E01/dim_pct"]
    design = ctrl.decisions["HV-C1"].level_pct
    assert steady == design
    busy["light/HV-E01/motion"] = Sample(True, Quality.GOOD, 1.0)
    out = ctrl.scan(1.0, busy)
    assert out["light/HV-E01/dim_pct"] == design
    quiet = make()
    t = 0.0
    while t <= 700.0:  # past the 600 s step-down hold at a low volume
        out = quiet.scan(t, good(t, volume=200.0))
        t += 1.0
    low = quiet.decisions["HV-C1"].level_pct
    assert low < design
    ins = good(t, volume=200.0)
    ins["light/HV-E01/motion"] = Sample(True, Quality.GOOD, t)
    out = quiet.scan(t, ins)
    assert low < out["light/HV-E01/dim_pct"] <= design
