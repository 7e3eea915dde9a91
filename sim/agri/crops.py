"""Crops for the FAO-56 single-coefficient water balance.

A :class:`Crop` holds what FAO-56 (Allen et al. 1998) needs to turn reference
evapotranspiration ET0 into crop evapotranspiration for one crop cycle:

- growth-stage lengths in days (initial, development, mid-season, late season;
  FAO-56 Table 11), counted from the planting (or transplanting) day;
- single crop coefficients Kc ini / mid / end (FAO-56 Table 12);
- root depth Zr min / max in m (FAO-56 Table 22);
- the depletion fraction p from FAO-56 Table 22, adjusted daily for the
  evaporative demand (FAO-56 p. 162, footnote of Table 22):
  ``p = p_table + 0.04 (5 - ETc)``, ETc in mm/d, clamped to 0.1..0.8;
- the maximum crop height in m.

The Kc curve (FAO-56 Fig. 25 and 34, eq. 66) is flat at Kc ini during the
initial stage, linear up to Kc mid over the development stage, flat at Kc mid
through mid-season, linear down to Kc end over the late season, and stays at
Kc end after harvest. Days are counted from 0 on the planting day, so
``kc(L_ini) == kc_ini`` and ``kc(L_ini + L_dev) == kc_mid`` (the same
convention as pyfao56).

Root depth grows linearly from Zr min at the end of the initial stage to
Zr max at the end of the development stage (when the canopy is full) and stays
there; this is the FAO-56 Annex 8 / pyfao56 rule ``Zr = Zr_min + (Zr_max -
Zr_min)(Kc - Kc_ini)/(Kc_mid - Kc_ini)`` written in time, so it also works when
Kc mid equals Kc ini.

All functions take a scalar day or a numpy array of days and return the same
shape. The catalogue :data:`CROPS` holds the crops of the Đông Hà
cooperatives (DOMAIN.md "Agriculture facts"); values marked *(est.)* are our
estimates, not table values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CROPS",
    "Crop",
    "adjusted_depletion_fraction",
    "get_crop",
    "kc_curve",
    "root_depth_curve",
]

P_MIN = 0.1
P_MAX = 0.8


def kc_curve(
    day: ArrayLike,
    l_ini: ArrayLike,
    l_dev: ArrayLike,
    l_mid: ArrayLike,
    l_late: ArrayLike,
    kc_ini: ArrayLike,
    kc_mid: ArrayLike,
    kc_end: ArrayLike,
) -> NDArray[np.float64]:
    """Single crop coefficient Kc (-) on ``day`` (days after planting, 0 = planting day).

    Vectorised: every argument broadcasts (one value per plot). FAO-56 eq. 66.
    Before planting (negative day) Kc is Kc ini.
    """
    d = np.asarray(day, dtype=float)
    li, ld, lm, ll = (np.asarray(v, dtype=float) for v in (l_ini, l_dev, l_mid, l_late))
    ki, km, ke = (np.asarray(v, dtype=float) for v in (kc_ini, kc_mid, kc_end))
    s1 = li
    s2 = s1 + ld
    s3 = s2 + lm
    s4 = s3 + ll
    with np.errstate(divide="ignore", invalid="ignore"):
        frac_dev = np.clip((d - s1) / np.where(ld > 0, ld, 1.0), 0.0, 1.0)
        frac_late = np.clip((d - s3) / np.where(ll > 0, ll, 1.0), 0.0, 1.0)
    kc = np.where(
        d <= s1,
        ki,
        np.where(
            d <= s2,
            ki + frac_dev * (km - ki),
            np.where(d <= s3, km, np.where(d <= s4, km + frac_late * (ke - km), ke)),
        ),
    )
    return np.asarray(kc, dtype=float)


def root_depth_curve(
    day: ArrayLike,
    l_ini: ArrayLike,
    l_dev: ArrayLike,
    zr_min: ArrayLike,
    zr_max: ArrayLike,
) -> NDArray[np.float64]:
    """Root depth Zr (m) on ``day`` (days after planting): Zr min through the
    initial stage, linear to Zr max at the end of development, Zr max after.
    Non-decreasing in ``day``. Vectorised like :func:`kc_curve`."""
    d = np.asarray(day, dtype=float)
    li = np.asarray(l_ini, dtype=float)
    ld = np.asarray(l_dev, dtype=float)
    zmin = np.asarray(zr_min, dtype=float)
    zmax = np.asarray(zr_max, dtype=float)
    frac = np.where(ld > 0, np.clip((d - li) / np.where(ld > 0, ld, 1.0), 0.0, 1.0), 1.0)
    frac = np.where(d <= li, 0.0, frac)
    return np.asarray(zmin + frac * (zmax - zmin), dtype=float)


def adjusted_depletion_fraction(p_table: ArrayLike, etc_mm: ArrayLike) -> NDArray[np.float64]:
    """FAO-56 p adjusted for the day's ETc (mm/d): ``p_table + 0.04 (5 - ETc)``,
    clamped to 0.1..0.8 (FAO-56 p. 162)."""
    p = np.asarray(p_table, dtype=float) + 0.04 * (5.0 - np.asarray(etc_mm, dtype=float))
    return np.asarray(np.clip(p, P_MIN, P_MAX), dtype=float)


@dataclass(frozen=True)
class Crop:
    """One crop cycle's FAO-56 parameters.

    name: label. l_ini, l_dev, l_mid, l_late: stage lengths in days (>= 0;
    l_ini + l_dev + l_mid + l_late > 0). kc_ini, kc_mid, kc_end: single crop
    coefficients (0 < Kc <= 2). zr_min, zr_max: root depth in m
    (0 < zr_min <= zr_max <= 3). p: FAO-56 Table 22 depletion fraction at
    ETc = 5 mm/d (0.1..0.8). max_height_m: crop height at full cover (m, > 0).
    source: where the numbers come from ("(est.)" marks our estimates).
    """

    name: str
    l_ini: float
    l_dev: float
    l_mid: float
    l_late: float
    kc_ini: float
    kc_mid: float
    kc_end: float
    zr_min: float
    zr_max: float
    p: float
    max_height_m: float
    source: str = ""

    def __post_init__(self) -> None:
        def fail(field: str, value: Any, why: str) -> None:
            raise ValueError(f"Crop {self.name!r}: {field}={value!r} {why}")

        if not self.name:
            raise ValueError("Crop name must be a non-empty string")
        numeric = (
            "l_ini",
            "l_dev",
            "l_mid",
            "l_late",
            "kc_ini",
            "kc_mid",
            "kc_end",
            "zr_min",
            "zr_max",
            "p",
            "max_height_m",
        )
        for field in numeric:
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                fail(field, value, "must be a number")
            if not math.isfinite(value):
                fail(field, value, "must be finite")
        for field in ("l_ini", "l_dev", "l_mid", "l_late"):
            if getattr(self, field) < 0:
                fail(field, getattr(self, field), "must be >= 0 days")
        if self.season_length_days <= 0:
            fail("season length", self.season_length_days, "must be > 0 days; set stage lengths")
        for field in ("kc_ini", "kc_mid", "kc_end"):
            value = getattr(self, field)
            if not 0.0 < value <= 2.0:
                fail(field, value, "must be in (0, 2] (FAO-56 Table 12 range)")
        if not 0.0 < self.zr_min <= 3.0:
            fail("zr_min", self.zr_min, "must be in (0, 3] m")
        if not self.zr_min <= self.zr_max <= 3.0:
            fail("zr_max", self.zr_max, f"must be in [zr_min={self.zr_min}, 3] m")
        if not P_MIN <= self.p <= P_MAX:
            fail("p", self.p, f"must be in [{P_MIN}, {P_MAX}] (FAO-56 Table 22)")
        if self.max_height_m <= 0:
            fail("max_height_m", self.max_height_m, "must be > 0 m")

    @property
    def season_length_days(self) -> float:
        """Total length of the cycle, planting to harvest (days)."""
        return self.l_ini + self.l_dev + self.l_mid + self.l_late

    @overload
    def kc(self, day: float) -> float: ...
    @overload
    def kc(self, day: NDArray[Any]) -> NDArray[np.float64]: ...
    def kc(self, day: float | NDArray[Any]) -> float | NDArray[np.float64]:
        """Kc (-) on ``day`` days after planting (scalar or array)."""
        out = kc_curve(
            day,
            self.l_ini,
            self.l_dev,
            self.l_mid,
            self.l_late,
            self.kc_ini,
            self.kc_mid,
            self.kc_end,
        )
        return float(out) if np.ndim(day) == 0 else out

    @overload
    def root_depth(self, day: float) -> float: ...
    @overload
    def root_depth(self, day: NDArray[Any]) -> NDArray[np.float64]: ...
    def root_depth(self, day: float | NDArray[Any]) -> float | NDArray[np.float64]:
        """Root depth Zr (m) on ``day`` days after planting (scalar or array)."""
        out = root_depth_curve(day, self.l_ini, self.l_dev, self.zr_min, self.zr_max)
        return float(out) if np.ndim(day) == 0 else out

    @overload
    def depletion_fraction(self, etc_mm: float) -> float: ...
    @overload
    def depletion_fraction(self, etc_mm: NDArray[Any]) -> NDArray[np.float64]: ...
    def depletion_fraction(self, etc_mm: float | NDArray[Any]) -> float | NDArray[np.float64]:
        """p (-) for a day with crop ET ``etc_mm`` (mm/d), FAO-56 p. 162."""
        out = adjusted_depletion_fraction(self.p, etc_mm)
        return float(out) if np.ndim(etc_mm) == 0 else out


#: The cooperatives' crops. Kc, Zr and p from DOMAIN.md (FAO-56 Tables 12 and 22);
#: stage lengths are short Vietnamese leafy-vegetable cycles.
CROPS: dict[str, Crop] = {
    c.name: c
    for c in (
        Crop(
            name="lettuce",
            l_ini=20,
            l_dev=30,
            l_mid=15,
            l_late=10,
            kc_ini=0.7,
            kc_mid=1.00,
            kc_end=0.95,
            zr_min=0.3,
            zr_max=0.5,
            p=0.30,
            max_height_m=0.3,
            source="FAO-56 Tables 11, 12, 22 (lettuce, 20/30/15/10 d)",
        ),
        Crop(
            name="mustard_greens",  # cải
            l_ini=10,
            l_dev=15,
            l_mid=10,
            l_late=5,
            kc_ini=0.7,
            kc_mid=1.05,
            kc_end=0.95,
            zr_min=0.5,
            zr_max=0.8,
            p=0.45,
            max_height_m=0.4,
            source="FAO-56 Tables 12, 22 (cabbage); 40-d stage lengths (est.)",
        ),
        Crop(
            name="water_spinach",  # rau muống
            l_ini=7,
            l_dev=10,
            l_mid=10,
            l_late=3,
            kc_ini=1.0,
            kc_mid=1.1,
            kc_end=1.05,
            zr_min=0.2,
            zr_max=0.3,
            p=0.20,
            max_height_m=0.4,
            source="Kc ~1.0-1.1, Zr, p, 30-d stages all (est.)",
        ),
        Crop(
            name="chrysanthemum",
            l_ini=20,
            l_dev=30,
            l_mid=35,
            l_late=15,
            kc_ini=0.6,
            kc_mid=1.0,
            kc_end=0.8,
            zr_min=0.2,
            zr_max=0.4,
            p=0.35,
            max_height_m=0.9,
            source="Kc 0.6/1.0/0.8 and p 0.3-0.4 (est.); Zr and 100-d stages (est.)",
        ),
    )
}


def get_crop(name: str) -> Crop:
    """A crop from :data:`CROPS` by name; the error lists the known names."""
    try:
        return CROPS[name]
    except KeyError:
        known = ", ".join(sorted(CROPS))
        raise KeyError(f"unknown crop {name!r}; known crops: {known}") from None
