"""The lighting plant: protocol, reporting, faults, flood trip, determinism, energy."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from controllers.io import Direction, Quality
from sim.lighting.faults import (
    Fault,
    FaultError,
    driver_failure,
    lamp_failure,
    link_down,
    stuck_on,
    supply_loss,
)
from sim.lighting.layout import hung_vuong_layout
from sim.lighting.luminaire import hps_250w
from sim.lighting.plant import LightingPlant, LightingPlantConfig
from sim.weather import LOCAL_TZ
from twin.plant import PlantModel

NIGHT = datetime(2025, 1, 6, 20, 0, tzinfo=LOCAL_TZ)  # a Monday evening
NOON = datetime(2025, 1, 6, 12, 0, tzinfo=LOCAL_TZ)


@pytest.fixture(scope="module")
def layout():
    return hung_vuong_layout()


def _plant(layout, **kw) -> LightingPlant:
    base = {"start": NIGHT, "layout": layout, "link_loss_prob": 0.0, "traffic": "none"}
    base.update(kw)
    return LightingPlant(LightingPlantConfig(**base))


def _all_dim(plant: LightingPlant, pct: float) -> dict[str, float]:
    return {f"light/{p}/dim_pct": pct for p in plant.pole_ids}


def test_protocol_and_points(layout):
    plant = _plant(layout)
    assert isinstance(plant, PlantModel)
    assert plant.name == "lighting"
    specs = {s.name: s for s in plant.points()}
    p, c = layout.poles[0].id, layout.cabinets[0].id
    for field in ("motion", "power_w", "link_ok"):
        assert specs[f"light/{p}/{field}"].direction is Direction.INPUT
    for field in ("dim_pct", "fault"):
        assert specs[f"light/{p}/{field}"].direction is Direction.OUTPUT
    for field in ("ambient_lx", "rain_mm_h", "volume_veh_h", "supply_ok", "power_w", "energy_kwh"):
        assert specs[f"light/{c}/{field}"].direction is Direction.INPUT
    assert len(specs) == 5 * len(layout.poles) + 6 * len(layout.cabinets)
    assert specs[f"light/{p}/dim_pct"].high == 100.0


def test_reports_by_exception(layout):
    plant = _plant(layout, meter_noise_sd=0.0, meter_gain_sd=0.0, ambient_noise_frac=0.0)
    plant.start(0.0)
    first = plant.sensors()
    assert len(first) == sum(1 for s in plant.points() if s.direction is Direction.INPUT)
    plant.advance(60.0)
    second = plant.sensors()
    assert len(second) < len(first)
    assert all(not k.endswith("/link_ok") and not k.endswith("/supply_ok") for k in second)
    plant.actuate(_all_dim(plant, 100.0))
    plant.advance(120.0)
    third = plant.sensors()
    assert all(f"light/{p}/power_w" in third for p in plant.pole_ids)
    assert third[f"light/{plant.pole_ids[0]}/power_w"].value == pytest.approx(100.0)


def test_same_seed_same_samples(layout):
    def run(seed: int) -> list[tuple]:
        plant = _plant(layout, traffic="synthetic", link_loss_prob=0.05, seed=seed)
        plant.start(0.0)
        plant.actuate(_all_dim(plant, 40.0))
        out = []
        for k in range(1, 31):
            plant.advance(k * 60.0)
            out += sorted((n, s.value, s.quality) for n, s in plant.sensors().items())
        return out

    a, b, c = run(7), run(7), run(8)
    assert a == b
    assert a != c


def test_bad_actuator_values_are_rejected_clearly(layout):
    plant = _plant(layout)
    plant.start(0.0)
    p = plant.pole_ids[0]
    with pytest.raises(ValueError, match=f"light/{p}/dim_pct.*outside"):
        plant.actuate({f"light/{p}/dim_pct": 150.0})
    with pytest.raises(ValueError, match="not finite"):
        plant.actuate({f"light/{p}/dim_pct": float("nan")})
    with pytest.raises(ValueError, match="INPUT"):
        plant.actuate({f"light/{p}/power_w": 10.0})
    with pytest.raises(ValueError, match="not a point"):
        plant.actuate({"light/HV-X99/dim_pct": 10.0})
    with pytest.raises(ValueError, match="expected text"):
        plant.actuate({f"light/{p}/fault": 3})


def test_config_errors_name_the_key(layout):
    with pytest.raises(ValueError, match=r"LightingPlantConfig.luminaire"):
        LightingPlantConfig(start=NIGHT, luminaire="sodium")
    with pytest.raises(ValueError, match=r"LightingPlantConfig.start"):
        LightingPlantConfig(start=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match=r"LightingPlantConfig.link_loss_prob"):
        LightingPlantConfig(start=NIGHT, link_loss_prob=2.0)
    with pytest.raises(ValueError, match=r"LightingPlantConfig.luminaire_model"):
        LightingPlantConfig(start=NIGHT, luminaire="led", luminaire_model=hps_250w())


def test_led_dimming_power_and_min_dim(layout):
    plant = _plant(layout)
    m = plant.model
    plant.start(0.0)
    plant.actuate(_all_dim(plant, 50.0) | {f"light/{plant.pole_ids[0]}/dim_pct": 3.0})
    plant.advance(60.0)
    assert plant.level[0] == pytest.approx(m.min_level)
    assert plant.level[1] == pytest.approx(0.5)
    assert plant.power_w[1] == pytest.approx(m.rated_power_w * (m.power_a + 0.5 * m.power_b))


def test_hps_plant_ignores_dimming(layout):
    plant = _plant(layout, luminaire="hps_fixed")
    plant.start(0.0)
    plant.actuate(_all_dim(plant, 30.0))
    plant.advance(60.0)
    np.testing.assert_allclose(plant.level, 1.0)
    np.testing.assert_allclose(plant.power_w, plant.model.rated_power_w)
    plant.actuate(_all_dim(plant, 0.0))
    plant.advance(120.0)
    np.testing.assert_allclose(plant.power_w, 0.0)


def test_energy_is_the_integral_of_power(layout):
    plant = _plant(layout, cabinet_overhead_w=5.0, meter_gain_sd=0.0)
    plant.start(0.0)
    expected = np.zeros(len(layout.cabinets))
    for k, pct in enumerate([100.0, 50.0, 0.0, 20.0], start=1):
        plant.actuate(_all_dim(plant, pct))
        plant.advance(k * 900.0)
        expected += plant.cabinet_power_w * 900.0 / 3.6e6
    kp = plant.kpis()
    np.testing.assert_allclose(list(kp["energy_kwh_by_cabinet"].values()), expected)
    np.testing.assert_allclose(list(kp["metered_energy_kwh_by_cabinet"].values()), expected)
    assert kp["energy_kwh_total"] == pytest.approx(expected.sum())
    latest = plant.latest()
    assert latest[f"light/{layout.cabinets[0].id}/energy_kwh"].value == pytest.approx(
        expected[0], abs=1e-5
    )
    # three of four quarter hours lit (the 0 % one only burns standby)
    assert kp["lamp_hours"] == pytest.approx(len(layout.poles) * 0.75)
    assert kp["burning_hours"] == pytest.approx(0.75)


def _step_with(layout, fault: Fault, pct: float, **kw) -> tuple[LightingPlant, int]:
    plant = _plant(layout, **kw)
    plant.inject(fault)
    plant.start(0.0)
    plant.actuate(_all_dim(plant, pct))
    plant.advance(60.0)  # before the fault (it starts at 60 s)
    plant.advance(120.0)
    k = plant.pole_ids.index(fault.target) if not fault.on_cabinet else -1
    return plant, k


def test_lamp_failure(layout):
    plant, k = _step_with(layout, lamp_failure(layout.poles[3].id, 60.0), 80.0)
    assert plant.light[k] == 0.0
    assert plant.power_w[k] == pytest.approx(plant.model.failed_lamp_w)
    assert plant.light[k + 1] > 0.7


def test_driver_failure_stops_dimming(layout):
    plant, k = _step_with(layout, driver_failure(layout.poles[3].id, 60.0), 30.0)
    assert plant.level[k] == 1.0
    assert plant.power_w[k] == pytest.approx(plant.model.rated_power_w)
    assert plant.level[k + 1] == pytest.approx(0.3)
    plant.actuate(_all_dim(plant, 0.0))
    plant.advance(180.0)
    assert plant.level[k] == 0.0  # the relay still switches it off


def test_stuck_on_burns_by_day(layout):
    plant, k = _step_with(layout, stuck_on(layout.poles[3].id, 60.0), 0.0, start=NOON)
    assert plant.ambient_lx > 1000
    assert plant.level[k] == 1.0 and plant.light[k] > 0.9
    assert plant.power_w[k] == pytest.approx(plant.model.rated_power_w)
    assert plant.power_w[k + 1] == pytest.approx(plant.model.standby_w)


def test_link_down_makes_the_power_reading_bad(layout):
    pid = layout.poles[3].id
    plant, k = _step_with(layout, link_down(pid, 60.0), 100.0)
    latest = plant.latest()
    assert latest[f"light/{pid}/link_ok"].value is False
    assert latest[f"light/{pid}/power_w"].quality is Quality.BAD
    assert plant.light[k] > 0.9  # the lamp is unaffected


def test_cabinet_supply_loss(layout):
    cab = layout.cabinets[1]
    plant, _ = _step_with(layout, supply_loss(cab.id, 60.0, 150.0), 100.0)
    idx = [plant.pole_ids.index(p) for p in cab.pole_ids]
    others = [k for k in range(len(plant.pole_ids)) if k not in idx]
    assert np.all(plant.light[idx] == 0) and np.all(plant.power_w[idx] == 0)
    assert np.all(plant.light[others] > 0.9)
    latest = plant.latest()
    assert latest[f"light/{cab.id}/supply_ok"].value is False
    assert latest[f"light/{cab.id}/power_w"].value == 0.0
    assert all(latest[f"light/{p}/link_ok"].value is False for p in cab.pole_ids)
    assert all(latest[f"light/{p}/power_w"].quality is Quality.BAD for p in cab.pole_ids)
    plant.advance(180.0)  # the fault ended at 150 s
    assert np.all(plant.light[idx] > 0.9)
    assert plant.latest()[f"light/{cab.id}/supply_ok"].value is True


def test_flood_water_trips_a_cabinet_until_reset(layout):
    cab = layout.cabinets[2]
    plant = _plant(layout, cabinet_plinth_m=0.3)
    plant.start(0.0)
    plant.actuate(_all_dim(plant, 100.0))
    idx = [plant.pole_ids.index(p) for p in cab.pole_ids]
    plant.set_cabinet_water_depth(cab.id, 0.25)
    plant.advance(60.0)
    assert np.all(plant.light[idx] > 0.9)
    plant.set_cabinet_water_depth(cab.id, 0.35)
    plant.advance(120.0)
    assert np.all(plant.power_w[idx] == 0)
    assert plant.latest()[f"light/{cab.id}/supply_ok"].value is False
    with pytest.raises(FaultError, match="above its"):
        plant.reset_cabinet(cab.id)
    plant.set_cabinet_water_depth(cab.id, 0.0)
    plant.advance(180.0)
    assert np.all(plant.power_w[idx] == 0)  # latched
    plant.reset_cabinet(cab.id)
    plant.advance(240.0)
    assert np.all(plant.light[idx] > 0.9)
    assert plant.kpis()["flood_trips"] == [{"cabinet": cab.id, "t_s": 60.0}]


def test_inject_rejects_unknown_targets(layout):
    plant = _plant(layout)
    with pytest.raises(FaultError, match="unknown pole"):
        plant.inject(lamp_failure("HV-E999", 0.0))
    with pytest.raises(FaultError, match="unknown cabinet"):
        plant.inject(supply_loss("HV-C99", 0.0))
    with pytest.raises(FaultError, match="kind"):
        Fault("meltdown", "HV-E01", 0.0)


def test_controller_alerts_are_scored_against_injected_faults(layout):
    pid = layout.poles[5].id
    plant = _plant(layout)
    plant.inject(lamp_failure(pid, 300.0))
    plant.start(0.0)
    plant.actuate(_all_dim(plant, 100.0))
    for k in range(1, 11):
        if k == 8:
            plant.actuate({f"light/{pid}/fault": "lampFailure"})
        plant.advance(k * 60.0)
    rep = plant.fault_report()
    assert rep[0]["detected"] and rep[0]["code_matches"]
    assert rep[0]["delay_s"] == pytest.approx(420.0 - 300.0)
    plant.actuate({f"light/{layout.poles[9].id}/fault": "lampFailure"})
    assert plant.kpis()["false_alerts"] == 1


def test_observed_road_users_trigger_motion_and_counts(layout):
    plant = _plant(layout, motion_p_detect=1.0, motion_false_per_h=0.0, counter_bin_s=900.0)
    plant.start(0.0)
    cl = layout.centreline
    target = layout.poles[20]
    ux, uy = cl.point_at(np.array([target.station_m]))  # on the centreline, 9.3 m from both
    plant.observe_road_users(10.0, ux, uy)
    plant.advance(60.0)
    motion = {p: plant.latest()[f"light/{p}/motion"].value for p in plant.pole_ids}
    assert motion[target.id]
    assert sum(motion.values()) == 2  # the pole and the one opposite it
    plant.advance(120.0)
    assert not any(plant.latest()[f"light/{p}/motion"].value for p in plant.pole_ids)
    # a vehicle with an id driving the whole section is counted once per segment
    stations = np.arange(0.0, cl.length_m, 10.0)
    xs, ys = cl.point_at(stations)
    t = 120.0
    for x, y in zip(xs, ys, strict=True):
        t += 1.0
        plant.observe_road_users(t, np.array([x]), np.array([y]), ids=["car1"])
    for k in range(3, 18):
        plant.advance(k * 60.0)
    volume = [plant.latest()[f"light/{c}/volume_veh_h"].value for c in plant.cabinet_ids]
    assert volume == [4.0] * len(plant.cabinet_ids)  # 1 vehicle in the first 15 min


def test_synthetic_traffic_drives_motion_and_volume(layout):
    plant = _plant(layout, traffic="synthetic", record_period_s=600.0)
    plant.start(0.0)
    seen = np.zeros(len(plant.pole_ids))
    for k in range(1, 61):
        plant.advance(k * 60.0)
        seen += [plant.latest()[f"light/{p}/motion"].value for p in plant.pole_ids]
    assert seen.min() > 0  # at 20:00 every pole sees someone within an hour
    vol = plant.latest()[f"light/{plant.cabinet_ids[0]}/volume_veh_h"].value
    expected = plant.traffic.rate_veh_h(3000.0)
    assert vol == pytest.approx(expected, rel=0.5)
    h = plant.history()
    assert h.light.shape == (7, len(plant.pole_ids))
    assert h.t_s[0] == 0.0 and h.t_s[-1] == 3600.0
