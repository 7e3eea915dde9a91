"""Wire the lighting plant to its controller: the three configurations of the pilot.

A configuration is what the city compares (issue 5, DOMAIN.md "Lighting facts"):

=================  ==============================  =====================================
name               luminaires                      control
=================  ==============================  =====================================
``sodium_fixed``   existing 250 W HPS (on/off)     on at sunset, off at sunrise (astro)
``led_fixed``      100 W LED                       the same schedule, full light
``led_adaptive``   100 W LED                       CIE 115 class per time band from the
                                                   measured volume, commissioned dim
                                                   levels, motion boosts, faults
=================  ==============================  =====================================

All three run the same controller code (:class:`controllers.lighting.LightingController`);
the fixed ones in its ``fixed`` mode. Its configuration is built here as plain data, the
same mapping a scenario YAML holds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from controllers.lighting import LightingController, LightingControllerConfig
from sim.lighting.layout import LightingLayout
from sim.lighting.luminaire import LuminaireModel, hps_250w, led_100w
from twin.lighting_design import DEFAULT_CAPACITY_VEH_H, HUNG_VUONG_ROAD

__all__ = [
    "CONFIGURATIONS",
    "Configuration",
    "build_lighting_controller",
    "configuration",
    "controller_mapping",
]


@dataclasses.dataclass(frozen=True)
class Configuration:
    """One way of lighting the pilot.

    Attributes:
        name: ``sodium_fixed``, ``led_fixed`` or ``led_adaptive``.
        plant_luminaire: the plant's luminaire kind (``hps_fixed`` or ``led``).
        model: the luminaire model.
        mode: the controller mode (``fixed`` or ``adaptive``).
    """

    name: str
    plant_luminaire: str
    model: LuminaireModel
    mode: str


def configuration(name: str) -> Configuration:
    """The configuration called ``name`` (see the module docstring)."""
    if name == "sodium_fixed":
        return Configuration(name, "hps_fixed", hps_250w(), "fixed")
    if name == "led_fixed":
        return Configuration(name, "led", led_100w(), "fixed")
    if name == "led_adaptive":
        return Configuration(name, "led", led_100w(), "adaptive")
    raise ValueError(f"unknown lighting configuration {name!r}: use one of {CONFIGURATIONS}")


#: the three configurations compared, baseline first
CONFIGURATIONS = ("sodium_fixed", "led_fixed", "led_adaptive")

#: the all-night program: on at sunset, off at sunrise, the usual astro-clock schedule
#: of public lighting (the controller's photocell rule can only add light on a dark day)
NIGHT_PROGRAM = [
    {"at": "sunset", "offset_min": 0, "level_pct": 100},
    {"at": "sunrise", "offset_min": 0, "level_pct": 0},
]


def controller_mapping(
    layout: LightingLayout,
    config: Configuration,
    start: datetime,
    *,
    commissioning: Mapping[str, Mapping[str, float]] | None = None,
    scan_period_s: float = 1.0,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The controller configuration for ``layout`` as plain data (a scenario's mapping).

    ``commissioning`` (per cabinet, class → %) is required for the adaptive mode;
    ``overrides`` replaces top-level keys (e.g. ``boost``) after the defaults.
    """
    if start.utcoffset() is None:
        raise ValueError(f"start {start.isoformat()} is naive: give an aware time")
    lon = sum(p.lon for p in layout.poles) / len(layout.poles)
    lat = sum(p.lat for p in layout.poles) / len(layout.poles)
    model = config.model
    cabinets: dict[str, Any] = {}
    for cabinet in layout.cabinet_ids:
        entry: dict[str, Any] = {}
        if config.mode == "adaptive":
            if commissioning is None or cabinet not in commissioning:
                raise ValueError(
                    f"adaptive lighting needs a commissioning table for cabinet {cabinet}: "
                    "compute it with twin.lighting_design.PilotPhotometry.commissioning"
                )
            entry["commissioning"] = dict(commissioning[cabinet])
        cabinets[cabinet] = entry
    road = dataclasses.asdict(HUNG_VUONG_ROAD)
    mapping: dict[str, Any] = {
        "name": "lighting",
        "scan_period_s": scan_period_s,
        "mode": config.mode,
        "site": {"lat_deg": lat, "lon_deg": lon},
        "start": start.isoformat(),
        "utc_offset_h": start.utcoffset().total_seconds() / 3600.0,  # type: ignore[union-attr]
        "calendar": {"default": "night", "programs": {"night": NIGHT_PROGRAM}},
        "poles": [
            {"id": p.id, "cabinet": p.cabinet, "side": p.side, "index": p.index}
            for p in layout.poles
        ],
        "cabinets": cabinets,
        "road": road,
        "volume_bands": {"capacity_veh_h": DEFAULT_CAPACITY_VEH_H},
        "driver": {
            "rated_w": model.rated_power_w,
            "a": model.power_a,
            "b": model.power_b,
            "standby_w": model.standby_w,
            "min_dim_pct": 100.0 * model.min_level if model.dimmable else 100.0,
        },
    }
    mapping.update(overrides or {})
    return mapping


def build_lighting_controller(
    layout: LightingLayout,
    config: Configuration,
    start: datetime,
    **kwargs: Any,
) -> LightingController:
    """A :class:`LightingController` for ``layout`` (arguments as :func:`controller_mapping`)."""
    mapping = controller_mapping(layout, config, start, **kwargs)
    return LightingController(LightingControllerConfig.from_mapping(mapping))
