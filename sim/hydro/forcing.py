"""Time series that drive the flood solver: rain, stage hydrographs, inflows.

All series are functions of the solver's clock ``t`` (s since the solver's
start). Rain is piecewise constant (a gauge reports a total per interval);
stage and inflow hydrographs are piecewise linear between their points and
held constant before the first and after the last point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["Hydrograph", "RainSeries", "mm_per_hour"]

MM_PER_HOUR = 1.0 / 3.6e6  # m/s per mm/h


def mm_per_hour(rate_mm_h: float) -> float:
    """Convert a rain or infiltration rate from mm/h to m/s."""
    return rate_mm_h * MM_PER_HOUR


def _check_times(times: NDArray[np.float64], what: str) -> None:
    if times.ndim != 1 or times.size == 0:
        raise ValueError(f"{what}: times must be a non-empty 1-D sequence (s)")
    if not np.all(np.isfinite(times)):
        raise ValueError(f"{what}: times contain NaN or infinity")
    if np.any(np.diff(times) <= 0):
        raise ValueError(f"{what}: times must increase strictly (s)")


@dataclass(frozen=True)
class Hydrograph:
    """A piecewise-linear series: stage (m above datum) or discharge (m³/s).

    Args:
        times_s: strictly increasing times (s since the solver start).
        values: one finite value per time.
        name: used in error messages.
    """

    times_s: NDArray[np.float64]
    values: NDArray[np.float64]
    name: str = "hydrograph"

    @classmethod
    def from_points(
        cls, points: Sequence[tuple[float, float]], name: str = "hydrograph"
    ) -> Hydrograph:
        """Build from ``(time_s, value)`` pairs."""
        arr = np.asarray(points, dtype=np.float64)
        if arr.ndim != 2 or arr.shape[1] != 2:
            raise ValueError(f"{name}: give (time_s, value) pairs, got shape {arr.shape}")
        return cls(arr[:, 0].copy(), arr[:, 1].copy(), name)

    @classmethod
    def constant(cls, value: float, name: str = "hydrograph") -> Hydrograph:
        """A series that is ``value`` at all times."""
        return cls(np.array([0.0]), np.array([float(value)]), name)

    def __post_init__(self) -> None:
        times = np.asarray(self.times_s, dtype=np.float64)
        values = np.asarray(self.values, dtype=np.float64)
        _check_times(times, self.name)
        if values.shape != times.shape:
            raise ValueError(f"{self.name}: {values.size} values for {times.size} times")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{self.name}: values contain NaN or infinity")
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "values", values)

    def at(self, t_s: float) -> float:
        """The value at ``t_s`` (linear between points, held outside them)."""
        return float(np.interp(t_s, self.times_s, self.values))


@dataclass(frozen=True)
class RainSeries:
    """Rain intensity, uniform or gridded, piecewise constant in time.

    Args:
        times_s: strictly increasing interval starts (s since the solver start);
            interval k runs from ``times_s[k]`` to ``times_s[k + 1]`` (the last
            one forever). Before ``times_s[0]`` there is no rain.
        rates: intensities in m/s (>= 0): shape ``(n,)`` for uniform rain or
            ``(n, ny, nx)`` for a gridded series (radar, a forecast field).
    """

    times_s: NDArray[np.float64]
    rates: NDArray[np.float64]

    @classmethod
    def uniform_mm_h(cls, times_s: Sequence[float], rates_mm_h: Sequence[float]) -> RainSeries:
        """Uniform rain from interval starts (s) and intensities (mm/h)."""
        return cls(
            np.asarray(times_s, dtype=np.float64),
            np.asarray(rates_mm_h, dtype=np.float64) * MM_PER_HOUR,
        )

    def __post_init__(self) -> None:
        times = np.asarray(self.times_s, dtype=np.float64)
        rates = np.asarray(self.rates, dtype=np.float64)
        _check_times(times, "rain")
        if rates.ndim not in (1, 3) or rates.shape[0] != times.size:
            raise ValueError(
                f"rain: rates must have shape (n,) or (n, ny, nx) with n = {times.size} "
                f"intervals, got {rates.shape}"
            )
        if not np.all(np.isfinite(rates)) or np.any(rates < 0):
            raise ValueError("rain: rates must be finite and >= 0 (m/s)")
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "rates", rates)

    @property
    def gridded(self) -> bool:
        """True when each interval carries a field rather than one value."""
        return self.rates.ndim == 3

    def interval(self, t_s: float) -> int:
        """Index of the interval holding ``t_s``, or -1 before the first."""
        return int(np.searchsorted(self.times_s, t_s, side="right")) - 1

    def next_change_s(self, t_s: float) -> float:
        """The next interval start after ``t_s`` (inf when there is none)."""
        k = int(np.searchsorted(self.times_s, t_s, side="right"))
        return float(self.times_s[k]) if k < self.times_s.size else float("inf")

    def rate(self, t_s: float) -> float | NDArray[np.float64]:
        """Intensity (m/s) at ``t_s``: a float, or an ``(ny, nx)`` field."""
        k = self.interval(t_s)
        if k < 0:
            return 0.0 if not self.gridded else np.zeros(self.rates.shape[1:])
        return float(self.rates[k]) if not self.gridded else self.rates[k]
