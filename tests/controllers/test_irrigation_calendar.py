"""The crop calendar: FAO-56 curves equal to the plant's, fallow periods, config errors."""

from __future__ import annotations

import numpy as np
import pytest
from test_irrigation_controller import START, inputs, theta_for

from controllers.irrigation import IrrigationConfig, IrrigationController
from controllers.irrigation.calendar import CropCalendar
from sim.agri.crops import CROPS, kc_curve, root_depth_curve

DAY = 86400.0


def calendar_of(name: str, planted: float, gap: float | None = None) -> CropCalendar:
    c = CROPS[name]
    data = {
        "planted_utc_s": planted,
        "stages_d": [c.l_ini, c.l_dev, c.l_mid, c.l_late],
        "kc": [c.kc_ini, c.kc_mid, c.kc_end],
        "root_m": [c.zr_min, c.zr_max],
    }
    if gap is not None:
        data["repeat_gap_d"] = gap
    return CropCalendar.from_mapping(data)


@pytest.mark.parametrize("name", sorted(CROPS))
def test_curves_match_the_plant_model(name: str) -> None:
    c = CROPS[name]
    cal = calendar_of(name, 0.0)
    days = np.linspace(0.0, c.season_length_days - 1e-6, 97)
    kc = kc_curve(days, c.l_ini, c.l_dev, c.l_mid, c.l_late, c.kc_ini, c.kc_mid, c.kc_end)
    zr = root_depth_curve(days, c.l_ini, c.l_dev, c.zr_min, c.zr_max)
    assert [cal.kc(float(d)) for d in days] == pytest.approx(list(kc), abs=1e-12)
    assert [cal.root_depth_m(float(d)) for d in days] == pytest.approx(list(zr), abs=1e-12)


def test_fallow_before_planting_after_harvest_and_between_cycles() -> None:
    cal = calendar_of("lettuce", 1000.0 * DAY, gap=5.0)  # 75-d season
    assert cal.day(999.0 * DAY) is None
    assert cal.day(1000.0 * DAY) == 0.0
    assert cal.day(1074.5 * DAY) == pytest.approx(74.5)
    assert cal.day(1077.0 * DAY) is None  # in the 5-day gap
    assert cal.day(1081.0 * DAY) == pytest.approx(1.0)  # second cycle
    once = calendar_of("lettuce", 1000.0 * DAY)
    assert once.day(1081.0 * DAY) is None


def _controller(planted_utc_s: float) -> IrrigationController:
    data = {
        "site": "an_lac",
        "start_utc_s": START,
        "pump_capacity_lpm": 30,
        "min_pressure_kpa": 100,
        "plots": [{
            "id": "AL-H01-P1", "household": "AL-H01", "area_m2": 10, "emitter_flow_lpm": 10,
            "theta_fc": 0.32, "theta_wp": 0.14, "root_depth_m": 0.3, "p": 0.5,
            "calendar": {"planted_utc_s": planted_utc_s, "stages_d": [10, 10, 10, 10],
                         "kc": [0.5, 1.0, 0.9], "root_m": [0.3, 0.3]},
        }],
    }  # fmt: skip
    return IrrigationController(IrrigationConfig.from_mapping(data))


def test_a_fallow_plot_is_not_irrigated_a_planted_one_is() -> None:
    dry = {"AL-H01-P1": theta_for(40.0)}  # Dr 40 mm > RAW 27 mm
    fallow = _controller(START + 30 * DAY)  # planted in a month
    planted = _controller(START - 5 * DAY)
    out_f = fallow.scan(0.0, inputs(fallow, 0.0, dry))
    out_p = planted.scan(0.0, inputs(planted, 0.0, dry))
    assert out_f["agri/AL-H01-P1/valve_open"] is False
    assert out_p["agri/AL-H01-P1/valve_open"] is True
    assert not [a for a in fallow.alarms() if a.code == "DEPLETION_UNKNOWN"]


def test_checkbook_uses_the_calendar_kc() -> None:
    # two controllers, probe lost after the first scan: the checkbook runs on Kc
    young = _controller(START - 1 * DAY)  # Kc ini 0.5
    mature = _controller(START - 25 * DAY)  # Kc mid 1.0
    wet = {"AL-H01-P1": theta_for(0.0)}
    for ctrl in (young, mature):
        ctrl.scan(0.0, inputs(ctrl, 0.0, wet, et0=4.0))
        ctrl.scan(3600.0, inputs(ctrl, 3600.0, {}, et0=4.0))
    dy, dm = young.depletion_mm["AL-H01-P1"], mature.depletion_mm["AL-H01-P1"]
    assert dy == pytest.approx(0.5 * 4.0 / 24.0)
    assert dm == pytest.approx(1.0 * 4.0 / 24.0)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"stages_d": [1, 2, 3]}, "stages_d"),
        ({"kc": [0.5, 3.0, 0.9]}, "kc"),
        ({"root_m": [0.5, 0.2]}, "root_m"),
        ({"repeat_gap_d": -1}, "repeat_gap_d"),
        ({"planted_utc_s": "2024-09-01"}, "planted_utc_s"),
        ({"harvest": 3}, "unknown key"),
    ],
)
def test_config_errors_name_the_key(change: dict, match: str) -> None:
    data = {"planted_utc_s": 0, "stages_d": [1, 2, 3, 4], "kc": [0.5, 1, 0.9], "root_m": [0.2, 0.3]}
    data.update(change)
    with pytest.raises(ValueError, match=match):
        CropCalendar.from_mapping(data, "plots[0].calendar")
