"""Synthetic Hùng Vương traffic: yearly volume, weekly shape, sensors seeing vehicles in turn."""

from __future__ import annotations

import math
import time
from datetime import date, datetime

import numpy as np
import pytest

from sim.lighting.traffic_profile import (
    HourlyVolumes,
    SyntheticTraffic,
    hung_vuong_volumes,
    load_weekday_shares,
)
from sim.weather import LOCAL_TZ

START = datetime(2025, 1, 1, tzinfo=LOCAL_TZ)


def _traffic(volumes: HourlyVolumes, seed: int = 0, **kw) -> SyntheticTraffic:
    poles = np.arange(10.0, 2200.0, 35.0)
    return SyntheticTraffic(
        volumes, START, 2207.0, poles, [500.0, 1500.0], np.random.default_rng(seed), **kw
    )


def test_yearly_total_matches_aadt_times_365():
    v = hung_vuong_volumes()
    tr = _traffic(v)
    step = 900.0
    n = round(365 * 86400 / step)
    counts = np.zeros(2, dtype=np.int64)
    tic = time.perf_counter()
    for k in range(n):
        counts += tr.step(k * step, (k + 1) * step).counts
    wall = time.perf_counter() - tic
    expected = v.expected_between(date(2025, 1, 1), date(2025, 12, 31))
    # the year's weekday/weekend mix differs from 5:2 by at most one day in 365
    assert expected == pytest.approx(v.aadt_veh_day * 365, rel=2e-3)
    sigma = math.sqrt(expected)
    assert abs(tr.total_arrivals - expected) < 5 * sigma
    assert abs(tr.total_arrivals - v.aadt_veh_day * 365) < 5 * sigma + 3e-3 * expected
    # every vehicle crosses each counter once (except the few still on the road)
    assert np.all(np.abs(counts - tr.total_arrivals) <= tr.on_section + 1)
    assert tr.expected_vehicles(0.0, 365 * 86400.0) == pytest.approx(expected, rel=1e-9)
    assert wall < 60.0


def test_weekday_and_weekend_shapes():
    v = hung_vuong_volumes()
    shares = load_weekday_shares()
    np.testing.assert_allclose(v.weekday_shares, shares)
    rates = v.rates_veh_h()
    assert rates.shape == (7, 24)
    np.testing.assert_allclose(rates[:5].sum(axis=1), v.weekday_veh_day)
    np.testing.assert_allclose(rates[5:].sum(axis=1), v.weekend_veh_day)
    week = rates.sum()
    assert week / 7 == pytest.approx(v.aadt_veh_day)
    assert rates[5, 7] < rates[0, 7]  # no school rush on Saturday morning
    assert rates[0, 2] < rates[0, 18] / 10  # quiet night


def test_hourly_volume_is_what_the_profile_says():
    v = hung_vuong_volumes()
    tr = _traffic(v, seed=3, pedestrians_per_day=0.0)
    # Mondays 18:00-19:00 local for 30 weeks, skipping the time between
    assert START.weekday() == 2  # Wednesday
    t0 = (5 * 86400.0) + 18 * 3600.0
    n = [tr.step(t0 + w * 7 * 86400.0, t0 + w * 7 * 86400.0 + 3600.0).arrivals for w in range(30)]
    lam = v.rates_veh_h()[0, 18]
    assert np.mean(n) == pytest.approx(lam, rel=5 * math.sqrt(lam / 30) / lam)


def test_poles_see_a_vehicle_in_turn():
    """One scripted vehicle, 1-s steps: the poles' windows see it in station order, one
    spacing / speed apart, each for (window + distance per step) / speed."""
    v = HourlyVolumes(np.full(24, 1 / 24), np.full(24, 1 / 24), aadt_veh_day=1e-9)
    tr = _traffic(v, pedestrians_per_day=0.0)
    tr.add_vehicle(100.0, speed_kmh=36.0, forward=False)  # 10 m/s from the junction end
    seen = []
    for k in range(0, 400):
        seen.append(tr.step(float(k), k + 1.0).users_in_zone)
    seen_arr = np.array(seen)
    first = np.array([np.argmax(seen_arr[:, j]) for j in range(seen_arr.shape[1])])
    assert np.all(seen_arr.sum(axis=0) >= 3)  # 30 m window at 10 m/s
    assert np.all(np.diff(first) <= 0)  # reverse direction: last pole first
    np.testing.assert_allclose(-np.diff(first), 3.5, atol=1.0)
    assert tr.on_section == 0


def test_step_length_does_not_change_the_draws():
    v = hung_vuong_volumes()
    a, b = _traffic(v, seed=5), _traffic(v, seed=5)
    na = sum(a.step(k * 60.0, (k + 1) * 60.0).arrivals for k in range(24 * 60))
    nb = sum(b.step(k * 900.0, (k + 1) * 900.0).arrivals for k in range(24 * 4))
    assert na == nb == a.total_arrivals
