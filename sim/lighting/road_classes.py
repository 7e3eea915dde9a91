"""EN 13201-2 lighting classes M1-M6, C0-C5, P1-P6, compliance checks, and the lowest dim level.

Values (DOMAIN.md "Lighting facts"; EN 13201-2:2015 Tables 1-3):

======  ===========  ====  ====  ======
class   L_avg cd/m²  U0    Ul    TI max
======  ===========  ====  ====  ======
M1      2.00         0.40  0.70  10 %
M2      1.50         0.40  0.70  10 %
M3      1.00         0.40  0.60  15 %
M4      0.75         0.40  0.60  15 %
M5      0.50         0.35  0.40  15 %
M6      0.30         0.35  0.40  20 %
======  ===========  ====  ====  ======

C0-C5: E_avg 50 / 30 / 20 / 15 / 10 / 7.5 lx with U0 (E_min / E_avg) ≥ 0.40.
P1-P6: E_avg / E_min 15/3, 10/2, 7.5/1.5, 5/1, 3/0.6, 2/0.4 lx.

The levels are *maintained* values: compute the quality with the maintenance
factor already in the luminaires' ``flux_scale``. The M classes' edge
illuminance ratio (EIR) and the P classes' semi-cylindrical / vertical
options are not checked.

Dimming and monotony
--------------------
With every luminaire at the same level ``d`` the field scales with ``d``:
``L_avg``, ``E_avg``, ``E_min`` grow with ``d``; ``U0`` and ``Ul`` do not
change; and ``TI = 65 · Lv / L_avg^0.8`` scales as ``d^0.2`` — it *improves*
as the lamps dim (less veiling luminance weighs more than the darker road).
So the levels that meet a class form an interval ``[d_low, d_high]``:
:func:`lowest_dim_meeting` bisects for ``d_low`` on the criteria other than
TI, then checks the whole class there. If TI fails at ``d_low`` it fails at
every level that meets the luminance, so the answer is then None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from sim.lighting.photometry import RoadQuality

__all__ = [
    "CLASSES",
    "LightingClass",
    "lighting_class",
    "lowest_dim_meeting",
    "meets",
]

ClassKind = Literal["M", "C", "P"]


@dataclass(frozen=True)
class LightingClass:
    """One EN 13201-2 class; a None threshold is not part of the class.

    Minimums: ``l_avg_cd_m2`` (cd/m²), ``u0``, ``ul`` (-), ``e_avg_lx``,
    ``e_min_lx`` (lx), ``e_u0`` (-); maximum ``ti_max_pct`` (%).
    """

    name: str
    kind: ClassKind
    l_avg_cd_m2: float | None = None
    u0: float | None = None
    ul: float | None = None
    ti_max_pct: float | None = None
    e_avg_lx: float | None = None
    e_min_lx: float | None = None
    e_u0: float | None = None


def _m(name: str, l_avg: float, u0: float, ul: float, ti: float) -> LightingClass:
    return LightingClass(name, "M", l_avg_cd_m2=l_avg, u0=u0, ul=ul, ti_max_pct=ti)


def _c(name: str, e_avg: float) -> LightingClass:
    return LightingClass(name, "C", e_avg_lx=e_avg, e_u0=0.40)


def _p(name: str, e_avg: float, e_min: float) -> LightingClass:
    return LightingClass(name, "P", e_avg_lx=e_avg, e_min_lx=e_min)


CLASSES: Mapping[str, LightingClass] = {
    c.name: c
    for c in (
        _m("M1", 2.00, 0.40, 0.70, 10.0),
        _m("M2", 1.50, 0.40, 0.70, 10.0),
        _m("M3", 1.00, 0.40, 0.60, 15.0),
        _m("M4", 0.75, 0.40, 0.60, 15.0),
        _m("M5", 0.50, 0.35, 0.40, 15.0),
        _m("M6", 0.30, 0.35, 0.40, 20.0),
        _c("C0", 50.0),
        _c("C1", 30.0),
        _c("C2", 20.0),
        _c("C3", 15.0),
        _c("C4", 10.0),
        _c("C5", 7.5),
        _p("P1", 15.0, 3.0),
        _p("P2", 10.0, 2.0),
        _p("P3", 7.5, 1.5),
        _p("P4", 5.0, 1.0),
        _p("P5", 3.0, 0.6),
        _p("P6", 2.0, 0.4),
    )
}
"""The EN 13201-2 classes by name."""

_MINIMUMS: tuple[tuple[str, str], ...] = (
    ("l_avg_cd_m2", "cd/m²"),
    ("u0", ""),
    ("ul", ""),
    ("e_avg_lx", "lx"),
    ("e_min_lx", "lx"),
    ("e_u0", ""),
)


def lighting_class(name: str) -> LightingClass:
    """The class called ``name`` (``"M3"``, ``"c2"``...); KeyError listing the known ones."""
    key = name.strip().upper()
    if key not in CLASSES:
        raise KeyError(f"unknown EN 13201-2 class {name!r}; known: {', '.join(CLASSES)}")
    return CLASSES[key]


def _failures(spec: LightingClass, quality: RoadQuality, with_ti: bool) -> list[str]:
    failing = []
    for criterion, unit in _MINIMUMS:
        required = getattr(spec, criterion)
        value = getattr(quality, criterion)
        if required is not None and not value >= required:
            failing.append(f"{criterion}: {value:.3g}{unit and ' ' + unit} < {required:g} required")
    if with_ti and spec.ti_max_pct is not None and not quality.ti_pct <= spec.ti_max_pct:
        failing.append(f"ti_pct: {quality.ti_pct:.3g} % > {spec.ti_max_pct:g} allowed")
    return failing


def meets(class_name: str, quality: RoadQuality) -> tuple[bool, list[str]]:
    """Whether ``quality`` meets the class, and the failing criteria as ``"<field>: ..."`` texts."""
    failing = _failures(lighting_class(class_name), quality, with_ti=True)
    return not failing, failing


def lowest_dim_meeting(
    class_name: str,
    evaluate: Callable[[float], RoadQuality],
    min_dim: float = 0.0,
    tolerance: float = 1e-3,
) -> float | None:
    """Lowest uniform level ``d`` in ``[min_dim, 1]`` (fraction of full flux) that meets the class.

    ``evaluate(d)`` gives the quality with every luminaire at ``d``. Bisects
    (to ``tolerance``) on the criteria other than TI, which must fail below
    and hold above the answer; then checks the full class there (module
    docstring: why TI cannot get better by going higher). Returns the upper
    end of the last bracket (a level that meets), or None if no level does.
    """
    spec = lighting_class(class_name)
    if not 0.0 <= min_dim <= 1.0 or not tolerance > 0:
        raise ValueError(f"min_dim must be in 0..1 and tolerance > 0, got {min_dim}, {tolerance}")

    def level_ok(d: float) -> bool:
        return not _failures(spec, evaluate(d), with_ti=False)

    if not level_ok(1.0):
        return None
    low, high = min_dim, 1.0
    if level_ok(low):
        high = low
    else:
        while high - low > tolerance:
            middle = 0.5 * (low + high)
            if level_ok(middle):
                high = middle
            else:
                low = middle
    ok, _ = meets(class_name, evaluate(high))
    return high if ok else None
