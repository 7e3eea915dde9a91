"""Lighting sensors: daylight, motion, rain gauge, traffic counters, meters."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import numpy as np
import pytest

from sim.lighting.sensors import (
    AmbientLightSensor,
    MotionSensors,
    PowerMeters,
    RainGauge,
    TrafficCounters,
    ambient_lx_at,
    daylight_illuminance_lx,
    daylight_lx_scalar,
)
from sim.weather import LOCAL_TZ, sunrise_sunset


def test_ambient_is_dark_at_night_and_bright_at_noon_in_dong_ha():
    day = datetime(2025, 6, 15, tzinfo=LOCAL_TZ)
    assert ambient_lx_at(day.replace(hour=0)) < 0.01
    assert ambient_lx_at(day.replace(hour=22)) < 0.01
    assert ambient_lx_at(day.replace(hour=12)) > 1000.0
    assert ambient_lx_at(datetime(2025, 1, 1, 12, tzinfo=LOCAL_TZ)) > 1000.0
    # overcast and rain darken the day
    noon = day.replace(hour=12)
    assert ambient_lx_at(noon, cloud_cover=1.0, rain_mm_h=20.0) < 0.3 * ambient_lx_at(noon)


def test_twilight_falls_monotonically_through_sunset():
    _rise, sset = sunrise_sunset(datetime(2025, 10, 1).date())
    times = [sset + timedelta(minutes=m) for m in range(-60, 90, 5)]
    lx = [ambient_lx_at(t) for t in times]
    assert all(b < a or b == a == min(lx) for a, b in itertools.pairwise(lx))
    assert 100 < ambient_lx_at(sset) < 2000  # a few hundred lux at sunset
    h = np.linspace(-25, 90, 200)
    np.testing.assert_allclose([daylight_lx_scalar(v) for v in h], daylight_illuminance_lx(h))


def test_photocell_noise_and_range():
    cell = AmbientLightSensor(4, np.random.default_rng(0), noise_frac=0.05)
    r = cell.read(10_000.0)
    assert r.shape == (4,)
    assert np.all(np.abs(r / 10_000.0 - 1) < 0.3)
    assert np.all(cell.read(1e6) <= 150_000.0)


def _sensors(p: float = 1.0, false_per_h: float = 0.0) -> MotionSensors:
    x = np.array([0.0, 35.0, 70.0])
    return MotionSensors(x, np.zeros(3), np.random.default_rng(1), 15.0, p, false_per_h)


def test_motion_fires_when_a_user_passes_and_not_otherwise():
    ms = _sensors()
    for ux in np.arange(-30.0, 100.0, 2.0):
        users = ms.users_in_zone(np.array([ux]), np.array([3.0]))
        fired = ms.detect(users, 1.0)
        expected = np.abs(ms.x - ux) ** 2 + 9.0 <= 15.0**2
        np.testing.assert_array_equal(fired, expected)
    nobody = ms.users_in_zone(np.array([]), np.array([]))
    assert not ms.detect(nobody, 60.0).any()
    far = ms.users_in_zone(np.array([35.0]), np.array([40.0]))  # 40 m off the road
    assert not ms.detect(far, 60.0).any()


def test_motion_false_triggers_and_misses_have_their_rates():
    ms = _sensors(p=0.5, false_per_h=3600.0 * np.log(2))  # P(false in 1 s) = 0.5
    fired = np.array([ms.detect(np.zeros(3), 1.0) for _ in range(4000)])
    assert fired.mean() == pytest.approx(0.5, abs=0.03)
    ms = _sensors(p=0.5)
    fired = np.array([ms.detect(np.ones(3), 1.0) for _ in range(4000)])
    assert fired.mean() == pytest.approx(0.5, abs=0.03)


def test_meter_energy_is_the_integral_of_power():
    rng = np.random.default_rng(3)
    m = PowerMeters(2, rng, gain_sd=0.0, noise_sd=0.01)
    power = np.array([[100.0, 0.5], [50.0, 0.5], [8.0, 100.0]])
    dts = np.array([600.0, 1800.0, 60.0])
    for p, dt in zip(power, dts, strict=True):
        m.integrate(p, dt)
    np.testing.assert_allclose(m.energy_kwh, (power * dts[:, None]).sum(axis=0) / 3.6e6)
    r = np.array([m.read(np.array([100.0, 100.0])) for _ in range(500)])
    assert r.mean() == pytest.approx(100.0, abs=0.2)
    assert 0.5 < r.std() < 1.5


def test_rain_gauge_keeps_the_total():
    g = RainGauge(1, bucket_mm=0.2)
    rates = np.array([0.0, 3.0, 12.5, 0.7, 0.0, 50.0])
    readings = np.array([g.read(r, 300.0)[0] for r in rates])
    total_true = rates.sum() * 300 / 3600
    total_read = readings.sum() * 300 / 3600
    assert total_read <= total_true + 1e-9
    assert total_true - total_read < 0.2


def test_traffic_counter_reports_the_last_complete_quarter_hour():
    c = TrafficCounters(2, bin_s=900.0)
    assert c.veh_h() is None
    for k in range(1, 16):
        c.add(k * 60.0, [2, 0])
    assert c.veh_h() is None  # bin [0, 900) just completed at t=900 is reported from 960
    c.add(960.0, [1, 1])
    np.testing.assert_allclose(c.veh_h(), [30 * 4, 0])
