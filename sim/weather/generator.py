"""Seeded synthetic weather for Đông Hà, calibrated to the monthly normals.

Two stages, both drawing only from the ``numpy.random.Generator`` passed in:

1. :func:`generate_days` — one record per local day:

   - **Laos wind** (gió Lào): a two-state Markov chain inside the season
     window (default 20 Apr – 15 Sep), mean spell length
     ``laos_mean_spell_days`` and stationary frequency = the month's
     ``laos_wind_days`` / window days. A Laos day is hot (Tmax + 3…6 °C,
     Tmin + half of it), dry (daily mean RH 40…55 %), windy (daily mean
     3…6 m/s), sunny and rainless.
   - **Rain occurrence**: a two-state (wet/dry) Markov chain per day on the
     non-Laos days, stationary wet fraction = rain days / non-Laos days of the
     month, lag-1 autocorrelation ``rain_persistence``.
   - **Rain amount**: ``threshold + Gamma(shape, scale)`` with the month's
     mean (``rain_mm / rain_days``) — so every wet day counts as a rain day.
   - **Relative sunshine** n/N per day: Beta draws whose monthly mean matches
     sunshine hours / day length (wet days darker, Laos days bright).
   - **Tmax / Tmin**: the normals, smoothed through the year with a
     mean-preserving interpolation, minus the expected Laos-wind excess,
     plus AR(1) anomalies and a sunshine coupling (clear days warmer by day,
     cooler at night).
   - **Humidity, wind**: daily targets around the normals likewise.

2. :func:`synthesize_series` — samples at any fixed step:

   - temperature: cosine segments from Tmin at sunrise to Tmax at 14:00 and
     down to the next sunrise's Tmin;
   - relative humidity: a daily vapour pressure (fitted so the day's mean RH
     hits its target) over the saturation pressure at the current
     temperature, so RH falls as temperature rises; capped at 100 %;
   - global radiation: (a + b·n/N) × extraterrestrial irradiance on the
     horizontal (Ångström–Prescott, FAO-56 a = 0.25, b = 0.50), from the sun's
     position computed with the NOAA (Spencer) formulas;
   - wind: daily mean × (1 + A cos(2π(h − 14)/24)) × AR(1) log-normal noise;
   - rain: each wet day's total split over 1–4 bursts of constant intensity
     inside the day (afternoon convection in Jan–Aug, any hour and longer in
     the wet season Sep–Dec), integrated exactly into each step.

Limits: no typhoons or multi-day extreme storms (October 2020 is out of
reach: use a measured or designed series for flood drills), no sub-daily
cloud flicker, and day-to-day weather regimes are only AR(1)/Markov.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np

from sim.weather.normals import DONGHA_NORMALS, ClimateNormals
from sim.weather.series import LOCAL_TZ, WeatherDataError, WeatherSeries

__all__ = [
    "SOLAR_CONSTANT_WM2",
    "DailyWeather",
    "GeneratorParams",
    "generate_climate",
    "generate_days",
    "solar_elevation_deg",
    "sunrise_sunset",
    "synthesize_series",
]

SOLAR_CONSTANT_WM2 = 1367.0  # FAO-56 Gsc = 0.0820 MJ m-2 min-1
_SUN_ZENITH_RISE_DEG = 90.833  # refraction + solar semi-diameter (NOAA)
_NORMAL_MONTH_DAYS = np.array([31, 28.25, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


@dataclass(frozen=True)
class GeneratorParams:
    """Tunable parameters of the generator (all *estimates* unless noted).

    Attributes:
        rain_persistence: lag-1 autocorrelation of the daily wet/dry chain (0…1).
        rain_gamma_shape: shape of the gamma distribution of wet-day amounts.
        rain_threshold_mm: smallest rain-day total (mm); the rain-day definition.
        wet_day_sunshine_ratio: mean n/N of a wet day ÷ that of a dry day.
        sunshine_concentration: Beta concentration (a + b) of daily n/N.
        tmax_anomaly_sd_c, tmin_anomaly_sd_c: day-to-day anomaly s.d. (°C).
        temp_anomaly_ar1: lag-1 autocorrelation of the temperature anomalies.
        tmax_sunshine_coupling_c: Tmax change per unit of n/N above the mean (°C).
        tmin_sunshine_coupling_c: Tmin change per unit of n/N above the mean (°C).
        rh_sunshine_coupling_pct: daily mean RH change per unit n/N (%).
        rh_daily_sd_pct: s.d. of the daily mean RH target (%).
        t_max_hour: local clock hour of the daily maximum temperature (h).
        wind_daily_cv: coefficient of variation of daily mean wind.
        wind_diurnal_amplitude: relative amplitude A of the diurnal wind cycle.
        wind_noise_sigma: s.d. of the log wind noise.
        wind_noise_tau_s: correlation time of the wind noise (s).
        angstrom_a, angstrom_b: Ångström–Prescott coefficients (FAO-56 defaults).
        wet_season_months: months with frontal/monsoon rain (long bursts at any hour).
        burst_hours_wet, burst_hours_dry: mean burst duration (h) in/out of the wet season.
        convective_peak_hour: mean start hour of dry-season showers (h, local).
        laos_mean_spell_days: mean length of a Laos-wind spell (days).
        laos_temp_boost_c: range of the Tmax excess on a Laos day (°C).
        laos_tmin_fraction: share of that excess applied to Tmin.
        laos_rh_pct: range of a Laos day's mean RH (%).
        laos_wind_mps: range of a Laos day's mean wind at 2 m (m/s).
        laos_sunshine: mean n/N on a Laos day.
    """

    rain_persistence: float = 0.4
    rain_gamma_shape: float = 0.7
    rain_threshold_mm: float = 0.1
    wet_day_sunshine_ratio: float = 0.4
    sunshine_concentration: float = 4.0
    tmax_anomaly_sd_c: float = 1.2
    tmin_anomaly_sd_c: float = 0.9
    temp_anomaly_ar1: float = 0.6
    tmax_sunshine_coupling_c: float = 3.0
    tmin_sunshine_coupling_c: float = -1.0
    rh_sunshine_coupling_pct: float = -12.0
    rh_daily_sd_pct: float = 3.0
    t_max_hour: float = 14.0
    wind_daily_cv: float = 0.25
    wind_diurnal_amplitude: float = 0.45
    wind_noise_sigma: float = 0.2
    wind_noise_tau_s: float = 3 * 3600.0
    angstrom_a: float = 0.25
    angstrom_b: float = 0.50
    wet_season_months: tuple[int, ...] = (9, 10, 11, 12)
    burst_hours_wet: float = 3.0
    burst_hours_dry: float = 1.2
    convective_peak_hour: float = 15.5
    laos_mean_spell_days: float = 3.5
    laos_temp_boost_c: tuple[float, float] = (3.0, 6.0)
    laos_tmin_fraction: float = 0.5
    laos_rh_pct: tuple[float, float] = (40.0, 55.0)
    laos_wind_mps: tuple[float, float] = (3.0, 6.0)
    laos_sunshine: float = 0.85


@dataclass(frozen=True)
class DailyWeather:
    """Daily draws of the generator, one entry per local day (arrays of equal length).

    Attributes:
        dates: local calendar dates.
        tmax_c, tmin_c: the day's maximum and minimum temperature (°C).
        rh_mean_pct: target daily mean relative humidity (%).
        wind_mean_mps: daily mean wind speed at 2 m (m/s).
        sunshine_frac: relative sunshine n/N (0…1).
        rain_mm: daily rain total (mm).
        wet: True on rain days.
        laos: True on Laos-wind days.
        sunrise_h: local clock time of sunrise (h).
        daylength_h: astronomical day length N (h).
        doy: day of year (1…366).
    """

    dates: tuple[date, ...]
    tmax_c: np.ndarray
    tmin_c: np.ndarray
    rh_mean_pct: np.ndarray
    wind_mean_mps: np.ndarray
    sunshine_frac: np.ndarray
    rain_mm: np.ndarray
    wet: np.ndarray
    laos: np.ndarray
    sunrise_h: np.ndarray
    daylength_h: np.ndarray
    doy: np.ndarray

    def __len__(self) -> int:
        return len(self.dates)


# ------------------------------------------------------------------ the sun
def _year_fraction(doy: np.ndarray, hour_utc: np.ndarray, year_days: np.ndarray) -> np.ndarray:
    return 2.0 * np.pi / year_days * (doy - 1.0 + (hour_utc - 12.0) / 24.0)


def _decl_eqtime(gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Solar declination (rad) and equation of time (min), NOAA/Spencer series."""
    eqtime = 229.18 * (
        0.000075
        + 0.001868 * np.cos(gamma)
        - 0.032077 * np.sin(gamma)
        - 0.014615 * np.cos(2 * gamma)
        - 0.040849 * np.sin(2 * gamma)
    )
    decl = (
        0.006918
        - 0.399912 * np.cos(gamma)
        + 0.070257 * np.sin(gamma)
        - 0.006758 * np.cos(2 * gamma)
        + 0.000907 * np.sin(2 * gamma)
        - 0.002697 * np.cos(3 * gamma)
        + 0.00148 * np.sin(3 * gamma)
    )
    return decl, eqtime


def _utc_parts(utc_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day of year, UTC hour and year length for POSIX seconds ``utc_s``."""
    t64 = (np.asarray(utc_s, dtype=np.float64) * 1e3).astype("int64").astype("datetime64[ms]")
    day = t64.astype("datetime64[D]")
    year = t64.astype("datetime64[Y]")
    doy = (day - year.astype("datetime64[D]")).astype(np.int64) + 1
    hour = (t64 - day).astype(np.int64) / 3.6e6
    y = year.astype(np.int64) + 1970
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return doy.astype(np.float64), hour, np.where(leap, 366.0, 365.0)


def _cos_zenith(utc_s: np.ndarray, lat_deg: float, lon_deg: float) -> np.ndarray:
    doy, hour, ydays = _utc_parts(utc_s)
    decl, eqtime = _decl_eqtime(_year_fraction(doy, hour, ydays))
    true_solar_min = hour * 60.0 + eqtime + 4.0 * lon_deg
    ha = np.radians(true_solar_min / 4.0 - 180.0)
    lat = math.radians(lat_deg)
    return np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(ha)


def solar_elevation_deg(
    when: datetime,
    latitude_deg: float = DONGHA_NORMALS.latitude_deg,
    longitude_deg: float = DONGHA_NORMALS.longitude_deg,
) -> float:
    """Geometric solar elevation (degrees above the horizon, no refraction) at ``when``.

    ``when`` must be timezone-aware. NOAA General Solar Position formulas
    (Spencer's Fourier series), accurate to about a minute of time.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"solar_elevation_deg: {when.isoformat()} is naive; give an aware time")
    cz = _cos_zenith(np.array([when.timestamp()]), latitude_deg, longitude_deg)[0]
    return math.degrees(math.asin(max(-1.0, min(1.0, float(cz)))))


def _sun_times_utc_min(
    doy: np.ndarray, year_days: np.ndarray, lat_deg: float, lon_deg: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sunrise and sunset (minutes after 00:00 UTC of that date), NOAA, evaluated at noon."""
    decl, eqtime = _decl_eqtime(_year_fraction(doy, np.full_like(doy, 12.0), year_days))
    lat = math.radians(lat_deg)
    cos_ha = math.cos(math.radians(_SUN_ZENITH_RISE_DEG)) / (
        math.cos(lat) * np.cos(decl)
    ) - math.tan(lat) * np.tan(decl)
    ha = np.degrees(np.arccos(np.clip(cos_ha, -1.0, 1.0)))
    return 720.0 - 4.0 * (lon_deg + ha) - eqtime, 720.0 - 4.0 * (lon_deg - ha) - eqtime


def sunrise_sunset(
    day: date,
    latitude_deg: float = DONGHA_NORMALS.latitude_deg,
    longitude_deg: float = DONGHA_NORMALS.longitude_deg,
) -> tuple[datetime, datetime]:
    """Local (Asia/Ho_Chi_Minh) sunrise and sunset of ``day`` (NOAA, zenith 90.833°)."""
    y_days = 366.0 if (day.year % 4 == 0 and day.year % 100 != 0) or day.year % 400 == 0 else 365.0
    doy = np.array([float(day.timetuple().tm_yday)])
    rise, sset = _sun_times_utc_min(doy, np.array([y_days]), latitude_deg, longitude_deg)
    midnight_utc = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).utcoffset()
    assert midnight_utc is not None
    base = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ) + midnight_utc
    return (
        (base + timedelta(minutes=float(rise[0]))).astimezone(LOCAL_TZ),
        (base + timedelta(minutes=float(sset[0]))).astimezone(LOCAL_TZ),
    )


# ------------------------------------------------------------- daily stage
def _mean_preserving_knots(values: np.ndarray) -> np.ndarray:
    """Mid-month knots whose periodic piecewise-linear interpolant has the given monthly means."""
    a = np.zeros((12, 12))
    for m in range(12):
        a[m, m] = 6.0 / 8.0
        a[m, (m - 1) % 12] = 1.0 / 8.0
        a[m, (m + 1) % 12] = 1.0 / 8.0
    return np.linalg.solve(a, values)


def _smooth(
    values: np.ndarray, months: np.ndarray, dom: np.ndarray, mdays: np.ndarray
) -> np.ndarray:
    """Interpolate monthly means to days (periodic, mean-preserving)."""
    knots = _mean_preserving_knots(np.asarray(values, dtype=np.float64))
    x = (months - 1) + (dom - 0.5) / mdays - 0.5  # month units, knots at mid-month
    return np.interp(x, np.arange(12.0), knots, period=12.0)


def _in_laos_window(months: np.ndarray, dom: np.ndarray, normals: ClimateNormals) -> np.ndarray:
    (m0, d0), (m1, d1) = normals.laos_wind_window
    key = months * 100 + dom
    return (key >= m0 * 100 + d0) & (key <= m1 * 100 + d1)


def _markov(
    u: np.ndarray, p01: np.ndarray, p11: np.ndarray, allowed: np.ndarray, p_free: np.ndarray
) -> np.ndarray:
    """Run a two-state chain on uniforms ``u``.

    The state is forced to 0 where not ``allowed``; the first allowed day
    after a forced (or the first) day is drawn with the stationary
    probability ``p_free`` so that interruptions do not bias the frequency.
    """
    state = np.zeros(u.size, dtype=bool)
    prev: bool | None = None
    for i in range(u.size):
        if not allowed[i]:
            prev = None
            continue
        p = p_free[i] if prev is None else (p11[i] if prev else p01[i])
        prev = bool(u[i] < p)
        state[i] = prev
    return state


def _ar1(eps: np.ndarray, phi: float) -> np.ndarray:
    """AR(1) with unit marginal variance driven by standard normal ``eps``."""
    out = np.empty_like(eps)
    if eps.size == 0:
        return out
    out[0] = eps[0]
    c = math.sqrt(1.0 - phi * phi)
    for i in range(1, eps.size):
        out[i] = phi * out[i - 1] + c * eps[i]
    return out


def generate_days(
    first: date,
    n_days: int,
    *,
    rng: np.random.Generator,
    normals: ClimateNormals = DONGHA_NORMALS,
    params: GeneratorParams | None = None,
) -> DailyWeather:
    """Draw ``n_days`` consecutive days of weather starting on local date ``first``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(42))")
    if n_days < 1:
        raise ValueError(f"n_days must be >= 1, got {n_days}")
    p = params or GeneratorParams()
    dates = tuple(first + timedelta(days=i) for i in range(n_days))
    months = np.array([d.month for d in dates])
    dom = np.array([d.day for d in dates], dtype=np.float64)
    mdays_m = _NORMAL_MONTH_DAYS
    mdays = mdays_m[months - 1]
    m_idx = months - 1
    doy = np.array([d.timetuple().tm_yday for d in dates], dtype=np.float64)
    ydays = np.array(
        [
            366.0 if (d.year % 4 == 0 and d.year % 100 != 0) or d.year % 400 == 0 else 365.0
            for d in dates
        ]
    )
    lat, lon = normals.latitude_deg, normals.longitude_deg
    rise_utc, set_utc = _sun_times_utc_min(doy, ydays, lat, lon)
    sunrise_h = rise_utc / 60.0 + normals.utc_offset_h
    daylength_h = (set_utc - rise_utc) / 60.0

    col = {
        name: np.array(normals.column(name))
        for name in (
            "tmax_c",
            "tmin_c",
            "rh_mean_pct",
            "rain_mm",
            "rain_days",
            "sunshine_h",
            "wind_2m_mps",
            "laos_wind_days",
        )
    }
    f_laos = col["laos_wind_days"] / mdays_m
    f_wet = col["rain_days"] / mdays_m

    # --- Laos-wind spells (Markov inside the window)
    window = _in_laos_window(months, dom.astype(int), normals)
    year = [date(2001, 1, 1) + timedelta(days=i) for i in range(365)]
    y_months = np.array([d.month for d in year])
    y_in = _in_laos_window(y_months, np.array([d.day for d in year]), normals)
    win_days = np.bincount(y_months[y_in] - 1, minlength=12).astype(np.float64)
    pi_l = np.divide(col["laos_wind_days"], win_days, out=np.zeros(12), where=win_days > 0)
    pi_l = np.clip(pi_l, 0.0, 0.9)
    p11_l = np.full(12, 1.0 - 1.0 / max(p.laos_mean_spell_days, 1.0))
    p01_l = np.where(pi_l > 0, pi_l * (1.0 - p11_l) / (1.0 - pi_l), 0.0)
    laos = _markov(
        rng.random(n_days), p01_l[m_idx], p11_l[m_idx], window & (pi_l[m_idx] > 0), pi_l[m_idx]
    )

    # --- wet/dry chain on non-Laos days, gamma amounts
    pi_w = np.clip(col["rain_days"] / np.maximum(mdays_m - col["laos_wind_days"], 1.0), 0.0, 0.97)
    r = p.rain_persistence
    p01_w = pi_w * (1.0 - r)
    p11_w = p01_w + r
    wet = _markov(rng.random(n_days), p01_w[m_idx], p11_w[m_idx], ~laos, pi_w[m_idx])
    mean_amount = np.divide(
        col["rain_mm"], col["rain_days"], out=np.zeros(12), where=col["rain_days"] > 0
    )
    excess = np.maximum(mean_amount - p.rain_threshold_mm, 1e-6)
    k = p.rain_gamma_shape
    amounts = p.rain_threshold_mm + rng.gamma(k, excess[m_idx] / k)
    rain = np.where(wet, amounts, 0.0)

    # --- relative sunshine n/N
    mid_doy = np.cumsum(mdays_m) - mdays_m / 2.0
    r_mid, s_mid = _sun_times_utc_min(mid_doy, np.full(12, 365.25), lat, lon)
    n_month = (s_mid - r_mid) / 60.0
    mu = np.clip(col["sunshine_h"] / (mdays_m * n_month), 0.02, 0.95)
    f_dry = np.maximum(1.0 - f_laos - f_wet, 0.0)
    mu_dry = np.clip(
        (mu - f_laos * p.laos_sunshine)
        / np.maximum(f_dry + f_wet * p.wet_day_sunshine_ratio, 1e-6),
        0.03,
        0.95,
    )
    mu_wet = mu_dry * p.wet_day_sunshine_ratio
    mu_non_laos = np.clip((mu - f_laos * p.laos_sunshine) / (1.0 - f_laos), 0.02, 0.95)
    mean_s = np.where(laos, p.laos_sunshine, np.where(wet, mu_wet[m_idx], mu_dry[m_idx]))
    kappa = p.sunshine_concentration
    sun = rng.beta(mean_s * kappa, (1.0 - mean_s) * kappa)
    s_dev = np.where(laos, 0.0, sun - mu_non_laos[m_idx])

    # --- temperatures
    boost_mean = 0.5 * (p.laos_temp_boost_c[0] + p.laos_temp_boost_c[1])
    tmax_base = _smooth(col["tmax_c"] - f_laos * boost_mean, months, dom, mdays)
    tmin_base = _smooth(
        col["tmin_c"] - f_laos * boost_mean * p.laos_tmin_fraction, months, dom, mdays
    )
    anom_max = _ar1(rng.standard_normal(n_days), p.temp_anomaly_ar1) * p.tmax_anomaly_sd_c
    anom_min = _ar1(rng.standard_normal(n_days), p.temp_anomaly_ar1) * p.tmin_anomaly_sd_c
    boost = np.where(laos, rng.uniform(*p.laos_temp_boost_c, size=n_days), 0.0)
    tmax = tmax_base + anom_max + p.tmax_sunshine_coupling_c * s_dev + boost
    tmin = tmin_base + anom_min + p.tmin_sunshine_coupling_c * s_dev + boost * p.laos_tmin_fraction
    tmax = np.clip(tmax, -5.0, 45.0)
    tmin = np.clip(np.minimum(tmin, tmax - 1.0), -8.0, 40.0)

    # --- humidity and wind targets
    laos_rh_mean = 0.5 * (p.laos_rh_pct[0] + p.laos_rh_pct[1])
    rh_base = _smooth(
        (col["rh_mean_pct"] - f_laos * laos_rh_mean) / (1.0 - f_laos), months, dom, mdays
    )
    rh_noise = rng.standard_normal(n_days) * p.rh_daily_sd_pct
    rh_laos = rng.uniform(*p.laos_rh_pct, size=n_days)
    rh = np.where(laos, rh_laos, rh_base + p.rh_sunshine_coupling_pct * s_dev + rh_noise)
    rh = np.clip(rh, 20.0, 98.0)

    laos_w_mean = 0.5 * (p.laos_wind_mps[0] + p.laos_wind_mps[1])
    w_base = _smooth(
        np.maximum((col["wind_2m_mps"] - f_laos * laos_w_mean) / (1.0 - f_laos), 0.3),
        months,
        dom,
        mdays,
    )
    cv = p.wind_daily_cv
    sig = math.sqrt(math.log(1.0 + cv * cv))
    w_norm = w_base * np.exp(sig * rng.standard_normal(n_days) - 0.5 * sig * sig)
    w_laos = rng.uniform(*p.laos_wind_mps, size=n_days)
    wind = np.where(laos, w_laos, w_norm)

    return DailyWeather(
        dates=dates,
        tmax_c=tmax,
        tmin_c=tmin,
        rh_mean_pct=rh,
        wind_mean_mps=wind,
        sunshine_frac=sun,
        rain_mm=rain,
        wet=wet,
        laos=laos,
        sunrise_h=sunrise_h,
        daylength_h=daylength_h,
        doy=doy,
    )


# ------------------------------------------------------------ hourly stage
def _es_kpa(t_c: np.ndarray) -> np.ndarray:
    """Saturation vapour pressure (kPa) at ``t_c`` (°C), FAO-56 eq. 11."""
    return 0.6108 * np.exp(17.27 * t_c / (t_c + 237.3))


def _daily_profile(t_max_hour: float, sunrise_h: float = 6.0) -> np.ndarray:
    """Normalised (0 = Tmin, 1 = Tmax) temperature shape at the 24 whole hours."""
    h = np.arange(24.0)
    g = np.empty(24)
    rise = (h >= sunrise_h) & (h <= t_max_hour)
    g[rise] = 0.5 * (1 - np.cos(np.pi * (h[rise] - sunrise_h) / (t_max_hour - sunrise_h)))
    after = h > t_max_hour
    span = 24.0 + sunrise_h - t_max_hour
    g[after] = 0.5 * (1 + np.cos(np.pi * (h[after] - t_max_hour) / span))
    before = h < sunrise_h
    g[before] = 0.5 * (1 + np.cos(np.pi * (h[before] + 24.0 - t_max_hour) / span))
    return g


def _vapour_pressure(days: DailyWeather, t_max_hour: float) -> np.ndarray:
    """Daily vapour pressure (kPa) whose mean RH over the day's cycle matches the target."""
    g = _daily_profile(t_max_hour)
    temps = days.tmin_c[:, None] + (days.tmax_c - days.tmin_c)[:, None] * g[None, :]
    es = _es_kpa(temps)
    target = days.rh_mean_pct / 100.0
    lo = np.zeros(len(days))
    hi = es.max(axis=1)
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        mean_rh = np.minimum(mid[:, None] / es, 1.0).mean(axis=1)
        low_side = mean_rh < target
        lo = np.where(low_side, mid, lo)
        hi = np.where(low_side, hi, mid)
    return 0.5 * (lo + hi)


def _rain_cumulative(
    days: DailyWeather, rng: np.random.Generator, p: GeneratorParams
) -> tuple[np.ndarray, np.ndarray]:
    """Knots (s since the first day's local midnight) and cumulative rain (mm) at them."""
    starts: list[float] = []
    ends: list[float] = []
    rates: list[float] = []
    for d in np.flatnonzero(days.wet):
        amount = float(days.rain_mm[d])
        wet_season = days.dates[d].month in p.wet_season_months
        n_b = 1 + min(int(rng.poisson(min(amount / 20.0, 3.0))), 3)
        mean_h = p.burst_hours_wet if wet_season else p.burst_hours_dry
        dur_h = np.clip(rng.gamma(2.0, mean_h / 2.0, size=n_b), 0.25, 12.0)
        if wet_season:
            start_h = rng.uniform(0.0, 1.0, size=n_b) * (24.0 - dur_h)
        else:
            start_h = np.clip(rng.normal(p.convective_peak_hour, 2.5, size=n_b), 0.0, 24.0 - dur_h)
        share = rng.dirichlet(np.ones(n_b)) * amount
        for s_h, d_h, a in zip(start_h, dur_h, share, strict=True):
            t0 = d * 86400.0 + s_h * 3600.0
            starts.append(t0)
            ends.append(t0 + d_h * 3600.0)
            rates.append(a / (d_h * 3600.0))
    if not starts:
        return np.array([0.0, 1.0]), np.zeros(2)
    times = np.concatenate((starts, ends))
    slope = np.concatenate((rates, -np.asarray(rates)))
    active = np.concatenate((np.ones(len(starts), int), -np.ones(len(ends), int)))
    order = np.argsort(times, kind="stable")
    times, slope, active = times[order], slope[order], active[order]
    # intensity (mm/s) after each knot; exactly 0 when no burst is active
    rate_after = np.where(np.cumsum(active) > 0, np.maximum(np.cumsum(slope), 0.0), 0.0)
    cum = np.concatenate(([0.0], np.cumsum(rate_after[:-1] * np.diff(times))))
    return times, cum


def synthesize_series(
    days: DailyWeather,
    start: datetime,
    duration_s: float,
    step_s: float = 3600.0,
    *,
    rng: np.random.Generator,
    normals: ClimateNormals = DONGHA_NORMALS,
    params: GeneratorParams | None = None,
) -> WeatherSeries:
    """Samples at ``0, step_s, …, duration_s`` after ``start`` from daily draws.

    ``days`` must cover the local days from the day before ``start - step_s``
    to the day after ``start + duration_s``.
    """
    p = params or GeneratorParams()
    start_local = start.astimezone(LOCAL_TZ)
    n = math.floor(duration_s / step_s + 1e-9) + 1
    day0 = days.dates[0]
    midnight0 = datetime(day0.year, day0.month, day0.day, tzinfo=LOCAL_TZ)
    offset = (start_local - midnight0).total_seconds()
    s = offset + np.arange(n) * step_s  # s since local midnight of day0
    first_ok = s[0] - step_s >= 0.0 and s[0] >= days.sunrise_h[0] * 3600.0
    last_ok = s[-1] <= (len(days) - 1) * 86400.0 + days.sunrise_h[-1] * 3600.0
    if not (first_ok and last_ok):
        raise WeatherDataError(
            f"daily draws {days.dates[0]} … {days.dates[-1]} do not cover "
            f"{start_local.isoformat()} + {duration_s:g} s: they must start the day "
            "before and end the day after"
        )
    d_idx = np.floor(s / 86400.0).astype(int)
    hour = (s - d_idx * 86400.0) / 3600.0

    # temperature: cosine segments through (sunrise, Tmin) and (t_max_hour, Tmax)
    base = np.arange(len(days)) * 86400.0
    anchor_t = np.empty(2 * len(days))
    anchor_v = np.empty(2 * len(days))
    anchor_t[0::2] = base + days.sunrise_h * 3600.0
    anchor_t[1::2] = base + p.t_max_hour * 3600.0
    anchor_v[0::2] = days.tmin_c
    anchor_v[1::2] = days.tmax_c
    j = np.clip(np.searchsorted(anchor_t, s, side="right") - 1, 0, anchor_t.size - 2)
    x = (s - anchor_t[j]) / (anchor_t[j + 1] - anchor_t[j])
    temp = anchor_v[j] + (anchor_v[j + 1] - anchor_v[j]) * 0.5 * (1.0 - np.cos(np.pi * x))

    # humidity: daily vapour pressure, linear between local noons
    noon = base + 12 * 3600.0
    ea = np.interp(s, noon, _vapour_pressure(days, p.t_max_hour))
    rh = np.clip(100.0 * ea / _es_kpa(temp), 1.0, 100.0)

    # radiation: Ångström–Prescott × extraterrestrial on the horizontal
    utc_s = midnight0.timestamp() + s
    cos_z = np.maximum(_cos_zenith(utc_s, normals.latitude_deg, normals.longitude_deg), 0.0)
    doy = days.doy[d_idx]
    dr = 1.0 + 0.033 * np.cos(2.0 * np.pi * doy / 365.0)
    frac = p.angstrom_a + p.angstrom_b * days.sunshine_frac[d_idx]
    radiation = np.clip(frac * SOLAR_CONSTANT_WM2 * dr * cos_z, 0.0, 1500.0)

    # wind: daily mean (linear between noons) × diurnal cycle × AR(1) log noise
    w_mean = np.interp(s, noon, days.wind_mean_mps)
    amp = np.interp(s, noon, np.where(days.laos, 0.55, 1.0) * p.wind_diurnal_amplitude)
    phi = math.exp(-step_s / p.wind_noise_tau_s)
    z = _ar1(rng.standard_normal(n), phi) * p.wind_noise_sigma
    noise = np.exp(z - 0.5 * p.wind_noise_sigma**2)
    diurnal = 1.0 + amp * np.cos(2.0 * np.pi * (hour - p.t_max_hour) / 24.0)
    wind = np.clip(w_mean * diurnal * noise, 0.0, 40.0)

    # rain: exact integral of the bursts over (s - step, s]
    knots, cum = _rain_cumulative(days, rng, p)
    rain = np.interp(s, knots, cum) - np.interp(s - step_s, knots, cum)
    rain = np.maximum(rain, 0.0)

    return WeatherSeries(
        start_local,
        step_s,
        air_temp_c=np.clip(temp, -10.0, 50.0),
        rel_humidity_pct=rh,
        wind_speed_mps=wind,
        solar_radiation_wm2=radiation,
        rain_mm=rain,
    )


def generate_climate(
    start: datetime,
    duration_s: float,
    step_s: float = 3600.0,
    *,
    rng: np.random.Generator,
    normals: ClimateNormals = DONGHA_NORMALS,
    params: GeneratorParams | None = None,
) -> WeatherSeries:
    """Synthetic weather at ``start + 0, step_s, …, duration_s`` (both ends included).

    Args:
        start: timezone-aware start (any zone; the series is kept in Asia/Ho_Chi_Minh).
        duration_s: length of the series (s, ≥ 0).
        step_s: sample spacing (s, > 0; 3600 for hourly).
        rng: the run's generator; the only source of randomness, so equal
            seeds give identical series.
        normals: the climate to reproduce (default Đông Hà).
        params: generator parameters (default :class:`GeneratorParams`).
    """
    if start.tzinfo is None or start.utcoffset() is None:
        raise WeatherDataError(f"start {start.isoformat()} is naive: give an aware datetime")
    if not (math.isfinite(step_s) and step_s > 0):
        raise WeatherDataError(f"step_s must be > 0, got {step_s!r}")
    if not (math.isfinite(duration_s) and duration_s >= 0):
        raise WeatherDataError(f"duration_s must be >= 0, got {duration_s!r}")
    start_local = start.astimezone(LOCAL_TZ)
    first = (start_local - timedelta(seconds=step_s)).date() - timedelta(days=1)
    last = (start_local + timedelta(seconds=duration_s)).date() + timedelta(days=1)
    days = generate_days(first, (last - first).days + 1, rng=rng, normals=normals, params=params)
    return synthesize_series(
        days, start_local, duration_s, step_s, rng=rng, normals=normals, params=params
    )
