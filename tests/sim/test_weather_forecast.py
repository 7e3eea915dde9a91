"""Tests of the rain forecast: realistic skill, reproducible, bad input."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from sim.weather import LOCAL_TZ, WeatherDataError, generate_climate
from sim.weather.forecast import Forecast, ForecastSkill, RainForecaster, forecast_scores


@pytest.fixture(scope="module")
def year():
    start = datetime(2025, 1, 1, tzinfo=LOCAL_TZ)
    return generate_climate(start, 365 * 86400.0, 3600.0, rng=np.random.default_rng(7))


def _issue_all(series, seed: int, skill: ForecastSkill | None = None) -> list[Forecast]:
    fc = RainForecaster(series, np.random.default_rng(seed), skill)
    return [fc.issue(t) for t in np.arange(0.0, series.end_s - 86400.0, 6 * 3600.0)]


def test_skill_is_realistic_not_perfect(year):
    scores = forecast_scores(_issue_all(year, 1))
    assert 0.65 <= scores["pod"] <= 0.9
    assert 0.1 <= scores["far"] <= 0.45
    # better than climatology, far from a perfect forecast
    assert 0.15 <= scores["brier_skill"] <= 0.8


def test_truth_is_the_series_rain_over_the_next_24_h(year):
    fc = RainForecaster(year, np.random.default_rng(3))
    for t in (0.0, 86400.0 * 40.5, 86400.0 * 280.0):
        f = fc.issue(t)
        assert f.truth_mm == pytest.approx(year.rain_between(t, t + 86400.0))
        assert f.rain_mm >= 0.0 and 0.0 <= f.prob <= 1.0


def test_hits_scale_with_the_truth(year):
    forecasts = _issue_all(year, 2)
    wet = [f for f in forecasts if f.truth_mm >= 20.0 and f.rain_mm > 0.0]
    dry = [f for f in forecasts if f.truth_mm < 1.0]
    assert len(wet) > 20 and len(dry) > 100
    ratio = np.array([f.rain_mm / f.truth_mm for f in wet])
    assert 0.5 < float(np.median(ratio)) < 1.5
    assert np.mean([f.prob for f in wet]) > np.mean([f.prob for f in dry]) + 0.3


def test_same_seed_same_forecasts_other_seed_differs(year):
    a, b, c = _issue_all(year, 5)[:200], _issue_all(year, 5)[:200], _issue_all(year, 6)[:200]
    assert a == b
    assert a != c


def test_a_perfect_detector_has_full_hit_rate(year):
    perfect = ForecastSkill(pod=1.0, pod_heavy=1.0, false_alarm_rate=0.0, prob_concentration=400.0)
    scores = forecast_scores(_issue_all(year, 1, perfect))
    assert scores["pod"] > 0.95 and scores["far"] < 0.05


def test_bad_inputs_are_named(year):
    fc = RainForecaster(year, np.random.default_rng(1))
    with pytest.raises(WeatherDataError, match="outside the series"):
        fc.issue(year.end_s + 1.0)
    with pytest.raises(ValueError, match="pod"):
        ForecastSkill(pod=1.5)
    with pytest.raises(ValueError, match="false_alarm_mean_mm"):
        ForecastSkill(false_alarm_mean_mm=float("nan"))
    with pytest.raises(TypeError, match="Generator"):
        RainForecaster(year, 42)
    with pytest.raises(ValueError, match="at least one"):
        forecast_scores([])
