"""Sensors of the lighting plant: motion, daylight, rain, traffic counts, power and energy.

All classes are vectorised over their devices (one array entry per pole,
cabinet or segment) and draw randomness only from the ``numpy.random.Generator``
they are given.

Daylight model (:func:`daylight_illuminance_lx`)
-------------------------------------------------
Horizontal illuminance from the sky and sun, clear sky, by the IES daylight
availability formulas *(IES Lighting Handbook; constants recalled, verify)*:

- direct: ``E_dn = 127,500 lx × exp(-0.21 m)`` with the air mass
  ``m = 1 / sin(h)``, on the horizontal ``E_dn × sin(h)``;
- diffuse: ``800 lx + 15,500 lx × sin(h)^0.5``.

At noon in Đông Hà (h ≈ 55-90°) this gives ~100-120 klx, at sunrise ~0.8 klx.
Below the horizon (twilight) the illuminance falls log-linearly through
3.4 lx at -6° (end of civil twilight), 0.008 lx at -12° and 0.0007 lx at -18°
(astronomical night) *(usual twilight values)*, i.e. about a decade per 2.5°.

Clouds and rain scale it by a transmittance: Kasten and Czeplak (1980),
``G / G_clear = 1 - 0.75 N^3.4`` for cloud cover ``N`` (0..1), and a rain
factor ``1 / (1 + rain_mm_h / 5)`` *(est.: heavy tropical rain darkens the sky
to a few % of clear)*. When a weather series is available, the plant uses its
global irradiance instead: transmittance = measured / clear-sky irradiance.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.weather import solar_elevation_deg

__all__ = [
    "AmbientLightSensor",
    "MotionSensors",
    "PowerMeters",
    "RainGauge",
    "TrafficCounters",
    "ambient_lx_at",
    "clear_sky_global_wm2",
    "cloud_transmittance",
    "daylight_illuminance_lx",
    "daylight_lx_scalar",
    "rain_transmittance",
]

FloatArray = NDArray[np.float64]

_E_SOLAR_LX = 127_500.0  # extraterrestrial illuminance (lx), IES
_CLEAR_EXT = 0.21  # clear-sky optical extinction per air mass, IES
_DIFF_A, _DIFF_B, _DIFF_C = 800.0, 15_500.0, 0.5  # clear-sky diffuse, IES
_TWILIGHT = ((-18.0, math.log10(0.0007)), (-12.0, math.log10(0.008)), (-6.0, math.log10(3.4)))
_NIGHT_FLOOR_LX = 0.0005


def _sun_lx(h_deg: FloatArray) -> FloatArray:
    s = np.sin(np.radians(np.maximum(h_deg, 0.0)))
    with np.errstate(divide="ignore", over="ignore"):
        direct = np.where(s > 0, _E_SOLAR_LX * np.exp(-_CLEAR_EXT / np.maximum(s, 1e-6)) * s, 0.0)
    return np.asarray(direct + _DIFF_A + _DIFF_B * s**_DIFF_C)


_TWILIGHT_X = (*(a for a, _ in _TWILIGHT), 0.0)
_TWILIGHT_Y = (*(b for _, b in _TWILIGHT), math.log10(_DIFF_A))  # at 0°: the diffuse term only


def daylight_illuminance_lx(elevation_deg: ArrayLike, transmittance: ArrayLike = 1.0) -> FloatArray:
    """Horizontal illuminance (lx, >= 0) for solar elevations (degrees, refraction ignored).

    ``transmittance`` (0..1.2) scales the clear-sky value (see the module
    docstring); twilight below 0° is log-linear through the usual values.
    """
    h = np.asarray(elevation_deg, dtype=np.float64)
    tr = np.clip(np.asarray(transmittance, dtype=np.float64), 0.0, 1.2)
    day = _sun_lx(h)
    twilight = 10.0 ** np.interp(h, _TWILIGHT_X, _TWILIGHT_Y, left=math.log10(_NIGHT_FLOOR_LX))
    return np.asarray(np.where(h >= 0, day, twilight) * tr)


def daylight_lx_scalar(elevation_deg: float, transmittance: float = 1.0) -> float:
    """:func:`daylight_illuminance_lx` for one elevation, in plain floats (a plant's hot path)."""
    h = float(elevation_deg)
    tr = min(max(float(transmittance), 0.0), 1.2)
    if h >= 0:
        s = math.sin(math.radians(h))
        direct = _E_SOLAR_LX * math.exp(-_CLEAR_EXT / s) * s if s > 1e-6 else 0.0
        return (direct + _DIFF_A + _DIFF_B * s**_DIFF_C) * tr
    xs, ys = _TWILIGHT_X, _TWILIGHT_Y
    if h <= xs[0]:
        return _NIGHT_FLOOR_LX * tr if h < xs[0] else 10.0 ** ys[0] * tr
    for i in range(1, len(xs)):
        if h <= xs[i]:
            f = (h - xs[i - 1]) / (xs[i] - xs[i - 1])
            return float(10.0 ** (ys[i - 1] + f * (ys[i] - ys[i - 1]))) * tr
    return float(10.0 ** ys[-1]) * tr


def clear_sky_global_wm2(elevation_deg: ArrayLike) -> FloatArray:
    """Clear-sky global horizontal irradiance (W/m²) from the same model at 110 lm/W."""
    h = np.asarray(elevation_deg, dtype=np.float64)
    return np.asarray(np.where(h > 0, _sun_lx(h) / 110.0, 0.0))


def cloud_transmittance(cloud_cover: ArrayLike) -> FloatArray:
    """Kasten-Czeplak ``1 - 0.75 N^3.4`` for cloud cover N (fraction 0..1)."""
    n = np.clip(np.asarray(cloud_cover, dtype=np.float64), 0.0, 1.0)
    return np.asarray(1.0 - 0.75 * n**3.4)


def rain_transmittance(rain_mm_h: ArrayLike) -> FloatArray:
    """Extra darkening by rain, ``1 / (1 + r / 5 mm/h)`` *(est.)*."""
    r = np.maximum(np.asarray(rain_mm_h, dtype=np.float64), 0.0)
    return np.asarray(1.0 / (1.0 + r / 5.0))


def ambient_lx_at(
    when: datetime,
    cloud_cover: float = 0.0,
    rain_mm_h: float = 0.0,
    global_wm2: float | None = None,
) -> float:
    """True horizontal daylight (lx) at Đông Hà at the aware datetime ``when``.

    With ``global_wm2`` (a measured global irradiance) the transmittance is
    measured / clear-sky irradiance while the sun is above 5°, else it comes from
    ``cloud_cover`` and ``rain_mm_h``.
    """
    h = solar_elevation_deg(when)
    if global_wm2 is not None and h > 5.0:
        tr = float(global_wm2) / float(clear_sky_global_wm2(h))
    else:
        tr = float(cloud_transmittance(cloud_cover) * rain_transmittance(rain_mm_h))
    return float(daylight_illuminance_lx(h, tr))


class AmbientLightSensor:
    """Cabinet photocells: true lux × (1 + N(0, noise)) with a floor and a full scale.

    Args:
        n: number of photocells.
        rng: random generator.
        noise_frac: relative noise, standard deviation (0..0.5; 0.05 *(est.)*).
        floor_lx: lowest reading (lx; a photocell reads nothing below it).
        full_scale_lx: highest reading (lx).
    """

    def __init__(
        self,
        n: int,
        rng: np.random.Generator,
        noise_frac: float = 0.05,
        floor_lx: float = 0.0,
        full_scale_lx: float = 150_000.0,
    ) -> None:
        if not 0 <= noise_frac <= 0.5:
            raise ValueError(f"noise_frac {noise_frac!r} must be within 0..0.5")
        self.n, self.rng = n, rng
        self.noise_frac, self.floor_lx, self.full_scale_lx = noise_frac, floor_lx, full_scale_lx

    def read(self, true_lx: ArrayLike) -> FloatArray:
        """Readings (lx) for the true illuminance (scalar or one per photocell)."""
        e = np.broadcast_to(np.asarray(true_lx, dtype=np.float64), (self.n,))
        noisy = e * (1.0 + self.noise_frac * self.rng.standard_normal(self.n))
        out = np.clip(noisy, 0.0, self.full_scale_lx)
        return np.asarray(np.where(out < self.floor_lx, 0.0, out))


class MotionSensors:
    """One motion sensor (PIR/microwave) per pole.

    A road user inside the detection zone — a circle of ``radius_m`` around
    the pole, in UTM metres, or for along-road inputs the window
    ``|station - pole station| <= radius_m`` — is detected with probability
    ``p_detect`` (each user independently); each sensor also fires falsely
    as a Poisson process of ``false_per_h`` per hour.

    Args:
        x, y: pole positions (m, EPSG:32648).
        rng: random generator.
        radius_m: detection radius (m, > 0; 15 m *(est.)* for a pole-top sensor at 10 m).
        p_detect: probability of detecting one user in the zone (0..1).
        false_per_h: false triggers per sensor and hour (>= 0).
    """

    def __init__(
        self,
        x: ArrayLike,
        y: ArrayLike,
        rng: np.random.Generator,
        radius_m: float = 15.0,
        p_detect: float = 0.95,
        false_per_h: float = 0.2,
    ) -> None:
        if not radius_m > 0:
            raise ValueError(f"radius_m {radius_m!r} must be > 0 m")
        if not 0 <= p_detect <= 1:
            raise ValueError(f"p_detect {p_detect!r} must be within 0..1")
        if not false_per_h >= 0:
            raise ValueError(f"false_per_h {false_per_h!r} must be >= 0 per hour")
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.rng = rng
        self.radius_m, self.p_detect, self.false_per_h = radius_m, p_detect, false_per_h
        self._box = (
            float(self.x.min()) - radius_m,
            float(self.y.min()) - radius_m,
            float(self.x.max()) + radius_m,
            float(self.y.max()) + radius_m,
        )

    @property
    def n(self) -> int:
        """Number of sensors."""
        return int(self.x.size)

    def users_in_zone(self, ux: ArrayLike, uy: ArrayLike) -> NDArray[np.int64]:
        """Number of road users (positions in m, EPSG:32648) inside each pole's zone."""
        px = np.asarray(ux, dtype=np.float64).ravel()
        py = np.asarray(uy, dtype=np.float64).ravel()
        x0, y0, x1, y1 = self._box
        near = (px >= x0) & (px <= x1) & (py >= y0) & (py <= y1)
        px, py = px[near], py[near]
        counts = np.zeros(self.n, dtype=np.int64)
        r2 = self.radius_m**2
        for k in range(0, px.size, 4096):  # bounded memory for big crowds
            dx = self.x[:, None] - px[None, k : k + 4096]
            dy = self.y[:, None] - py[None, k : k + 4096]
            counts += ((dx * dx + dy * dy) <= r2).sum(axis=1)
        return counts

    def detect(self, users: ArrayLike, dt_s: float) -> NDArray[np.bool_]:
        """Which sensors fire in a step of ``dt_s`` seconds with ``users`` users per zone.

        A sensor fires if it detects at least one user (``1 - (1 - p)^n``) or
        falsely triggers during the step.
        """
        n_users = np.asarray(users, dtype=np.float64)
        p_any = 1.0 - (1.0 - self.p_detect) ** n_users
        hit = self.rng.random(self.n) < p_any
        if self.false_per_h > 0 and dt_s > 0:
            p_false = 1.0 - math.exp(-self.false_per_h * dt_s / 3600.0)
            hit |= self.rng.random(self.n) < p_false
        return np.asarray(hit)


class RainGauge:
    """Tipping-bucket rain gauges: each tip is ``bucket_mm``; the reading is the tips'
    depth over the step as an intensity (mm/h). ``bucket_mm = 0`` reads the true rate.

    Args:
        n: number of gauges (one per cabinet).
        bucket_mm: depth per tip (mm, >= 0; 0.2 mm is usual).
    """

    def __init__(self, n: int, bucket_mm: float = 0.2) -> None:
        if not bucket_mm >= 0:
            raise ValueError(f"bucket_mm {bucket_mm!r} must be >= 0 mm")
        self.bucket_mm = bucket_mm
        self._bucket = np.zeros(n)

    def read(self, rain_mm_h: ArrayLike, dt_s: float) -> FloatArray:
        """Reading (mm/h) after a step of ``dt_s`` s (> 0) at true mean intensity ``rain_mm_h``."""
        rate = np.broadcast_to(
            np.maximum(np.asarray(rain_mm_h, dtype=np.float64), 0.0), self._bucket.shape
        )
        if self.bucket_mm == 0:
            return np.array(rate, dtype=np.float64)
        self._bucket = self._bucket + rate * dt_s / 3600.0
        tips = np.floor(self._bucket / self.bucket_mm + 1e-9)
        self._bucket = self._bucket - tips * self.bucket_mm
        return np.asarray(tips * self.bucket_mm / dt_s * 3600.0)


class TrafficCounters:
    """Vehicle counters, one per segment, binned in fixed periods.

    The reading is the count of the last COMPLETE bin as an hourly rate
    (veh/h = count × 3600 / ``bin_s``), None until the first bin completes.
    Bins are ``[origin_s + k·bin_s, origin_s + (k+1)·bin_s)`` in run seconds;
    a step's counts go to the bin holding the step's end.

    Args:
        n: number of counters.
        bin_s: bin length (s, > 0; 900 s = 15 min).
        origin_s: run time (s) of a bin boundary (e.g. a local quarter hour).
    """

    def __init__(self, n: int, bin_s: float = 900.0, origin_s: float = 0.0) -> None:
        if not bin_s > 0:
            raise ValueError(f"bin_s {bin_s!r} must be > 0 s")
        self.bin_s, self.origin_s = bin_s, origin_s
        self._count = np.zeros(n)
        self._bin: int | None = None
        self._last: FloatArray | None = None

    def add(self, t_s: float, counts: ArrayLike) -> None:
        """Add vehicle counts of a step ending at run time ``t_s`` (s)."""
        k = math.floor((t_s - self.origin_s) / self.bin_s - 1e-9)
        if self._bin is None:
            self._bin = k
        if k != self._bin:
            complete = self._count if k == self._bin + 1 else np.zeros_like(self._count)
            self._last = np.asarray(complete * 3600.0 / self.bin_s, dtype=np.float64)
            self._count = np.zeros_like(self._count)
            self._bin = k
        self._count += np.asarray(counts, dtype=np.float64)

    def veh_h(self) -> FloatArray | None:
        """Hourly rates (veh/h) of the last complete bin, or None before one completed."""
        return None if self._last is None else self._last.copy()


class PowerMeters:
    """Active-power meters with energy registers (one per pole or per cabinet).

    Each meter has a fixed gain error (drawn once, N(0, ``gain_sd``)) and a
    reading noise N(0, ``noise_sd``) (fractions), readings rounded to
    ``resolution_w``. The energy register integrates ``(1 + gain) × true
    power`` exactly over each step (power constant within a step), as an
    electronic meter integrates continuously.

    Args:
        n: number of meters.
        rng: random generator.
        gain_sd: standard deviation of the gain error (fraction; 0.005 ≈ class 1).
        noise_sd: standard deviation of the reading noise (fraction).
        resolution_w: reading resolution (W, >= 0).
    """

    def __init__(
        self,
        n: int,
        rng: np.random.Generator,
        gain_sd: float = 0.005,
        noise_sd: float = 0.005,
        resolution_w: float = 0.1,
    ) -> None:
        if gain_sd < 0 or noise_sd < 0 or resolution_w < 0:
            raise ValueError("gain_sd, noise_sd and resolution_w must be >= 0")
        self.rng = rng
        self.gain = gain_sd * rng.standard_normal(n) if gain_sd > 0 else np.zeros(n)
        self.noise_sd, self.resolution_w = noise_sd, resolution_w
        self.energy_wh = np.zeros(n)

    def integrate(self, true_w: ArrayLike, dt_s: float) -> None:
        """Add a step of ``dt_s`` s at constant true power ``true_w`` (W) to the registers."""
        self.energy_wh += (1.0 + self.gain) * np.asarray(true_w, dtype=np.float64) * dt_s / 3600.0

    def read(self, true_w: ArrayLike) -> FloatArray:
        """Power readings (W, >= 0) for the true power (W)."""
        w = np.asarray(true_w, dtype=np.float64)
        noise = self.noise_sd * self.rng.standard_normal(w.shape) if self.noise_sd > 0 else 0.0
        out = np.maximum(w * (1.0 + self.gain + noise), 0.0)
        if self.resolution_w > 0:
            out = np.round(out / self.resolution_w) * self.resolution_w
        return np.asarray(out)

    @property
    def energy_kwh(self) -> FloatArray:
        """Energy registers (kWh) since the start."""
        return self.energy_wh / 1000.0


def local_time(start: datetime, t_s: float) -> datetime:
    """The aware datetime of run time ``t_s`` (s) for a run starting at ``start``."""
    return start + timedelta(seconds=t_s)
