"""Injectable faults of the lighting plant and the flood trip of the cabinets.

A :class:`Fault` acts on one pole or one cabinet from ``start_s`` to
``end_s`` (run seconds; ``end_s = None`` = until the end of the run). It is in
effect for a plant step ``(t_prev, t]`` when ``start_s < t <= end_s``, i.e. the
step's END lies inside ``(start_s, end_s]``.

=======================  ========  =================================================
kind                     target    effect while in effect
=======================  ========  =================================================
``lamp_failure``         pole      no light; power ``failed_lamp_w`` when switched on
                                   (ballast/driver idling), ``standby_w`` when off
``driver_failure``       pole      the driver ignores dimming: when switched on it
                                   runs at ``level`` (1.0 = "no dimming", or the
                                   level it is stuck at); off still switches it off
``stuck_on``             pole      relay welded: commanded off, the driver stays
                                   powered and burns at full (by day too); dimmed
                                   commands still work
``link_down``            pole      the node's link is down: ``link_ok`` false and
                                   its power reading BAD (the lamp is unaffected)
``supply_loss``          cabinet   mains lost: all its poles dark at 0 W, meters
                                   read 0, nodes' links down, ``supply_ok`` false
=======================  ========  =================================================

Flood trip (:class:`FloodTrip`): a cabinet stands on a plinth of
``plinth_m``; when the water depth reported at the cabinet exceeds it, the
supply trips (as ``supply_loss``) and stays off until :meth:`FloodTrip.reset`
is called with the water back below the plinth (a technician resets the
breaker after the water recedes).

The TALQ-style alert each fault should raise in a controller is
:data:`EXPECTED_ALERT` (used by the plant to score detection).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "EXPECTED_ALERT",
    "FAULT_KINDS",
    "Fault",
    "FaultError",
    "FaultState",
    "FloodTrip",
    "active_faults",
    "driver_failure",
    "lamp_failure",
    "link_down",
    "stuck_on",
    "supply_loss",
]

FAULT_KINDS = ("lamp_failure", "driver_failure", "stuck_on", "link_down", "supply_loss")
_POLE_KINDS = frozenset(FAULT_KINDS[:4])

EXPECTED_ALERT: Mapping[str, str] = {
    "lamp_failure": "lampFailure",
    "driver_failure": "dimmingFailure",
    "stuck_on": "lampUnexpectedOn",
    "link_down": "commFailure",
    "supply_loss": "supplyLoss",
}
"""The TALQ-style alert code a controller should raise for each kind (on the
pole's ``fault`` point; for a cabinet's supply loss, on any of its poles)."""


class FaultError(ValueError):
    """A fault is malformed or names an unknown pole or cabinet."""


@dataclass(frozen=True)
class Fault:
    """One injected fault (see the module docstring).

    Attributes:
        kind: one of :data:`FAULT_KINDS`.
        target: pole id (``HV-E07``) or, for ``supply_loss``, cabinet id (``HV-C2``).
        start_s: run time (s) the fault begins.
        end_s: run time (s) it ends, None = never.
        level: ``driver_failure`` only: the level (0..1] the driver runs at
            when switched on (1.0 = no dimming).
    """

    kind: str
    target: str
    start_s: float
    end_s: float | None = None
    level: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise FaultError(f"Fault.kind = {self.kind!r}: use one of {', '.join(FAULT_KINDS)}")
        if not isinstance(self.target, str) or not self.target:
            raise FaultError(f"Fault.target = {self.target!r}: give a pole or cabinet id")
        if not _finite(self.start_s):
            raise FaultError(f"Fault.start_s = {self.start_s!r}: must be a finite time (s)")
        if self.end_s is not None and not (_finite(self.end_s) and self.end_s > self.start_s):
            raise FaultError(
                f"Fault.end_s = {self.end_s!r}: must be after start_s = {self.start_s} s (or None)"
            )
        if not (_finite(self.level) and 0 < self.level <= 1):
            raise FaultError(f"Fault.level = {self.level!r}: must be in (0, 1]")

    @property
    def on_cabinet(self) -> bool:
        """True for cabinet faults (``supply_loss``)."""
        return self.kind not in _POLE_KINDS

    def in_effect(self, t_prev: float, t: float) -> bool:
        """True if the fault acts on the step ``(t_prev, t]`` (its end lies in (start, end])."""
        del t_prev
        return self.start_s < t and (self.end_s is None or t <= self.end_s)

    @property
    def expected_alert(self) -> str:
        """The alert code a controller should raise for it."""
        return EXPECTED_ALERT[self.kind]


def _finite(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def lamp_failure(pole: str, start_s: float, end_s: float | None = None) -> Fault:
    """The lamp (LED string or HPS burner) fails at ``start_s``."""
    return Fault("lamp_failure", pole, start_s, end_s)


def driver_failure(
    pole: str, start_s: float, end_s: float | None = None, level: float = 1.0
) -> Fault:
    """The driver stops dimming: on = ``level`` (1.0 = full) whatever is commanded."""
    return Fault("driver_failure", pole, start_s, end_s, level)


def stuck_on(pole: str, start_s: float, end_s: float | None = None) -> Fault:
    """The pole's relay welds: the lamp cannot be switched off (burns by day)."""
    return Fault("stuck_on", pole, start_s, end_s)


def link_down(pole: str, start_s: float, end_s: float | None = None) -> Fault:
    """The pole node's link to the gateway is down."""
    return Fault("link_down", pole, start_s, end_s)


def supply_loss(cabinet: str, start_s: float, end_s: float | None = None) -> Fault:
    """The cabinet loses mains."""
    return Fault("supply_loss", cabinet, start_s, end_s)


@dataclass(frozen=True)
class FaultState:
    """Masks of the faults in effect for one step (arrays over poles / cabinets).

    Attributes:
        lamp_failed: poles with a failed lamp.
        driver_level: level a failed driver runs at when on (NaN = driver fine).
        stuck_on: poles with a welded relay.
        link_down: poles whose link is down by an injected outage.
        supply_lost: cabinets without mains by an injected fault.
    """

    lamp_failed: NDArray[np.bool_]
    driver_level: NDArray[np.float64]
    stuck_on: NDArray[np.bool_]
    link_down: NDArray[np.bool_]
    supply_lost: NDArray[np.bool_]


def active_faults(
    faults: Sequence[Fault],
    pole_index: Mapping[str, int],
    cabinet_index: Mapping[str, int],
    t_prev: float,
    t: float,
) -> FaultState:
    """The :class:`FaultState` of ``faults`` for the step ``(t_prev, t]``."""
    n_p, n_c = len(pole_index), len(cabinet_index)
    lamp = np.zeros(n_p, dtype=bool)
    drv = np.full(n_p, np.nan)
    stuck = np.zeros(n_p, dtype=bool)
    link = np.zeros(n_p, dtype=bool)
    supply = np.zeros(n_c, dtype=bool)
    for f in faults:
        if not f.in_effect(t_prev, t):
            continue
        if f.kind == "supply_loss":
            supply[cabinet_index[f.target]] = True
            continue
        k = pole_index[f.target]
        if f.kind == "lamp_failure":
            lamp[k] = True
        elif f.kind == "driver_failure":
            drv[k] = f.level
        elif f.kind == "stuck_on":
            stuck[k] = True
        else:
            link[k] = True
    return FaultState(lamp, drv, stuck, link, supply)


class FloodTrip:
    """Cabinet breakers tripped by flood water above the plinth (latched until reset).

    Args:
        cabinet_ids: the cabinets, in plant order.
        plinth_m: plinth height per cabinet (m above the surrounding ground,
            > 0), or one value for all; 0.3 m *(est.)* for a street cabinet.
    """

    def __init__(
        self, cabinet_ids: Sequence[str], plinth_m: float | Mapping[str, float] = 0.3
    ) -> None:
        self.ids = tuple(cabinet_ids)
        self._index = {c: k for k, c in enumerate(self.ids)}
        if isinstance(plinth_m, Mapping):
            unknown = sorted(set(plinth_m) - set(self.ids))
            if unknown:
                raise FaultError(
                    f"plinth_m names unknown cabinets {unknown}; cabinets are {list(self.ids)}"
                )
            values = [float(plinth_m.get(c, 0.3)) for c in self.ids]
        else:
            values = [float(plinth_m)] * len(self.ids)
        if not all(math.isfinite(v) and v > 0 for v in values):
            raise FaultError(f"plinth_m {plinth_m!r}: every plinth must be > 0 m")
        self.plinth_m = np.array(values)
        self.depth_m = np.zeros(len(self.ids))
        self.tripped = np.zeros(len(self.ids), dtype=bool)
        self.trip_times: list[tuple[str, float]] = []

    def index(self, cabinet: str) -> int:
        """Plant index of ``cabinet`` (FaultError naming the known ids)."""
        try:
            return self._index[cabinet]
        except KeyError:
            raise FaultError(
                f"unknown cabinet {cabinet!r}; cabinets are {list(self.ids)}"
            ) from None

    def set_depth(self, cabinet: str, depth_m: float, t_s: float) -> None:
        """Water depth (m, >= 0) at ``cabinet`` now; trips it when above the plinth."""
        if not (_finite(depth_m) and depth_m >= 0):
            raise FaultError(f"water depth {depth_m!r} at {cabinet} must be a number >= 0 m")
        k = self.index(cabinet)
        self.depth_m[k] = depth_m
        if depth_m > self.plinth_m[k] and not self.tripped[k]:
            self.tripped[k] = True
            self.trip_times.append((cabinet, float(t_s)))

    def reset(self, cabinet: str) -> None:
        """Reset the breaker; raises if the water is still above the plinth."""
        k = self.index(cabinet)
        if self.depth_m[k] > self.plinth_m[k]:
            raise FaultError(
                f"cannot reset {cabinet}: water {self.depth_m[k]:.2f} m is above its "
                f"{self.plinth_m[k]:.2f} m plinth. Hint: wait for the water to recede"
            )
        self.tripped[k] = False
