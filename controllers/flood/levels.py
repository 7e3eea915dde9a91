"""Warning levels (báo động I/II/III), their thresholds, and the hysteresis that holds them.

Thresholds
----------
A warning point measures one quantity, in m:

- a **river gauge** measures the water *stage*, m above the national datum
  (range -5..15 m). The official alert levels at Đông Hà station on the Hiếu
  river are I/II/III = 2.0 / 3.0 / 4.0 m (Thạch Hãn station: 3.0/4.5/6.0 m);
- a **street point** measures the water *depth above the road surface* (m,
  0..5). Default thresholds 0.10 / 0.30 / 0.50 m: at about 0.1 m traffic
  slows (spray, hidden kerbs and potholes); at about 0.3 m cars and
  motorbikes stall (exhaust and air intake of a motorbike sit at 0.3-0.4 m)
  and the road should be closed to them; at about 0.5 m moving water knocks
  people off their feet and lifts small cars, so it is dangerous for people.

The level implied by a value ``v`` is the number of thresholds ``<= v``
(reaching a threshold exactly enters its level).

Hysteresis
----------
Raising is immediate: the first value at or above a threshold raises the
level (several levels at once if need be), because a late warning costs more
than an early one. Lowering is slow and one level at a time: level ``k``
drops to ``k - 1`` only after the sources have been *clearly below* it —
for a value, below ``threshold_k - hysteresis_m`` — at every scan for
``hold_s`` seconds, counted from the last level change. A value oscillating
around a threshold therefore does not chatter, and the level never falls
more than one level per ``hold_s``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

__all__ = ["LevelThresholds", "LevelTracker", "WarningLevel", "level_of"]


class WarningLevel(IntEnum):
    """Warning level of a point or of the city (báo động I/II/III)."""

    NONE = 0
    ALERT_I = 1
    ALERT_II = 2
    ALERT_III = 3


def _check_finite(owner: str, field: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{owner}.{field} must be a finite number, got {value!r}")


@dataclass(frozen=True)
class LevelThresholds:
    """Thresholds of one point's levels I/II/III and how the level is held.

    Attributes:
        level_1_m, level_2_m, level_3_m: thresholds (m; river stage above
            datum or street depth), strictly increasing.
        hysteresis_m: a level is clearly left only below its threshold minus
            this band (m, >= 0, smaller than the gap between thresholds).
        hold_s: the sources must stay clearly below the level this long (s,
            >= 0) before it drops by one; counted from the last change.
    """

    level_1_m: float
    level_2_m: float
    level_3_m: float
    hysteresis_m: float
    hold_s: float

    def __post_init__(self) -> None:
        owner = "LevelThresholds"
        for field in ("level_1_m", "level_2_m", "level_3_m", "hysteresis_m", "hold_s"):
            _check_finite(owner, field, getattr(self, field))
        if not self.level_2_m > self.level_1_m:
            raise ValueError(
                f"{owner}.level_2_m must be above level_1_m ({self.level_1_m} m), "
                f"got {self.level_2_m} m"
            )
        if not self.level_3_m > self.level_2_m:
            raise ValueError(
                f"{owner}.level_3_m must be above level_2_m ({self.level_2_m} m), "
                f"got {self.level_3_m} m"
            )
        gap = min(self.level_2_m - self.level_1_m, self.level_3_m - self.level_2_m)
        if not 0 <= self.hysteresis_m < gap:
            raise ValueError(
                f"{owner}.hysteresis_m must be >= 0 and below the smallest gap between "
                f"thresholds ({gap:g} m), got {self.hysteresis_m} m"
            )
        if self.hold_s < 0:
            raise ValueError(f"{owner}.hold_s must be >= 0 s, got {self.hold_s} s")

    @classmethod
    def river(cls) -> LevelThresholds:
        """Đông Hà station on the Hiếu river: stage 2.0/3.0/4.0 m, band 0.1 m, hold 30 min."""
        return cls(2.0, 3.0, 4.0, hysteresis_m=0.10, hold_s=1800.0)

    @classmethod
    def street(cls) -> LevelThresholds:
        """Street depth 0.10/0.30/0.50 m (see the module notes), band 0.05 m, hold 10 min."""
        return cls(0.10, 0.30, 0.50, hysteresis_m=0.05, hold_s=600.0)

    @property
    def values_m(self) -> tuple[float, float, float]:
        """The three thresholds (m), I to III."""
        return (self.level_1_m, self.level_2_m, self.level_3_m)

    def threshold_m(self, level: int) -> float:
        """Threshold (m) of ``level`` (1..3)."""
        if not 1 <= level <= 3:
            raise ValueError(f"level must be 1..3 to have a threshold, got {level}")
        return self.values_m[level - 1]

    def clearly_below(self, value_m: float, level: int) -> bool:
        """True when ``value_m`` is below ``level``'s threshold minus the band (False at 0)."""
        return level >= 1 and value_m < self.threshold_m(level) - self.hysteresis_m


def level_of(value_m: float, thresholds: LevelThresholds) -> WarningLevel:
    """The level a value implies, with no hysteresis: the number of thresholds <= ``value_m``."""
    return WarningLevel(sum(1 for t in thresholds.values_m if value_m >= t))


class LevelTracker:
    """The held level of one point: raise at once, lower one level per hold period.

    The tracker does not read values itself; each scan the caller says what
    its sources imply (:meth:`step`), so the same hysteresis applies whether
    the level comes from the point's own sensor or from its neighbours.

    Args:
        hold_s: time (s, >= 0) the sources must stay clearly below the level
            before it drops by one.
    """

    __slots__ = ("_below_since", "changed_at", "hold_s", "level")

    def __init__(self, hold_s: float) -> None:
        if not (math.isfinite(hold_s) and hold_s >= 0):
            raise ValueError(f"hold_s must be a finite time >= 0 s, got {hold_s!r}")
        self.hold_s = float(hold_s)
        self.level = WarningLevel.NONE
        #: s: time of the last level change (None before any change)
        self.changed_at: float | None = None
        self._below_since: float | None = None

    def step(self, now: float, implied: int, clearly_below: bool) -> WarningLevel:
        """Update and return the held level at ``now`` (s).

        Args:
            now: scan time (s), non-decreasing.
            implied: the level the sources imply now (0..3); a higher level
                than the held one is taken at once.
            clearly_below: the sources say, with margin, that the water is
                below the held level, and they are trusted to lower it. False
                holds the level (and restarts the hold timer).
        """
        implied = WarningLevel(max(0, min(3, int(implied))))
        if implied > self.level:
            self.level = implied
            self.changed_at = now
            self._below_since = None
            return self.level
        if not clearly_below or self.level is WarningLevel.NONE:
            self._below_since = None
            return self.level
        if self._below_since is None:
            self._below_since = now
        if now - self._below_since >= self.hold_s:
            self.level = WarningLevel(self.level - 1)
            self.changed_at = now
            # the next level's hold counts from this change, if the sources stay below it
            self._below_since = now
        return self.level

    def snapshot(self) -> dict[str, Any]:
        """State as plain data (times in s)."""
        return {
            "level": int(self.level),
            "changed_at": self.changed_at,
            "below_since": self._below_since,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` (raises ValueError if malformed)."""
        try:
            level = WarningLevel(int(state["level"]))
            changed = None if state["changed_at"] is None else float(state["changed_at"])
            below = None if state["below_since"] is None else float(state["below_since"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed level tracker snapshot ({exc!r})") from exc
        self.level, self.changed_at, self._below_since = level, changed, below
