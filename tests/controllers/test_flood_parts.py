"""The flood-warning building blocks: configuration checks, level tracker, rate monitor, vote."""

from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

import pytest

from controllers.flood.config import FloodPointConfig
from controllers.flood.faults import FaultConfig, SensorHealth
from controllers.flood.levels import LevelThresholds, LevelTracker, WarningLevel, level_of
from controllers.flood.rate import RateAlarmConfig, RateOfRiseMonitor
from controllers.flood.samples import good_flag, good_number
from controllers.flood.siren import SirenPolicy
from controllers.flood.voting import Neighbour, upper_median
from controllers.io import Quality, Sample

# ------------------------------------------------------------------ configuration


def test_defaults_match_the_documented_figures() -> None:
    river, street = FloodPointConfig.river("P01"), FloodPointConfig.street("P02")
    assert river.thresholds.values_m == (2.0, 3.0, 4.0)  # Đông Hà station, Hiếu river
    assert street.thresholds.values_m == (0.10, 0.30, 0.50)
    assert (river.rate.threshold_m_h, street.rate.threshold_m_h) == (0.3, 0.2)
    assert (river.siren.siren_level, street.siren.siren_level) == (3, 2)
    assert (river.faults.valid_low_m, river.faults.valid_high_m) == (-5.0, 15.0)
    assert (street.faults.valid_low_m, street.faults.valid_high_m) == (-0.05, 5.0)
    assert [int(h) for h in SensorHealth] == [0, 1, 2]
    assert [int(lv) for lv in WarningLevel] == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: LevelThresholds(2.0, 1.5, 4.0, 0.1, 60), "level_2_m"),
        (lambda: LevelThresholds(2.0, 3.0, 3.0, 0.1, 60), "level_3_m"),
        (lambda: LevelThresholds(2.0, 3.0, 4.0, 1.0, 60), "hysteresis_m"),
        (lambda: LevelThresholds(2.0, 3.0, 4.0, -0.1, 60), "hysteresis_m"),
        (lambda: LevelThresholds(2.0, 3.0, 4.0, 0.1, -1), "hold_s"),
        (lambda: LevelThresholds(float("nan"), 3.0, 4.0, 0.1, 60), "level_1_m"),
        (lambda: RateAlarmConfig(0.0, 3600), "threshold_m_h"),
        (lambda: RateAlarmConfig(0.3, -1), "window_s"),
        (lambda: RateAlarmConfig(0.3, 3600, min_span_fraction=0), "min_span_fraction"),
        (lambda: RateAlarmConfig(0.3, 3600, clear_fraction=2), "clear_fraction"),
        (lambda: RateAlarmConfig(0.3, 3600, hold_s=math.inf), "hold_s"),
        (lambda: SirenPolicy(0), "siren_level"),
        (lambda: SirenPolicy(4), "siren_level"),
        (lambda: SirenPolicy(3, rate_min_level=-1), "rate_min_level"),
        (lambda: SirenPolicy(3, on_rate_alarm=1), "on_rate_alarm"),  # type: ignore[arg-type]
        (lambda: FaultConfig(5.0, 0.0), "valid_high_m"),
        (lambda: FaultConfig(0.0, 5.0, max_jump_m=0), "max_jump_m"),
        (lambda: FaultConfig(0.0, 5.0, dropout_s=math.inf), "dropout_s"),
        (lambda: FaultConfig(0.0, 5.0, spike_confirm_samples=1), "spike_confirm_samples"),
        (lambda: FaultConfig(0.0, 5.0, stuck_epsilon_m=-1), "stuck_epsilon_m"),
        (lambda: FaultConfig(0.0, 5.0, battery_low_pct=150), "battery_low_pct"),
        (lambda: FaultConfig(0.0, 5.0, suspect_hold_s=float("nan")), "suspect_hold_s"),
        (lambda: FloodPointConfig.for_kind("P01", "lake"), "kind"),
        (lambda: FloodPointConfig.river("P/01"), "point_id"),
        (lambda: FloodPointConfig.river("P 01"), "point_id"),
        (
            lambda: FloodPointConfig.street(
                "P01", thresholds=LevelThresholds(2.0, 4.0, 6.0, 0.1, 60)
            ),
            "thresholds",
        ),
        (
            lambda: FloodPointConfig.river(
                "P01", neighbours=(FloodPointConfig.river("P01").as_neighbour(),)
            ),
            "neighbours",
        ),
        (
            lambda: FloodPointConfig.river(
                "P01",
                neighbours=(FloodPointConfig.river("P02").as_neighbour(),) * 2,
            ),
            "neighbours",
        ),
        (lambda: FloodPointConfig.river("P01", has_rain="yes"), "has_rain"),
        (lambda: Neighbour("P02", LevelThresholds.river(), 5.0, -5.0), "valid_high_m"),
        (lambda: Neighbour("P02", LevelThresholds.river(), -5.0, 15.0, 0.0), "max_age_s"),
        (lambda: Neighbour("P/2", LevelThresholds.river(), -5.0, 15.0), "point_id"),
    ],
)
def test_invalid_configuration_fails_loud_naming_the_field(make: Any, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        make()


def test_configuration_is_frozen() -> None:
    cfg = FloodPointConfig.river("P01")
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.kind = "street"  # type: ignore[misc]


# ------------------------------------------------------------------ levels


def test_level_of_counts_thresholds_reached() -> None:
    t = LevelThresholds.street()
    assert [level_of(v, t) for v in (0.0, 0.0999, 0.1, 0.29, 0.3, 0.5, 4.0)] == [
        0,
        0,
        1,
        1,
        2,
        3,
        3,
    ]
    assert t.clearly_below(0.04, 1) and not t.clearly_below(0.06, 1)
    assert not t.clearly_below(0.0, 0)


def test_tracker_raises_at_once_and_lowers_one_level_per_hold() -> None:
    tracker = LevelTracker(hold_s=100.0)
    assert tracker.step(0.0, 3, False) == 3  # several levels at once
    levels = [tracker.step(float(t), 0, True) for t in range(1, 400)]
    drops = [t for t in range(2, 400) if levels[t - 1] < levels[t - 2]]
    assert drops == [101, 201, 301]
    assert levels[-1] == 0


def test_tracker_hold_restarts_when_the_sources_are_not_clearly_below() -> None:
    tracker = LevelTracker(hold_s=100.0)
    tracker.step(0.0, 2, False)
    for t in range(1, 90):
        tracker.step(float(t), 0, True)
    tracker.step(90.0, 0, False)  # a reading back inside the band
    levels = [int(tracker.step(float(t), 0, True)) for t in range(91, 200)]
    assert levels.index(1) + 91 == 191


def test_tracker_snapshot_round_trip() -> None:
    a, b = LevelTracker(60.0), LevelTracker(60.0)
    a.step(0.0, 2, False)
    a.step(10.0, 0, True)
    b.restore(json.loads(json.dumps(a.snapshot())))
    assert [a.step(float(t), 0, True) for t in range(11, 200)] == [
        b.step(float(t), 0, True) for t in range(11, 200)
    ]
    with pytest.raises(ValueError, match="malformed"):
        b.restore({"level": 7, "changed_at": None, "below_since": None})


# ------------------------------------------------------------------ rate


def test_rate_monitor_measures_the_slope_in_m_per_h() -> None:
    monitor = RateOfRiseMonitor(RateAlarmConfig(threshold_m_h=0.3, window_s=3600.0))
    for k in range(120):
        monitor.observe(60.0 * k, 1.0 + 0.45 * k / 60)
    assert monitor.rate_m_h == pytest.approx(0.45)
    assert monitor.alarm


def test_rate_alarm_holds_for_its_hold_time_then_clears() -> None:
    cfg = RateAlarmConfig(threshold_m_h=0.3, window_s=600.0, min_span_fraction=0.5, hold_s=3000.0)
    monitor = RateOfRiseMonitor(cfg)
    t, v, set_at = 0.0, 0.0, None
    for _ in range(11):  # 10 min at 1 m/h
        if monitor.observe(t, v) and set_at is None:
            set_at = t
        t, v = t + 60.0, v + 1.0 / 60
    assert set_at is not None
    history = []
    for _ in range(100):  # flat
        history.append((t, monitor.observe(t, v)))
        t += 60.0
    cleared = next(time for time, on in history if not on)
    assert cleared - set_at >= cfg.hold_s
    assert cleared - set_at < cfg.hold_s + 60.0


def test_a_falling_level_never_alarms() -> None:
    monitor = RateOfRiseMonitor(RateAlarmConfig.river())
    assert not any(monitor.observe(60.0 * k, 5.0 - 0.05 * k) for k in range(200))


def test_rate_monitor_ignores_old_or_repeated_readings() -> None:
    monitor = RateOfRiseMonitor(RateAlarmConfig(threshold_m_h=0.3, window_s=600.0))
    monitor.observe(100.0, 1.0)
    monitor.observe(100.0, 9.0)
    monitor.observe(50.0, 9.0)
    assert monitor.snapshot()["readings"] == [[100.0, 1.0]]


# ------------------------------------------------------------------ siren


@pytest.mark.parametrize("level", [0, 1, 2, 3])
@pytest.mark.parametrize("rate", [False, True])
def test_siren_policy(level: int, rate: bool) -> None:
    river, street = SirenPolicy.river(), SirenPolicy.street()
    assert river.sounds(level, rate) == (level >= 3 or (rate and level >= 1))
    assert street.sounds(level, rate) == (level >= 2 or (rate and level >= 1))
    quiet = SirenPolicy(3, on_rate_alarm=False)
    assert quiet.sounds(level, rate) == (level >= 3)


# ------------------------------------------------------------------ vote and samples


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([0], 0),
        ([3], 3),
        ([0, 2], 2),
        ([2, 0, 1], 1),
        ([0, 0, 3], 0),
        ([3, 3, 0], 3),
        ([0, 1, 2, 3], 2),
    ],
)
def test_upper_median(levels: list[int], expected: int) -> None:
    assert upper_median(levels) == expected


def test_upper_median_of_nothing_fails_loud() -> None:
    with pytest.raises(ValueError, match="usable neighbours"):
        upper_median([])


def test_neighbour_levels_use_the_neighbours_own_thresholds() -> None:
    gauge = FloodPointConfig.river("P01").as_neighbour(max_age_s=300.0)
    road = FloodPointConfig.street("P02").as_neighbour(max_age_s=300.0)
    assert gauge.level(Sample(3.2, Quality.GOOD, 0.0), 10.0) == 2
    assert road.level(Sample(3.2, Quality.GOOD, 0.0), 10.0) == 3  # 3.2 m on a road
    assert road.level(Sample(0.2, Quality.GOOD, 0.0), 301.0) is None  # too old
    assert road.level(Sample(-0.5, Quality.GOOD, 0.0), 1.0) is None  # out of range
    assert road.level(Sample(0.2, Quality.UNCERTAIN, 0.0), 1.0) is None
    assert road.level(None, 1.0) is None


@pytest.mark.parametrize(
    ("sample", "number", "flag"),
    [
        (None, None, None),
        (Sample(1.5, Quality.GOOD, 0.0), 1.5, None),
        (Sample(1, Quality.GOOD, 0.0), 1.0, True),
        (Sample(0, Quality.GOOD, 0.0), 0.0, False),
        (Sample(True, Quality.GOOD, 0.0), None, True),
        (Sample(False, Quality.BAD, 0.0), None, None),
        (Sample(float("nan"), Quality.GOOD, 0.0), None, None),
        (Sample("1", Quality.GOOD, 0.0), None, None),
        (Sample(600.0, Quality.GOOD, 0.0), None, None),
    ],
)
def test_sample_helpers(sample: Sample | None, number: float | None, flag: bool | None) -> None:
    assert good_number(sample, 0.0, 500.0) == number
    assert good_flag(sample) is flag
