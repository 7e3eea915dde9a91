"""The weather plant: plays a :class:`WeatherSeries` into the process image.

It satisfies ``twin.plant.PlantModel`` structurally (``sim`` does not import
``twin``). It has sensors only, no actuators. Published INPUT points, with
``<station>`` = ``dongha`` by default:

===================================  ======  =========================================
point                                unit    value at the kernel time ``t``
===================================  ======  =========================================
weather/<station>/air_temp_c         degC    air temperature, linear in time
weather/<station>/rel_humidity_pct   %       relative humidity, linear in time
weather/<station>/wind_speed_mps     m/s     wind speed at 2 m, linear in time
weather/<station>/solar_radiation_wm2 W/m2   global horizontal irradiance, linear
weather/<station>/rain_rate_mmph     mm/h    mean intensity over the last kernel step
===================================  ======  =========================================

The rain rate is the exact mean over ``(t_prev, t]`` (``rain_between`` of the
series), so ``rate × Δt`` summed over the run equals the series' rain: no
rain is lost or invented by the kernel step. After ``start(t0)`` (before any
advance) it is the mean over the kernel step ending at ``t0``, shortened to
the part the series holds.

Run time ``t`` (s) maps to series time ``t + offset`` where ``offset`` is
``run_start - series.start`` (0 when ``run_start`` is not given), so a year of
weather can drive a scenario that starts on 15 October.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from controllers.io import Direction, PointSpec, Quality, Sample
from sim.weather.series import WeatherDataError, WeatherSeries

__all__ = ["WeatherPlant"]

_STATE_POINTS = (
    ("air_temp_c", "degC", -10.0, 50.0, "air temperature"),
    ("rel_humidity_pct", "%", 0.0, 100.0, "relative humidity"),
    ("wind_speed_mps", "m/s", 0.0, 80.0, "wind speed at 2 m"),
    ("solar_radiation_wm2", "W/m2", 0.0, 1500.0, "global horizontal irradiance"),
)


class WeatherPlant:
    """Weather sensors of one station driven by a series.

    Args:
        series: the weather to play.
        name: plant name in the kernel.
        step_s: kernel exchange interval (s, > 0).
        station: the station segment of the point names.
        run_start: aware datetime of run time 0; None = the series start.
        stale_after_s: age (s) after which a sample reads UNCERTAIN
            (default max(900, 2 × step_s): a station reporting every 5–10 min).
        bad_after_s: age (s) after which a sample reads BAD
            (default max(3600, 6 × step_s)).
    """

    def __init__(
        self,
        series: WeatherSeries,
        name: str = "weather",
        step_s: float = 300.0,
        *,
        station: str = "dongha",
        run_start: datetime | None = None,
        stale_after_s: float | None = None,
        bad_after_s: float | None = None,
    ) -> None:
        if not isinstance(series, WeatherSeries):
            raise TypeError(f"series must be a WeatherSeries, got {type(series).__name__}")
        if not (math.isfinite(step_s) and step_s > 0):
            raise ValueError(f"step_s must be > 0, got {step_s!r}")
        self.series = series
        self.name = name
        self.step_s = float(step_s)
        self.offset_s = 0.0 if run_start is None else series.seconds_since_start(run_start)
        stale = max(900.0, 2.0 * self.step_s) if stale_after_s is None else float(stale_after_s)
        bad = max(3600.0, 6.0 * self.step_s, stale) if bad_after_s is None else float(bad_after_s)
        prefix = f"weather/{station}"
        specs = [
            PointSpec(
                f"{prefix}/{col}",
                Direction.INPUT,
                unit,
                low=low,
                high=high,
                stale_after_s=stale,
                bad_after_s=bad,
                description=f"{desc} ({station})",
            )
            for col, unit, low, high, desc in _STATE_POINTS
        ]
        specs.append(
            PointSpec(
                f"{prefix}/rain_rate_mmph",
                Direction.INPUT,
                "mm/h",
                low=0.0,
                high=None,
                stale_after_s=stale,
                bad_after_s=bad,
                description=f"rain intensity, mean over the last step ({station})",
            )
        )
        self._specs = tuple(specs)
        self._state_names = {col: f"{prefix}/{col}" for col, *_ in _STATE_POINTS}
        self._rain_name = f"{prefix}/rain_rate_mmph"
        self._t: float | None = None
        self._samples: dict[str, Sample] = {}
        self._closed = False

    # ------------------------------------------------------------- protocol
    def points(self) -> Sequence[PointSpec]:
        """The five INPUT points (no actuators)."""
        return self._specs

    def start(self, t0: float) -> None:
        """Start at run time ``t0`` (s); raises if it is outside the series."""
        self._check_open()
        self._series_time(t0)
        self._t = float(t0)
        ts = t0 + self.offset_s
        lo = max(ts - self.step_s, -self.series.step_s)  # < ts since ts >= 0
        rate = self.series.rain_between(lo, ts) / (ts - lo) * 3600.0
        self._publish(float(t0), rate)

    def actuate(self, values: Mapping[str, Any]) -> None:
        """The weather takes no commands: any value raises."""
        if values:
            raise ValueError(f"WeatherPlant {self.name!r} has no actuators; got {sorted(values)}")

    def advance(self, t: float) -> None:
        """Move to run time ``t`` (s); raises if not started, going back, or outside the series."""
        self._check_open()
        if self._t is None:
            raise RuntimeError(f"WeatherPlant {self.name!r}: call start(t0) before advance()")
        t = float(t)
        self._series_time(t)
        if t <= self._t:
            raise ValueError(
                f"WeatherPlant {self.name!r}: advance({t:g}) does not move forward "
                f"from {self._t:g} s"
            )
        rain = self.series.rain_between(self._t + self.offset_s, t + self.offset_s)
        rate = rain / (t - self._t) * 3600.0
        self._t = t
        self._publish(t, rate)

    def sensors(self) -> Mapping[str, Sample]:
        """Samples (GOOD, stamped with the last advance time) by point name."""
        if self._t is None:
            raise RuntimeError(f"WeatherPlant {self.name!r}: no samples before start(t0)")
        return dict(self._samples)

    def close(self) -> None:
        """Mark the plant closed (idempotent)."""
        self._closed = True

    # -------------------------------------------------------------- helpers
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"WeatherPlant {self.name!r} is closed")

    def _series_time(self, t: float) -> float:
        ts = float(t) + self.offset_s
        if not (math.isfinite(ts) and 0.0 <= ts <= self.series.end_s + 1e-9):
            s = self.series
            lo, hi = 0.0 - self.offset_s, s.end_s - self.offset_s
            raise WeatherDataError(
                f"WeatherPlant {self.name!r}: run time {t:g} s "
                f"({s.datetime_at(ts).isoformat() if math.isfinite(ts) else ts}) is outside "
                f"the weather series, which covers run times [{lo:g}, {hi:g}] s "
                f"({s.start.isoformat()} … {s.datetime_at(s.end_s).isoformat()})"
            )
        return ts

    def _publish(self, t: float, rain_rate_mmph: float) -> None:
        now = self.series.at(min(t + self.offset_s, self.series.end_s))
        samples = {
            self._state_names[col]: Sample(now[col], Quality.GOOD, t) for col in self._state_names
        }
        samples[self._rain_name] = Sample(max(rain_rate_mmph, 0.0), Quality.GOOD, t)
        for spec in self._specs:
            samples[spec.name] = Sample(spec.check(samples[spec.name].value), Quality.GOOD, t)
        self._samples = samples
