"""A fixed-step weather time series (numpy arrays) with interpolation, slicing and checks.

Conventions
-----------
- Time: sample ``i`` is at ``time_s[i] = i * step_s`` seconds after ``start``,
  a timezone-aware datetime kept in Asia/Ho_Chi_Minh (UTC+7, no DST).
- State variables (``air_temp_c``, ``rel_humidity_pct``, ``wind_speed_mps``,
  ``solar_radiation_wm2``) are instantaneous values at the sample time and are
  interpolated linearly in between.
- ``rain_mm[i]`` is the rain total (mm) over the step **ending** at
  ``time_s[i]``, i.e. over ``(time_s[i] - step_s, time_s[i]]`` (the rain-gauge
  convention). Within a step the intensity is taken as constant, so the
  intensity at time ``t`` is ``rain_mm[i] / step_s * 3600`` mm/h for the ``i``
  with ``time_s[i-1] < t <= time_s[i]`` (``i = 0`` at ``t = 0``).

Valid ranges (checked on construction): air temperature −10…50 °C, relative
humidity 0…100 %, wind speed 0…80 m/s, solar radiation 0…1500 W/m², rain ≥ 0
mm; no NaN or infinities anywhere. A violation raises :class:`WeatherDataError`
naming the column, the row and its time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

__all__ = [
    "COLUMNS",
    "COLUMN_RANGES",
    "LOCAL_TZ",
    "DailySummary",
    "WeatherDataError",
    "WeatherSeries",
]

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

#: The data columns, in file order.
COLUMNS = (
    "air_temp_c",
    "rel_humidity_pct",
    "wind_speed_mps",
    "solar_radiation_wm2",
    "rain_mm",
)

#: Allowed closed range per column (None = unbounded).
COLUMN_RANGES: Mapping[str, tuple[float, float | None]] = {
    "air_temp_c": (-10.0, 50.0),
    "rel_humidity_pct": (0.0, 100.0),
    "wind_speed_mps": (0.0, 80.0),
    "solar_radiation_wm2": (0.0, 1500.0),
    "rain_mm": (0.0, None),
}

_STATE_COLUMNS = COLUMNS[:4]


class WeatherDataError(ValueError):
    """Weather data are missing, malformed or out of range."""


@dataclass(frozen=True)
class DailySummary:
    """Per-local-day aggregates of a :class:`WeatherSeries` (complete days only).

    Attributes:
        dates: local calendar dates (Asia/Ho_Chi_Minh).
        tmax_c, tmin_c: max and min of the samples in [00:00, 24:00) (°C).
        rh_mean_pct: mean relative humidity of those samples (%).
        wind_mean_mps: mean wind speed (m/s).
        radiation_mj_m2: daily global radiation (MJ/m²/day), sample mean × 86,400 s.
        rain_mm: rain total over (00:00, 24:00] (mm).
    """

    dates: tuple[date, ...]
    tmax_c: np.ndarray
    tmin_c: np.ndarray
    rh_mean_pct: np.ndarray
    wind_mean_mps: np.ndarray
    radiation_mj_m2: np.ndarray
    rain_mm: np.ndarray


def _as_local(start: datetime) -> datetime:
    if not isinstance(start, datetime):
        raise TypeError(f"start must be a datetime, got {type(start).__name__}")
    if start.tzinfo is None or start.utcoffset() is None:
        raise WeatherDataError(
            f"start {start.isoformat()} is naive: give a timezone-aware datetime, e.g. "
            "datetime(2024, 1, 1, tzinfo=ZoneInfo('Asia/Ho_Chi_Minh'))"
        )
    return start.astimezone(LOCAL_TZ)


class WeatherSeries:
    """Fixed-step weather series; see the module docstring for units and conventions.

    Args:
        start: timezone-aware datetime of sample 0 (converted to Asia/Ho_Chi_Minh).
        step_s: sample spacing (s, > 0).
        air_temp_c: air temperature (°C, −10…50).
        rel_humidity_pct: relative humidity (%, 0…100).
        wind_speed_mps: wind speed at 2 m (m/s, 0…80).
        solar_radiation_wm2: global horizontal irradiance (W/m², 0…1500).
        rain_mm: rain total over the step ending at each sample (mm, ≥ 0).

    Arrays are copied to read-only float64 arrays of equal length (≥ 1).
    """

    __slots__ = ("_cols", "start", "step_s")

    def __init__(
        self,
        start: datetime,
        step_s: float,
        *,
        air_temp_c: Any,
        rel_humidity_pct: Any,
        wind_speed_mps: Any,
        solar_radiation_wm2: Any,
        rain_mm: Any,
    ) -> None:
        self.start = _as_local(start)
        step = float(step_s)
        if not math.isfinite(step) or step <= 0:
            raise WeatherDataError(f"step_s must be a finite number > 0, got {step_s!r}")
        self.step_s = step
        given = {
            "air_temp_c": air_temp_c,
            "rel_humidity_pct": rel_humidity_pct,
            "wind_speed_mps": wind_speed_mps,
            "solar_radiation_wm2": solar_radiation_wm2,
            "rain_mm": rain_mm,
        }
        cols: dict[str, np.ndarray] = {}
        n: int | None = None
        for name in COLUMNS:
            arr = np.array(given[name], dtype=np.float64)
            if arr.ndim != 1:
                raise WeatherDataError(
                    f"column {name}: expected a 1-D array, got shape {arr.shape}"
                )
            if n is None:
                n = arr.size
            elif arr.size != n:
                raise WeatherDataError(
                    f"column {name}: length {arr.size} differs from air_temp_c length {n}"
                )
            arr.flags.writeable = False
            cols[name] = arr
        if not n:
            raise WeatherDataError("a weather series needs at least one sample")
        self._cols = cols
        self._validate()

    # ----------------------------------------------------------------- checks
    def _row_label(self, i: int) -> str:
        return f"row {i} (t={i * self.step_s:g} s, {self.datetime_at(i * self.step_s).isoformat()})"

    def _validate(self) -> None:
        for name in COLUMNS:
            arr = self._cols[name]
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                raise WeatherDataError(
                    f"column {name}: {arr[bad[0]]} at {self._row_label(int(bad[0]))}"
                    f" ({bad.size} non-finite value(s) in all); fill or drop them first"
                )
            low, high = COLUMN_RANGES[name]
            out = arr < low
            if high is not None:
                out |= arr > high
            bad = np.flatnonzero(out)
            if bad.size:
                hi = "inf" if high is None else f"{high:g}"
                raise WeatherDataError(
                    f"column {name}: {arr[bad[0]]:g} at {self._row_label(int(bad[0]))} is "
                    f"outside [{low:g}, {hi}] ({bad.size} value(s) out of range in all)"
                )

    # ------------------------------------------------------------- accessors
    def __len__(self) -> int:
        return int(self._cols["air_temp_c"].size)

    def __repr__(self) -> str:
        return (
            f"WeatherSeries(start={self.start.isoformat()}, step_s={self.step_s:g}, "
            f"n={len(self)}, end={self.datetime_at(self.end_s).isoformat()})"
        )

    def column(self, name: str) -> np.ndarray:
        """The read-only array of column ``name`` (one of :data:`COLUMNS`)."""
        try:
            return self._cols[name]
        except KeyError:
            raise KeyError(
                f"unknown weather column {name!r}; known: {', '.join(COLUMNS)}"
            ) from None

    @property
    def air_temp_c(self) -> np.ndarray:
        """Air temperature (°C)."""
        return self._cols["air_temp_c"]

    @property
    def rel_humidity_pct(self) -> np.ndarray:
        """Relative humidity (%)."""
        return self._cols["rel_humidity_pct"]

    @property
    def wind_speed_mps(self) -> np.ndarray:
        """Wind speed at 2 m (m/s)."""
        return self._cols["wind_speed_mps"]

    @property
    def solar_radiation_wm2(self) -> np.ndarray:
        """Global horizontal irradiance (W/m²)."""
        return self._cols["solar_radiation_wm2"]

    @property
    def rain_mm(self) -> np.ndarray:
        """Rain total over the step ending at each sample (mm)."""
        return self._cols["rain_mm"]

    @property
    def time_s(self) -> np.ndarray:
        """Sample times (s since ``start``)."""
        return np.arange(len(self), dtype=np.float64) * self.step_s

    @property
    def end_s(self) -> float:
        """Time of the last sample (s since ``start``)."""
        return (len(self) - 1) * self.step_s

    def datetime_at(self, t_s: float) -> datetime:
        """Local (Asia/Ho_Chi_Minh) datetime of series time ``t_s`` (s)."""
        return (self.start + timedelta(seconds=float(t_s))).astimezone(LOCAL_TZ)

    def datetimes(self) -> list[datetime]:
        """Local datetimes of all samples."""
        return [self.datetime_at(t) for t in self.time_s]

    def seconds_since_start(self, when: datetime) -> float:
        """Series time (s) of the aware datetime ``when``."""
        return (_as_local(when) - self.start).total_seconds()

    # ---------------------------------------------------------- interpolation
    def _check_t(self, t_s: float) -> float:
        t = float(t_s)
        if not (0.0 <= t <= self.end_s):
            raise WeatherDataError(
                f"t={t:g} s is outside the weather series [0, {self.end_s:g}] s "
                f"({self.start.isoformat()} … {self.datetime_at(self.end_s).isoformat()})"
            )
        return t

    def at(self, t_s: float) -> dict[str, float]:
        """Weather at series time ``t_s`` (s, 0 ≤ t ≤ ``end_s``).

        Returns the four state variables interpolated linearly, plus
        ``rain_mm`` — the total of the step containing ``t`` (the step
        ``(t_{i-1}, t_i]``) — and ``rain_rate_mmph``, that total as an
        intensity (mm/h). Raises :class:`WeatherDataError` outside the series.
        """
        t = self._check_t(t_s)
        out = {name: float(np.interp(t, self.time_s, self._cols[name])) for name in _STATE_COLUMNS}
        i = min(math.ceil(t / self.step_s - 1e-9), len(self) - 1)
        rain = float(self._cols["rain_mm"][max(i, 0)])
        out["rain_mm"] = rain
        out["rain_rate_mmph"] = rain / self.step_s * 3600.0
        return out

    def rain_between(self, t0_s: float, t1_s: float) -> float:
        """Exact rain (mm) over ``(t0_s, t1_s]`` with constant intensity within each step.

        The rain of row ``i`` falls uniformly over ``(time_s[i] - step_s, time_s[i]]``,
        so the defined span is ``[-step_s, end_s]``; outside it raises.
        """
        t0, t1 = float(t0_s), float(t1_s)
        if t1 < t0:
            raise WeatherDataError(f"rain_between: t1 {t1:g} s < t0 {t0:g} s")
        lo = -self.step_s
        if t0 < lo - 1e-9 or t1 > self.end_s + 1e-9:
            raise WeatherDataError(
                f"rain_between({t0:g}, {t1:g}) s is outside the rain record "
                f"[{lo:g}, {self.end_s:g}] s of the series starting {self.start.isoformat()}"
            )
        # cumulative rain at the step boundaries -step, 0, step, ..., end
        cum = np.concatenate(([0.0], np.cumsum(self._cols["rain_mm"])))
        edges = np.arange(len(self) + 1, dtype=np.float64) * self.step_s - self.step_s
        c0, c1 = np.interp([t0, t1], edges, cum)
        return max(float(c1 - c0), 0.0)

    # ---------------------------------------------------------------- slicing
    def slice(self, t0_s: float, t1_s: float) -> WeatherSeries:
        """The samples with ``t0_s <= time_s <= t1_s``, re-based so the first is at 0 s.

        The new ``start`` is the datetime of the first kept sample. Raises if no
        sample falls in the range.
        """
        t = self.time_s
        idx = np.flatnonzero((t >= float(t0_s) - 1e-9) & (t <= float(t1_s) + 1e-9))
        if idx.size == 0:
            raise WeatherDataError(
                f"slice({t0_s:g}, {t1_s:g}) s holds no sample of a series spanning "
                f"[0, {self.end_s:g}] s"
            )
        return self.take(int(idx[0]), int(idx[-1]) + 1)

    def slice_datetime(self, first: datetime, last: datetime) -> WeatherSeries:
        """Like :meth:`slice` with aware datetimes (inclusive)."""
        return self.slice(self.seconds_since_start(first), self.seconds_since_start(last))

    def take(self, i0: int, i1: int) -> WeatherSeries:
        """Rows ``i0 <= i < i1`` as a new series starting at row ``i0``'s time."""
        n = len(self)
        if not (0 <= i0 < i1 <= n):
            raise WeatherDataError(f"take({i0}, {i1}): need 0 <= i0 < i1 <= {n}")
        return WeatherSeries(
            self.datetime_at(i0 * self.step_s),
            self.step_s,
            **{name: self._cols[name][i0:i1] for name in COLUMNS},
        )

    # ------------------------------------------------------------ aggregates
    def daily(self) -> DailySummary:
        """Per-local-day aggregates over the complete days of the series.

        A day counts when the series holds its samples 00:00 … 24:00 (the
        24:00 row carries the day's last rain step). Needs ``step_s`` to divide
        86,400 s.
        """
        per_day = 86400.0 / self.step_s
        if abs(per_day - round(per_day)) > 1e-9:
            raise WeatherDataError(f"daily(): step_s {self.step_s:g} s does not divide a day")
        k = round(per_day)
        midnight = self.start.replace(hour=0, minute=0, second=0, microsecond=0)
        offset_s = (self.start - midnight).total_seconds()
        lead = 0.0 if offset_s == 0 else (86400.0 - offset_s) / self.step_s
        first = round(lead)
        if abs(lead - first) > 1e-9:
            raise WeatherDataError(
                f"daily(): no sample falls on local midnight (start {self.start.isoformat()}, "
                f"step {self.step_s:g} s); slice or resample to whole days first"
            )
        n_days = max((len(self) - 1 - first) // k, 0)
        rows = first + np.arange(n_days)[:, None] * k + np.arange(k)[None, :]
        c = self._cols
        dates = tuple(self.datetime_at((first + d * k) * self.step_s).date() for d in range(n_days))
        return DailySummary(
            dates=dates,
            tmax_c=c["air_temp_c"][rows].max(axis=1) if n_days else np.empty(0),
            tmin_c=c["air_temp_c"][rows].min(axis=1) if n_days else np.empty(0),
            rh_mean_pct=c["rel_humidity_pct"][rows].mean(axis=1) if n_days else np.empty(0),
            wind_mean_mps=c["wind_speed_mps"][rows].mean(axis=1) if n_days else np.empty(0),
            radiation_mj_m2=(
                c["solar_radiation_wm2"][rows].mean(axis=1) * 0.0864 if n_days else np.empty(0)
            ),
            rain_mm=c["rain_mm"][rows + 1].sum(axis=1) if n_days else np.empty(0),
        )
