"""The crop calendar of one plot, as the cooperative enters it on the fog node.

A plot's crop coefficient and root depth change over a cycle, so the
controller's ET checkbook and its RAW threshold must follow the crop's age.
The calendar holds the planting time and the FAO-56 stage parameters; with
``repeat_gap_d`` the same crop is replanted ``repeat_gap_d`` days after each
harvest (continuous cropping of leafy vegetables, successive flower cycles).

Curves (FAO-56 eq. 66 and Annex 8, day 0 = planting): Kc flat at ``kc_ini``
through the initial stage, linear to ``kc_mid`` over development, flat through
mid-season, linear to ``kc_end`` over the late season; root depth ``Zr`` flat
at ``root_min`` through the initial stage, linear to ``root_max`` over
development, flat after. Between harvest and the next planting, and before
the first planting, the plot is fallow: :meth:`CropCalendar.day` returns None
and the controller does not irrigate it.

Schema (units)::

    calendar: {planted_utc_s: 1725123600,    # POSIX s (UTC) of the first planting
               stages_d: [20, 30, 35, 15],   # initial, development, mid, late (days, >= 0)
               kc: [0.6, 1.0, 0.8],          # Kc ini, mid, end (0 < Kc <= 2)
               root_m: [0.2, 0.4],           # Zr min, max (m, 0 < min <= max <= 5)
               repeat_gap_d: 7}              # optional: days fallow before replanting
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CropCalendar"]

_DAY_S = 86_400.0


def _numbers(data: Mapping[str, Any], key: str, where: str, n: int) -> tuple[float, ...]:
    value = data.get(key)
    ok = (
        isinstance(value, Sequence)
        and not isinstance(value, str)
        and len(value) == n
        and all(
            not isinstance(x, bool) and isinstance(x, int | float) and math.isfinite(x)
            for x in value
        )
    )
    if not ok:
        raise ValueError(f"{where}.{key} must be a list of {n} finite numbers, got {value!r}")
    assert isinstance(value, Sequence)
    return tuple(float(x) for x in value)


@dataclass(frozen=True, slots=True)
class CropCalendar:
    """Planting time, stage lengths and curves of one plot's crop (module docstring)."""

    planted_utc_s: float
    stages_d: tuple[float, float, float, float]
    kc_ini: float
    kc_mid: float
    kc_end: float
    root_min_m: float
    root_max_m: float
    repeat_gap_d: float | None = None

    @property
    def season_d(self) -> float:
        """Length of one cycle from planting to harvest (days)."""
        a, b, c, d = self.stages_d
        return a + b + c + d

    def day(self, utc_s: float) -> float | None:
        """Days since the current cycle's planting at POSIX time ``utc_s``, or None
        when the plot is fallow (before planting, after harvest, between cycles)."""
        age = (utc_s - self.planted_utc_s) / _DAY_S
        if age < 0.0:
            return None
        season = self.season_d
        if self.repeat_gap_d is not None:
            age = math.fmod(age, season + self.repeat_gap_d)
        return age if age < season else None

    def kc(self, day: float) -> float:
        """Crop coefficient on ``day`` (days after planting, >= 0)."""
        ini, dev, mid, late = self.stages_d
        if day <= ini:
            return self.kc_ini
        if day <= ini + dev:
            return self.kc_ini + (day - ini) / dev * (self.kc_mid - self.kc_ini)
        if day <= ini + dev + mid:
            return self.kc_mid
        if day <= ini + dev + mid + late:
            return self.kc_mid + (day - ini - dev - mid) / late * (self.kc_end - self.kc_mid)
        return self.kc_end

    def root_depth_m(self, day: float) -> float:
        """Root depth Zr (m) on ``day`` (days after planting, >= 0)."""
        ini, dev = self.stages_d[0], self.stages_d[1]
        if day <= ini:
            return self.root_min_m
        if dev <= 0.0 or day >= ini + dev:
            return self.root_max_m
        return self.root_min_m + (day - ini) / dev * (self.root_max_m - self.root_min_m)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "calendar") -> CropCalendar:
        """Build from plain data; errors name ``where`` and the key."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
        allowed = {"planted_utc_s", "stages_d", "kc", "root_m", "repeat_gap_d"}
        extra = sorted(str(k) for k in data if k not in allowed)
        if extra:
            raise ValueError(f"{where}: unknown key(s) {extra}; allowed: {sorted(allowed)}")
        planted = data.get("planted_utc_s")
        if isinstance(planted, bool) or not isinstance(planted, int | float):
            raise ValueError(f"{where}.planted_utc_s must be POSIX seconds, got {planted!r}")
        if not math.isfinite(planted):
            raise ValueError(f"{where}.planted_utc_s must be finite, got {planted!r}")
        s1, s2, s3, s4 = _numbers(data, "stages_d", where, 4)
        if min(s1, s2, s3, s4) < 0.0 or s1 + s2 + s3 + s4 <= 0.0:
            raise ValueError(f"{where}.stages_d must be >= 0 days with a positive sum")
        kc = _numbers(data, "kc", where, 3)
        if not all(0.0 < k <= 2.0 for k in kc):
            raise ValueError(f"{where}.kc values must be in (0, 2], got {list(kc)}")
        root = _numbers(data, "root_m", where, 2)
        if not 0.0 < root[0] <= root[1] <= 5.0:
            raise ValueError(f"{where}.root_m must be [min, max] with 0 < min <= max <= 5 m")
        gap = data.get("repeat_gap_d")
        if gap is not None and (
            isinstance(gap, bool)
            or not isinstance(gap, int | float)
            or not (math.isfinite(gap) and gap >= 0.0)
        ):
            raise ValueError(f"{where}.repeat_gap_d must be days >= 0, got {gap!r}")
        return cls(
            planted_utc_s=float(planted),
            stages_d=(s1, s2, s3, s4),
            kc_ini=kc[0],
            kc_mid=kc[1],
            kc_end=kc[2],
            root_min_m=root[0],
            root_max_m=root[1],
            repeat_gap_d=None if gap is None else float(gap),
        )
