"""The pole node: the controller that runs on each luminaire's node.

What the node holds (all of it received over its link to the cabinet
gateway/centre, which may drop at any time):

* the **calendar** (day programs, TALQ "control program") — received once,
  kept until replaced; the node computes sunset/sunrise itself;
* the **central level** (%) wanted for its segment (class level) and the
  **boost level** (%), refreshed every scan while the link is up;
* the winning **override** command (see :mod:`controllers.lighting.override`).

The level it drives, in order of precedence:

1. an active override: its level (boosts do not apply);
2. otherwise a base level: the central level if it was received within
   ``central_ttl_s``; else (link lost) the level of its last day program at
   the local time (**fail-safe**); else, never programmed, **100 %**;
3. motion boost: while a detection by its own sensor, or a neighbour's
   detection relayed over the link, is younger than ``hold_s``, the level is
   at least the boost level — only when the base level is above 0 (a boost
   never lights a pole by day);
4. optional ramp down at ``ramp_down_pct_per_s`` (rises are immediate).

The result is always a finite level in 0..100 %.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controllers.lighting.clock import LocalTime
from controllers.lighting.override import OverrideCommand, OverrideState
from controllers.lighting.program import ControlProgram

__all__ = ["BoostConfig", "PoleNode"]


@dataclass(frozen=True, slots=True)
class BoostConfig:
    """Motion-triggered boost ("sensor-triggered period" in TALQ).

    Attributes:
        enabled: boosts on motion at all.
        level_pct: boost level (%, 0..100); None = the commissioning level
            of the class ``class_steps`` brighter than the current one.
        class_steps: classes brighter for the boost when ``level_pct`` is None (>= 1).
        hold_s: how long a detection holds the boost (s, > 0).
        neighbours: poles pre-lit either way along the road (derived
            neighbours: pole index within this distance, both sides; >= 0).
        ramp_down_pct_per_s: fastest fall of the level (%/s, > 0), None = step.
    """

    enabled: bool = True
    level_pct: float | None = None
    class_steps: int = 1
    hold_s: float = 60.0
    neighbours: int = 2
    ramp_down_pct_per_s: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ValueError(f"boost.enabled must be true or false, got {self.enabled!r}")
        if self.level_pct is not None and not (
            _finite(self.level_pct) and 0.0 <= self.level_pct <= 100.0
        ):
            raise ValueError(f"boost.level_pct must be in 0..100 % or null, got {self.level_pct!r}")
        for name, low in (("class_steps", 1), ("neighbours", 0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"boost.{name} must be an integer >= {low}, got {v!r}")
        if not (_finite(self.hold_s) and self.hold_s > 0):
            raise ValueError(f"boost.hold_s must be > 0 s, got {self.hold_s!r}")
        r = self.ramp_down_pct_per_s
        if r is not None and not (_finite(r) and r > 0):
            raise ValueError(f"boost.ramp_down_pct_per_s must be > 0 %/s or null, got {r!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "boost") -> BoostConfig:
        """From ``{enabled, level_pct, class_steps, hold_s, neighbours, ramp_down_pct_per_s}``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping")
        fields = list(cls.__dataclass_fields__)
        unknown = sorted(set(data) - set(fields))
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; use {fields}")
        try:
            return cls(**dict(data))
        except (TypeError, ValueError) as exc:
            msg = str(exc)
            raise ValueError(
                where + msg[5:] if msg.startswith("boost") else f"{where}: {msg}"
            ) from exc


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _level(value: float) -> float:
    """``value`` clamped to 0..100 %; anything non-finite reads as 100 % (safe side)."""
    if value != value or value in (math.inf, -math.inf):
        return 100.0
    return min(100.0, max(0.0, float(value)))


class PoleNode:
    """The node of one pole.

    Args:
        pole_id: the pole's id (``HV-E01``).
        boost: the motion-boost settings.
        central_ttl_s: how long (s, >= 0) a central level stays valid
            without a refresh before the node falls back to its program.
    """

    def __init__(self, pole_id: str, boost: BoostConfig, central_ttl_s: float = 60.0) -> None:
        if not (_finite(central_ttl_s) and central_ttl_s >= 0):
            raise ValueError(f"central_ttl_s must be >= 0 s, got {central_ttl_s!r}")
        self.pole_id = pole_id
        self.boost = boost
        self.central_ttl_s = float(central_ttl_s)
        self.program: ControlProgram | None = None
        self.program_version: int | None = None
        self.central_pct: float | None = None
        self.boost_pct: float | None = None
        self.central_at_s = -math.inf
        self.boost_until_s = -math.inf
        self.override = OverrideState()
        self.output_pct: float | None = None
        self.last_s: float | None = None
        self.source = "none"

    # ------------------------------------------------------------ link traffic
    def receive_central(
        self,
        now: float,
        level_pct: float,
        boost_pct: float,
        program: ControlProgram,
        program_version: int,
    ) -> None:
        """An update from the centre (only while the link is up)."""
        self.central_pct = _level(level_pct)
        self.boost_pct = _level(boost_pct)
        self.central_at_s = now
        if program_version != self.program_version:
            self.program, self.program_version = program, program_version

    def receive_command(self, command: OverrideCommand) -> bool:
        """An override command (only while the link is up); True if it now wins."""
        return self.override.accept(command)

    def motion(self, now: float) -> None:
        """A detection by the own sensor, or a neighbour's relayed over the link."""
        if self.boost.enabled:
            self.boost_until_s = max(self.boost_until_s, now + self.boost.hold_s)

    # -------------------------------------------------------------------- step
    def base_level(self, now: float, local: LocalTime) -> float:
        """The level before boosts and ramps (%), and sets :attr:`source`."""
        if self.central_pct is not None and now - self.central_at_s <= self.central_ttl_s:
            self.source = "central"
            return self.central_pct
        if self.program is not None:
            self.source = "program"
            return _level(self.program.level_at(local))
        self.source = "failsafe"
        return 100.0

    def step(self, now: float, local: LocalTime) -> float:
        """The level (%, 0..100) to drive at ``now``."""
        forced = self.override.level(now)
        if forced is not None:
            self.source = "override"
            target = _level(forced)
        else:
            target = self.base_level(now, local)
            if target > 0.0 and self.boost.enabled and now < self.boost_until_s:
                boost = 100.0 if self.boost_pct is None else self.boost_pct
                target = max(target, boost)
        rate = self.boost.ramp_down_pct_per_s
        if (
            rate is not None
            and forced is None
            and self.output_pct is not None
            and self.last_s is not None
            and target < self.output_pct
        ):
            target = max(target, self.output_pct - rate * max(0.0, now - self.last_s))
        self.output_pct = _level(target)
        self.last_s = now
        return self.output_pct

    # ------------------------------------------------------ snapshot / restore
    def snapshot(self) -> dict[str, Any]:
        """State as plain data (the program as its version number)."""
        return {
            "program_version": self.program_version,
            "central_pct": self.central_pct,
            "boost_pct": self.boost_pct,
            "central_at_s": _time_out(self.central_at_s),
            "boost_until_s": _time_out(self.boost_until_s),
            "override": self.override.snapshot(),
            "output_pct": self.output_pct,
            "last_s": self.last_s,
            "source": self.source,
        }

    def restore(self, state: Mapping[str, Any], program: ControlProgram | None) -> None:
        """Restore a :meth:`snapshot`; ``program`` is the calendar of its version."""
        override = OverrideState()
        override.restore(state["override"])
        version = state["program_version"]
        self.program_version = None if version is None else int(version)
        self.program = program if version is not None else None
        self.central_pct = _opt_float(state["central_pct"])
        self.boost_pct = _opt_float(state["boost_pct"])
        self.central_at_s = _time_in(state["central_at_s"])
        self.boost_until_s = _time_in(state["boost_until_s"])
        self.override = override
        self.output_pct = _opt_float(state["output_pct"])
        self.last_s = _opt_float(state["last_s"])
        self.source = str(state["source"])


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _time_out(t: float) -> float | None:
    """-inf ("never") as None, for JSON."""
    return None if t == -math.inf else t


def _time_in(t: Any) -> float:
    return -math.inf if t is None else float(t)
