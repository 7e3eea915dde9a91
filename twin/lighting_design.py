"""Photometric design of the Hùng Vương pilot: commissioning tables and class compliance.

The twin, not the controller, knows the photometry: it computes here what a lighting
designer would hand to the city with the installation, and judges the simulated
lighting against EN 13201 afterwards.

One field per segment
---------------------
Each cabinet's segment is represented by one EN 13201-3 calculation field: the east
carriageway between the two pole pairs nearest the middle of the segment (its two
lanes, traffic towards the railway crossing, i.e. ``direction = -1`` in the road
frame), lit by the poles of both sides within :data:`REACH_POLES` pairs either way.
The west carriageway mirrors it. Road frame: ``x`` = station along the centreline from
the crossing (m), ``y`` = offset across it (m, + = east side), as in
:mod:`sim.lighting.layout`. A luminaire's C = 90° plane (its street side in the
shipped generic file) faces the carriageway: azimuth 180° on the east side, 0° on the
west side.

Flux: every luminaire is the shipped generic distribution scaled to the model's
initial lumens (the HPS lamp has no file of its own: the same distribution scaled to
its delivered lumens, an approximation stated in the report), times the lumen
maintenance at the lamps' burning hours. Quality at any dimming state is a few matrix
products (:class:`~sim.lighting.photometry.RoadMatrices`).

Required class
--------------
CIE 115 re-summed with the true traffic volume of the time band and the road's fixed
parameters (:mod:`controllers.lighting.cie115`), dry road unless told otherwise. That is
the class the segment should meet; compliance is whether the field meets it with the
lamps' actual light.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from controllers.lighting.cie115 import RoadParameters, VolumeBands, select_class
from sim.lighting.ies import Photometry, generic_road_luminaire
from sim.lighting.layout import LightingLayout, Pole
from sim.lighting.luminaire import LuminaireModel
from sim.lighting.photometry import (
    CalculationField,
    Lane,
    Luminaire,
    RoadMatrices,
    RoadQuality,
    build_road_matrices,
)
from sim.lighting.road_classes import lowest_dim_meeting, meets

__all__ = [
    "M_CLASSES",
    "REACH_POLES",
    "PilotPhotometry",
    "SegmentField",
    "required_class",
]

#: the M classes, brightest first
M_CLASSES = ("M1", "M2", "M3", "M4", "M5", "M6")
#: pole pairs either side of a field whose light reaches it (beyond ~5 spacings a
#: cut-off luminaire adds nothing measurable)
REACH_POLES = 5
#: lane width (m) and median (m) of the documented Hùng Vương cross-section
LANE_WIDTH_M = 3.5
LANES_PER_CARRIAGEWAY = 2


@dataclass(frozen=True, eq=False)
class SegmentField:
    """The calculation field of one cabinet's segment.

    Attributes:
        cabinet: the cabinet id.
        matrices: the precomputed EN 13201 matrices at 100 % of the generic file's flux.
        pole_index: for each luminaire of ``matrices``, the index of its pole in the
            layout's pole order.
    """

    cabinet: str
    matrices: RoadMatrices
    pole_index: NDArray[np.intp]

    def quality(self, relative_flux: NDArray[np.float64]) -> RoadQuality:
        """Road quality when pole ``k`` emits ``relative_flux[k]`` × the generic file's flux.

        ``relative_flux``: one value per pole of the layout (≥ 0).
        """
        return self.matrices.quality(relative_flux[self.pole_index])


def _luminaire(pole: Pole, photometry: Photometry) -> Luminaire:
    azimuth = 180.0 if pole.head_offset_m > 0 else 0.0
    return Luminaire(
        x_m=pole.station_m,
        y_m=pole.head_offset_m,
        height_m=pole.height_m,
        photometry=photometry,
        azimuth_deg=azimuth,
        tilt_deg=pole.tilt_deg,
        name=pole.id,
    )


class PilotPhotometry:
    """EN 13201 fields of every segment of a layout (module docstring).

    Args:
        layout: the poles and cabinets.
        median_m: width of the central median (m, ≥ 0); the east carriageway starts
            at ``median_m / 2``.
        photometry: the luminaire's intensity distribution (default: the shipped generic
            road luminaire).
    """

    def __init__(
        self,
        layout: LightingLayout,
        *,
        median_m: float = 3.0,
        photometry: Photometry | None = None,
    ) -> None:
        if not (math.isfinite(median_m) and median_m >= 0):
            raise ValueError(f"median_m must be a width >= 0 m, got {median_m}")
        self.layout = layout
        self.photometry = photometry or generic_road_luminaire()
        rated = self.photometry.rated_lumens
        if rated is None or not rated > 0:
            raise ValueError("the photometry must state its lumens (relative photometry)")
        self.file_lumens = float(rated)
        self.median_m = float(median_m)
        self._pole_ids = tuple(p.id for p in layout.poles)

    @cached_property
    def fields(self) -> dict[str, SegmentField]:
        """One field per cabinet, keyed by cabinet id (built on first use, ~0.1 s each)."""
        return {cab: self._field(cab) for cab in sorted({p.cabinet for p in self.layout.poles})}

    def _field(self, cabinet: str) -> SegmentField:
        east = sorted(
            (p for p in self.layout.poles if p.side == "E" and p.cabinet == cabinet),
            key=lambda p: p.station_m,
        )
        if len(east) < 2:
            raise ValueError(f"cabinet {cabinet} feeds fewer than two east-side poles")
        middle = (len(east) - 1) // 2
        first, second = east[middle], east[middle + 1]
        lanes = tuple(
            Lane(self.median_m / 2 + k * LANE_WIDTH_M, LANE_WIDTH_M, direction=-1)
            for k in range(LANES_PER_CARRIAGEWAY)
        )
        field = CalculationField(first.station_m, second.station_m - first.station_m, lanes)
        reach = REACH_POLES * field.spacing_m + 1.0
        chosen = [
            (k, p)
            for k, p in enumerate(self.layout.poles)
            if first.station_m - reach <= p.station_m <= second.station_m + reach
        ]
        lums = [_luminaire(p, self.photometry) for _, p in chosen]
        return SegmentField(
            cabinet,
            build_road_matrices(lums, field),
            np.array([k for k, _ in chosen], dtype=np.intp),
        )

    def relative_flux(
        self, model: LuminaireModel, light: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Per-pole flux relative to the file's lumens for light fractions ``light`` (0..1)."""
        return np.asarray(light, dtype=np.float64) * (model.initial_lumens / self.file_lumens)

    def commissioning(
        self, model: LuminaireModel, maintenance: float = 1.0
    ) -> dict[str, dict[str, float]]:
        """Lowest uniform level (%) of ``model`` meeting each M class, per cabinet.

        ``maintenance``: lumen maintenance factor the levels must hold at (0..1], e.g.
        the lamps' maintenance at the planned re-commissioning. A class no level meets
        is left out (the controller then uses the next brighter class, or 100 %).
        """
        if not 0 < maintenance <= 1:
            raise ValueError(f"maintenance must be within (0, 1], got {maintenance}")
        scale = model.initial_lumens * maintenance / self.file_lumens
        table: dict[str, dict[str, float]] = {}
        for cabinet, fld in self.fields.items():
            levels: dict[str, float] = {}
            for name in M_CLASSES:
                found = lowest_dim_meeting(
                    name,
                    lambda d, fld=fld: fld.matrices.quality(d * scale),  # type: ignore[misc]
                    min_dim=model.min_level,
                    tolerance=1e-3,
                )
                if found is not None:
                    levels[name] = round(min(100.0, math.ceil(found * 1000) / 10), 1)
            table[cabinet] = levels
        return table

    def compliance(
        self,
        model: LuminaireModel,
        light: NDArray[np.float64],
        required: Mapping[str, str],
    ) -> dict[str, tuple[bool, RoadQuality]]:
        """Whether each segment meets its required class with the poles' actual light.

        ``light``: light fraction per pole in layout order (0..1, after faults, minimum
        dim and depreciation); ``required``: the class per cabinet (cabinets left out
        are not judged).
        """
        flux = self.relative_flux(model, light)
        out: dict[str, tuple[bool, RoadQuality]] = {}
        for cabinet, name in required.items():
            quality = self.fields[cabinet].quality(flux)
            out[cabinet] = (meets(name, quality)[0], quality)
        return out


def required_class(
    volume_veh_h: float,
    *,
    road: RoadParameters | None = None,
    bands: VolumeBands | None = None,
    wet: bool = False,
) -> str:
    """The CIE 115 class (``"M1"``..``"M6"``) for a true traffic volume (veh/h, ≥ 0)."""
    if not (math.isfinite(volume_veh_h) and volume_veh_h >= 0):
        raise ValueError(f"volume_veh_h must be a rate >= 0 veh/h, got {volume_veh_h}")
    bands = bands or VolumeBands.from_capacity(DEFAULT_CAPACITY_VEH_H)
    selection = select_class(road or HUNG_VUONG_ROAD, bands.option(volume_veh_h), wet=wet)
    return selection.lighting_class.name


#: capacity of Hùng Vương, both directions (veh/h): 4 lanes × ~1,200 vehicles of Đông
#: Hà's mix (mostly motorbikes) per lane and hour (est.); CIE 115 volume bands are
#: fractions of it
DEFAULT_CAPACITY_VEH_H = 4800.0
#: CIE 115 fixed parameters of Hùng Vương: urban ≤ 50 km/h, mixed traffic with many
#: motorbikes, a central median (separated), many junctions, no parking on the
#: carriageway, moderate ambient light (shops), good guidance
HUNG_VUONG_ROAD = RoadParameters(
    speed="moderate",
    composition="mixed",
    separation="yes",
    junction_density="high",
    parked_vehicles="not_present",
    ambient="moderate",
    navigation="good",
)
