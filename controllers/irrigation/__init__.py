"""Per-site smart irrigation for the An Lạc and Đông Thanh cooperatives (fog node).

Runs on the fog node / IoT gateway: standard library and ``controllers.*`` only.

Modules, one concept each:

* :mod:`~controllers.irrigation.config` — plots and site, validated (``from_mapping``);
* :mod:`~controllers.irrigation.checkbook` — the ET checkbook with probe correction;
* :mod:`~controllers.irrigation.schedule` — fair round robin on the shared pump;
* :mod:`~controllers.irrigation.controller` — :class:`IrrigationController`;
* :mod:`~controllers.irrigation.calendar` — the crop calendar of a plot;
* :mod:`~controllers.irrigation.fixed_schedule` — the farmers' timer (the baseline);
* :mod:`~controllers.irrigation.misting` — net-house misting by temperature/VPD;
* :mod:`~controllers.irrigation.fertigation` — EC/pH dosing of the drip water.

Typical use (the twin)::

    cfg = IrrigationConfig.from_mapping(scenario["controllers"]["irrigation"]["an_lac"])
    ctrl = IrrigationController(cfg)
    outputs = ctrl.scan(now, inputs)
"""

from controllers.irrigation.calendar import CropCalendar
from controllers.irrigation.checkbook import Checkbook
from controllers.irrigation.config import IrrigationConfig, PlotConfig
from controllers.irrigation.controller import COMMAND_KINDS, Alarm, IrrigationController
from controllers.irrigation.fertigation import FertigationConfig, FertigationController
from controllers.irrigation.fixed_schedule import FixedScheduleConfig, FixedScheduleController
from controllers.irrigation.misting import MistingConfig, MistingController
from controllers.irrigation.schedule import Candidate, pick_starts

__all__ = [
    "COMMAND_KINDS",
    "Alarm",
    "Candidate",
    "Checkbook",
    "CropCalendar",
    "FertigationConfig",
    "FertigationController",
    "FixedScheduleConfig",
    "FixedScheduleController",
    "IrrigationConfig",
    "IrrigationController",
    "MistingConfig",
    "MistingController",
    "PlotConfig",
    "pick_starts",
]
