"""Monthly climate normals of Đông Hà (Quảng Trị), the calibration target of the generator.

Sources: ``/work/shared/DOMAIN.md`` ("Climate of Đông Hà"). What that page
gives as figures is used as is:

- rain (mm/month): 66 46 40 57 130 98 79 177 441 630 392 163 (≈ 2,319 mm/yr);
- sunshine (h/month, 1973–2018): 94 88 123 170 229 224 225 199 163 130 95 72;
- Tmax 22.7 °C in January and 34.6 °C in June/July, Tmin 17.6 → 26.0 °C,
  monthly mean RH between 69 % and 90 %, 128–167 rain days a year;
- Laos wind (gió Lào) late April – mid September, strongest June–July,
  7–10 days a month.

Everything else in the table (the other months' temperatures and humidity,
rain days per month, wind at 2 m, Laos-wind days per month and the season's
window) is an **estimate** that respects those anchors: it is a parameter to
be replaced by station data, not a fact. :data:`ESTIMATED_FIELDS` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DONGHA_NORMALS",
    "ESTIMATED_FIELDS",
    "MONTH_NAMES",
    "ClimateNormals",
    "MonthNormals",
]

MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True, slots=True)
class MonthNormals:
    """Normals of one calendar month.

    Attributes:
        tmax_c: mean daily maximum air temperature (°C).
        tmin_c: mean daily minimum air temperature (°C).
        rh_mean_pct: monthly mean relative humidity (%, 0–100); the diurnal
            range follows from the temperature cycle at a constant daily
            vapour pressure (see ``generator``).
        rain_mm: mean monthly rain total (mm).
        rain_days: mean number of days with ≥ 0.1 mm of rain.
        sunshine_h: mean monthly bright-sunshine hours (h).
        wind_2m_mps: mean wind speed at 2 m (m/s).
        laos_wind_days: mean number of Laos-wind (gió Lào) days in the month.
    """

    tmax_c: float
    tmin_c: float
    rh_mean_pct: float
    rain_mm: float
    rain_days: float
    sunshine_h: float
    wind_2m_mps: float
    laos_wind_days: float


@dataclass(frozen=True, slots=True)
class ClimateNormals:
    """Twelve :class:`MonthNormals` (January first) plus site data.

    Attributes:
        name: site name.
        latitude_deg: latitude (° N, WGS84).
        longitude_deg: longitude (° E, WGS84).
        tz: IANA time zone of the site's civil time.
        utc_offset_h: the zone's offset from UTC (h); Vietnam keeps no DST.
        months: twelve months, January first.
        laos_wind_window: first and last (month, day) of the Laos-wind season,
            inclusive.
        sources: free text naming the origin of the numbers.
    """

    name: str
    latitude_deg: float
    longitude_deg: float
    tz: str
    utc_offset_h: float
    months: tuple[MonthNormals, ...]
    laos_wind_window: tuple[tuple[int, int], tuple[int, int]] = ((4, 20), (9, 15))
    sources: str = field(default="")

    def __post_init__(self) -> None:
        if len(self.months) != 12:
            raise ValueError(f"ClimateNormals {self.name}: need 12 months, got {len(self.months)}")
        for i, m in enumerate(self.months):
            label = f"ClimateNormals {self.name} {MONTH_NAMES[i]}"
            if m.tmin_c >= m.tmax_c:
                raise ValueError(f"{label}: tmin_c {m.tmin_c} >= tmax_c {m.tmax_c}")
            if not 0 < m.rh_mean_pct <= 100:
                raise ValueError(f"{label}: rh_mean_pct {m.rh_mean_pct} outside (0, 100]")
            if m.rain_mm < 0 or m.rain_days < 0 or m.sunshine_h < 0 or m.wind_2m_mps < 0:
                raise ValueError(f"{label}: rain, rain days, sunshine and wind must be >= 0")
            if m.rain_days > 28 or (m.rain_mm > 0) != (m.rain_days > 0):
                raise ValueError(f"{label}: rain_days {m.rain_days} inconsistent with rain_mm")
            if m.laos_wind_days < 0 or m.laos_wind_days + m.rain_days > 28:
                raise ValueError(f"{label}: laos_wind_days {m.laos_wind_days} too many")

    def column(self, name: str) -> list[float]:
        """The twelve monthly values of field ``name`` (e.g. ``"rain_mm"``), January first."""
        return [float(getattr(m, name)) for m in self.months]

    @property
    def annual_rain_mm(self) -> float:
        """Mean annual rain (mm)."""
        return sum(self.column("rain_mm"))

    @property
    def annual_rain_days(self) -> float:
        """Mean annual number of rain days."""
        return sum(self.column("rain_days"))


#: Fields of :data:`DONGHA_NORMALS` that are estimates rather than DOMAIN.md figures
#: (apart from the anchors named in the module docstring).
ESTIMATED_FIELDS = ("tmax_c", "tmin_c", "rh_mean_pct", "rain_days", "wind_2m_mps", "laos_wind_days")

# fmt: off
#            Tmax   Tmin  RH   rain  days  sun   wind  laos
_TABLE = (
    (22.7, 17.6, 89.0,  66.0, 14.0,  94.0, 1.7, 0.0),   # Jan  (Tmax, Tmin anchors)
    (23.6, 18.5, 90.0,  46.0, 11.0,  88.0, 1.6, 0.0),   # Feb  (RH anchor 90)
    (26.3, 20.3, 88.0,  40.0, 10.0, 123.0, 1.6, 0.0),   # Mar
    (30.0, 22.8, 84.0,  57.0,  9.0, 170.0, 1.7, 3.0),   # Apr  (Laos wind from ~20 Apr)
    (33.2, 24.8, 78.0, 130.0, 11.0, 229.0, 2.0, 7.0),   # May  (secondary rain peak)
    (34.6, 26.0, 72.0,  98.0,  8.0, 224.0, 2.4, 10.0),  # Jun  (Tmax, Tmin anchors)
    (34.6, 26.0, 69.0,  79.0,  7.0, 225.0, 2.5, 10.0),  # Jul  (RH anchor 69)
    (33.6, 25.5, 74.0, 177.0, 11.0, 199.0, 2.1, 7.0),   # Aug
    (31.3, 24.2, 84.0, 441.0, 16.0, 163.0, 1.6, 3.0),   # Sep  (Laos wind to ~15 Sep)
    (28.6, 22.7, 88.0, 630.0, 19.0, 130.0, 1.7, 0.0),   # Oct  (wettest)
    (26.0, 20.8, 89.0, 392.0, 20.0,  95.0, 1.9, 0.0),   # Nov
    (23.5, 18.5, 89.0, 163.0, 17.0,  72.0, 1.8, 0.0),   # Dec
)
# fmt: on

#: Đông Hà normals; see the module docstring for which numbers are estimates.
DONGHA_NORMALS = ClimateNormals(
    name="Đông Hà",
    latitude_deg=16.817,
    longitude_deg=107.101,
    tz="Asia/Ho_Chi_Minh",
    utc_offset_h=7.0,
    months=tuple(MonthNormals(*row) for row in _TABLE),
    laos_wind_window=((4, 20), (9, 15)),
    sources=(
        "DOMAIN.md 'Climate of Đông Hà': rain, sunshine 1973-2018, Tmax/Tmin/RH anchors, "
        "Laos-wind season; other values estimated (see ESTIMATED_FIELDS)"
    ),
)
