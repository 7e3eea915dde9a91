"""Wiring a flood scenario: plant, warning controllers, road coupling, warning probe."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from controllers.flood.city import CityFloodController
from controllers.flood.config import FloodPointConfig
from controllers.flood.point import FloodPointController
from sim.hydro.plant import FloodPlant, FloodPlantConfig
from sim.hydro.sites import WarningSite, load_warning_sites

if TYPE_CHECKING:
    from twin.scenario import FloodConfig, FloodWarningConfig

__all__ = ["build_flood_controllers", "build_flood_plant", "warning_sites"]


def warning_sites(sites_yaml: Path) -> list[WarningSite]:
    """The warning points of ``sites_yaml``, in file order."""
    return list(load_warning_sites(sites_yaml).sites)


def build_flood_plant(cfg: FloodConfig, *, start: datetime, run_dir: Path, seed: int) -> FloodPlant:
    """The flood plant of a scenario's ``plants.flood`` section."""
    return FloodPlant(
        FloodPlantConfig(
            dem_geotiff=cfg.dem,
            cell_m=cfg.cell_m,
            manning_n=cfg.manning_n,
            theta=cfg.theta,
            alpha=cfg.alpha,
            rain_csv=cfg.rain_csv,
            stage_csv=cfg.stage_csv,
            sites_yaml=cfg.sites,
            curve_number=cfg.curve_number,
            drainage_mm_h=cfg.drainage_mm_h,
            step_s=cfg.step_s,
            start=start,
            run_dir=run_dir,
            seed=seed,
        )
    )


def build_flood_controllers(
    sites: list[WarningSite], cfg: FloodWarningConfig
) -> tuple[CityFloodController, dict[str, tuple[float, float, float]]]:
    """One warning controller per point (with its neighbours) inside the city aggregate.

    Returns the city controller (register it alone: it scans its points) and
    each point's I/II/III thresholds (m) for the warning probe.
    """
    configs: dict[str, FloodPointConfig] = {}
    for site in sites:
        kind = site.kind.value
        base = FloodPointConfig.for_kind(
            site.id, kind, has_rain=bool(site.rain_gauge), has_battery=True
        )
        levels = cfg.river_thresholds_m if kind == "river" else cfg.street_thresholds_m
        thresholds = replace(
            base.thresholds, level_1_m=levels[0], level_2_m=levels[1], level_3_m=levels[2]
        )
        configs[site.id] = replace(base, thresholds=thresholds)
    for site in sites:
        neighbours = tuple(configs[n].as_neighbour() for n in site.neighbours if n in configs)
        configs[site.id] = replace(configs[site.id], neighbours=neighbours)
    points = [FloodPointController(configs[s.id], scan_period_s=cfg.scan_period_s) for s in sites]
    city = CityFloodController(points, scan_period_s=cfg.scan_period_s)
    thresholds_m = {
        pid: (c.thresholds.level_1_m, c.thresholds.level_2_m, c.thresholds.level_3_m)
        for pid, c in configs.items()
    }
    return city, thresholds_m
