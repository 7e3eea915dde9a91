"""Field sensors of a flood-warning point: ultrasonic level, tipping bucket, solar power."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from sim.hydro.level_sensor import (
    Fault,
    FaultKind,
    LevelStatus,
    PowerSpec,
    RainGaugeSpec,
    SolarBattery,
    TippingBucketGauge,
    UltrasonicLevelSensor,
    UltrasonicSpec,
    clear_sky_ghi_w_m2,
    cloud_factor,
)
from sim.hydro.sites import load_warning_sites
from sim.hydro.warning_point import WarningPointDevice

ICT = timezone(timedelta(hours=7))  # Asia/Ho_Chi_Minh, no daylight saving
DAY = 86_400.0


def sensor(faults: tuple[Fault, ...] = (), **spec: float) -> UltrasonicLevelSensor:
    """A river-style sensor 9 m above a gauge zero at +1 m (levels 0.0 .. 9.5 m measurable)."""
    params = {"max_range_m": 10.0, "blind_zone_m": 0.5, "noise_sd_m": 0.0, "resolution_m": 0.0}
    params.update(spec)
    return UltrasonicLevelSensor(UltrasonicSpec(**params), 9.0, 1.0, faults)


# ---------------------------------------------------------------- level sensor


def test_noise_statistics_match_the_configured_sigma() -> None:
    s = sensor(noise_sd_m=0.004)
    rng = np.random.default_rng(11)
    levels = np.array([s.read(float(t), 4.0, rng).level_m for t in range(20_000)], dtype=float)
    errors = levels - 4.0
    # sd of the sample sd is sigma / sqrt(2 n) = 0.5 %; mean's SE is sigma / sqrt(n)
    assert errors.std(ddof=1) == pytest.approx(0.004, rel=0.03)
    assert abs(errors.mean()) < 4 * 0.004 / math.sqrt(errors.size)


def test_readings_are_quantised_to_the_resolution() -> None:
    s = sensor(noise_sd_m=0.003, resolution_m=0.001)
    rng = np.random.default_rng(2)
    for t in range(500):
        r = s.read(float(t), 3.3, rng)
        assert r.distance_m is not None and r.level_m is not None
        assert r.distance_m * 1000 == pytest.approx(round(r.distance_m * 1000), abs=1e-6)
        assert r.level_m == pytest.approx(1.0 + 9.0 - r.distance_m, abs=1e-9)


def test_drift_accumulates_at_the_configured_rate() -> None:
    s = sensor(drift_m_per_day=0.004)
    rng = np.random.default_rng(0)
    for days in (0.0, 1.0, 2.5, 10.0):
        r = s.read(days * DAY, 2.0, rng)
        assert r.level_m == pytest.approx(2.0 + 0.004 * days, abs=1e-9)
    negative = sensor(drift_m_per_day=-0.01)
    assert negative.read(3 * DAY, 2.0, rng).level_m == pytest.approx(1.97, abs=1e-9)


def test_blind_zone_and_range_limits() -> None:
    s = sensor()
    rng = np.random.default_rng(0)
    assert s.top_m == pytest.approx(9.5) and s.bottom_m == pytest.approx(0.0)
    ok = s.read(0.0, 9.49, rng)
    assert ok.status is LevelStatus.OK and ok.level_m == pytest.approx(9.49)
    for level in (9.51, 10.0, 12.0):  # inside the blind zone, at the face, over the sensor
        r = s.read(0.0, level, rng)
        assert (r.status, r.level_m, r.distance_m) == (LevelStatus.BLIND_ZONE, None, None)
    r = s.read(0.0, -0.01, rng)  # farther than the maximum range: no echo
    assert (r.status, r.level_m, r.distance_m) == (LevelStatus.OUT_OF_RANGE, None, 10.0)
    assert s.read(0.0, 0.01, rng).status is LevelStatus.OK


def test_dropout_gives_no_reading() -> None:
    s = sensor((Fault(FaultKind.DROPOUT, 100.0, 200.0),))
    rng = np.random.default_rng(0)
    for t in range(0, 300, 10):
        r = s.read(float(t), 3.0, rng)
        if 100 <= t < 200:
            assert (r.status, r.level_m, r.distance_m) == (LevelStatus.NO_READING, None, None)
        else:
            assert r.status is LevelStatus.OK and r.level_m == pytest.approx(3.0)


def test_stuck_repeats_the_last_reading_while_the_truth_moves() -> None:
    s = sensor((Fault(FaultKind("stuck"), 100.0, 200.0),), noise_sd_m=0.002)
    rng = np.random.default_rng(5)
    before = None
    for t in range(0, 300, 10):
        truth = 2.0 + 0.01 * t  # rises 1 m during the fault
        r = s.read(float(t), truth, rng)
        assert r.t_s == t and r.status is LevelStatus.OK and r.level_m is not None
        if t < 100:
            before = r
        elif t < 200:
            assert before is not None
            assert (r.level_m, r.distance_m) == (before.level_m, before.distance_m)
        else:
            assert r.level_m == pytest.approx(truth, abs=0.01)


def test_spikes_are_random_large_outliers_reported_ok() -> None:
    s = sensor((Fault(FaultKind.SPIKE, 1000.0, 3000.0),), noise_sd_m=0.002, spike_prob=0.3)
    rng = np.random.default_rng(8)
    inside = outside = 0
    n_inside = 0
    for t in range(4000):
        r = s.read(float(t), 4.0, rng)
        assert r.status is LevelStatus.OK and r.level_m is not None
        big = abs(r.level_m - 4.0) > 0.05
        if 1000 <= t < 3000:
            n_inside += 1
            inside += big
        else:
            outside += big
    assert outside == 0
    # binomial(2000, 0.3 x P(outlier lands > 5 cm away) ~ 0.3 x 0.99); 5 sd = 0.051
    assert inside / n_inside == pytest.approx(0.3, abs=0.051)


def test_out_of_range_fault_reports_max_range_and_no_level() -> None:
    s = sensor((Fault(FaultKind.OUT_OF_RANGE, 0.0, 50.0),))
    rng = np.random.default_rng(0)
    r = s.read(10.0, 5.0, rng)
    assert (r.status, r.level_m, r.distance_m) == (LevelStatus.OUT_OF_RANGE, None, 10.0)
    assert s.read(50.0, 5.0, rng).status is LevelStatus.OK


def test_draws_stay_aligned_so_faults_do_not_shift_the_noise() -> None:
    healthy = sensor(noise_sd_m=0.003)
    faulty = sensor((Fault(FaultKind.DROPOUT, 10.0, 20.0),), noise_sd_m=0.003)
    a, b = np.random.default_rng(3), np.random.default_rng(3)
    for t in range(40):
        ra, rb = healthy.read(float(t), 2.0, a), faulty.read(float(t), 2.0, b)
        if not 10 <= t < 20:
            assert ra == rb


def test_same_seed_same_readings() -> None:
    faults = (Fault(FaultKind.SPIKE, 0.0, 500.0), Fault(FaultKind.STUCK, 200.0, 260.0))
    runs = []
    for _ in range(2):
        s = sensor(faults, noise_sd_m=0.003, resolution_m=0.001)
        rng = np.random.default_rng(42)
        runs.append([s.read(float(t), 3.0 + 0.001 * t, rng) for t in range(600)])
    assert runs[0] == runs[1]


def test_fault_and_spec_validation() -> None:
    with pytest.raises(ValueError, match="unknown; known: stuck"):
        Fault("melted", 0.0, 1.0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="must be after start_s"):
        Fault(FaultKind.STUCK, 10.0, 10.0)
    with pytest.raises(ValueError, match="noise_sd_m"):
        UltrasonicSpec(noise_sd_m=0.5)
    with pytest.raises(ValueError, match="blind_zone_m must be < max_range_m"):
        UltrasonicSpec(max_range_m=1.0, blind_zone_m=1.5)
    with pytest.raises(ValueError, match="exceed the blind zone"):
        UltrasonicLevelSensor(UltrasonicSpec(), 0.2)
    with pytest.raises(ValueError, match="finite"):
        sensor().read(0.0, math.nan, np.random.default_rng(0))


# ---------------------------------------------------------------- tipping bucket


def _conserved(g: TippingBucketGauge) -> None:
    total = g.counted_mm + g.bucket_mm + g.retained_mm + g.overflow_mm
    assert total == pytest.approx(g.rain_mm, abs=1e-9)


def test_tipping_bucket_counts_rain_within_one_tip() -> None:
    g = TippingBucketGauge()
    rng = np.random.default_rng(4)
    assert g.advance(0.0, 5.0) == 0  # the first call only sets the clock
    t = 0.0
    for _ in range(3000):
        t += float(rng.uniform(1.0, 120.0))
        rate = float(rng.choice([0.0, 0.5, 3.0, 25.0, 90.0]))
        tips = g.advance(t, rate)
        assert tips >= 0
        assert g.counted_mm <= g.rain_mm + 1e-9 < g.counted_mm + 0.2
        _conserved(g)
    assert g.total_tips == math.floor(g.rain_mm / 0.2 + 1e-9)


def test_exact_tips_for_exact_rain() -> None:
    g = TippingBucketGauge()
    g.advance(0.0, 0.0)
    assert g.advance(3600.0, 12.0) == 60  # 12 mm / 0.2 mm
    assert g.advance(3600.0 + 30.0, 12.0) == 0  # 0.1 mm: half a tip waits in the bucket
    assert g.advance(3600.0 + 60.0, 12.0) == 1


def test_clog_holds_then_releases_and_overflows() -> None:
    spec = RainGaugeSpec(funnel_capacity_mm=10.0, drain_mm_h=20.0)
    g = TippingBucketGauge(spec, (Fault(FaultKind.CLOG, 600.0, 6000.0),))
    g.advance(0.0, 0.0)
    assert g.advance(600.0, 6.0) == 5  # 1 mm before the clog
    tips_clogged = sum(g.advance(600.0 + 60.0 * k, 6.0) for k in range(1, 61))  # 6 mm more
    assert tips_clogged == 0 and g.retained_mm == pytest.approx(6.0)
    assert g.advance(6000.0, 12.0) == 0  # 6 mm more: the funnel overflows at 10 mm
    assert g.retained_mm == pytest.approx(10.0) and g.overflow_mm == pytest.approx(2.0)
    _conserved(g)
    late = g.advance(6000.0 + 900.0, 0.0)  # cleared, dry: drains 20 mm/h x 0.25 h = 5 mm
    assert late == 25 and g.retained_mm == pytest.approx(5.0)
    g.advance(6000.0 + 3600.0, 0.0)
    assert g.retained_mm == 0.0 and g.counted_mm == pytest.approx(1.0 + 10.0)
    _conserved(g)


def test_clog_window_is_split_inside_one_advance() -> None:
    g = TippingBucketGauge(faults=(Fault(FaultKind.CLOG, 1800.0, 3600.0),))
    g.advance(0.0, 0.0)
    g.advance(3600.0, 10.0)  # half the hour clear (5 mm counted), half clogged (5 mm held)
    assert g.counted_mm == pytest.approx(5.0) and g.retained_mm == pytest.approx(5.0)


def test_rain_gauge_rejects_bad_input() -> None:
    g = TippingBucketGauge()
    with pytest.raises(ValueError, match="rain rate"):
        g.advance(0.0, -1.0)
    g.advance(10.0, 0.0)
    with pytest.raises(ValueError, match="backwards"):
        g.advance(5.0, 0.0)
    with pytest.raises(ValueError, match="tip_mm"):
        RainGaugeSpec(tip_mm=0.0)


# ---------------------------------------------------------------- sun and battery


def test_clear_sky_sun_over_dong_ha() -> None:
    day = datetime(2020, 10, 17, tzinfo=ICT)
    assert clear_sky_ghi_w_m2(day) == 0.0  # midnight
    noon = [clear_sky_ghi_w_m2(day + timedelta(minutes=m)) for m in range(0, 24 * 60, 5)]
    peak = int(np.argmax(noon)) * 5
    assert 11 * 60 + 30 <= peak <= 12 * 60 + 10  # solar noon ≈ 11:50 local in October
    assert 850.0 < max(noon) < 1050.0
    daylight_h = sum(v > 0 for v in noon) * 5 / 60
    assert 11.0 < daylight_h < 12.5
    with pytest.raises(ValueError, match="timezone-aware"):
        clear_sky_ghi_w_m2(datetime(2020, 10, 17, 12))


def test_cloud_factor_dims_with_rain() -> None:
    factors = [cloud_factor(r) for r in (0.0, 1.0, 5.0, 40.0)]
    assert factors == sorted(factors, reverse=True) and factors[0] == 1.0
    assert 0.05 <= factors[-1] <= 0.3


def test_battery_drains_at_night_and_charges_by_day() -> None:
    spec = PowerSpec(battery_wh=20.0, initial_soc=0.5, idle_w=0.1, panel_w=10.0)
    b = SolarBattery(spec, datetime(2020, 10, 17, 18, 30, tzinfo=ICT))
    b.advance(0.0, 0.0)
    soc = [b.soc]
    for k in range(1, 11 * 60 + 1):  # 18:30 -> 05:30, one step a minute: no sun
        b.advance(60.0 * k, 0.0)
        soc.append(b.soc)
    assert all(later <= earlier for earlier, later in itertools.pairwise(soc))
    assert soc[0] - soc[-1] == pytest.approx(0.1 * 11 / 20.0, rel=1e-9)  # idle_w x 11 h / capacity
    night_end = b.soc
    b.advance(11 * 3600.0 + 7 * 3600.0, 0.0)  # to 12:30
    assert b.soc > night_end + 0.3 and b.harvested_wh > 0.0
    big = PowerSpec(battery_wh=500.0, initial_soc=0.1, panel_w=10.0)
    cloudy = SolarBattery(big, datetime(2020, 10, 17, 6, 0, tzinfo=ICT))
    sunny = SolarBattery(big, datetime(2020, 10, 17, 6, 0, tzinfo=ICT))
    for b2, rain in ((cloudy, 20.0), (sunny, 0.0)):
        b2.advance(0.0, rain)
        b2.advance(6 * 3600.0, rain)
    assert cloudy.harvested_wh < 0.2 * sunny.harvested_wh


def test_brownout_has_hysteresis() -> None:
    spec = PowerSpec(battery_wh=1.0, initial_soc=0.2, idle_w=0.1, brownout_soc=0.05)
    b = SolarBattery(spec, datetime(2020, 10, 17, 20, 0, tzinfo=ICT))
    b.advance(0.0, 0.0)
    b.advance(2 * 3600.0, 0.0)  # 0.15 Wh of 0.2 Wh used after 1.5 h: cut off
    assert not b.powered and b.brownouts == 1
    cut = b.soc  # within one 300 s substep of idle load below the threshold
    assert 0.05 - 0.1 * 300 / 3600 / 1.0 <= cut <= 0.05
    b.advance(8 * 3600.0, 0.0)  # no load while disconnected (still night)
    assert b.soc == cut
    assert not b.draw(0.001)  # nothing can be spent while disconnected
    b.advance(16 * 3600.0, 0.0)  # 12:00 next day: the sun closes the disconnect again
    assert b.powered and b.soc >= 0.15
    with pytest.raises(ValueError, match="restart_soc must exceed"):
        PowerSpec(brownout_soc=0.2, restart_soc=0.1)


def test_brownout_stops_reports_until_the_sun_recharges() -> None:
    catalog = load_warning_sites()
    site = catalog.site("P06")
    power = PowerSpec(battery_wh=2.0, initial_soc=0.3, idle_w=0.1, panel_w=5.0)
    start = datetime(2020, 10, 17, 18, 0, tzinfo=ICT)
    device = WarningPointDevice(site, catalog.network, start, power=power)
    rng = np.random.default_rng(9)
    times_with_events: list[float] = []
    off: list[float] = []
    for k in range(0, 36 * 60 + 1):  # 36 h, one step a minute
        t = 60.0 * k
        if device.step(t, 0.2, 0.0, rng):
            times_with_events.append(t)
        local = device.local
        if not local.powered:
            off.append(t)
            assert local.level_m is None and local.rain_mm_h is None
            assert local.uplink_ok is False
            assert device.points()["flood/P06/uplink_ok"] is False
    assert off, "the battery never browned out"
    first_off, last_off = off[0], off[-1]
    # 0.5 Wh above the cut-off at ~0.1 W (idle + readings): dark in ~5 h, around 23:00
    assert 4 * 3600 < first_off < 7 * 3600
    assert not any(first_off <= t <= last_off for t in times_with_events)
    assert any(t < first_off for t in times_with_events)
    assert any(t > last_off for t in times_with_events)  # back after sunrise
    restart_local = start + timedelta(seconds=last_off)
    assert 6 <= restart_local.astimezone(ICT).hour <= 10
    stats = device.stats
    assert stats.unpowered > 0  # report times that passed while the device was off
    assert stats.sent + stats.blocked + stats.unpowered == stats.reports_due
    assert device.power.brownouts >= 1


def test_power_spec_validation() -> None:
    with pytest.raises(ValueError, match="battery_wh"):
        PowerSpec(battery_wh=0.0)
    with pytest.raises(ValueError, match="timezone-aware"):
        SolarBattery(PowerSpec(), datetime(2020, 1, 1))
    assert SolarBattery(PowerSpec(), datetime(2020, 1, 1, tzinfo=UTC)).battery_pct == 90.0
