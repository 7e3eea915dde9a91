"""Lock-step site runs: paired comparisons see the same weather, probes and forecasts."""

from __future__ import annotations

from datetime import datetime

import pytest

from controllers.irrigation import FixedScheduleController, IrrigationController
from sim.agri.plant import AgriPlantConfig
from sim.agri.sites import load_sites
from sim.weather import LOCAL_TZ
from twin.agri_season import compare_site, run_site, season_weather, summarise_pair
from twin.agri_setup import fixed_config, smart_config

START = datetime(2026, 3, 1, tzinfo=LOCAL_TZ)


@pytest.fixture(scope="module")
def site():  # type: ignore[no-untyped-def]
    return {s.id: s for s in load_sites()}["DT"]


@pytest.fixture(scope="module")
def weather():  # type: ignore[no-untyped-def]
    return season_weather(START, 2.0, 5)


def _record(log: list):  # type: ignore[no-untyped-def]
    def on_step(now, inputs, outputs) -> None:  # type: ignore[no-untyped-def]
        if now % 21600 == 0:
            log.append(
                (
                    now,
                    inputs["agri/DT/forecast_prob"].value,
                    inputs["agri/DT/forecast_rain_mm"].value,
                    inputs["agri/DT/et0_mm_d"].value,
                )
            )

    return on_step


def test_both_controllers_see_the_same_weather_and_forecasts(site, weather) -> None:  # type: ignore[no-untyped-def]
    cfg = AgriPlantConfig(initial_depletion_fraction=0.5)
    logs: list[list] = [[], []]
    ctrls = [
        IrrigationController(smart_config(site, start=START, plant=cfg)),
        FixedScheduleController(fixed_config(site, start=START, plant=cfg)),
    ]
    runs = [
        run_site(
            site,
            c,
            weather,
            start=START,
            days=2.0,
            seed=9,
            plant_config=cfg,
            on_step=_record(log),
        )
        for c, log in zip(ctrls, logs, strict=True)
    ]
    assert logs[0] == logs[1] and len(logs[0]) == 8
    smart, fixed = runs
    assert smart.kpis["rain_mm"] == fixed.kpis["rain_mm"]
    assert smart.kpis["water_m3"] != fixed.kpis["water_m3"]
    summary = summarise_pair(smart, fixed)
    assert summary["water_saving"] == pytest.approx(
        1 - smart.kpis["water_m3"] / fixed.kpis["water_m3"], abs=1e-3
    )
    assert smart.speed_x_real_time > 1000


def test_compare_site_is_reproducible(site, weather) -> None:  # type: ignore[no-untyped-def]
    a = compare_site(site, weather, start=START, days=1.0, seed=3)
    b = compare_site(site, weather, start=START, days=1.0, seed=3)
    assert [r.kpis for r in a] == [r.kpis for r in b]


def test_a_scan_period_that_is_not_a_multiple_of_the_step_is_refused(site, weather) -> None:  # type: ignore[no-untyped-def]
    cfg = AgriPlantConfig(step_s=60.0)
    ctrl = IrrigationController(
        smart_config(site, start=START, plant=cfg, overrides={"scan_period_s": 90})
    )
    with pytest.raises(ValueError, match="not a multiple"):
        run_site(site, ctrl, weather, start=START, days=0.1, seed=1, plant_config=cfg)
