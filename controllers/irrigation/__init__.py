"""Per-site smart irrigation for the An Lạc and Đông Thanh cooperatives (fog node).

Runs on the fog node / IoT gateway: standard library and ``controllers.*`` only.

Modules, one concept each:

* :mod:`~controllers.irrigation.config` — plots and site, validated (``from_mapping``);
* :mod:`~controllers.irrigation.checkbook` — the ET checkbook with probe correction;
* :mod:`~controllers.irrigation.schedule` — fair round robin on the shared pump;
* :mod:`~controllers.irrigation.controller` — :class:`IrrigationController`.

Typical use (the twin)::

    cfg = IrrigationConfig.from_mapping(scenario["controllers"]["irrigation"]["an_lac"])
    ctrl = IrrigationController(cfg)
    outputs = ctrl.scan(now, inputs)
"""

from controllers.irrigation.checkbook import Checkbook
from controllers.irrigation.config import IrrigationConfig, PlotConfig
from controllers.irrigation.controller import COMMAND_KINDS, Alarm, IrrigationController
from controllers.irrigation.schedule import Candidate, pick_starts

__all__ = [
    "COMMAND_KINDS",
    "Alarm",
    "Candidate",
    "Checkbook",
    "IrrigationConfig",
    "IrrigationController",
    "PlotConfig",
    "pick_starts",
]
