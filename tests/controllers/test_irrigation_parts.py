"""Checkbook arithmetic, config validation and the fair pump schedule."""

from __future__ import annotations

import math

import pytest

from controllers.irrigation import Candidate, Checkbook, IrrigationConfig, pick_starts


def test_checkbook_arithmetic_by_hand() -> None:
    book = Checkbook(kc=1.1, taw_mm=54.0, blend_tau_s=3600.0, et0_hold_s=2 * 86400, max_age_s=1e9)
    assert book.update(0.0, 0.0, 5.0, 0.0, 0.0, 10.0) == 10.0  # first probe sets it
    # one day: 10 + 1.1 × 5 − 2 rain − 1 irrigation = 12.5 (probe bad)
    assert book.update(86400.0, 86400.0, None, 2.0, 1.0, None) == pytest.approx(12.5)
    # probe good after dt = τ: pulled 1 − e⁻¹ of the way to 20 (ETc over 1 h = 0.229 mm)
    dr = book.update(90000.0, 3600.0, 5.0, 0.0, 0.0, 20.0)
    before = 12.5 + 1.1 * 5.0 / 24.0
    assert dr == pytest.approx(before + (1 - math.exp(-1)) * (20.0 - before))
    # clamps: a big rain empties the depletion
    assert book.update(90060.0, 60.0, 5.0, 100.0, 0.0, None) == 0.0


def test_checkbook_expires_without_et0_and_probe() -> None:
    book = Checkbook(kc=1.0, taw_mm=50.0, blend_tau_s=1800.0, et0_hold_s=3600.0, max_age_s=1e9)
    assert book.update(0.0, 0.0, None, 0.0, 0.0, 20.0) == 20.0
    assert book.update(60.0, 60.0, None, 0.0, 0.0, None) is None  # no ET0 ever: unknown
    book2 = Checkbook(kc=1.0, taw_mm=50.0, blend_tau_s=1800.0, et0_hold_s=1e9, max_age_s=600.0)
    book2.update(0.0, 0.0, 4.0, 0.0, 0.0, 20.0)
    assert book2.update(600.0, 600.0, None, 0.0, 0.0, None) is not None
    assert book2.update(660.0, 60.0, None, 0.0, 0.0, None) is None  # anchor too old


def _base() -> dict:
    return {
        "site": "an_lac",
        "start_utc_s": 0,
        "pump_capacity_lpm": 30,
        "min_pressure_kpa": 100,
        "plots": [
            {"id": "AL-H01-P1", "household": "AL-H01", "area_m2": 10, "emitter_flow_lpm": 10,
             "theta_fc": 0.32, "theta_wp": 0.14, "root_depth_m": 0.3, "p": 0.5},
        ],
    }  # fmt: skip


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("plots", 0, "theta_wp"), 0.4, "theta_wp"),
        (("plots", 0, "emitter_flow_lpm"), 50, "plots[0].emitter_flow_lpm"),
        (("plots", 0, "p"), 1.5, "plots[0].p"),
        (("windows",), [[8, 5]], "windows[0]"),
        (("refill",), 2.0, "refill"),
        (("pump_capacity_lpm",), -1, "pump_capacity_lpm"),
        (("bogus",), 1, "bogus"),
    ],
)
def test_config_errors_name_the_key(path: tuple, value: object, message: str) -> None:
    data = _base()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        IrrigationConfig.from_mapping(data)


def test_config_defaults() -> None:
    cfg = IrrigationConfig.from_mapping(_base())
    assert cfg.name == "irrigation/an_lac" and cfg.scan_period_s == 60.0
    assert cfg.windows == ((5.0, 8.0), (16.0, 18.0))
    plot = cfg.plots[0]
    assert plot.taw_mm == pytest.approx(54.0) and plot.raw_mm == pytest.approx(27.0)
    assert plot.efficiency == 0.9


def test_schedule_round_robin_without_backfill() -> None:
    waiting = [
        Candidate("A1", "A", 10, 2.0),
        Candidate("A2", "A", 10, 3.0),
        Candidate("B1", "B", 25, 1.0),
        Candidate("C1", "C", 5, 1.0),
    ]
    starts, last = pick_starts(waiting, ["A", "B", "C"], None, 30.0)
    assert starts == ["A2"] and last == "A"  # B1 (25) does not fit in 20: stop, no back-fill
    starts, last = pick_starts(waiting, ["A", "B", "C"], "A", 40.0)
    assert starts == ["B1", "C1", "A2"] and last == "A"


def test_a_shade_net_scales_the_checkbook_crop_coefficient() -> None:
    from controllers.irrigation import PlotConfig

    base = {
        "id": "AL-H01-P1", "household": "AL-H01", "area_m2": 100.0, "emitter_flow_lpm": 10.0,
        "theta_fc": 0.3, "theta_wp": 0.15, "root_depth_m": 0.3, "p": 0.4, "kc": 1.05,
    }  # fmt: skip
    open_air = PlotConfig.from_mapping(base)
    netted = PlotConfig.from_mapping({**base, "et_factor": 0.75})
    assert open_air.crop_state(0.0) == (1.05, 0.3)
    kc, zr = netted.crop_state(0.0)  # type: ignore[misc]
    assert kc == pytest.approx(0.7875) and zr == 0.3
    for bad in (0.0, 1.6, math.nan):
        with pytest.raises(ValueError, match="et_factor"):
            PlotConfig.from_mapping({**base, "et_factor": bad})


def test_the_smart_config_gives_net_house_plots_the_plant_s_shade_factor() -> None:
    from datetime import datetime

    from sim.agri.plant import AgriPlantConfig
    from sim.agri.sites import load_sites
    from sim.weather import LOCAL_TZ
    from twin.agri_setup import smart_config

    site = {s.id: s for s in load_sites()}["AL"]
    cfg = smart_config(site, start=datetime(2026, 9, 1, tzinfo=LOCAL_TZ),
                       plant=AgriPlantConfig(net_house_et_factor=0.7))  # fmt: skip
    housed = {p.id for p in site.plots if p.net_house}
    assert housed, "An Lạc grows its flowers under nets"
    for plot in cfg.plots:
        assert plot.et_factor == (0.7 if plot.plot_id in housed else 1.0)
