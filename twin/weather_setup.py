"""The scenario's weather series: a CSV the scenario names, or the seeded generator."""

from __future__ import annotations

from datetime import timedelta

from sim.weather import WeatherSeries, generate_climate, load_weather_csv
from twin.agri_run import agri_weather_span
from twin.rng import RngRegistry
from twin.scenario import Scenario

__all__ = ["scenario_weather"]


def scenario_weather(scenario: Scenario, rng: RngRegistry) -> WeatherSeries | None:
    """``plants.weather``'s CSV when its source is ``csv``; otherwise, when the scenario
    has weather or agriculture, the generated climate (stream ``weather`` of ``rng``)
    over the run, and for agriculture the days before (yesterday's ET0) and after
    (the forecast). None when nothing needs weather."""
    weather = scenario.plants.weather
    if weather is not None and weather.source == "csv":
        if weather.csv is None:
            raise ValueError("plants.weather.source is 'csv' but plants.weather.csv is not set")
        return load_weather_csv(weather.csv)
    if weather is None and scenario.plants.agri is None:
        return None
    if scenario.plants.agri is None:
        first, span = scenario.start, scenario.duration + 3600.0
    else:
        before, after = agri_weather_span(scenario)
        first, span = scenario.start - timedelta(seconds=before), before + after
    return generate_climate(first, span, rng=rng.stream("weather"))
