"""Astronomical clock: NOAA sunrise/sunset against known times at Đông Hà, polar cases."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.lighting.astro import (
    AstroClock,
    civil_twilight,
    solar_elevation_deg,
    sun_times,
)
from controllers.lighting.clock import LocalClock

LAT, LON, TZ = 16.82, 107.10, 7.0


def hhmm(text: str) -> float:
    h, m = text.split(":")
    return int(h) + int(m) / 60.0


@pytest.mark.parametrize(
    ("date", "rise", "sett"),
    [
        (dt.date(2025, 1, 1), "06:20", "17:29"),
        (dt.date(2025, 6, 15), "05:18", "18:25"),
        (dt.date(2025, 10, 1), "05:41", "17:41"),
    ],
)
def test_sunrise_sunset_at_dong_ha_within_two_minutes(date: dt.date, rise: str, sett: str) -> None:
    s = sun_times(date, LAT, LON, TZ)
    assert s.polar is None
    assert s.sunrise_h is not None and s.sunset_h is not None
    assert abs(s.sunrise_h - hhmm(rise)) * 60 <= 2.0
    assert abs(s.sunset_h - hhmm(sett)) * 60 <= 2.0
    assert s.sunrise_h < s.solar_noon_h < s.sunset_h


def test_civil_twilight_brackets_sunrise_and_sunset() -> None:
    date = dt.date(2025, 3, 20)
    s, c = sun_times(date, LAT, LON, TZ), civil_twilight(date, LAT, LON, TZ)
    assert c.sunrise_h is not None and s.sunrise_h is not None
    assert c.sunset_h is not None and s.sunset_h is not None
    # in the tropics civil twilight lasts some 20-25 minutes
    assert 15 <= (s.sunrise_h - c.sunrise_h) * 60 <= 30
    assert 15 <= (c.sunset_h - s.sunset_h) * 60 <= 30


@pytest.mark.parametrize(
    ("date", "lat", "polar"),
    [
        (dt.date(2025, 6, 21), 80.0, "day"),
        (dt.date(2025, 12, 21), 80.0, "night"),
        (dt.date(2025, 12, 21), -80.0, "day"),
        (dt.date(2025, 6, 21), 90.0, "day"),
        (dt.date(2025, 6, 21), -90.0, "night"),
    ],
)
def test_polar_day_and_night_give_a_clear_result(date: dt.date, lat: float, polar: str) -> None:
    s = sun_times(date, lat, 15.0, 1.0)
    assert s.polar == polar
    assert s.sunrise_h is None and s.sunset_h is None
    assert math.isfinite(s.solar_noon_h)
    assert s.day_length_h == (24.0 if polar == "day" else 0.0)


def test_bad_place_is_refused() -> None:
    with pytest.raises(ValueError, match="latitude"):
        sun_times(dt.date(2025, 1, 1), 91.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="longitude"):
        sun_times(dt.date(2025, 1, 1), 0.0, math.nan, 0.0)


@settings(max_examples=150, deadline=None)
@given(
    day=st.integers(0, 3 * 365),
    lat=st.floats(-60.0, 60.0),
    lon=st.floats(-180.0, 180.0),
)
def test_sun_is_at_minus_0833_deg_at_computed_sunrise_and_sunset(
    day: int, lat: float, lon: float
) -> None:
    date = dt.date(2024, 1, 1) + dt.timedelta(days=day)
    tz = round(lon / 15.0)
    s = sun_times(date, lat, lon, tz)
    assert s.sunrise_h is not None and s.sunset_h is not None
    assert s.sunrise_h < s.solar_noon_h < s.sunset_h
    midnight_utc = dt.datetime(date.year, date.month, date.day, tzinfo=dt.UTC).timestamp()
    for hours in (s.sunrise_h, s.sunset_h):
        utc = midnight_utc + (hours - tz) * 3600.0
        assert solar_elevation_deg(utc, lat, lon) == pytest.approx(-0.833, abs=0.05)
    noon = midnight_utc + (s.solar_noon_h - tz) * 3600.0
    assert solar_elevation_deg(noon, lat, lon) > solar_elevation_deg(noon - 3600.0, lat, lon)


def test_astro_clock_caches_the_same_answer() -> None:
    clock = AstroClock(LAT, LON, TZ, cache_days=2)
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(5)]
    first = [clock.sun(d) for d in days]
    assert [clock.sun(d) for d in days] == first == [sun_times(d, LAT, LON, TZ) for d in days]


def test_local_clock_splits_run_time_into_local_date_and_seconds() -> None:
    start = dt.datetime(2026, 1, 1, 17, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    clock = LocalClock(start.timestamp(), 7.0)
    assert clock.local(0).date == dt.date(2026, 1, 1)
    assert clock.local(0).seconds == 17 * 3600
    later = clock.local(8 * 3600)  # 01:00 next day
    assert later.date == dt.date(2026, 1, 2) and later.seconds == 3600
    with pytest.raises(ValueError, match="utc_offset_h"):
        LocalClock(0.0, 15.0)
