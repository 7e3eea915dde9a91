"""CIE 115:2010 selection of the M lighting class, re-summed per time band.

    M = 6 − VWS,   VWS = Σ weighting values V_W of the chosen options

Weighting values used (CIE 115:2010 *Lighting of Roads for Motor and
Pedestrian Traffic*, 2nd ed., Table 2 "Parameters for the selection of
lighting class M"):

=========================  ================================  ======
parameter                  option                            V_W
=========================  ================================  ======
speed                      very high / high / moderate       1 / 0.5 / 0
traffic volume             very high / high / moderate /     1 / 0.5 / 0 /
                           low / very low                    −0.5 / −1
traffic composition        mixed with high % non-motorised / 2 / 1 / 0
                           mixed / motorised only
separation of carriageways no / yes                          1 / 0
intersection density       high / moderate                   1 / 0
parked vehicles            present / not present             0.5 / 0
ambient luminance          high / moderate / low             1 / 0 / −1
navigational task (visual  poor / moderate or good           0.5 / 0
guidance, traffic control)
=========================  ================================  ======

Sources and certainty: the rows speed high/moderate, volume high/very low,
composition, separation, intersection density, parked vehicles, ambient
high/low and visual guidance are as reproduced from CIE 115:2010 in W. van
Bommel, *Road Lighting: Fundamentals, Technology and Application*
(Springer 2015), Table 9.2. The remaining entries (speed very high 1,
volume very high 1 / moderate 0 / low −0.5, ambient moderate 0) complete the
table's half-step pattern and are *not* verified against the CIE text. The
EN variant (CEN/TR 13201-1:2014, Table 1) uses other values (e.g. speed
2/1/−1/−2, parked vehicles 1, navigational task 2/1/0); swap :data:`WEIGHTS`
for it if a national rule asks.

Rounding: with half-step weights VWS can be fractional. This module then
takes the *brighter* class (M rounded down), the safe side; CIE 115's exact
rule for this case could not be checked here.

Traffic volume is a measured rate (veh/h, both directions) turned into the
five CIE options by :class:`VolumeBands`: thresholds as fractions of the
road's capacity (defaults 0.65 / 0.45 / 0.15 / 0.07 — the project's choice,
after CEN/TR 13201-1's "% of maximum capacity" scale, whose 3-step version
uses 65 % and 35 %) or as absolute veh/h.

Wet road: CIE 115 asks for a wet-surface uniformity where roads are often
wet, which a dimming controller cannot create. This controller follows a
documented rule instead: while the road is wet, the class is raised
``wet_class_steps`` (default 1) classes brighter. The result is always
clamped to M1..M6.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from controllers.lighting.classes import LightingClass, brighter, clamp_class

__all__ = [
    "FIXED_PARAMETERS",
    "VOLUME_OPTIONS",
    "WEIGHTS",
    "ClassSelection",
    "RoadParameters",
    "VolumeBands",
    "select_class",
]

#: CIE 115:2010 Table 2 weighting values by parameter and option (see module docstring)
WEIGHTS: dict[str, dict[str, float]] = {
    "speed": {"very_high": 1.0, "high": 0.5, "moderate": 0.0},
    "volume": {"very_high": 1.0, "high": 0.5, "moderate": 0.0, "low": -0.5, "very_low": -1.0},
    "composition": {"mixed_high_non_motorised": 2.0, "mixed": 1.0, "motorised_only": 0.0},
    "separation": {"no": 1.0, "yes": 0.0},
    "junction_density": {"high": 1.0, "moderate": 0.0},
    "parked_vehicles": {"present": 0.5, "not_present": 0.0},
    "ambient": {"high": 1.0, "moderate": 0.0, "low": -1.0},
    "navigation": {"poor": 0.5, "good": 0.0},
}
#: the volume options, busiest first
VOLUME_OPTIONS = ("very_high", "high", "moderate", "low", "very_low")
#: the parameters that are fixed for a road (all but the volume)
FIXED_PARAMETERS = (
    "speed",
    "composition",
    "separation",
    "junction_density",
    "parked_vehicles",
    "ambient",
    "navigation",
)


@dataclass(frozen=True, slots=True)
class RoadParameters:
    """The fixed CIE 115 parameters of a road segment (option names of :data:`WEIGHTS`).

    Defaults describe an urban arterial like Hùng Vương: moderate speed
    (≤ 50 km/h), mixed traffic, undivided, many junctions, no parking on the
    carriageway, moderate ambient luminance, good guidance.
    """

    speed: str = "moderate"
    composition: str = "mixed"
    separation: str = "no"
    junction_density: str = "high"
    parked_vehicles: str = "not_present"
    ambient: str = "moderate"
    navigation: str = "good"

    def __post_init__(self) -> None:
        for name in FIXED_PARAMETERS:
            value = getattr(self, name)
            if value not in WEIGHTS[name]:
                raise ValueError(
                    f"road.{name}: unknown option {value!r}; use one of {sorted(WEIGHTS[name])}"
                )

    @property
    def fixed_sum(self) -> float:
        """Σ V_W of the fixed parameters (everything but the volume)."""
        return sum(WEIGHTS[name][getattr(self, name)] for name in FIXED_PARAMETERS)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "road") -> RoadParameters:
        """From ``{speed: moderate, composition: mixed, ...}``; missing keys take defaults."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping of CIE 115 parameters")
        unknown = sorted(set(data) - set(FIXED_PARAMETERS))
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; use {list(FIXED_PARAMETERS)}")
        values = {k: data[k] for k in FIXED_PARAMETERS if k in data}
        if isinstance(values.get("separation"), bool):  # YAML reads a bare no/yes as a bool
            values["separation"] = "yes" if values["separation"] else "no"
        try:
            return cls(**values)
        except ValueError as exc:
            raise ValueError(str(exc).replace("road", where, 1)) from exc

    def to_mapping(self) -> dict[str, str]:
        """The parameters as plain data."""
        return {name: getattr(self, name) for name in FIXED_PARAMETERS}


@dataclass(frozen=True, slots=True)
class VolumeBands:
    """Lower limits (veh/h) of the volume options very high, high, moderate, low.

    A volume at or above ``thresholds_veh_h[0]`` is very high, ..., below
    ``thresholds_veh_h[3]`` very low. Thresholds are strictly decreasing and > 0.
    """

    thresholds_veh_h: tuple[float, float, float, float]

    def __post_init__(self) -> None:
        t = self.thresholds_veh_h
        if (
            not isinstance(t, tuple)
            or len(t) != 4
            or not all(isinstance(x, int | float) and math.isfinite(x) and x > 0 for x in t)
            or not all(t[i] > t[i + 1] for i in range(3))
        ):
            raise ValueError(
                "volume_bands: need four strictly decreasing positive limits (veh/h) for "
                f"very_high > high > moderate > low, got {t!r}"
            )

    @classmethod
    def from_capacity(
        cls,
        capacity_veh_h: float,
        fractions: tuple[float, float, float, float] = (0.65, 0.45, 0.15, 0.07),
    ) -> VolumeBands:
        """Limits as fractions of the road's capacity (veh/h, both directions)."""
        if not (isinstance(capacity_veh_h, int | float) and math.isfinite(capacity_veh_h)):
            raise ValueError(
                f"volume_bands.capacity_veh_h must be a number, got {capacity_veh_h!r}"
            )
        if capacity_veh_h <= 0:
            raise ValueError(f"volume_bands.capacity_veh_h must be > 0, got {capacity_veh_h!r}")
        if not all(isinstance(f, int | float) and 0 < f <= 1 for f in fractions):
            raise ValueError(f"volume_bands fractions must be in (0, 1], got {fractions!r}")
        return cls(tuple(capacity_veh_h * f for f in fractions))  # type: ignore[arg-type]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "volume_bands") -> VolumeBands:
        """``{capacity_veh_h, very_high, high, moderate, low}`` (fractions) or the same
        four keys in veh/h without ``capacity_veh_h``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping")
        keys = ("very_high", "high", "moderate", "low")
        unknown = sorted(set(data) - {*keys, "capacity_veh_h"})
        if unknown:
            raise ValueError(
                f"{where}: unknown key(s) {unknown}; use capacity_veh_h and {list(keys)}"
            )
        try:
            if "capacity_veh_h" in data:
                defaults = dict(zip(keys, (0.65, 0.45, 0.15, 0.07), strict=True))
                fr = tuple(float(data.get(k, defaults[k])) for k in keys)
                return cls.from_capacity(data["capacity_veh_h"], fr)  # type: ignore[arg-type]
            missing = [k for k in keys if k not in data]
            if missing:
                raise ValueError(
                    f"missing {missing}: give capacity_veh_h (limits as fractions) or all four "
                    "limits in veh/h"
                )
            return cls(tuple(float(data[k]) for k in keys))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: {exc}") from exc

    def option(self, volume_veh_h: float) -> str:
        """The CIE volume option of a measured rate (veh/h); NaN counts as very high."""
        if not volume_veh_h < math.inf or volume_veh_h != volume_veh_h:
            return "very_high"
        for name, limit in zip(VOLUME_OPTIONS, self.thresholds_veh_h, strict=False):
            if volume_veh_h >= limit:
                return name
        return "very_low"


@dataclass(frozen=True, slots=True)
class ClassSelection:
    """The outcome of a class selection.

    Attributes:
        lighting_class: the class to light to (clamped to M1..M6).
        vws: Σ weighting values (dry road).
        volume_option: the volume option used.
        wet: whether the wet-road rule raised the class.
    """

    lighting_class: LightingClass
    vws: float
    volume_option: str
    wet: bool


def select_class(
    road: RoadParameters, volume_option: str, wet: bool = False, wet_class_steps: int = 1
) -> ClassSelection:
    """The M class for ``road`` at a traffic-volume option, dry or wet.

    Args:
        road: the fixed parameters of the segment.
        volume_option: one of :data:`VOLUME_OPTIONS`.
        wet: the road surface is wet (rain).
        wet_class_steps: classes brighter while wet (>= 0).
    """
    if volume_option not in WEIGHTS["volume"]:
        raise ValueError(f"volume option {volume_option!r} not in {list(VOLUME_OPTIONS)}")
    if wet_class_steps < 0:
        raise ValueError(f"wet_class_steps must be >= 0, got {wet_class_steps!r}")
    vws = road.fixed_sum + WEIGHTS["volume"][volume_option]
    cls = clamp_class(6.0 - vws)
    if wet:
        cls = brighter(cls, wet_class_steps)
    return ClassSelection(cls, vws, volume_option, wet)
