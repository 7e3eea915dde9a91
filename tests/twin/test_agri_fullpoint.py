"""A wet-reading probe is found only if a refill really reaches field capacity: the
full-point overshoot lets the controller learn the probe's offset."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from controllers.irrigation import IrrigationController
from sim.agri.plant import AgriPlant, AgriPlantConfig, ProbeSpec
from sim.agri.sites import load_sites
from sim.weather import LOCAL_TZ
from twin.agri_season import season_weather
from twin.agri_setup import smart_config
from twin.hil_session import run_inprocess

START = datetime(2026, 3, 10, tzinfo=LOCAL_TZ)  # dry season: no soaking rain to learn from
DAYS = 12
WET = 0.02  # m³/m³: every probe reads this much too wet


def _learned_offsets(overshoot: float) -> list[float]:
    """The learned correction of every plot that had a full-point check (m³/m³)."""
    site = {s.id: s for s in load_sites()}["DT"]
    config = AgriPlantConfig(probe=ProbeSpec(bias_sd=0.0, noise_sd=0.0))
    plant = AgriPlant(
        site, season_weather(START, DAYS, 5), run_start=START,
        rng=np.random.default_rng(3), config=config,
    )  # fmt: skip
    plant._probe_bias[:] = WET  # a batch of probes all off the same way
    controller = IrrigationController(
        smart_config(site, start=START, plant=config, overrides={"fullpoint_overshoot": overshoot})
    )
    run_inprocess(plant, controller, round(DAYS * 86400 / plant.step_s))
    plots = controller.snapshot()["plots"]
    return [float(s["offset_vwc"]) for s in plots.values() if s["fullpoint_checks"] > 0]


def test_the_overshoot_reveals_a_wet_reading_probe():
    blind, seen = _learned_offsets(0.0), _learned_offsets(0.1)
    assert len(blind) >= 5 and len(seen) >= 5, "plots in season should have been refilled"
    # without the overshoot the refill stops short of field capacity: the offset hides
    assert np.mean(blind) > -0.1 * WET
    # with it each check sees the offset and corrects a share of it (gain 0.3 a check)
    assert max(seen) < -0.2 * WET
