"""Neighbour voting: the level a point takes from nearby points when its own sensor is in doubt.

A warning point's neighbours are other points whose ``flood/Pmm/level_m``
readings reach it through the centre while its uplink is up. Each usable
neighbour reading is turned into the level *that neighbour's* thresholds
imply (a river stage and a street depth are not comparable in metres, but
their levels are), with no hysteresis.

A neighbour reading is usable when it is GOOD, a finite number within the
neighbour's valid range, and at most ``max_age_s`` old.

Vote rule: the **upper median** of the usable neighbours' levels — the
middle level of an odd count, the higher of the two middle levels of an even
count. With one neighbour it is that neighbour's level; with two, the higher
(lean to safety when there is no majority); from three on a single faulty
neighbour can neither raise nor lower the vote on its own.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from controllers.flood.levels import LevelThresholds, WarningLevel, level_of
from controllers.flood.samples import good_number
from controllers.io import Sample, validate_point_name

__all__ = ["Neighbour", "upper_median"]


@dataclass(frozen=True)
class Neighbour:
    """A nearby warning point whose level reading may vote.

    Attributes:
        point_id: its id (``P01`` .. ``P12``).
        thresholds: its own level thresholds (m).
        valid_low_m, valid_high_m: its sensor's valid range (m).
        max_age_s: an older reading does not vote (s, > 0).
    """

    point_id: str
    thresholds: LevelThresholds
    valid_low_m: float
    valid_high_m: float
    max_age_s: float = 900.0

    def __post_init__(self) -> None:
        try:
            if not isinstance(self.point_id, str) or "/" in self.point_id:
                raise ValueError("an id is one point-name segment")
            validate_point_name(self.level_point)
        except ValueError as exc:
            raise ValueError(
                f"Neighbour.point_id {self.point_id!r} is not a valid id: use one segment of "
                "letters, digits and _ . # : - (e.g. 'P03')"
            ) from exc
        if not isinstance(self.thresholds, LevelThresholds):
            raise ValueError(
                "Neighbour.thresholds must be LevelThresholds, got "
                f"{type(self.thresholds).__name__}"
            )
        for field in ("valid_low_m", "valid_high_m", "max_age_s"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"Neighbour.{field} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"Neighbour.{field} must be finite, got {value!r}")
        if not self.valid_low_m < self.valid_high_m:
            raise ValueError(
                f"Neighbour.valid_high_m must be above valid_low_m ({self.valid_low_m} m), "
                f"got {self.valid_high_m} m"
            )
        if self.max_age_s <= 0:
            raise ValueError(f"Neighbour.max_age_s must be > 0 s, got {self.max_age_s}")

    @property
    def level_point(self) -> str:
        """Name of its level reading: ``flood/{point_id}/level_m``."""
        return f"flood/{self.point_id}/level_m"

    def level(self, sample: Sample | None, now: float) -> WarningLevel | None:
        """The level its reading implies at ``now`` (s), or None if the reading is not usable."""
        value = good_number(
            sample, self.valid_low_m, self.valid_high_m, now=now, max_age_s=self.max_age_s
        )
        return None if value is None else level_of(value, self.thresholds)


def upper_median(levels: Sequence[int]) -> WarningLevel:
    """The upper median of ``levels`` (non-empty): see the module notes."""
    if not levels:
        raise ValueError("upper_median needs at least one level; check for usable neighbours first")
    ordered = sorted(levels)
    return WarningLevel(ordered[len(ordered) // 2])
