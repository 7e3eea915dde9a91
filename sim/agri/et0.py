"""FAO-56 Penman–Monteith reference evapotranspiration ET0 (Allen et al. 1998, FAO I&D Paper 56).

Written from the equations of FAO-56 chapter 3 and 4; equation numbers in the
docstrings are FAO-56's. Every function accepts Python floats or numpy arrays
(broadcast together) and returns a ``float`` when all inputs are scalars, a
``float64`` array otherwise.

Units used throughout:

- temperature °C; vapour pressure kPa; slope Δ and psychrometric constant γ kPa/°C;
- radiation and soil heat flux MJ m⁻² per period (day: MJ/m²/d; hour: MJ/m²/h);
- wind m/s; elevation m above sea level; latitude/longitude decimal degrees
  (north and east positive); day of year 1…366; relative humidity %;
- ET0 mm per period (mm/d from :func:`et0_daily`, mm/h from :func:`et0_hourly`).

Input checks: a NaN or infinity, ``tmin > tmax``, ``rh_min > rh_max``, RH
outside 0–100 %, negative wind, radiation, vapour pressure or sunshine,
``|lat| > 90`` or a day of year outside 1–366 raise :class:`ValueError` naming
the argument and the offending value.

Choices where FAO-56 leaves room, stated once:

- the relative shortwave radiation Rs/Rso in eq. 39 is limited to 0.3…1.0
  (FAO-56 gives the upper limit; the lower one is ASCE-EWRI 2005's and keeps
  the cloudiness factor ``1.35 Rs/Rso − 0.35`` positive);
- hourly: an hour counts as daylight when its extraterrestrial radiation Ra
  (eq. 28) is > 0; at night Rs/Rso is the caller's ``night_rs_rso`` (FAO-56:
  the ratio 2–3 h before sunset, or 0.4–0.6 in humid and subhumid climates).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from sim.weather.normals import ClimateNormals
    from sim.weather.series import DailySummary, WeatherSeries

__all__ = [
    "ALBEDO_REFERENCE",
    "ANGSTROM_AS",
    "ANGSTROM_BS",
    "GSC_MJ_M2_MIN",
    "KRS_COASTAL",
    "KRS_INTERIOR",
    "SIGMA_MJ_K4_M2_D",
    "Et0Terms",
    "FloatOrArray",
    "actual_vapour_pressure_from_rh_mean",
    "actual_vapour_pressure_from_rh_minmax",
    "actual_vapour_pressure_from_tdew",
    "atmospheric_pressure_kpa",
    "clear_sky_radiation",
    "daylight_hours",
    "et0_daily",
    "et0_daily_from_summary",
    "et0_daily_from_weather",
    "et0_daily_terms",
    "et0_hourly",
    "et0_hourly_terms",
    "et0_monthly_normals",
    "extraterrestrial_radiation_daily",
    "extraterrestrial_radiation_hourly",
    "inverse_relative_distance",
    "mean_saturation_vapour_pressure",
    "net_longwave_radiation",
    "net_shortwave_radiation",
    "psychrometric_constant",
    "saturation_vapour_pressure",
    "solar_declination_rad",
    "solar_radiation_angstrom",
    "solar_radiation_hargreaves",
    "sunset_hour_angle_rad",
    "svp_slope",
    "wind_speed_2m",
]

FloatOrArray = float | npt.NDArray[np.float64]

#: Solar constant Gsc (MJ m⁻² min⁻¹), eq. 21.
GSC_MJ_M2_MIN = 0.0820
#: Stefan–Boltzmann constant σ (MJ K⁻⁴ m⁻² d⁻¹), eq. 39; per hour divide by 24.
SIGMA_MJ_K4_M2_D = 4.903e-9
#: Albedo of the hypothetical grass reference crop (–), eq. 38.
ALBEDO_REFERENCE = 0.23
#: Angström coefficients recommended when no calibration exists (–), eq. 35.
ANGSTROM_AS = 0.25
ANGSTROM_BS = 0.50
#: Hargreaves radiation adjustment coefficient kRs (°C^-0.5), eq. 50.
KRS_INTERIOR = 0.16
KRS_COASTAL = 0.19

_T_RANGE_C = (-95.0, 65.0)  # below/above the surface air records: a unit or sensor error
_ELEVATION_RANGE_M = (-1000.0, 9000.0)


# ------------------------------------------------------------------ checks
def _arr(name: str, value: Any) -> npt.NDArray[np.float64]:
    """``value`` as a float64 array; raises ValueError on NaN, infinities or non-numbers."""
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    bad = ~np.isfinite(a)
    if bad.any():
        raise ValueError(f"{name} must be finite, got {a[bad].flat[0]!r}")
    return a


def _check(
    name: str,
    value: Any,
    lo: float | None = None,
    hi: float | None = None,
    what: str = "",
) -> npt.NDArray[np.float64]:
    """``value`` as a checked float64 array within the closed range [lo, hi]."""
    a = _arr(name, value)
    out = np.zeros(a.shape, dtype=bool)
    if lo is not None:
        out |= a < lo
    if hi is not None:
        out |= a > hi
    if out.any():
        rng = f"[{'-inf' if lo is None else f'{lo:g}'}, {'inf' if hi is None else f'{hi:g}'}]"
        hint = f" ({what})" if what else ""
        raise ValueError(f"{name} = {a[out].flat[0]:g} is outside {rng}{hint}")
    return a


def _temp(name: str, value: Any) -> npt.NDArray[np.float64]:
    return _check(name, value, *_T_RANGE_C, what="air temperature in °C")


def _minmax(
    lo_name: str, lo: npt.NDArray[np.float64], hi_name: str, hi: npt.NDArray[np.float64]
) -> None:
    lo_b, hi_b = np.broadcast_arrays(lo, hi)
    bad = lo_b > hi_b
    if bad.any():
        i = np.flatnonzero(bad.ravel())[0]
        raise ValueError(
            f"{lo_name} = {lo_b.ravel()[i]:g} is greater than {hi_name} = {hi_b.ravel()[i]:g}"
        )


def _lat(value: Any) -> npt.NDArray[np.float64]:
    return _check("lat_deg", value, -90.0, 90.0, "latitude in decimal degrees")


def _doy(value: Any) -> npt.NDArray[np.float64]:
    a = _check("doy", value, 1.0, 366.0, "day of year")
    if (a != np.round(a)).any():
        raise ValueError(f"doy must be a whole day of year, got {a[a != np.round(a)].flat[0]:g}")
    return a


def _out(x: npt.NDArray[np.float64] | np.floating[Any] | float) -> FloatOrArray:
    a = np.asarray(x, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


# --------------------------------------------------------- atmosphere (eqs. 7, 8)
def atmospheric_pressure_kpa(elevation_m: Any) -> FloatOrArray:
    """Atmospheric pressure P (kPa) at ``elevation_m`` (m a.s.l.), eq. 7."""
    z = _check("elevation_m", elevation_m, *_ELEVATION_RANGE_M, what="m above sea level")
    return _out(101.3 * ((293.0 - 0.0065 * z) / 293.0) ** 5.26)


def psychrometric_constant(elevation_m: Any) -> FloatOrArray:
    """Psychrometric constant γ (kPa/°C) at ``elevation_m`` (m a.s.l.), eqs. 7–8."""
    return _out(0.665e-3 * np.asarray(atmospheric_pressure_kpa(elevation_m)))


# ------------------------------------------------------- humidity (eqs. 11–19)
def _es(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return np.asarray(0.6108 * np.exp(17.27 * t / (t + 237.3)), dtype=np.float64)


def saturation_vapour_pressure(t_c: Any) -> FloatOrArray:
    """Saturation vapour pressure e°(T) (kPa) at air temperature ``t_c`` (°C), eq. 11."""
    return _out(_es(_temp("t_c", t_c)))


def mean_saturation_vapour_pressure(tmax_c: Any, tmin_c: Any) -> FloatOrArray:
    """Mean saturation vapour pressure es = (e°(Tmax) + e°(Tmin))/2 (kPa), eq. 12."""
    tx, tn = _temp("tmax_c", tmax_c), _temp("tmin_c", tmin_c)
    _minmax("tmin_c", tn, "tmax_c", tx)
    return _out((_es(tx) + _es(tn)) / 2.0)


def svp_slope(t_c: Any) -> FloatOrArray:
    """Slope Δ (kPa/°C) of the saturation vapour pressure curve at ``t_c`` (°C), eq. 13."""
    t = _temp("t_c", t_c)
    return _out(4098.0 * _es(t) / (t + 237.3) ** 2)


def actual_vapour_pressure_from_tdew(tdew_c: Any) -> FloatOrArray:
    """Actual vapour pressure ea = e°(Tdew) (kPa) from the dewpoint ``tdew_c`` (°C), eq. 14."""
    return _out(_es(_temp("tdew_c", tdew_c)))


def _rh(name: str, value: Any) -> npt.NDArray[np.float64]:
    return _check(name, value, 0.0, 100.0, "relative humidity in %")


def actual_vapour_pressure_from_rh_minmax(
    tmax_c: Any, tmin_c: Any, rh_max: Any, rh_min: Any
) -> FloatOrArray:
    """ea (kPa) from daily RHmax and RHmin (%), eq. 17: (e°(Tmin)·RHmax + e°(Tmax)·RHmin)/200."""
    tx, tn = _temp("tmax_c", tmax_c), _temp("tmin_c", tmin_c)
    _minmax("tmin_c", tn, "tmax_c", tx)
    hx, hn = _rh("rh_max", rh_max), _rh("rh_min", rh_min)
    _minmax("rh_min", hn, "rh_max", hx)
    return _out((_es(tn) * hx / 100.0 + _es(tx) * hn / 100.0) / 2.0)


def actual_vapour_pressure_from_rh_mean(tmax_c: Any, tmin_c: Any, rh_mean: Any) -> FloatOrArray:
    """ea (kPa) from the daily mean RH (%), eq. 19: RHmean/100 · (e°(Tmax) + e°(Tmin))/2."""
    tx, tn = _temp("tmax_c", tmax_c), _temp("tmin_c", tmin_c)
    _minmax("tmin_c", tn, "tmax_c", tx)
    return _out(_rh("rh_mean", rh_mean) / 100.0 * (_es(tx) + _es(tn)) / 2.0)


# ----------------------------------------------------- radiation (eqs. 21–39)
def inverse_relative_distance(doy: Any) -> FloatOrArray:
    """Inverse relative Earth–Sun distance dr (–) on day of year ``doy``, eq. 23."""
    j = _doy(doy)
    return _out(1.0 + 0.033 * np.cos(2.0 * np.pi / 365.0 * j))


def solar_declination_rad(doy: Any) -> FloatOrArray:
    """Solar declination δ (rad) on day of year ``doy``, eq. 24."""
    j = _doy(doy)
    return _out(0.409 * np.sin(2.0 * np.pi / 365.0 * j - 1.39))


def _omega_s(phi: npt.NDArray[np.float64], delta: npt.NDArray[np.float64]) -> Any:
    # eq. 25, clipped so polar day (ωs = π) and polar night (ωs = 0) stay defined
    return np.arccos(np.clip(-np.tan(phi) * np.tan(delta), -1.0, 1.0))


def sunset_hour_angle_rad(lat_deg: Any, doy: Any) -> FloatOrArray:
    """Sunset hour angle ωs (rad, 0…π) at latitude ``lat_deg`` (°) on day ``doy``, eq. 25."""
    phi = np.radians(_lat(lat_deg))
    return _out(_omega_s(phi, np.asarray(solar_declination_rad(doy))))


def daylight_hours(lat_deg: Any, doy: Any) -> FloatOrArray:
    """Astronomical day length N (h) at latitude ``lat_deg`` (°) on day ``doy``, eq. 34."""
    return _out(24.0 / np.pi * np.asarray(sunset_hour_angle_rad(lat_deg, doy)))


def extraterrestrial_radiation_daily(lat_deg: Any, doy: Any) -> FloatOrArray:
    """Daily extraterrestrial radiation Ra (MJ/m²/d) at ``lat_deg`` (°) on day ``doy``, eq. 21."""
    phi = np.radians(_lat(lat_deg))
    dr = np.asarray(inverse_relative_distance(doy))
    delta = np.asarray(solar_declination_rad(doy))
    ws = _omega_s(phi, delta)
    ra = (
        24.0
        * 60.0
        / np.pi
        * GSC_MJ_M2_MIN
        * dr
        * (ws * np.sin(phi) * np.sin(delta) + np.cos(phi) * np.cos(delta) * np.sin(ws))
    )
    return _out(np.maximum(ra, 0.0))


def _solar_time_angle(
    doy: npt.NDArray[np.float64],
    hour_mid: npt.NDArray[np.float64],
    lon_deg: npt.NDArray[np.float64],
    utc_offset_h: npt.NDArray[np.float64],
) -> Any:
    # eqs. 31–33; FAO's Lz − Lm (degrees west) equals lon_east − 15·utc_offset
    b = 2.0 * np.pi * (doy - 81.0) / 364.0
    sc = 0.1645 * np.sin(2.0 * b) - 0.1255 * np.cos(b) - 0.025 * np.sin(b)
    return np.pi / 12.0 * ((hour_mid + 0.06667 * (lon_deg - 15.0 * utc_offset_h) + sc) - 12.0)


def extraterrestrial_radiation_hourly(
    lat_deg: Any,
    lon_deg: Any,
    doy: Any,
    hour_mid: Any,
    *,
    utc_offset_h: Any = 7.0,
    period_h: float = 1.0,
) -> FloatOrArray:
    """Extraterrestrial radiation Ra (MJ/m² per period) for a period of ``period_h`` hours, eq. 28.

    Args:
        lat_deg: latitude (°, north positive).
        lon_deg: longitude (°, east positive); FAO-56's Lm is ``-lon_deg`` (° west).
        doy: day of year (1…366).
        hour_mid: local standard clock time at the middle of the period (h, 0…24),
            e.g. 14.5 for 14:00–15:00.
        utc_offset_h: the clock's offset from UTC (h, +7 for Vietnam); FAO-56's
            Lz is ``-15 · utc_offset_h`` (° west).
        period_h: length of the period (h, 0 < period ≤ 24; 1 hourly, 0.5 half-hourly).

    The hour angles at the period's ends (eqs. 29–31, 33) are limited to the
    sunset angle ±ωs, so a period around sunrise or sunset gets its sunlit part
    only and a night period 0.
    """
    phi = np.radians(_lat(lat_deg))
    lon = _check("lon_deg", lon_deg, -180.0, 360.0, "longitude in decimal degrees, east positive")
    j = _doy(doy)
    t = _check("hour_mid", hour_mid, 0.0, 24.0, "local clock time in h")
    off = _check("utc_offset_h", utc_offset_h, -14.0, 14.0, "h east of UTC")
    if not (0.0 < period_h <= 24.0) or not math.isfinite(period_h):
        raise ValueError(f"period_h = {period_h!r} is outside (0, 24]")
    dr = np.asarray(inverse_relative_distance(j))
    delta = np.asarray(solar_declination_rad(j))
    ws = _omega_s(phi, delta)
    w = _solar_time_angle(j, t, lon, off)
    # bring ω into (−π, π] so a local clock crossing solar midnight still compares with ±ωs
    w = np.mod(w + np.pi, 2.0 * np.pi) - np.pi
    half = np.pi * period_h / 24.0
    w1 = np.clip(w - half, -ws, ws)
    w2 = np.clip(w + half, -ws, ws)
    ra = (
        12.0
        * 60.0
        / np.pi
        * GSC_MJ_M2_MIN
        * dr
        * (
            (w2 - w1) * np.sin(phi) * np.sin(delta)
            + np.cos(phi) * np.cos(delta) * (np.sin(w2) - np.sin(w1))
        )
    )
    return _out(np.maximum(ra, 0.0))


def clear_sky_radiation(ra: Any, elevation_m: Any) -> FloatOrArray:
    """Clear-sky solar radiation Rso = (0.75 + 2·10⁻⁵ z)·Ra (same unit as ``ra``), eq. 37."""
    r = _check("ra", ra, 0.0, None, "extraterrestrial radiation, MJ/m² per period")
    z = _check("elevation_m", elevation_m, *_ELEVATION_RANGE_M, what="m above sea level")
    return _out((0.75 + 2e-5 * z) * r)


def net_shortwave_radiation(rs: Any, albedo: float = ALBEDO_REFERENCE) -> FloatOrArray:
    """Net shortwave radiation Rns = (1 − α)·Rs (same unit as ``rs``), eq. 38; α 0.23 for grass."""
    r = _check("rs", rs, 0.0, None, "solar radiation, MJ/m² per period")
    a = float(_check("albedo", albedo, 0.0, 1.0))
    return _out((1.0 - a) * r)


def _rs_rso(rs: npt.NDArray[np.float64], rso: npt.NDArray[np.float64]) -> Any:
    ratio = np.divide(rs, rso, out=np.full(np.broadcast(rs, rso).shape, 0.3), where=rso > 0)
    return np.clip(ratio, 0.3, 1.0)


def _rnl(
    t4: npt.NDArray[np.float64],
    ea: npt.NDArray[np.float64],
    rs_rso: npt.NDArray[np.float64],
    sigma: float,
) -> Any:
    # eq. 39 with σT⁴ given as the mean of T_K⁴ terms
    return sigma * t4 * (0.34 - 0.14 * np.sqrt(ea)) * (1.35 * rs_rso - 0.35)


def net_longwave_radiation(
    tmax_c: Any, tmin_c: Any, ea_kpa: Any, rs: Any, rso: Any, *, period_h: float = 24.0
) -> FloatOrArray:
    """Net outgoing longwave radiation Rnl (MJ/m² per period), eq. 39.

    Args:
        tmax_c, tmin_c: maximum and minimum air temperature of the period (°C);
            for an hour pass the hour's mean temperature twice.
        ea_kpa: actual vapour pressure (kPa, ≥ 0).
        rs, rso: measured or estimated solar and clear-sky radiation (MJ/m² per
            period, ≥ 0); Rs/Rso is limited to 0.3…1.0 (0.3 when Rso = 0).
        period_h: 24 for daily values, 1 for hourly (σ is scaled by period_h/24).
    """
    tx, tn = _temp("tmax_c", tmax_c), _temp("tmin_c", tmin_c)
    _minmax("tmin_c", tn, "tmax_c", tx)
    ea = _check("ea_kpa", ea_kpa, 0.0, None, "actual vapour pressure in kPa")
    r_s = _check("rs", rs, 0.0, None, "solar radiation, MJ/m² per period")
    r_so = _check("rso", rso, 0.0, None, "clear-sky radiation, MJ/m² per period")
    t4 = ((tx + 273.16) ** 4 + (tn + 273.16) ** 4) / 2.0
    return _out(_rnl(t4, ea, _rs_rso(r_s, r_so), SIGMA_MJ_K4_M2_D * period_h / 24.0))


def solar_radiation_angstrom(
    sunshine_h: Any,
    lat_deg: Any,
    doy: Any,
    *,
    a_s: float = ANGSTROM_AS,
    b_s: float = ANGSTROM_BS,
) -> FloatOrArray:
    """Solar radiation Rs (MJ/m²/d) from bright-sunshine hours n (h/d), Angström eq. 35.

    Rs = (as + bs·n/N)·Ra with N from eq. 34 and Ra from eq. 21; n/N is limited
    to ≤ 1 (a sunshine recorder may log slightly more than the astronomical N).
    """
    n = _check("sunshine_h", sunshine_h, 0.0, 24.0, "bright-sunshine hours per day")
    big_n = np.asarray(daylight_hours(lat_deg, doy))
    ra = np.asarray(extraterrestrial_radiation_daily(lat_deg, doy))
    frac = np.clip(
        np.divide(n, big_n, out=np.zeros(np.broadcast(n, big_n).shape), where=big_n > 0), 0.0, 1.0
    )
    return _out((a_s + b_s * frac) * ra)


def solar_radiation_hargreaves(
    tmax_c: Any, tmin_c: Any, lat_deg: Any, doy: Any, *, k_rs: float = KRS_COASTAL
) -> FloatOrArray:
    """Solar radiation Rs (MJ/m²/d) from the temperature range, Hargreaves eq. 50.

    Rs = kRs·√(Tmax − Tmin)·Ra; ``k_rs`` 0.16 (:data:`KRS_INTERIOR`) inland,
    0.19 (:data:`KRS_COASTAL`, the default: Đông Hà is ~10 km from the sea)
    where air masses are influenced by a nearby large water body.
    """
    tx, tn = _temp("tmax_c", tmax_c), _temp("tmin_c", tmin_c)
    _minmax("tmin_c", tn, "tmax_c", tx)
    k = float(_check("k_rs", k_rs, 0.0, 1.0))
    return _out(k * np.sqrt(tx - tn) * np.asarray(extraterrestrial_radiation_daily(lat_deg, doy)))


def wind_speed_2m(u_z: Any, z_m: Any) -> FloatOrArray:
    """Wind speed at 2 m (m/s) from ``u_z`` (m/s) measured ``z_m`` m above ground, eq. 47."""
    u = _check("u_z", u_z, 0.0, None, "wind speed in m/s")
    z = _check("z_m", z_m, 0.1, None, "measurement height above ground in m")
    return _out(u * 4.87 / np.log(67.8 * z - 5.42))


# --------------------------------------------------------------- ET0 (eqs. 6, 53)
@dataclass(frozen=True)
class Et0Terms:
    """The intermediate values of one Penman–Monteith evaluation (floats or arrays).

    Radiation and G are in MJ/m² per period (day or hour), ET0 and the two
    terms of the equation in mm per period.

    Attributes:
        delta: slope Δ (kPa/°C). gamma: psychrometric constant γ (kPa/°C).
        es: saturation vapour pressure (kPa). ea: actual vapour pressure (kPa).
        ra: extraterrestrial radiation. rso: clear-sky radiation. rs: solar radiation.
        rns: net shortwave. rnl: net longwave. rn: net radiation. g: soil heat flux.
        radiation_term: ``0.408 Δ (Rn − G) / (Δ + γ(1 + 0.34 u2))`` (mm).
        aerodynamic_term: ``γ Cn/(T + 273) u2 (es − ea) / (Δ + γ(1 + 0.34 u2))`` (mm).
        et0: reference evapotranspiration (mm per period), the sum of the two terms.
    """

    delta: FloatOrArray
    gamma: FloatOrArray
    es: FloatOrArray
    ea: FloatOrArray
    ra: FloatOrArray
    rso: FloatOrArray
    rs: FloatOrArray
    rns: FloatOrArray
    rnl: FloatOrArray
    rn: FloatOrArray
    g: FloatOrArray
    radiation_term: FloatOrArray
    aerodynamic_term: FloatOrArray
    et0: FloatOrArray


def _pm(
    delta: Any, gamma: Any, rn: Any, g: Any, t: Any, u2: Any, vpd: Any, cn: float
) -> tuple[Any, Any]:
    den = delta + gamma * (1.0 + 0.34 * u2)
    return 0.408 * delta * (rn - g) / den, gamma * cn / (t + 273.0) * u2 * vpd / den


def _daily_ea(
    tx: npt.NDArray[np.float64],
    tn: npt.NDArray[np.float64],
    rh_max: Any,
    rh_min: Any,
    rh_mean: Any,
    ea_kpa: Any,
) -> npt.NDArray[np.float64]:
    given = [
        name
        for name, v in (
            ("rh_max/rh_min", rh_max if rh_max is not None else rh_min),
            ("rh_mean", rh_mean),
            ("ea_kpa", ea_kpa),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "give exactly one humidity input: rh_max and rh_min (eq. 17), rh_mean (eq. 19) "
            "or ea_kpa (e.g. from actual_vapour_pressure_from_tdew, eq. 14); "
            f"got {', '.join(given) if given else 'none'}"
        )
    if ea_kpa is not None:
        return _check("ea_kpa", ea_kpa, 0.0, None, "actual vapour pressure in kPa")
    if rh_mean is not None:
        return np.asarray(actual_vapour_pressure_from_rh_mean(tx, tn, rh_mean))
    if rh_max is None or rh_min is None:
        missing = "rh_min" if rh_min is None else "rh_max"
        raise ValueError(f"{missing} is missing: eq. 17 needs both rh_max and rh_min")
    return np.asarray(actual_vapour_pressure_from_rh_minmax(tx, tn, rh_max, rh_min))


def et0_daily_terms(
    tmax_c: Any,
    tmin_c: Any,
    rs_mj_m2_d: Any,
    u2_m_s: Any,
    lat_deg: Any,
    doy: Any,
    elevation_m: Any,
    *,
    rh_max: Any = None,
    rh_min: Any = None,
    rh_mean: Any = None,
    ea_kpa: Any = None,
    g_mj: Any = 0.0,
) -> Et0Terms:
    """:func:`et0_daily` with all its intermediate values (see :class:`Et0Terms`)."""
    tx, tn = _temp("tmax_c", tmax_c), _temp("tmin_c", tmin_c)
    _minmax("tmin_c", tn, "tmax_c", tx)
    rs = _check("rs_mj_m2_d", rs_mj_m2_d, 0.0, None, "solar radiation in MJ/m²/d")
    u2 = _check("u2_m_s", u2_m_s, 0.0, None, "wind speed at 2 m in m/s")
    g = _arr("g_mj", g_mj)
    ea = _daily_ea(tx, tn, rh_max, rh_min, rh_mean, ea_kpa)
    t_mean = (tx + tn) / 2.0  # FAO-56: Tmean = (Tmax + Tmin)/2 for daily steps
    delta = np.asarray(svp_slope(t_mean))
    gamma = np.asarray(psychrometric_constant(elevation_m))
    es = (_es(tx) + _es(tn)) / 2.0
    ra = np.asarray(extraterrestrial_radiation_daily(lat_deg, doy))
    rso = np.asarray(clear_sky_radiation(ra, elevation_m))
    rns = (1.0 - ALBEDO_REFERENCE) * rs
    t4 = ((tx + 273.16) ** 4 + (tn + 273.16) ** 4) / 2.0
    rnl = _rnl(t4, ea, _rs_rso(rs, rso), SIGMA_MJ_K4_M2_D)
    rn = rns - rnl
    rad, aero = _pm(delta, gamma, rn, g, t_mean, u2, es - ea, 900.0)
    return Et0Terms(
        delta=_out(delta),
        gamma=_out(gamma),
        es=_out(es),
        ea=_out(ea),
        ra=_out(ra),
        rso=_out(rso),
        rs=_out(rs),
        rns=_out(rns),
        rnl=_out(rnl),
        rn=_out(rn),
        g=_out(np.broadcast_to(g, np.broadcast(g, rn).shape)),
        radiation_term=_out(rad),
        aerodynamic_term=_out(aero),
        et0=_out(rad + aero),
    )


def et0_daily(
    tmax_c: Any,
    tmin_c: Any,
    rs_mj_m2_d: Any,
    u2_m_s: Any,
    lat_deg: Any,
    doy: Any,
    elevation_m: Any,
    *,
    rh_max: Any = None,
    rh_min: Any = None,
    rh_mean: Any = None,
    ea_kpa: Any = None,
    g_mj: Any = 0.0,
) -> FloatOrArray:
    """Daily grass-reference ET0 (mm/d), FAO-56 Penman–Monteith eq. 6.

    Args:
        tmax_c, tmin_c: daily maximum and minimum air temperature at 2 m (°C, tmin ≤ tmax).
        rs_mj_m2_d: solar (shortwave) radiation (MJ/m²/d, ≥ 0); measured, or from
            :func:`solar_radiation_angstrom` / :func:`solar_radiation_hargreaves`.
        u2_m_s: mean wind speed at 2 m (m/s, ≥ 0); see :func:`wind_speed_2m`.
        lat_deg: latitude (°, −90…90, north positive).
        doy: day of year (1…366).
        elevation_m: station elevation (m a.s.l.).
        rh_max, rh_min: daily max and min relative humidity (%, eq. 17), or
        rh_mean: daily mean relative humidity (%, eq. 19), or
        ea_kpa: actual vapour pressure (kPa), e.g. from the dewpoint (eq. 14).
            Exactly one of these three humidity inputs must be given.
        g_mj: soil heat flux G (MJ/m²/d); 0 for daily steps (eq. 42).

    ET0 is returned as computed, so it may be slightly negative on a cold,
    humid, dark day (condensation); clip it where a loss is meant.
    """
    return et0_daily_terms(
        tmax_c,
        tmin_c,
        rs_mj_m2_d,
        u2_m_s,
        lat_deg,
        doy,
        elevation_m,
        rh_max=rh_max,
        rh_min=rh_min,
        rh_mean=rh_mean,
        ea_kpa=ea_kpa,
        g_mj=g_mj,
    ).et0


def et0_hourly_terms(
    t_c: Any,
    rh_pct: Any,
    rs_mj_m2_h: Any,
    u2_m_s: Any,
    lat_deg: Any,
    lon_deg: Any,
    doy: Any,
    hour_mid: Any,
    elevation_m: Any,
    *,
    utc_offset_h: Any = 7.0,
    ea_kpa: Any = None,
    night_rs_rso: Any = 0.5,
) -> Et0Terms:
    """:func:`et0_hourly` with all its intermediate values (see :class:`Et0Terms`)."""
    t = _temp("t_c", t_c)
    rs = _check("rs_mj_m2_h", rs_mj_m2_h, 0.0, None, "solar radiation in MJ/m²/h")
    u2 = _check("u2_m_s", u2_m_s, 0.0, None, "wind speed at 2 m in m/s")
    night = _check("night_rs_rso", night_rs_rso, 0.0, 1.0, "relative shortwave radiation")
    if (rh_pct is None) == (ea_kpa is None):
        raise ValueError("give exactly one of rh_pct (eq. 54) and ea_kpa")
    es = _es(t)
    if ea_kpa is not None:
        ea = _check("ea_kpa", ea_kpa, 0.0, None, "actual vapour pressure in kPa")
    else:
        ea = es * _rh("rh_pct", rh_pct) / 100.0  # eq. 54
    delta = np.asarray(svp_slope(t))
    gamma = np.asarray(psychrometric_constant(elevation_m))
    ra = np.asarray(
        extraterrestrial_radiation_hourly(
            lat_deg, lon_deg, doy, hour_mid, utc_offset_h=utc_offset_h, period_h=1.0
        )
    )
    rso = np.asarray(clear_sky_radiation(ra, elevation_m))
    day = ra > 0.0
    ratio = np.where(day, _rs_rso(rs, rso), np.clip(night, 0.3, 1.0))
    rns = (1.0 - ALBEDO_REFERENCE) * rs
    rnl = _rnl((t + 273.16) ** 4, ea, ratio, SIGMA_MJ_K4_M2_D / 24.0)
    rn = rns - rnl
    g = np.where(day, 0.1, 0.5) * rn  # eqs. 45–46
    rad, aero = _pm(delta, gamma, rn, g, t, u2, es - ea, 37.0)
    return Et0Terms(
        delta=_out(delta),
        gamma=_out(gamma),
        es=_out(es),
        ea=_out(ea),
        ra=_out(ra),
        rso=_out(rso),
        rs=_out(rs),
        rns=_out(rns),
        rnl=_out(rnl),
        rn=_out(rn),
        g=_out(g),
        radiation_term=_out(rad),
        aerodynamic_term=_out(aero),
        et0=_out(rad + aero),
    )


def et0_hourly(
    t_c: Any,
    rh_pct: Any,
    rs_mj_m2_h: Any,
    u2_m_s: Any,
    lat_deg: Any,
    lon_deg: Any,
    doy: Any,
    hour_mid: Any,
    elevation_m: Any,
    *,
    utc_offset_h: Any = 7.0,
    ea_kpa: Any = None,
    night_rs_rso: Any = 0.5,
) -> FloatOrArray:
    """Hourly grass-reference ET0 (mm/h), FAO-56 Penman–Monteith eq. 53.

    Args:
        t_c: mean air temperature of the hour at 2 m (°C).
        rh_pct: mean relative humidity of the hour (%, eq. 54); or pass ``ea_kpa``
            (kPa) instead (give exactly one).
        rs_mj_m2_h: solar radiation of the hour (MJ/m²/h, ≥ 0; W/m² × 0.0036).
        u2_m_s: mean wind speed at 2 m (m/s, ≥ 0).
        lat_deg, lon_deg: latitude and longitude (°, north and east positive).
        doy: day of year (1…366).
        hour_mid: local standard time at the middle of the hour (h), 14.5 for 14–15 h.
        elevation_m: elevation (m a.s.l.).
        utc_offset_h: offset of the local standard clock from UTC (h; +7 in Vietnam).
        night_rs_rso: Rs/Rso used for Rnl when the hour's Ra is 0 (–, default
            0.5, FAO-56's humid-climate range 0.4–0.6).

    Net radiation uses the hourly Ra of eqs. 28–33 and σ/24; soil heat flux is
    G = 0.1 Rn in daylight and 0.5 Rn at night (eqs. 45–46).
    """
    return et0_hourly_terms(
        t_c,
        rh_pct,
        rs_mj_m2_h,
        u2_m_s,
        lat_deg,
        lon_deg,
        doy,
        hour_mid,
        elevation_m,
        utc_offset_h=utc_offset_h,
        ea_kpa=ea_kpa,
        night_rs_rso=night_rs_rso,
    ).et0


# ------------------------------------------------------- the repo's weather series
def et0_daily_from_summary(
    summary: DailySummary, *, lat_deg: float, elevation_m: float
) -> npt.NDArray[np.float64]:
    """Daily ET0 (mm/d) for each day of a :class:`~sim.weather.series.DailySummary`.

    Uses the summary's Tmax, Tmin, mean RH (eq. 19), mean wind (taken as wind at
    2 m, as :class:`~sim.weather.series.WeatherSeries` documents) and global
    radiation (MJ/m²/d); G = 0. Returns one value per ``summary.dates``.
    """
    doy = np.array([d.timetuple().tm_yday for d in summary.dates], dtype=np.float64)
    if doy.size == 0:
        return np.empty(0)
    return np.asarray(
        et0_daily(
            summary.tmax_c,
            summary.tmin_c,
            summary.radiation_mj_m2,
            summary.wind_mean_mps,
            lat_deg,
            doy,
            elevation_m,
            rh_mean=summary.rh_mean_pct,
        ),
        dtype=np.float64,
    )


def et0_daily_from_weather(
    series: WeatherSeries, *, lat_deg: float, elevation_m: float
) -> tuple[tuple[date, ...], npt.NDArray[np.float64]]:
    """Local dates and daily ET0 (mm/d) of the complete days of a weather series.

    A thin wrapper: ``series.daily()`` then :func:`et0_daily_from_summary`.
    """
    summary = series.daily()
    return summary.dates, et0_daily_from_summary(summary, lat_deg=lat_deg, elevation_m=elevation_m)


_MID_MONTH_DOY = (15, 46, 74, 105, 135, 166, 196, 227, 258, 288, 319, 349)
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def et0_monthly_normals(normals: ClimateNormals, elevation_m: float) -> npt.NDArray[np.float64]:
    """Mean daily ET0 (mm/d) of each calendar month, Jan..Dec, from climate normals.

    FAO-56 eq. 6 on the month's mean Tmax, Tmin, RH and wind at 2 m, with the
    radiation from the sunshine hours (Angstrom, eq. 35) on the middle day of
    the month; G = 0.
    """
    months = normals.months
    sun_h = np.array([m.sunshine_h for m in months]) / np.array(_MONTH_DAYS)
    doy = np.array(_MID_MONTH_DOY, dtype=np.float64)
    rs = solar_radiation_angstrom(sun_h, normals.latitude_deg, doy)
    return np.asarray(
        et0_daily(
            np.array(normals.column("tmax_c")),
            np.array(normals.column("tmin_c")),
            rs,
            np.array(normals.column("wind_2m_mps")),
            normals.latitude_deg,
            doy,
            elevation_m,
            rh_mean=np.array(normals.column("rh_mean_pct")),
        ),
        dtype=np.float64,
    )
