"""Tests of sim.weather: series, generator vs Đông Hà normals, sun, CSV, plant."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from controllers.io import Direction, Quality
from sim.weather import (
    COLUMNS,
    DONGHA_NORMALS,
    LOCAL_TZ,
    WeatherDataError,
    WeatherPlant,
    WeatherSeries,
    generate_climate,
    generate_days,
    load_weather_csv,
    save_weather_csv,
    solar_elevation_deg,
    sunrise_sunset,
    synthesize_series,
)
from twin.plant import PlantModel

REPO = Path(__file__).resolve().parents[2]
SAMPLE_CSV = REPO / "scenarios" / "dongha" / "weather_sample.csv"
YEAR_SEEDS = (11, 12, 13, 14, 15, 16)


def _local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


def _series(n: int = 5, step_s: float = 3600.0, **over: object) -> WeatherSeries:
    cols: dict[str, object] = {
        "air_temp_c": np.linspace(20.0, 24.0, n),
        "rel_humidity_pct": np.linspace(90.0, 70.0, n),
        "wind_speed_mps": np.full(n, 2.0),
        "solar_radiation_wm2": np.linspace(0.0, 400.0, n),
        "rain_mm": np.arange(n, dtype=float),
    }
    cols.update(over)
    return WeatherSeries(_local(2024, 10, 15, 6), step_s, **cols)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def years() -> list[WeatherSeries]:
    """Six seeded synthetic years (hourly)."""
    return [
        generate_climate(_local(2001, 1, 1), 365 * 86400, rng=np.random.default_rng(seed))
        for seed in YEAR_SEEDS
    ]


@pytest.fixture(scope="module")
def monthly(years: list[WeatherSeries]) -> dict[str, np.ndarray]:
    """Per-year monthly aggregates, arrays of shape (years, 12)."""
    out = {k: np.zeros((len(years), 12)) for k in ("tmax", "tmin", "rh", "rain", "rain_days")}
    for y, series in enumerate(years):
        daily = series.daily()
        assert len(daily.dates) == 365
        month = np.array([d.month for d in daily.dates])
        for m in range(12):
            sel = month == m + 1
            out["tmax"][y, m] = daily.tmax_c[sel].mean()
            out["tmin"][y, m] = daily.tmin_c[sel].mean()
            out["rh"][y, m] = daily.rh_mean_pct[sel].mean()
            out["rain"][y, m] = daily.rain_mm[sel].sum()
            out["rain_days"][y, m] = np.count_nonzero(daily.rain_mm[sel] >= 0.1)
    return out


# --------------------------------------------------------------- series
def test_series_interpolates_states_and_steps_rain() -> None:
    s = _series()
    mid = s.at(5400.0)  # halfway between rows 1 and 2
    assert mid["air_temp_c"] == pytest.approx(21.5)  # 21.0 -> 22.0
    assert mid["rel_humidity_pct"] == pytest.approx(82.5)
    # rain of row 2 falls over (3600, 7200]: 2 mm in that hour
    assert mid["rain_mm"] == 2.0
    assert mid["rain_rate_mmph"] == pytest.approx(2.0)
    assert s.at(7200.0)["rain_mm"] == 2.0  # the step ends at its own sample
    assert s.at(0.0)["rain_mm"] == 0.0
    assert s.rain_between(-3600.0, s.end_s) == pytest.approx(sum(range(5)))
    assert s.rain_between(5400.0, 9000.0) == pytest.approx(1.0 + 1.5)


def test_series_rejects_times_outside() -> None:
    s = _series()
    with pytest.raises(WeatherDataError, match="outside"):
        s.at(-1.0)
    with pytest.raises(WeatherDataError, match="outside"):
        s.at(s.end_s + 1.0)


def test_series_slice_rebases() -> None:
    s = _series(n=10)
    part = s.slice(3600.0, 4 * 3600.0)
    assert len(part) == 4
    assert part.start == _local(2024, 10, 15, 7)
    assert part.at(0.0)["air_temp_c"] == pytest.approx(s.at(3600.0)["air_temp_c"])
    np.testing.assert_array_equal(part.rain_mm, s.rain_mm[1:5])
    assert s.slice_datetime(_local(2024, 10, 15, 8), _local(2024, 10, 15, 9)).rain_mm.tolist() == [
        2.0,
        3.0,
    ]


@pytest.mark.parametrize(
    ("column", "values", "pattern"),
    [
        ("rain_mm", [0.0, 1.0, math.nan, 0.0, 0.0], r"rain_mm: nan at row 2 \(t=7200 s"),
        ("rel_humidity_pct", [50.0, 101.0, 50.0, 50.0, 50.0], r"rel_humidity_pct: 101 at row 1"),
        ("air_temp_c", [20.0, 20.0, 20.0, 20.0, 51.0], r"air_temp_c: 51 at row 4"),
        ("rain_mm", [0.0, -0.1, 0.0, 0.0, 0.0], r"rain_mm: -0.1 at row 1"),
        ("solar_radiation_wm2", [0.0, -1.0, 0.0, 0.0, 0.0], r"solar_radiation_wm2: -1 at row 1"),
    ],
)
def test_series_validation_names_column_and_row(column: str, values: list, pattern: str) -> None:
    with pytest.raises(WeatherDataError, match=pattern):
        _series(**{column: values})


def test_series_needs_aware_start_and_equal_lengths() -> None:
    with pytest.raises(WeatherDataError, match="naive"):
        WeatherSeries(
            datetime(2024, 1, 1),
            3600,
            **{c: [1.0] for c in COLUMNS},
        )
    with pytest.raises(WeatherDataError, match="length"):
        _series(rain_mm=[0.0, 0.0])


# ------------------------------------------------------------ generator
def test_same_seed_same_series_different_seed_differs() -> None:
    start = _local(2024, 5, 1)
    a = generate_climate(start, 20 * 86400, rng=np.random.default_rng(7))
    np.random.seed(123)  # the legacy global state must not matter
    b = generate_climate(start, 20 * 86400, rng=np.random.default_rng(7))
    c = generate_climate(start, 20 * 86400, rng=np.random.default_rng(8))
    for col in COLUMNS:
        np.testing.assert_array_equal(a.column(col), b.column(col))
    assert not np.array_equal(a.air_temp_c, c.air_temp_c)
    assert not np.array_equal(a.rain_mm, c.rain_mm)


def test_generated_temperatures_match_normals(monthly: dict[str, np.ndarray]) -> None:
    for key, col in (("tmax", "tmax_c"), ("tmin", "tmin_c")):
        got = monthly[key].mean(axis=0)
        want = np.array(DONGHA_NORMALS.column(col))
        assert np.abs(got - want).max() < 1.0, f"{key}: generated {got.round(1)} vs {want}"


def test_generated_humidity_matches_normals(monthly: dict[str, np.ndarray]) -> None:
    got = monthly["rh"].mean(axis=0)
    want = np.array(DONGHA_NORMALS.column("rh_mean_pct"))
    assert np.abs(got - want).max() < 5.0, f"RH: generated {got.round(1)} vs {want}"


def test_generated_rain_matches_normals(monthly: dict[str, np.ndarray]) -> None:
    annual = monthly["rain"].sum(axis=1)
    assert abs(annual.mean() / DONGHA_NORMALS.annual_rain_mm - 1.0) < 0.20, annual
    assert np.all(np.abs(annual / DONGHA_NORMALS.annual_rain_mm - 1.0) < 0.45), annual
    mean_month = monthly["rain"].mean(axis=0)
    assert int(np.argmax(mean_month)) == 9, f"wettest month should be October: {mean_month}"
    wet_season = mean_month[8:12].sum() / mean_month.sum()
    assert 0.6 < wet_season < 0.85, wet_season  # normals: 1626 / 2319 = 0.70
    days = monthly["rain_days"].mean(axis=0)
    assert 128 <= days.sum() <= 167, days.sum()


def test_rain_days_per_month_match_normals() -> None:
    days = generate_days(date(2001, 1, 1), 30 * 365, rng=np.random.default_rng(5))
    month = np.array([d.month for d in days.dates])
    got = np.array([np.count_nonzero(days.wet[month == m]) / 30.0 for m in range(1, 13)])
    want = np.array(DONGHA_NORMALS.column("rain_days"))
    assert np.all(np.abs(got / want - 1.0) < 0.3), f"{got.round(1)} vs {want}"
    assert np.all(days.rain_mm[days.wet] >= 0.1) and np.all(days.rain_mm[~days.wet] == 0.0)


def test_radiation_zero_at_night_positive_by_day(years: list[WeatherSeries]) -> None:
    s = years[0]
    hours = np.array([d.hour for d in s.datetimes()])
    assert np.all(s.solar_radiation_wm2[(hours <= 4) | (hours >= 19)] == 0.0)
    assert np.all(s.solar_radiation_wm2[(hours >= 8) & (hours <= 16)] > 0.0)
    assert 800.0 < s.solar_radiation_wm2.max() < 1200.0


@pytest.mark.parametrize(
    ("day", "rise", "sset"),
    [
        (date(2024, 1, 1), (6, 20), (17, 29)),
        (date(2024, 6, 15), (5, 18), (18, 25)),
        (date(2024, 10, 1), (5, 41), (17, 41)),
    ],
)
def test_sunrise_sunset_at_dong_ha(day: date, rise: tuple, sset: tuple) -> None:
    r, s = sunrise_sunset(day)
    for got, (h, m) in ((r, rise), (s, sset)):
        want = datetime(day.year, day.month, day.day, h, m, tzinfo=LOCAL_TZ)
        assert abs((got - want).total_seconds()) < 120, (got, want)


@pytest.mark.parametrize(
    ("day", "rise", "sset"),
    [(date(2024, 1, 1), (6, 20), (17, 29)), (date(2024, 6, 15), (5, 18), (18, 25))],
)
def test_radiation_switches_on_and_off_with_the_sun(day: date, rise: tuple, sset: tuple) -> None:
    start = _local(day.year, day.month, day.day)
    s = generate_climate(start, 86400, step_s=60.0, rng=np.random.default_rng(1))
    lit = np.flatnonzero(s.solar_radiation_wm2 > 0.0)
    first_on = start + timedelta(seconds=float(lit[0]) * 60.0)
    last_on = start + timedelta(seconds=float(lit[-1]) * 60.0)
    assert np.all(s.solar_radiation_wm2[lit[0] : lit[-1] + 1] > 0.0)  # one daylight block
    for got, (h, m) in ((first_on, rise), (last_on, sset)):
        want = start.replace(hour=h, minute=m)
        assert abs((got - want).total_seconds()) <= 600, (got, want)


def test_solar_elevation_noon_height() -> None:
    # 15 June: declination ~ +23.3 deg, so the noon sun stands ~ 90 - (23.3 - 16.82) = 83.5 deg
    noon = max(
        solar_elevation_deg(_local(2024, 6, 15, 11) + timedelta(minutes=k)) for k in range(120)
    )
    assert noon == pytest.approx(83.5, abs=0.5)
    assert solar_elevation_deg(_local(2024, 6, 15, 0)) < -40.0
    with pytest.raises(ValueError, match="naive"):
        solar_elevation_deg(datetime(2024, 6, 15, 12))


def test_laos_wind_only_in_season_peaking_in_june_july() -> None:
    days = generate_days(date(2001, 1, 1), 20 * 365, rng=np.random.default_rng(3))
    laos_dates = [d for d, flag in zip(days.dates, days.laos, strict=True) if flag]
    assert laos_dates, "no Laos-wind day in 20 years"
    assert all((4, 20) <= (d.month, d.day) <= (9, 15) for d in laos_dates)
    per_month = np.bincount([d.month for d in laos_dates], minlength=13)[1:] / 20.0
    assert per_month[5] > max(per_month[3], per_month[4], per_month[7], per_month[8])
    assert per_month[6] > max(per_month[3], per_month[4], per_month[7], per_month[8])
    assert 7.0 <= per_month[5] <= 11.5 and 7.0 <= per_month[6] <= 11.5, per_month
    # multi-day spells, and no rain on a Laos day
    flags = days.laos.astype(int)
    spells = np.count_nonzero(np.diff(flags) == 1)
    assert days.laos.sum() / spells >= 2.5
    assert not np.any(days.wet & days.laos)


def test_laos_wind_days_are_hot_dry_windy() -> None:
    rng = np.random.default_rng(21)
    days = generate_days(date(2003, 5, 31), 64, rng=rng)  # June and July (+ margins)
    assert days.laos.sum() >= 8
    series = synthesize_series(days, _local(2003, 6, 1), 61 * 86400, rng=rng)
    daily = series.daily()
    flags = days.laos[1:62]
    assert [d for d in daily.dates] == list(days.dates[1:62])
    hot = daily.tmax_c[flags].mean() - daily.tmax_c[~flags].mean()
    assert 2.5 < hot < 8.0, hot
    assert np.all((daily.rh_mean_pct[flags] > 33.0) & (daily.rh_mean_pct[flags] < 62.0))
    assert np.all(daily.wind_mean_mps[flags] > 2.3)
    assert np.all(daily.rain_mm[flags] == 0.0)


# ----------------------------------------------------------------- CSV
def test_csv_round_trip(tmp_path: Path) -> None:
    s = generate_climate(_local(2024, 10, 14, 3), 2 * 86400, rng=np.random.default_rng(4))
    path = save_weather_csv(s, tmp_path / "w.csv", comment="synthetic\ntest")
    back = load_weather_csv(path)
    assert back.start == s.start and back.step_s == s.step_s and len(back) == len(s)
    for col in COLUMNS:
        np.testing.assert_allclose(back.column(col), s.column(col), atol=6e-3)
    assert back.rain_mm.sum() == pytest.approx(s.rain_mm.sum(), abs=0.05)
    again = tmp_path / "w2.csv"
    save_weather_csv(back, again, comment="synthetic\ntest")
    assert again.read_text() == path.read_text()  # stable after the first rounding


def test_sample_csv_loads_and_is_labelled_synthetic() -> None:
    first = SAMPLE_CSV.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("#") and "SYNTHETIC" in first
    s = load_weather_csv(SAMPLE_CSV)
    assert s.step_s == 3600.0 and len(s) >= 72
    assert s.start.utcoffset() == timedelta(hours=7)


_HEAD = "time,air_temp_c,rel_humidity_pct,wind_speed_mps,solar_radiation_wm2,rain_mm\n"
_ROWS = [
    "2024-10-15T00:00:00+07:00,24.0,95.0,1.0,0.0,0.0",
    "2024-10-15T01:00:00+07:00,23.5,96.0,1.2,0.0,2.5",
    "2024-10-15T02:00:00+07:00,23.0,97.0,1.1,0.0,4.0",
    "2024-10-15T03:00:00+07:00,22.8,97.5,1.0,0.0,0.0",
]


def _write(tmp_path: Path, rows: list[str], head: str = _HEAD) -> Path:
    p = tmp_path / "in.csv"
    p.write_text("# comment line\n" + head + "\n".join(rows) + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize(
    ("row_index", "bad_row", "pattern"),
    [
        (2, "2024-10-15T02:00:00+07:00,23.0,97.0,abc,0.0,4.0", r"in.csv:5: column wind_speed_mps"),
        (1, "2024-10-15T01:00:00+07:00,23.5,,1.2,0.0,2.5", r"in.csv:4: column rel_humidity_pct"),
        (3, "2024-10-15T03:00:00+07:00,22.8,97.5,1.0,0.0,NaN", r"in.csv:6: column rain_mm"),
        (2, "2024-10-15T02:00:00,23.0,97.0,1.1,0.0,4.0", r"in.csv:5: column time: .*no UTC offset"),
        (2, "2024-10-15T02:30:00+07:00,23.0,97.0,1.1,0.0,4.0", r"in.csv:5: column time"),
        (1, "2024-10-15T01:00:00+07:00,23.5,96.0,1.2,0.0", r"in.csv:4: 5 cells"),
        (3, "2024-10-15T03:00:00+07:00,22.8,107.5,1.0,0.0,0.0", r"in.csv:6: .*rel_humidity_pct"),
        (1, "2024-10-15T01:00:00+07:00,23.5,96.0,1.2,-5,2.5", r"in.csv:4: .*solar_radiation"),
    ],
)
def test_csv_errors_name_file_line_and_column(
    tmp_path: Path, row_index: int, bad_row: str, pattern: str
) -> None:
    rows = list(_ROWS)
    rows[row_index] = bad_row
    with pytest.raises(WeatherDataError, match=pattern):
        load_weather_csv(_write(tmp_path, rows))


def test_csv_header_errors(tmp_path: Path) -> None:
    with pytest.raises(WeatherDataError, match=r"in.csv:2: bad header.*'rain'"):
        load_weather_csv(_write(tmp_path, _ROWS, head=_HEAD.replace("rain_mm", "rain")))
    with pytest.raises(WeatherDataError, match="no such"):
        load_weather_csv(tmp_path / "absent.csv")


def test_csv_missing_policy_interpolate(tmp_path: Path) -> None:
    rows = list(_ROWS)
    rows[1] = "2024-10-15T01:00:00+07:00,,NA,1.2,0.0,2.5"
    s = load_weather_csv(_write(tmp_path, rows), missing="interpolate")
    assert s.air_temp_c[1] == pytest.approx(23.5)
    assert s.rel_humidity_pct[1] == pytest.approx(96.0)
    rows[1] = "2024-10-15T01:00:00+07:00,23.5,96.0,1.2,0.0,"
    with pytest.raises(WeatherDataError, match=r"in.csv:4: column rain_mm: .*cannot"):
        load_weather_csv(_write(tmp_path, rows), missing="interpolate")
    rows = list(_ROWS)
    rows[0] = "2024-10-15T00:00:00+07:00,,95.0,1.0,0.0,0.0"
    with pytest.raises(WeatherDataError, match=r"in.csv:3: column air_temp_c: .*start or end"):
        load_weather_csv(_write(tmp_path, rows), missing="interpolate")


# ---------------------------------------------------------------- plant
def test_plant_satisfies_protocol_and_publishes_points() -> None:
    s = generate_climate(_local(2024, 10, 15), 86400, rng=np.random.default_rng(9))
    plant = WeatherPlant(s)
    assert isinstance(plant, PlantModel)
    specs = {p.name: p for p in plant.points()}
    assert sorted(specs) == sorted(
        f"weather/dongha/{n}"
        for n in (
            "air_temp_c",
            "rel_humidity_pct",
            "wind_speed_mps",
            "solar_radiation_wm2",
            "rain_rate_mmph",
        )
    )
    assert all(p.direction is Direction.INPUT for p in specs.values())
    assert specs["weather/dongha/air_temp_c"].unit == "degC"
    assert specs["weather/dongha/rain_rate_mmph"].unit == "mm/h"
    assert all(300.0 < p.stale_after_s <= p.bad_after_s < math.inf for p in specs.values())

    plant.start(0.0)
    plant.actuate({})
    rain_total = 0.0
    for k in range(1, 288 + 1):
        t = k * plant.step_s
        plant.advance(t)
        samples = plant.sensors()
        assert set(samples) == set(specs)
        assert all(x.quality is Quality.GOOD and x.source_time == t for x in samples.values())
        for spec in specs.values():
            assert spec.quality_at(samples[spec.name], t + 60.0) is Quality.GOOD
        rain_total += samples["weather/dongha/rain_rate_mmph"].value * plant.step_s / 3600.0
    now = s.at(86400.0)
    assert samples["weather/dongha/air_temp_c"].value == pytest.approx(now["air_temp_c"])
    assert rain_total == pytest.approx(s.rain_between(0.0, 86400.0), abs=1e-9)
    plant.close()
    plant.close()


def test_plant_rejects_times_outside_the_series_and_commands() -> None:
    s = _series(n=4)  # 0 .. 10800 s
    plant = WeatherPlant(s, step_s=300.0)
    with pytest.raises(RuntimeError, match="start"):
        plant.advance(300.0)
    with pytest.raises(WeatherDataError, match="outside the weather series"):
        plant.start(-300.0)
    plant.start(0.0)
    plant.advance(10800.0)
    with pytest.raises(WeatherDataError, match=r"run time 11100 s .*outside the weather series"):
        plant.advance(11100.0)
    with pytest.raises(ValueError, match="no actuators"):
        plant.actuate({"weather/dongha/air_temp_c": 1.0})


def test_plant_run_start_offsets_into_the_series() -> None:
    s = _series(n=10)
    plant = WeatherPlant(s, run_start=_local(2024, 10, 15, 8))  # series starts 06:00
    plant.start(0.0)
    got = plant.sensors()["weather/dongha/air_temp_c"].value
    assert got == pytest.approx(s.at(7200.0)["air_temp_c"])
    plant.advance(3600.0)
    rate = plant.sensors()["weather/dongha/rain_rate_mmph"].value
    assert rate == pytest.approx(3.0)  # row 3 (3 mm) covers 08:00-09:00
