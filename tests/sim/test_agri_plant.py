"""AgriPlant: protocol, water accounting, sensors, crop cycles, faults, reproducibility."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

import numpy as np
import pytest

from controllers.io import Direction, Quality
from sim.agri.plant import AgriPlant, AgriPlantConfig
from sim.agri.sites import load_sites
from sim.weather import LOCAL_TZ, WeatherDataError, generate_climate
from twin.plant import PlantModel

START = datetime(2025, 2, 1, tzinfo=LOCAL_TZ)


@pytest.fixture(scope="module")
def sites():
    return {s.id: s for s in load_sites()}


@pytest.fixture(scope="module")
def weather():
    return generate_climate(
        START - timedelta(days=2), 14 * 86400.0, 3600.0, rng=np.random.default_rng(4)
    )


def run(plant: AgriPlant, hours: float, open_plots: tuple[str, ...] = (), step: float = 60.0):
    plant.start(0.0)
    if open_plots:
        plant.actuate({f"agri/{p}/valve_open": True for p in open_plots})
        plant.actuate({f"agri/{plant.site.id}/pump_on": True})
    samples = dict(plant.sensors())
    for k in range(1, int(hours * 3600 / step) + 1):
        plant.advance(k * step)
        samples.update(plant.sensors())
    return samples


def test_protocol_and_points(sites, weather) -> None:
    plant = AgriPlant(sites["DT"], weather, run_start=START, rng=np.random.default_rng(1))
    assert isinstance(plant, PlantModel)
    names = {p.name: p.direction for p in plant.points()}
    assert names["agri/DT-H01-P1/soil_vwc"] is Direction.INPUT
    assert names["agri/DT-H01-P1/valve_open"] is Direction.OUTPUT
    assert names["agri/DT/pump_on"] is Direction.OUTPUT
    assert len(names) == 3 * len(sites["DT"].plots) + 6
    with pytest.raises(ValueError, match="not an actuator"):
        plant.actuate({"agri/XX-H01-P1/valve_open": True})


def test_water_delivered_reaches_the_balance_and_the_ledger_closes(sites, weather) -> None:
    site = sites["DT"]
    plant = AgriPlant(site, weather, run_start=START, rng=np.random.default_rng(1))
    pids = ("DT-H01-P1", "DT-H02-P1")
    run(plant, 30.0, pids)  # over a local midnight
    litres = plant.hydraulics.volume_l
    i = [plant.plot_ids.index(p) for p in pids]
    assert (litres[i] > 100.0).all()
    others = np.delete(litres, i)
    assert (others == 0.0).all()
    ledger = plant.balance.ledger()
    eff = plant.config.application_efficiency
    # mm into the root zone = litres x efficiency / area, for the finished balance intervals
    assert ledger.irrigation[i] == pytest.approx(litres[i] * eff / plant.area_m2[i], rel=1e-9)
    assert np.abs(ledger.residual).max() < 1e-9
    assert plant.hydraulics.energy_kwh > 0.0
    k = plant.kpis()
    assert k["water_m3"] == pytest.approx(litres.sum() / 1e3)
    assert k["application_losses_m3"] == pytest.approx(litres.sum() * (1 - eff) / 1e3)


def test_rain_is_neither_lost_nor_invented(sites, weather) -> None:
    plant = AgriPlant(sites["DT"], weather, run_start=START, rng=np.random.default_rng(2))
    samples_rain = 0.0
    plant.start(0.0)
    plant.sensors()
    for k in range(1, 3 * 1440 + 1):
        plant.advance(60.0 * k)
        samples_rain += plant.sensors()["agri/DT/rain_mm"].value
    offset = weather.seconds_since_start(START)
    truth = weather.rain_between(offset, offset + 3 * 86400.0)
    assert plant.balance.ledger().rain[0] == pytest.approx(truth, abs=1e-9)
    assert samples_rain == pytest.approx(truth, abs=3 * 1440 * 5e-4)  # rounded to 0.001 mm


def test_probes_read_the_root_zone_with_bias_and_noise(sites, weather) -> None:
    cfg = AgriPlantConfig()
    plant = AgriPlant(
        sites["DT"], weather, run_start=START, rng=np.random.default_rng(3), config=cfg
    )
    samples = run(plant, 1.0)
    theta = plant.balance.soil_moisture_vwc()
    read = np.array([samples[f"agri/{p}/soil_vwc"].value for p in plant.plot_ids])
    err = read - theta
    assert np.abs(err).max() < 5 * (cfg.probe.bias_sd + cfg.probe.noise_sd)
    assert 0.3 * cfg.probe.bias_sd < err.std() < 3 * cfg.probe.bias_sd
    exact = replace(cfg, probe=replace(cfg.probe, bias_sd=0.0, noise_sd=0.0))
    plant2 = AgriPlant(
        sites["DT"], weather, run_start=START, rng=np.random.default_rng(3), config=exact
    )
    samples2 = run(plant2, 1.0)
    read2 = np.array([samples2[f"agri/{p}/soil_vwc"].value for p in plant2.plot_ids])
    assert read2 == pytest.approx(plant2.balance.soil_moisture_vwc(), abs=1e-4)


def test_without_water_the_crops_stress_and_yield_drops(sites, weather) -> None:
    cfg = AgriPlantConfig(initial_depletion_fraction=0.5)
    plant = AgriPlant(
        sites["DT"], weather, run_start=START, rng=np.random.default_rng(5), config=cfg
    )
    run(plant, 10 * 24.0, step=600.0)
    k = plant.kpis()
    assert k["water_m3"] == 0.0
    assert k["stress_days"] > 0 and k["yield_loss_proxy"] > 0.0
    assert k["eta_mm"] < k["etc_mm"]


def test_replanting_resets_the_root_zone(sites, weather) -> None:
    site = sites["DT"]
    # water spinach: 30-d season, 7-d gap; find a plot replanted inside the run
    cfg = AgriPlantConfig()
    plant = AgriPlant(site, weather, run_start=START, rng=np.random.default_rng(6), config=cfg)
    ages, _ = plant._crop_ages(START.date())
    run(plant, 10 * 24.0, step=600.0)
    hist = plant.history
    replanted = [
        i
        for i, p in enumerate(site.plots)
        if any(plant._crop_ages(d["date"] + timedelta(days=1))[0][i] == 0 for d in hist[:-1])
    ]
    assert replanted, "the test window should contain a replanting"
    i = replanted[0]
    zr_min = plant._crops[i].zr_min
    days_zr = [float(d["taw_mm"][i]) for d in hist]
    assert min(days_zr) == pytest.approx(1000 * (site.soil.theta_fc - site.soil.theta_wp) * zr_min)
    assert np.abs(plant.balance.ledger().residual).max() < 1e-9
    assert ages is not None


def test_dead_and_stuck_probes(sites, weather) -> None:
    plant = AgriPlant(sites["DT"], weather, run_start=START, rng=np.random.default_rng(7))
    plant.start(0.0)
    plant.sensors()
    plant.fail_probe("DT-H01-P1", "dead")
    plant.fail_probe("DT-H02-P1", "stuck")
    seen = []
    for k in range(1, 200):
        plant.advance(60.0 * k)
        s = plant.sensors()
        if "agri/DT-H01-P1/soil_vwc" in s:
            assert s["agri/DT-H01-P1/soil_vwc"].quality is Quality.BAD
            seen.append(s["agri/DT-H02-P1/soil_vwc"].value)
    assert len(seen) >= 3 and len(set(seen)) == 1
    with pytest.raises(ValueError, match="probe fault mode"):
        plant.fail_probe("DT-H01-P1", "drifting")


def test_same_seed_same_run_other_seed_differs(sites, weather) -> None:
    def kpis(seed: int):
        plant = AgriPlant(sites["AL"], weather, run_start=START, rng=np.random.default_rng(seed))
        s = run(plant, 6.0, ("AL-H01-P1",))
        return plant.kpis(), s["agri/AL-H02-P1/soil_vwc"].value

    assert kpis(9) == kpis(9)
    assert kpis(9)[1] != kpis(10)[1]


def test_weather_must_cover_the_run(sites, weather) -> None:
    late = START + timedelta(days=30)
    plant = AgriPlant(sites["DT"], weather, run_start=late, rng=np.random.default_rng(1))
    with pytest.raises(WeatherDataError):
        plant.start(0.0)
    with pytest.raises(ValueError, match="repeat_gap_d"):
        AgriPlantConfig(repeat_gap_d=-1.0)
    assert date(2025, 2, 1) == START.date()
