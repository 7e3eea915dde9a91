"""Weather driver shared by the flood, lighting and agriculture plants.

Public API:

- :class:`WeatherSeries` — fixed-step series (°C, %, m/s, W/m², mm per step)
  with interpolation (:meth:`~WeatherSeries.at`), exact rain integrals,
  slicing and daily aggregates; :class:`WeatherDataError` for bad data.
- :func:`generate_climate` — seeded synthetic weather calibrated to
  :data:`DONGHA_NORMALS` (also :func:`generate_days` / :func:`synthesize_series`
  for the two stages, :class:`GeneratorParams` for the knobs).
- :func:`load_weather_csv` / :func:`save_weather_csv` — the measured-series CSV.
- :class:`WeatherPlant` — publishes ``weather/dongha/*`` INPUT points.
- :func:`solar_elevation_deg`, :func:`sunrise_sunset` — NOAA sun position.
"""

from sim.weather.csv_io import CSV_HEADER, load_weather_csv, save_weather_csv
from sim.weather.generator import (
    DailyWeather,
    GeneratorParams,
    generate_climate,
    generate_days,
    solar_elevation_deg,
    sunrise_sunset,
    synthesize_series,
)
from sim.weather.normals import DONGHA_NORMALS, ClimateNormals, MonthNormals
from sim.weather.plant import WeatherPlant
from sim.weather.series import (
    COLUMNS,
    LOCAL_TZ,
    DailySummary,
    WeatherDataError,
    WeatherSeries,
)

__all__ = [
    "COLUMNS",
    "CSV_HEADER",
    "DONGHA_NORMALS",
    "LOCAL_TZ",
    "ClimateNormals",
    "DailySummary",
    "DailyWeather",
    "GeneratorParams",
    "MonthNormals",
    "WeatherDataError",
    "WeatherPlant",
    "WeatherSeries",
    "generate_climate",
    "generate_days",
    "load_weather_csv",
    "save_weather_csv",
    "solar_elevation_deg",
    "sunrise_sunset",
    "synthesize_series",
]
