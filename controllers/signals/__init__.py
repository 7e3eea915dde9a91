"""Traffic signal control: intersection spec, safety layer, conflict monitor, plans, controllers.

Every signal controller's requested state passes through a
:class:`SafetyLayer`; the independent :class:`ConflictMonitor` checks what is
actually shown. Times are in s, flows in PCU/h.
"""

from controllers.signals.conflict_monitor import ConflictMonitor
from controllers.signals.fixed_time import FixedTimeController, check_plan, plan_request
from controllers.signals.intersection import (
    GREEN_CHARS,
    STATE_CHARS,
    IntersectionSpec,
    validate_state,
)
from controllers.signals.safety import SafetyLayer, TimeWentBackwardsError
from controllers.signals.webster import OVERSATURATION_Y, SignalPlan, webster_plan

__all__ = [
    "GREEN_CHARS",
    "OVERSATURATION_Y",
    "STATE_CHARS",
    "ConflictMonitor",
    "FixedTimeController",
    "IntersectionSpec",
    "SafetyLayer",
    "SignalPlan",
    "TimeWentBackwardsError",
    "check_plan",
    "plan_request",
    "validate_state",
    "webster_plan",
]
