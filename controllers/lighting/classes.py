"""EN 13201-2 / CIE 115 lighting classes M1..M6 for motorised traffic.

Requirements per class (maintained values, dry road; EN 13201-2:2015 Table 1,
as quoted in DOMAIN.md "Lighting facts"):

=====  =================  =====  =====  ========
class  L avg (cd/m², min)  U0     Ul     TI max %
=====  =================  =====  =====  ========
M1     2.00               0.40   0.70   10
M2     1.50               0.40   0.70   10
M3     1.00               0.40   0.60   15
M4     0.75               0.40   0.60   15
M5     0.50               0.35   0.40   15
M6     0.30               0.35   0.40   20
=====  =================  =====  =====  ========

A *brighter* class has a *lower* number. :func:`brighter` and :func:`clamp_class`
keep every result inside M1..M6.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "REQUIREMENTS",
    "ClassRequirement",
    "LightingClass",
    "brighter",
    "clamp_class",
    "parse_class",
]


class LightingClass(IntEnum):
    """An M class; the value is the class number (1 = brightest)."""

    M1 = 1
    M2 = 2
    M3 = 3
    M4 = 4
    M5 = 5
    M6 = 6


@dataclass(frozen=True, slots=True)
class ClassRequirement:
    """Photometric requirements of one M class (dry road surface).

    Attributes:
        avg_luminance_cd_m2: minimum maintained average road-surface luminance (cd/m²).
        u0: minimum overall uniformity Lmin/Lavg (1).
        ul: minimum longitudinal uniformity (1).
        ti_max_pct: maximum threshold increment (glare, %).
    """

    avg_luminance_cd_m2: float
    u0: float
    ul: float
    ti_max_pct: float


#: EN 13201-2 M-class requirements (see the module docstring)
REQUIREMENTS: dict[LightingClass, ClassRequirement] = {
    LightingClass.M1: ClassRequirement(2.00, 0.40, 0.70, 10.0),
    LightingClass.M2: ClassRequirement(1.50, 0.40, 0.70, 10.0),
    LightingClass.M3: ClassRequirement(1.00, 0.40, 0.60, 15.0),
    LightingClass.M4: ClassRequirement(0.75, 0.40, 0.60, 15.0),
    LightingClass.M5: ClassRequirement(0.50, 0.35, 0.40, 15.0),
    LightingClass.M6: ClassRequirement(0.30, 0.35, 0.40, 20.0),
}


def clamp_class(number: float) -> LightingClass:
    """The M class of class number ``number`` clamped to 1..6 (NaN -> M1, the safe side).

    A non-integer number is rounded *down* (towards the brighter class).
    """
    if not math.isfinite(number):
        return LightingClass.M1 if number != math.inf else LightingClass.M6
    return LightingClass(min(6, max(1, math.floor(number + 1e-9))))


def brighter(cls: LightingClass, steps: int = 1) -> LightingClass:
    """The class ``steps`` brighter than ``cls`` (negative = darker), clamped to M1..M6."""
    return clamp_class(int(cls) - steps)


def parse_class(text: object) -> LightingClass:
    """``"M3"`` (or ``"m3"``) -> LightingClass.M3; ValueError naming the valid names."""
    if isinstance(text, LightingClass):
        return text
    if isinstance(text, str) and text.upper() in LightingClass.__members__:
        return LightingClass[text.upper()]
    raise ValueError(f"unknown lighting class {text!r}; use one of M1, M2, M3, M4, M5, M6")
