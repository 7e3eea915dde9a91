"""Astronomical clock: sunrise, sunset, solar noon and sun elevation (NOAA algorithm).

This is the NOAA Global Monitoring Laboratory solar calculator (after Meeus,
*Astronomical Algorithms*) in scalar stdlib math: Julian century, the Sun's
geometric mean longitude and anomaly, equation of centre, apparent longitude,
obliquity with nutation, declination and the equation of time. Rise and set
use the standard zenith of 90.833° (refraction 34' plus the solar
semi-diameter 16'); civil twilight uses 96°. Each event is refined by
evaluating the Sun's position at the event itself (two passes), which keeps
the error well under a minute at tropical latitudes.

Times are *local clock hours* on the given date, from local midnight, for a
fixed UTC offset (h, local minus UTC; 7.0 at Đông Hà). Longitude is degrees
east, latitude degrees north.

Where the Sun does not cross the zenith of interest on that date (polar day
or polar night), :func:`sun_times` returns ``sunrise_h = sunset_h = None``
with ``polar`` set to ``"day"`` (always above) or ``"night"`` (always below)
— never NaN and never an exception.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

__all__ = [
    "CIVIL_TWILIGHT_ZENITH_DEG",
    "SUNRISE_ZENITH_DEG",
    "AstroClock",
    "SunTimes",
    "civil_twilight",
    "solar_elevation_deg",
    "sun_times",
]

#: zenith angle (deg) of sunrise/sunset: 90° + 34' refraction + 16' semi-diameter
SUNRISE_ZENITH_DEG = 90.833
#: zenith angle (deg) of the start/end of civil twilight (Sun 6° below the horizon)
CIVIL_TWILIGHT_ZENITH_DEG = 96.0

_JD_ORDINAL_OFFSET = 1_721_424.5  # JD at 0h UTC of date = date.toordinal() + this
_J2000 = 2_451_545.0


@dataclass(frozen=True, slots=True)
class SunTimes:
    """Sun events of one local date.

    Attributes:
        date: the local date.
        sunrise_h, sunset_h: local clock hours from local midnight of ``date``
            (may fall outside [0, 24) for odd offsets), or None in polar
            day/night.
        solar_noon_h: local clock hours of the Sun's transit.
        polar: None on an ordinary day, ``"day"`` if the Sun stays above the
            zenith of interest all day, ``"night"`` if it stays below.
        zenith_deg: the zenith angle the events refer to (deg).
    """

    date: _dt.date
    sunrise_h: float | None
    sunset_h: float | None
    solar_noon_h: float
    polar: str | None
    zenith_deg: float

    @property
    def day_length_h(self) -> float:
        """Hours between sunrise and sunset (24 in polar day, 0 in polar night)."""
        if self.sunrise_h is not None and self.sunset_h is not None:
            return self.sunset_h - self.sunrise_h
        return 24.0 if self.polar == "day" else 0.0


def _sun(jd: float) -> tuple[float, float]:
    """(declination in rad, equation of time in min) at Julian day ``jd`` (UT)."""
    t = (jd - _J2000) / 36525.0
    l0 = math.radians((280.46646 + t * (36000.76983 + t * 0.0003032)) % 360.0)
    m_deg = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    m = math.radians(m_deg)
    e = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    c = (
        math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(2 * m) * (0.019993 - 0.000101 * t)
        + math.sin(3 * m) * 0.000289
    )
    omega = math.radians(125.04 - 1934.136 * t)
    app_long = math.radians(math.degrees(l0) + c - 0.00569 - 0.00478 * math.sin(omega))
    eps0 = 23.0 + (26.0 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60.0) / 60.0
    eps = math.radians(eps0 + 0.00256 * math.cos(omega))
    decl = math.asin(math.sin(eps) * math.sin(app_long))
    y = math.tan(eps / 2.0) ** 2
    eq_time = 4.0 * math.degrees(
        y * math.sin(2 * l0)
        - 2 * e * math.sin(m)
        + 4 * e * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0)
        - 1.25 * e * e * math.sin(2 * m)
    )
    return decl, eq_time


def _check_place(lat_deg: float, lon_deg: float) -> None:
    if not (math.isfinite(lat_deg) and -90.0 <= lat_deg <= 90.0):
        raise ValueError(f"latitude must be in [-90, 90] deg north, got {lat_deg!r}")
    if not (math.isfinite(lon_deg) and -180.0 <= lon_deg <= 180.0):
        raise ValueError(f"longitude must be in [-180, 180] deg east, got {lon_deg!r}")


def _jd(date: _dt.date, local_h: float, utc_offset_h: float) -> float:
    return date.toordinal() + _JD_ORDINAL_OFFSET + (local_h - utc_offset_h) / 24.0


def _cos_hour_angle(lat: float, decl: float, zenith_deg: float) -> float:
    cos_lat = math.cos(lat)
    if abs(cos_lat) < 1e-12:  # at a pole: the Sun circles at constant height
        return math.inf if math.sin(lat) * decl < 0 else -math.inf
    return math.cos(math.radians(zenith_deg)) / (cos_lat * math.cos(decl)) - math.tan(
        lat
    ) * math.tan(decl)


def sun_times(
    date: _dt.date,
    lat_deg: float,
    lon_deg: float,
    utc_offset_h: float,
    zenith_deg: float = SUNRISE_ZENITH_DEG,
) -> SunTimes:
    """Sunrise, sunset and solar noon of local ``date`` (local clock hours).

    Args:
        date: the local calendar date.
        lat_deg: latitude (deg north, -90..90).
        lon_deg: longitude (deg east, -180..180).
        utc_offset_h: local time minus UTC (h).
        zenith_deg: zenith angle of the event (deg, 90..108): 90.833 for
            rise/set, 96 for civil twilight.
    """
    _check_place(lat_deg, lon_deg)
    if not (math.isfinite(zenith_deg) and 90.0 <= zenith_deg <= 108.0):
        raise ValueError(f"zenith_deg must be in [90, 108] deg, got {zenith_deg!r}")
    lat = math.radians(lat_deg)

    def noon_at(local_h: float) -> float:
        _, eq_time = _sun(_jd(date, local_h, utc_offset_h))
        return (720.0 - 4.0 * lon_deg - eq_time + utc_offset_h * 60.0) / 60.0

    noon_h = noon_at(noon_at(12.0))

    def event(sign: float) -> float | None:
        local_h = noon_h
        for _ in range(3):  # evaluate the Sun at the event itself
            decl, eq_time = _sun(_jd(date, local_h, utc_offset_h))
            cos_ha = _cos_hour_angle(lat, decl, zenith_deg)
            if not -1.0 <= cos_ha <= 1.0:
                return None
            ha_deg = math.degrees(math.acos(cos_ha))
            noon = (720.0 - 4.0 * lon_deg - eq_time + utc_offset_h * 60.0) / 60.0
            local_h = noon + sign * ha_deg * 4.0 / 60.0
        return local_h

    rise, sett = event(-1.0), event(+1.0)
    polar: str | None = None
    if rise is None or sett is None:
        decl, _ = _sun(_jd(date, noon_h, utc_offset_h))
        cos_ha = _cos_hour_angle(lat, decl, zenith_deg)
        polar = "night" if cos_ha > 1.0 else "day"
        rise = sett = None
    return SunTimes(date, rise, sett, noon_h, polar, zenith_deg)


def civil_twilight(date: _dt.date, lat_deg: float, lon_deg: float, utc_offset_h: float) -> SunTimes:
    """Civil dawn (``sunrise_h``) and dusk (``sunset_h``): the Sun 6° below the horizon."""
    return sun_times(date, lat_deg, lon_deg, utc_offset_h, CIVIL_TWILIGHT_ZENITH_DEG)


def solar_elevation_deg(utc_s: float, lat_deg: float, lon_deg: float) -> float:
    """Geometric elevation (deg, -90..90) of the Sun's centre at POSIX time ``utc_s``.

    No refraction correction (it adds at most ~0.6° at the horizon).
    """
    _check_place(lat_deg, lon_deg)
    if not math.isfinite(utc_s):
        raise ValueError(f"utc_s must be finite POSIX seconds, got {utc_s!r}")
    jd = utc_s / 86400.0 + 2_440_587.5
    decl, eq_time = _sun(jd)
    minutes_utc = (utc_s % 86400.0) / 60.0
    true_solar_min = (minutes_utc + eq_time + 4.0 * lon_deg) % 1440.0
    hour_angle = math.radians(true_solar_min / 4.0 - 180.0)
    lat = math.radians(lat_deg)
    cos_zenith = math.sin(lat) * math.sin(decl) + math.cos(lat) * math.cos(decl) * math.cos(
        hour_angle
    )
    return 90.0 - math.degrees(math.acos(max(-1.0, min(1.0, cos_zenith))))


class AstroClock:
    """Sun times at one place, cached per local date (the node's astronomical clock).

    Args:
        lat_deg: latitude (deg north, -90..90).
        lon_deg: longitude (deg east, -180..180).
        utc_offset_h: local time minus UTC (h).
        cache_days: how many dates to keep (>= 2; a night spans two dates).
    """

    def __init__(
        self, lat_deg: float, lon_deg: float, utc_offset_h: float, cache_days: int = 8
    ) -> None:
        _check_place(lat_deg, lon_deg)
        if cache_days < 2:
            raise ValueError(f"cache_days must be >= 2, got {cache_days!r}")
        self.lat_deg = float(lat_deg)
        self.lon_deg = float(lon_deg)
        self.utc_offset_h = float(utc_offset_h)
        self._cache_days = cache_days
        self._cache: dict[int, SunTimes] = {}

    def sun(self, date: _dt.date) -> SunTimes:
        """Sunrise/sunset (zenith 90.833°) of local ``date``."""
        key = date.toordinal()
        hit = self._cache.get(key)
        if hit is None:
            if len(self._cache) >= self._cache_days:
                self._cache.pop(next(iter(self._cache)))
            hit = sun_times(date, self.lat_deg, self.lon_deg, self.utc_offset_h)
            self._cache[key] = hit
        return hit
