"""A 24-hour rain forecast with realistic skill, drawn from the true weather.

The irrigation controller's rain-skip needs what a farm gateway gets from a
forecast service: every few hours, the chance of rain in the next 24 h and
an expected amount. A perfect forecast would flatter the controller, no
forecast would handicap it; this module degrades the truth by the skill that
short-range precipitation forecasts have in the humid tropics.

Model, per issue time ``t`` (s on the series' clock), with ``R`` the true rain
over ``(t, t + 24 h]`` (mm) and the event "rain" = ``R >= event_mm``:

1. **Detection.** The forecast calls the event with probability ``pod`` when
   it happens (probability of detection, the hit rate) and with probability
   ``false_alarm_rate`` when it does not (probability of false detection).
   Heavier rain is easier to see: the hit probability rises towards
   ``pod_heavy`` for ``R >= heavy_mm``.
2. **Probability.** A called event gets ``prob ~ Beta`` with mean
   ``prob_yes_mean``; an event not called gets ``prob ~ Beta`` with mean
   ``prob_no_mean``. With the default skill these means are roughly the
   observed frequencies behind each call, i.e. the forecast is calibrated
   to first order.
3. **Amount.** A called event that happens: ``R × LogNormal(0, amount_sigma)``
   (the median amount is right, a single forecast is off by a factor ~2);
   a false alarm: ``Gamma(2, false_alarm_mean_mm / 2)``; no call: ``0``.

Default skill (est.): 24-h precipitation forecasts of global models over
Southeast Asia have a hit rate around 0.7–0.8 and a false-alarm ratio around
0.3–0.4 for the 1 mm threshold, better for heavy rain; we take ``pod`` 0.75
(0.9 for >= 20 mm) and a false-alarm rate of 0.15 of dry periods, which on
Đông Hà's climate gives a false-alarm ratio near 0.3. The tests check these
scores and that the Brier skill score is positive but far from perfect.

Every draw comes from the generator passed in, so one run seed gives one
forecast history; a forecast depends only on the true rain after its issue
time and on the draws, never on later forecasts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.weather.series import WeatherDataError, WeatherSeries

__all__ = ["Forecast", "ForecastSkill", "RainForecaster", "forecast_scores"]

HORIZON_S = 86_400.0


@dataclass(frozen=True)
class ForecastSkill:
    """Skill of the rain forecast (see the module docstring; all (est.)).

    event_mm: rain over 24 h (mm) that counts as an event. pod: hit rate for
    events below ``heavy_mm``; pod_heavy: for events of at least ``heavy_mm``.
    false_alarm_rate: share of dry periods that get a rain call (0..1).
    prob_yes_mean / prob_no_mean: mean forecast probability after a call /
    no call (0..1). prob_concentration: Beta a + b (higher = less spread).
    amount_sigma: log-space spread of the forecast amount of a hit.
    false_alarm_mean_mm: mean amount of a false alarm (mm).
    """

    event_mm: float = 1.0
    pod: float = 0.75
    pod_heavy: float = 0.9
    heavy_mm: float = 20.0
    false_alarm_rate: float = 0.15
    prob_yes_mean: float = 0.7
    prob_no_mean: float = 0.12
    prob_concentration: float = 12.0
    amount_sigma: float = 0.7
    false_alarm_mean_mm: float = 6.0

    def __post_init__(self) -> None:
        for name in ("pod", "pod_heavy", "false_alarm_rate"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 <= value <= 1.0):
                raise ValueError(f"ForecastSkill.{name} must be in [0, 1], got {value!r}")
        for name in ("prob_yes_mean", "prob_no_mean"):
            value = getattr(self, name)
            if not (math.isfinite(value) and 0.0 < value < 1.0):
                raise ValueError(f"ForecastSkill.{name} must be in (0, 1), got {value!r}")
        for name in (
            "event_mm",
            "heavy_mm",
            "prob_concentration",
            "amount_sigma",
            "false_alarm_mean_mm",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"ForecastSkill.{name} must be > 0, got {value!r}")


@dataclass(frozen=True)
class Forecast:
    """One issued forecast: issue time (s, series clock), rain expected over the
    next 24 h (mm, >= 0), probability of at least ``event_mm`` (0..1), and the
    truth it was drawn from (mm; for scoring only, a controller never sees it)."""

    issued_s: float
    rain_mm: float
    prob: float
    truth_mm: float


class RainForecaster:
    """Issues forecasts from a true series at the times asked for.

    Args:
        series: the true weather (the forecast looks ahead in it).
        rng: the run's generator for this stream.
        skill: forecast skill (default :class:`ForecastSkill`).

    The window past the end of the series is shortened to what the series
    holds (a forecast issued 6 h before the end sees 6 h of truth).
    """

    def __init__(
        self,
        series: WeatherSeries,
        rng: np.random.Generator,
        skill: ForecastSkill | None = None,
    ) -> None:
        if not isinstance(series, WeatherSeries):
            raise TypeError(f"series must be a WeatherSeries, got {type(series).__name__}")
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator")
        self.series = series
        self.rng = rng
        self.skill = skill or ForecastSkill()

    def issue(self, t_s: float) -> Forecast:
        """The forecast issued at series time ``t_s`` (s, within the series)."""
        t = float(t_s)
        if not (math.isfinite(t) and 0.0 <= t <= self.series.end_s):
            raise WeatherDataError(
                f"forecast issue time {t_s!r} s is outside the series [0, {self.series.end_s:g}] s"
            )
        truth = self.series.rain_between(t, min(t + HORIZON_S, self.series.end_s))
        return self._draw(t, truth)

    def _beta(self, mean: float) -> float:
        k = self.skill.prob_concentration
        return float(self.rng.beta(mean * k, (1.0 - mean) * k))

    def _draw(self, t: float, truth: float) -> Forecast:
        s, rng = self.skill, self.rng
        # draw every variate each time so the stream's use does not depend on the weather
        u_call, z_amount, g_false = rng.random(), rng.standard_normal(), rng.gamma(2.0)
        event = truth >= s.event_mm
        if event:
            pod = s.pod_heavy if truth >= s.heavy_mm else s.pod
            called = u_call < pod
        else:
            called = u_call < s.false_alarm_rate
        prob = self._beta(s.prob_yes_mean if called else s.prob_no_mean)
        if called and event:
            amount = truth * math.exp(s.amount_sigma * z_amount - 0.5 * s.amount_sigma**2)
        elif called:
            amount = g_false * s.false_alarm_mean_mm / 2.0
        else:
            amount = 0.0
        return Forecast(t, float(amount), float(prob), float(truth))


def forecast_scores(forecasts: list[Forecast], event_mm: float = 1.0) -> dict[str, float]:
    """Verification scores of a forecast list: hit rate (POD), false-alarm ratio
    (FAR), Brier score and Brier skill score against the sample climatology,
    the event frequency, and the number of forecasts. A rain call is
    ``prob >= 0.5``. NaN where a score is undefined (no events, no calls)."""
    if not forecasts:
        raise ValueError("forecast_scores needs at least one forecast")
    obs = np.array([f.truth_mm >= event_mm for f in forecasts], dtype=float)
    prob = np.array([f.prob for f in forecasts])
    call = prob >= 0.5
    hits = float(np.sum(call & (obs == 1)))
    events, calls = float(obs.sum()), float(call.sum())
    brier = float(np.mean((prob - obs) ** 2))
    base = float(obs.mean())
    brier_clim = base * (1.0 - base)
    return {
        "n": float(len(forecasts)),
        "event_frequency": base,
        "pod": hits / events if events else math.nan,
        "far": (calls - hits) / calls if calls else math.nan,
        "brier": brier,
        "brier_skill": 1.0 - brier / brier_clim if brier_clim > 0 else math.nan,
    }
