"""The farmers' fixed schedule: daily volumes, capacity, rain skip, fallow, snapshots."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.io import Controller, Quality, Sample
from controllers.irrigation.fixed_schedule import FixedScheduleConfig, FixedScheduleController

START = 1767225600 - 7 * 3600  # run time 0 = 2026-01-01 00:00 local (UTC+7)


def make(flows: list[float], capacity: float = 30.0, **over: object) -> FixedScheduleController:
    data = {
        "site": "dt",
        "start_utc_s": START,
        "pump_capacity_lpm": capacity,
        "depth_mm_by_month": [4.0] * 12,
        "plots": [
            {"id": f"DT-H{i + 1:02d}-P1", "household": f"DT-H{i + 1:02d}", "area_m2": 90,
             "emitter_flow_lpm": q}
            for i, q in enumerate(flows)
        ],
        **over,
    }  # fmt: skip
    return FixedScheduleController(FixedScheduleConfig.from_mapping(data))


def run(ctrl: FixedScheduleController, days: float, rain_at: dict[int, float] | None = None):
    """Scan every 60 s; returns litres per plot (design flow while open) and the max draw."""
    litres = {p.plot_id: 0.0 for p in ctrl.config.plots}
    flows = {p.plot_id: p.emitter_flow_lpm for p in ctrl.config.plots}
    max_draw = 0.0
    for k in range(int(days * 1440)):
        now = 60.0 * k
        rain = (rain_at or {}).get(k, 0.0)
        out = ctrl.scan(now, {"agri/dt/rain_mm": Sample(rain, Quality.GOOD, now)})
        draw = sum(q for pid, q in flows.items() if out[f"agri/{pid}/valve_open"])
        assert out["agri/dt/pump_on"] == (draw > 0)
        max_draw = max(max_draw, draw)
        for pid, q in flows.items():
            if out[f"agri/{pid}/valve_open"]:
                litres[pid] += q
    return litres, max_draw


def test_is_a_controller_and_waters_the_daily_depth() -> None:
    ctrl = make([10.0, 10.0, 10.0, 10.0])
    assert isinstance(ctrl, Controller)
    litres, max_draw = run(ctrl, 3.0)
    want = 3 * 4.0 / 0.9 * 90  # 3 days x depth / efficiency x area
    for value in litres.values():
        assert value == pytest.approx(want, abs=2 * 10.0)  # two scans of rounding per watering
    assert max_draw <= 30.0


def test_skips_after_rain_and_not_otherwise() -> None:
    # 12 mm at 03:00 on day 1: both waterings of day 1 are within 24 h and skipped
    litres, _ = run(make([10.0]), 3.0, rain_at={1440 + 180: 12.0})
    one_day = 4.0 / 0.9 * 90
    assert litres["DT-H01-P1"] == pytest.approx(2 * one_day, abs=20.0)
    light, _ = run(make([10.0]), 3.0, rain_at={1440 + 180: 3.0})
    assert light["DT-H01-P1"] == pytest.approx(3 * one_day, abs=20.0)


def test_fallow_plots_are_not_watered() -> None:
    cal = {"planted_utc_s": START + 86400 * 10, "stages_d": [5, 5, 5, 5], "kc": [0.7, 1, 0.9],
           "root_m": [0.2, 0.3]}  # fmt: skip
    data = {
        "site": "dt", "start_utc_s": START, "pump_capacity_lpm": 30,
        "depth_mm_by_month": [4.0] * 12,
        "plots": [{"id": "DT-H01-P1", "household": "DT-H01", "area_m2": 90,
                   "emitter_flow_lpm": 10, "calendar": cal}],
    }  # fmt: skip
    litres, _ = run(FixedScheduleController(FixedScheduleConfig.from_mapping(data)), 2.0)
    assert litres["DT-H01-P1"] == 0.0


@settings(max_examples=25, deadline=None)
@given(
    flows=st.lists(st.floats(1.0, 30.0), min_size=1, max_size=8),
    capacity=st.floats(30.0, 80.0),
)
def test_never_exceeds_the_pump_capacity(flows: list[float], capacity: float) -> None:
    _, max_draw = run(make(flows, capacity), 1.0)
    assert max_draw <= capacity + 1e-9


def test_snapshot_restore_continues_identically() -> None:
    a = make([10.0, 20.0, 15.0])
    for k in range(400):
        a.scan(60.0 * k, {"agri/dt/rain_mm": Sample(0.0, Quality.GOOD, 60.0 * k)})
    b = make([10.0, 20.0, 15.0])
    b.restore(json.loads(json.dumps(a.snapshot())))
    for k in range(400, 1500):
        s = {"agri/dt/rain_mm": Sample(0.0, Quality.GOOD, 60.0 * k)}
        assert a.scan(60.0 * k, s) == b.scan(60.0 * k, s)


@pytest.mark.parametrize(
    ("over", "match"),
    [
        ({"depth_mm_by_month": [4.0] * 11}, "depth_mm_by_month"),
        ({"start_hours": [6, 6]}, "start_hours"),
        ({"pump_capacity_lpm": 5}, "exceeds pump_capacity_lpm"),
        ({"typo": 1}, "unknown key"),
    ],
)
def test_config_errors_name_the_key(over: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make([10.0], **over)
