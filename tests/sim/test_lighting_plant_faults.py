"""Fault windows and the flood trip, without the plant."""

from __future__ import annotations

import numpy as np
import pytest

from sim.lighting.faults import (
    EXPECTED_ALERT,
    FAULT_KINDS,
    FaultError,
    FloodTrip,
    active_faults,
    driver_failure,
    lamp_failure,
    supply_loss,
)


def test_a_fault_acts_on_steps_ending_inside_its_window():
    f = lamp_failure("P1", 100.0, 200.0)
    assert not f.in_effect(40.0, 100.0)
    assert f.in_effect(100.0, 160.0)
    assert f.in_effect(160.0, 200.0)
    assert not f.in_effect(200.0, 260.0)
    assert lamp_failure("P1", 100.0).in_effect(1e8, 1e8 + 60)


def test_active_faults_masks():
    poles = {"P1": 0, "P2": 1}
    cabs = {"C1": 0}
    faults = [
        lamp_failure("P1", 0.0),
        driver_failure("P2", 0.0, level=0.4),
        supply_loss("C1", 50.0),
    ]
    s = active_faults(faults, poles, cabs, 0.0, 60.0)
    np.testing.assert_array_equal(s.lamp_failed, [True, False])
    assert np.isnan(s.driver_level[0]) and s.driver_level[1] == 0.4
    np.testing.assert_array_equal(s.supply_lost, [True])
    assert set(EXPECTED_ALERT) == set(FAULT_KINDS)


def test_bad_faults_are_rejected():
    with pytest.raises(FaultError, match="end_s"):
        lamp_failure("P1", 100.0, 50.0)
    with pytest.raises(FaultError, match="level"):
        driver_failure("P1", 0.0, level=1.5)


def test_flood_trip_latches_until_reset_after_the_water_recedes():
    ft = FloodTrip(["C1", "C2"], {"C1": 0.5})
    ft.set_depth("C1", 0.4, 10.0)
    ft.set_depth("C2", 0.31, 10.0)  # default plinth 0.3 m
    np.testing.assert_array_equal(ft.tripped, [False, True])
    ft.set_depth("C2", 0.0, 20.0)
    assert ft.tripped[1]
    ft.reset("C2")
    assert not ft.tripped[1]
    ft.set_depth("C1", 0.6, 30.0)
    with pytest.raises(FaultError, match="recede"):
        ft.reset("C1")
    assert ft.trip_times == [("C2", 10.0), ("C1", 30.0)]
    with pytest.raises(FaultError, match="unknown cabinet"):
        ft.set_depth("C9", 1.0, 0.0)
