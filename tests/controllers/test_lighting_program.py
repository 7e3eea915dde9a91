"""Control programs: switch points, the lighting day across midnight, calendar rules."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.lighting.astro import AstroClock, sun_times
from controllers.lighting.clock import LocalTime
from controllers.lighting.program import Calendar, ControlProgram

LAT, LON, TZ = 16.82, 107.10, 7.0

NIGHT = [
    {"at": "sunset", "offset_min": -10, "level_pct": 100},
    {"at": "23:00", "level_pct": 70},
    {"at": "01:30", "level_pct": 50},
    {"at": "04:30", "level_pct": 80},
    {"at": "sunrise", "offset_min": 10, "level_pct": 0},
]
WEEKEND = [
    {"at": "sunset", "level_pct": 100},
    {"at": "02:00", "level_pct": 60},
    {"at": "sunrise", "level_pct": 0},
]


def calendar(**extra: object) -> Calendar:
    data: dict[str, object] = {
        "default": "night",
        "programs": {
            "night": NIGHT,
            "weekend": WEEKEND,
            "festival": [{"at": "sunset", "level_pct": 100}, {"at": "sunrise", "level_pct": 0}],
        },
    }
    data.update(extra)
    return Calendar.from_mapping(data)


def at(date: dt.date, hhmm: str) -> LocalTime:
    h, m = map(int, hhmm.split(":"))
    return LocalTime(date, h * 3600.0 + m * 60.0, 0.0)


def program(cal: Calendar | None = None, lat: float = LAT) -> ControlProgram:
    return ControlProgram(cal or calendar(), AstroClock(lat, LON, TZ))


def test_levels_through_one_night_across_midnight() -> None:
    p = program()
    d = dt.date(2025, 1, 1)  # a Wednesday; sunset 17:29, next sunrise ~06:21
    sun = sun_times(d, LAT, LON, TZ)
    assert sun.sunset_h is not None
    on_h = sun.sunset_h - 10 / 60
    on = LocalTime(d, on_h * 3600 + 30, 0.0)
    before = LocalTime(d, on_h * 3600 - 30, 0.0)
    assert p.level_at(before) == 0.0
    assert p.level_at(on) == 100.0
    assert p.level_at(at(d, "22:59")) == 100.0
    assert p.level_at(at(d, "23:00")) == 70.0
    nxt = d + dt.timedelta(days=1)
    assert p.level_at(at(d, "23:59")) == 70.0
    assert p.level_at(at(nxt, "00:00")) == 70.0  # midnight does not restart the program
    assert p.level_at(at(nxt, "01:30")) == 50.0
    assert p.level_at(at(nxt, "05:00")) == 80.0
    rise = sun_times(nxt, LAT, LON, TZ).sunrise_h
    assert rise is not None
    off_s = (rise + 10 / 60) * 3600
    assert p.level_at(LocalTime(nxt, off_s - 30, 0.0)) == 80.0
    assert p.level_at(LocalTime(nxt, off_s + 30, 0.0)) == 0.0
    assert p.level_at(at(nxt, "12:00")) == 0.0


def test_calendar_picks_the_program_by_the_evening_date() -> None:
    cal = calendar(rules=[{"program": "weekend", "weekdays": ["fri", "sat"]}])
    p = program(cal)
    fri = dt.date(2025, 1, 3)
    assert fri.weekday() == 4
    # 01:00 on Saturday belongs to Friday evening's (weekend) program: still 100 %
    assert p.level_at(at(fri + dt.timedelta(days=1), "01:00")) == 100.0
    assert p.level_at(at(fri + dt.timedelta(days=1), "02:30")) == 60.0
    # 01:00 on Friday belongs to Thursday's (night) program: 50 % after 01:30 only
    assert p.level_at(at(fri, "01:00")) == 70.0
    assert p.level_at(at(fri, "01:45")) == 50.0


def test_rule_priority_dates_and_ranges() -> None:
    cal = calendar(
        rules=[
            {"program": "weekend", "weekdays": ["sat"], "priority": 1},
            {"program": "festival", "from": "12-30", "to": "01-02", "priority": 5},
            {"program": "night", "dates": ["2025-12-31"], "priority": 10},
        ]
    )
    assert cal.program_for(dt.date(2025, 12, 30)).name == "festival"  # range, wraps year end
    assert cal.program_for(dt.date(2026, 1, 2)).name == "festival"
    assert cal.program_for(dt.date(2025, 12, 31)).name == "night"  # special day beats range
    assert cal.program_for(dt.date(2026, 1, 3)).name == "weekend"  # a Saturday
    assert cal.program_for(dt.date(2026, 1, 7)).name == "night"  # default


def test_program_round_trips_through_plain_data() -> None:
    cal = calendar(
        day_start="13:00",
        rules=[{"program": "festival", "from": "2026-02-14", "to": "2026-02-20", "priority": 2}],
    )
    again = Calendar.from_mapping(cal.to_mapping())
    assert again.to_mapping() == cal.to_mapping()
    p, q = program(cal), program(again)
    for day in range(0, 60, 7):
        for hh in range(0, 24, 3):
            t = at(dt.date(2026, 2, 1) + dt.timedelta(days=day), f"{hh:02d}:10")
            assert p.level_at(t) == q.level_at(t)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {
                "programs": {
                    "a": [{"at": "23:00", "level_pct": 50}, {"at": "20:00", "level_pct": 10}]
                }
            },
            "not after",
        ),
        ({"programs": {"a": [{"at": "sunset", "level_pct": 120}]}}, "0..100"),
        ({"programs": {"a": [{"at": "sunset", "level_pct": -1}]}}, "0..100"),
        ({"programs": {"a": [{"at": "25:00", "level_pct": 1}]}}, "clock time"),
        ({"programs": {"a": [{"at": "20:00", "offset_min": 5, "level_pct": 1}]}}, "offset_min"),
        (
            {"default": "b", "programs": {"a": [{"at": "sunset", "level_pct": 1}]}},
            "unknown program 'b'",
        ),
        (
            {"programs": {"a": [{"at": "sunset", "level_pct": 1}]}, "rules": [{"program": "x"}]},
            r"rules\[0\]\.program: unknown program 'x'",
        ),
        ({"programs": {"a": []}}, "at least one switch point"),
        ({"programs": {"a": [{"at": "sunset", "level": 1}]}}, "unknown key"),
        (
            {
                "programs": {"a": [{"at": "sunset", "level_pct": 1}]},
                "rules": [{"program": "a", "from": "01-01"}],
            },
            "both 'from' and 'to'",
        ),
    ],
)
def test_validation_errors_are_clear(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Calendar.from_mapping(data)


def test_polar_night_keeps_the_lights_on_and_polar_day_off() -> None:
    cal = Calendar.from_mapping(
        {"programs": {"n": [{"at": "sunset", "level_pct": 100}, {"at": "sunrise", "level_pct": 0}]}}
    )
    winter, summer = dt.date(2025, 12, 21), dt.date(2025, 6, 21)
    p = ControlProgram(cal, AstroClock(78.2, 15.6, 1.0))  # Svalbard
    for hh in ("00:00", "06:00", "12:00", "18:00"):
        assert p.level_at(at(winter, hh)) == 100.0
        assert p.level_at(at(summer, hh)) == 0.0


@settings(max_examples=200, deadline=None)
@given(
    day=st.integers(0, 800),
    seconds=st.floats(0.0, 86399.0),
)
def test_level_is_always_a_programmed_level_and_lit_exactly_between_switch_on_and_off(
    day: int, seconds: float
) -> None:
    cal = Calendar.from_mapping(
        {"programs": {"n": [{"at": "sunset", "level_pct": 90}, {"at": "sunrise", "level_pct": 0}]}}
    )
    p = program(cal)
    date = dt.date(2025, 1, 1) + dt.timedelta(days=day)
    level = p.level_at(LocalTime(date, seconds, 0.0))
    today = sun_times(date, LAT, LON, TZ)
    assert today.sunrise_h is not None and today.sunset_h is not None
    hours = seconds / 3600.0
    if abs(hours - today.sunrise_h) > 1e-6 and abs(hours - today.sunset_h) > 1e-6:
        dark = hours < today.sunrise_h or hours > today.sunset_h
        assert level == (90.0 if dark else 0.0)
