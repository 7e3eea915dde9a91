"""Siren policy of a warning point: when the outdoor/indoor warning device sounds.

The siren sounds while the point's *held* warning level is at least
``siren_level`` (default III at a river gauge, where the official alert
III means evacuation of low-lying wards; II at a street point, where
0.3 m of water already closes the road to cars and motorbikes), or while
the rate-of-rise alarm is on and the level is at least ``rate_min_level``
(default I: water already out of the channel and rising fast).

The siren follows the held level, never a raw reading, so it inherits the
level's hysteresis and its fail-safe: it is not silenced by a sensor that
fails or turns suspect (see :mod:`controllers.flood.point`). It needs no
network link: the device decides on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SirenPolicy"]


@dataclass(frozen=True)
class SirenPolicy:
    """When the siren sounds.

    Attributes:
        siren_level: the siren sounds at this level or above (1..3).
        on_rate_alarm: the rate-of-rise alarm also sounds it (at
            ``rate_min_level`` or above).
        rate_min_level: lowest level at which a rate alarm sounds the siren (0..3).
    """

    siren_level: int
    on_rate_alarm: bool = True
    rate_min_level: int = 1

    def __post_init__(self) -> None:
        for field, low in (("siren_level", 1), ("rate_min_level", 0)):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 3:
                raise ValueError(f"SirenPolicy.{field} must be an integer {low}..3, got {value!r}")
        if not isinstance(self.on_rate_alarm, bool):
            raise ValueError(
                f"SirenPolicy.on_rate_alarm must be a bool, got {self.on_rate_alarm!r}"
            )

    @classmethod
    def river(cls) -> SirenPolicy:
        """River gauge: siren at alert III, or on a rate alarm at I and above."""
        return cls(siren_level=3)

    @classmethod
    def street(cls) -> SirenPolicy:
        """Street point: siren at level II, or on a rate alarm at I and above."""
        return cls(siren_level=2)

    def sounds(self, level: int, rate_alarm: bool) -> bool:
        """True when the siren sounds at held ``level`` (0..3) with ``rate_alarm``."""
        if level >= self.siren_level:
            return True
        return self.on_rate_alarm and rate_alarm and level >= self.rate_min_level
