"""The flood-warning points for ``twin hil serve`` / ``twin hil run-controller``.

``serve``: the scenario's flood plant (DEM solver, rain, river stage, the 12
warning points' sensors) behind :class:`~twin.flood_gauges.GaugeField`: the
points as the boxes in the field, with their sirens and displays.

``run-controller``: one point's warning controller (``flood/P03``) — in the
field it runs on the box itself — or every point's (``flood``). The city
aggregate is the operations centre's, not a device's, so it is not served.
"""

from __future__ import annotations

from pathlib import Path

from controllers.flood.point import FloodPointController
from controllers.io import Controller
from twin.controller_group import ControllerGroup
from twin.flood_gauges import GaugeField
from twin.flood_setup import build_flood_controllers, build_flood_plant, warning_sites
from twin.rng import RngRegistry
from twin.scenario import Scenario

__all__ = ["build_flood_controller_for_hil", "build_gauge_field"]


def _point_controllers(scenario: Scenario) -> list[FloodPointController]:
    cfg, schema = scenario.plants.flood, scenario.controllers.flood
    if cfg is None or schema is None:
        raise ValueError("the flood-warning points need plants.flood and controllers.flood")
    city, _ = build_flood_controllers(warning_sites(cfg.sites), schema)
    return list(city.controllers)


def build_gauge_field(scenario: Scenario, run_dir: Path) -> GaugeField:
    """The flood plant (writing to ``run_dir``) with every warning point's outputs."""
    cfg = scenario.plants.flood
    if cfg is None:
        raise ValueError("the scenario has no plants.flood")
    seed = RngRegistry(scenario.seed).integer_seed("flood")
    plant = build_flood_plant(cfg, start=scenario.start, run_dir=run_dir, seed=seed)
    return GaugeField(plant, _point_controllers(scenario))


def build_flood_controller_for_hil(scenario: Scenario, name: str) -> Controller:
    """``flood/<point>`` (one box's controller) or ``flood`` (every point's)."""
    points = _point_controllers(scenario)
    if name == "flood":
        return ControllerGroup("flood", points)
    for c in points:
        if c.name == name:
            return c
    raise ValueError(f"no controller {name!r}; use 'flood' or one of {[c.name for c in points]}")
