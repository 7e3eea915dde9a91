"""Smart street lighting controllers (TALQ-style), for the Hùng Vương pilot and alike.

Runs on a cabinet/gateway: standard library and ``controllers.*`` only.

Modules, one concept each:

* :mod:`~controllers.lighting.clock` — local time from run seconds (no clock is read);
* :mod:`~controllers.lighting.astro` — NOAA sunrise/sunset/solar noon, sun elevation;
* :mod:`~controllers.lighting.program` — switch points, day programs, calendar;
* :mod:`~controllers.lighting.classes` — M1..M6 and their EN 13201-2 requirements;
* :mod:`~controllers.lighting.cie115` — CIE 115:2010 class selection (M = 6 − VWS);
* :mod:`~controllers.lighting.override` — operator commands, last command wins;
* :mod:`~controllers.lighting.pole` — the pole node: boosts, fail-safe, override;
* :mod:`~controllers.lighting.central` — per-segment class, level and on/off;
* :mod:`~controllers.lighting.faults` — driver power model and TALQ-style alerts;
* :mod:`~controllers.lighting.config` — the section's validated configuration;
* :mod:`~controllers.lighting.controller` — :class:`LightingController`.

Typical use (the twin)::

    cfg = LightingControllerConfig.from_mapping(scenario["controllers"]["lighting"])
    ctrl = LightingController(cfg)
    outputs = ctrl.scan(now, inputs)
"""

from controllers.lighting.astro import (
    AstroClock,
    SunTimes,
    civil_twilight,
    solar_elevation_deg,
    sun_times,
)
from controllers.lighting.central import (
    PhotocellRule,
    RainRule,
    SegmentDecision,
    SegmentManager,
    TimeBand,
    commissioning_level,
)
from controllers.lighting.cie115 import (
    WEIGHTS,
    ClassSelection,
    RoadParameters,
    VolumeBands,
    select_class,
)
from controllers.lighting.classes import REQUIREMENTS, LightingClass, brighter, parse_class
from controllers.lighting.clock import LocalClock, LocalTime
from controllers.lighting.config import CabinetConfig, LightingControllerConfig, PoleConfig
from controllers.lighting.controller import LightingController
from controllers.lighting.faults import (
    FAULT_CODES,
    AlertEvent,
    DriverModel,
    FaultConfig,
    PoleFaultMonitor,
)
from controllers.lighting.override import OverrideCommand
from controllers.lighting.pole import BoostConfig, PoleNode
from controllers.lighting.program import (
    Calendar,
    CalendarRule,
    ControlProgram,
    DayProgram,
    SwitchPoint,
)

__all__ = [
    "FAULT_CODES",
    "REQUIREMENTS",
    "WEIGHTS",
    "AlertEvent",
    "AstroClock",
    "BoostConfig",
    "CabinetConfig",
    "Calendar",
    "CalendarRule",
    "ClassSelection",
    "ControlProgram",
    "DayProgram",
    "DriverModel",
    "FaultConfig",
    "LightingClass",
    "LightingController",
    "LightingControllerConfig",
    "LocalClock",
    "LocalTime",
    "OverrideCommand",
    "PhotocellRule",
    "PoleConfig",
    "PoleFaultMonitor",
    "PoleNode",
    "RainRule",
    "RoadParameters",
    "SegmentDecision",
    "SegmentManager",
    "SunTimes",
    "SwitchPoint",
    "TimeBand",
    "VolumeBands",
    "brighter",
    "civil_twilight",
    "commissioning_level",
    "parse_class",
    "select_class",
    "solar_elevation_deg",
    "sun_times",
]
