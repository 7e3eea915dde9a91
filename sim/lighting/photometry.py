"""Road photometry after EN 13201-3: grids, illuminance and luminance matrices, quality figures.

Road frame
----------
Right-handed, metres: ``x`` along the road, ``y`` across it, ``z`` up, the
road surface at ``z = 0``. Lanes are bands ``y_min_m .. y_min_m + width_m``;
where the kerbs are is the caller's layout.

Luminaire frame and rotations
-----------------------------
A luminaire's own frame carries its type C photometry (:mod:`sim.lighting.ies`):
``x'`` is C = 0, ``y'`` is C = 90 (towards the road for a road luminaire),
``z'`` up, gamma from the nadir ``-z'``. It is placed by two rotations (CIE 140 /
EN 13201-3 order): first a **tilt** ``tilt_deg`` about ``x'`` that lifts the
C = 90 side (a direction at gamma ``g`` in the C = 90 plane leaves at gamma
``g + tilt`` in the road frame; the nadir swings towards C = 90), then an
**azimuth** ``azimuth_deg`` about the vertical, the angle from the road's
``+x`` to the luminaire's C = 0 plane, counter-clockwise seen from above. A
luminaire on the ``y = 0`` side facing the road has azimuth 0; one on the far
side facing back has azimuth 180.

Linearity
---------
Illuminance, luminance and veiling luminance are linear in each luminaire's
flux, so everything is precomputed at 100 % flux as matrices and a dimming
state is ``matrix @ flux_fraction`` (:class:`RoadMatrices`). The luminaires
given are all that count: supply those EN 13201-3 asks for (at least 5 mounting
heights before and 12 behind a grid point for luminance, up to 500 m ahead of
the observer for the threshold increment).

Road-surface luminance — the surface model and its limits
---------------------------------------------------------
``L = Σ r(β, tan γ) · I(C, γ) / h²`` per luminaire, with the reduced
luminance coefficient ``r`` of the surface (sr⁻¹), ``β`` the angle at the
grid point between the vertical plane of observation and the plane of
incidence (0 when the luminaire stands beyond the point as the observer sees
it), ``tan γ`` the horizontal distance over the mounting height. Any
:class:`SurfaceReflection` plugs in: a tabulated :class:`RTable` (the CIE
R1-R4 / C1-C2 tables, loaded with :func:`read_r_table_csv`), or the default
**diffuse** surface.

**The default is NOT the CIE R3 table.** We could not obtain the published
R3 values from a source we could check, so the default is a Lambertian surface
with the R3 class's average luminance coefficient ``Q0 = 0.07 sr⁻¹``:
``r = Q0 · cos³ γ``, i.e. ``L = Q0 · E_h`` point by point. Weak points: it
ignores specular forward reflection (real R3 asphalt is brighter at grazing
incidence towards the observer and darker close under the luminaire), so
``L_avg`` is roughly right by construction of Q0 but ``U0`` and especially
``Ul`` come out **too optimistic** (luminance is as uniform as illuminance),
and the result does not depend on the observer. Load the real table with
:func:`read_r_table_csv` when you have it; everything else is unchanged.

Quality figures (:class:`RoadQuality`)
--------------------------------------
- ``L_avg``, ``U0 = L_min / L_avg`` over the luminance grid, for each observer
  (one per lane, at the lane centre, 60 m before the field, eye 1.5 m); the
  operative value is the lowest over observers.
- ``Ul = L_min / L_max`` along a lane's centre line, seen by that lane's
  observer; the lowest over lanes.
- ``TI = 65 · Lv / L_avg^0.8`` (%), ``Lv = 10 · Σ E_eye / θ²`` (cd/m², θ in
  degrees, clamped to ≥ 1.5°, luminaires beyond 60° dropped) with the eye
  1.5 m high in each lane centre, looking along the lane 1° down; luminaires
  counted when ahead, within 500 m and at most 20° above the horizontal seen
  from the eye (the car roof screens the rest). The observer starts where the
  field's first luminaire is at 20° (``2.75 · (h - 1.5)`` m before it) and
  moves forward in steps of the grid spacing ``D`` over one spacing; the
  highest TI is reported, with the operative ``L_avg``.
- ``E_avg``, ``E_min``, ``U0(E) = E_min / E_avg`` over the illuminance grid.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.lighting.ies import Photometry

__all__ = [
    "EYE_HEIGHT_M",
    "OBSERVER_DISTANCE_M",
    "R3_Q0",
    "CalculationField",
    "CalculationGrid",
    "DiffuseSurface",
    "Lane",
    "Luminaire",
    "Observer",
    "RTable",
    "RoadMatrices",
    "RoadQuality",
    "SurfaceReflection",
    "build_road_matrices",
    "contribution_matrix",
    "illuminance_grid",
    "longitudinal_count",
    "luminaire_angles",
    "luminance_grid",
    "luminance_matrix",
    "observers",
    "read_r_table_csv",
    "threshold_observers",
    "veiling_matrix",
]

EYE_HEIGHT_M = 1.5
"""Observer eye height above the road (EN 13201-3), m."""

OBSERVER_DISTANCE_M = 60.0
"""Observer distance before the calculation field (EN 13201-3), m."""

R3_Q0 = 0.07
"""Average luminance coefficient Q0 of the CIE R3 class (sr⁻¹)."""

SIGHT_DOWN_DEG = 1.0
"""Line of sight below the horizontal for luminance and TI, deg."""

TI_CUTOFF_DEG = 20.0
"""Screening angle of the car roof above the horizontal, deg."""

TI_RANGE_M = 500.0
"""Luminaires further ahead than this do not count in TI, m."""

_MAX_LONG_SPACING_M = 3.0
_MIN_LONG_POINTS = 10
_MAX_TRANSVERSE_SPACING_M = 1.5


# --------------------------------------------------------------------------- luminaires


@dataclass(frozen=True, eq=False)
class Luminaire:
    """One luminaire placed in the road frame (module docstring: frames and rotations).

    ``x_m``, ``y_m``: position of the photometric centre in plan (m);
    ``height_m``: its height above the road (m, > 0); ``azimuth_deg``: road
    ``+x`` to the C = 0 plane, counter-clockwise from above; ``tilt_deg``:
    upward tilt of the C = 90 side (deg, -90..90); ``flux_scale``: factor on
    the file's intensities (another lumen package, maintenance factor), ≥ 0.
    """

    x_m: float
    y_m: float
    height_m: float
    photometry: Photometry
    azimuth_deg: float = 0.0
    tilt_deg: float = 0.0
    flux_scale: float = 1.0
    name: str = ""

    def __post_init__(self) -> None:
        values = (
            self.x_m,
            self.y_m,
            self.height_m,
            self.azimuth_deg,
            self.tilt_deg,
            self.flux_scale,
        )
        if not all(math.isfinite(v) for v in values):
            raise ValueError(
                f"Luminaire {self.name!r}: position, angles and flux_scale must be finite"
            )
        if self.height_m <= 0:
            raise ValueError(f"Luminaire {self.name!r}: height_m must be > 0, got {self.height_m}")
        if not -90.0 <= self.tilt_deg <= 90.0:
            raise ValueError(
                f"Luminaire {self.name!r}: tilt_deg must be in -90..90, got {self.tilt_deg}"
            )
        if self.flux_scale < 0:
            raise ValueError(
                f"Luminaire {self.name!r}: flux_scale must be >= 0, got {self.flux_scale}"
            )

    @property
    def position(self) -> NDArray[np.float64]:
        """Photometric centre ``(x, y, z)`` in the road frame, m."""
        return np.array([self.x_m, self.y_m, self.height_m])


def _as_points(points: ArrayLike) -> NDArray[np.float64]:
    """(n, 3) road-frame points from (n, 2) plan points on the road (z = 0) or (n, 3)."""
    array = np.atleast_2d(np.asarray(points, dtype=np.float64))
    if array.shape[1] == 2:
        array = np.column_stack([array, np.zeros(len(array))])
    if array.ndim != 2 or array.shape[1] != 3:
        raise ValueError(f"points must have shape (n, 2) or (n, 3), got {array.shape}")
    return array


def luminaire_angles(
    luminaire: Luminaire, targets: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """C (deg, 0..360), gamma (deg, 0..180) and distance (m) from the luminaire to each target.

    ``targets``: (n, 2) road points or (n, 3) road-frame points. The angles are
    in the luminaire's own tilted and rotated frame, ready for
    :meth:`Photometry.intensity_cd`.
    """
    v = _as_points(targets) - luminaire.position
    psi, tilt = math.radians(luminaire.azimuth_deg), math.radians(luminaire.tilt_deg)
    x1 = math.cos(psi) * v[:, 0] + math.sin(psi) * v[:, 1]
    y1 = -math.sin(psi) * v[:, 0] + math.cos(psi) * v[:, 1]
    y2 = math.cos(tilt) * y1 + math.sin(tilt) * v[:, 2]
    z2 = -math.sin(tilt) * y1 + math.cos(tilt) * v[:, 2]
    distance = np.sqrt(x1**2 + y2**2 + z2**2)
    safe = np.where(distance > 0, distance, 1.0)
    gamma = np.degrees(np.arccos(np.clip(-z2 / safe, -1.0, 1.0)))
    c = np.mod(np.degrees(np.arctan2(y2, x1)), 360.0)
    return c, gamma, distance


def _intensity_towards(
    luminaire: Luminaire, targets: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    c, gamma, distance = luminaire_angles(luminaire, targets)
    return luminaire.photometry.intensity_cd(c, gamma) * luminaire.flux_scale, distance


def contribution_matrix(luminaires: Sequence[Luminaire], points: ArrayLike) -> NDArray[np.float64]:
    """Horizontal illuminance (lx) at each point from each luminaire at 100 % flux.

    ``points``: (n, 2) road points (z = 0) or (n, 3); returns ``(n_points,
    n_luminaires)``. ``E_h = I(C, γ) · cos ε / d²`` with ``ε`` the angle of
    incidence from the vertical and ``d`` the distance; a luminaire at or
    below a point's height gives nothing.
    """
    targets = _as_points(points)
    out = np.zeros((len(targets), len(luminaires)))
    for k, luminaire in enumerate(luminaires):
        intensity, distance = _intensity_towards(luminaire, targets)
        drop = luminaire.height_m - targets[:, 2]
        safe = np.where(distance > 0, distance, 1.0)
        out[:, k] = np.where(drop > 0, intensity * drop / safe**3, 0.0)
    return out


# --------------------------------------------------------------------------- surfaces


class SurfaceReflection(Protocol):
    """A road surface's reduced luminance coefficient ``r(β, tan γ)`` in sr⁻¹."""

    @property
    def name(self) -> str:
        """What the surface is (shown in reports)."""
        ...

    @property
    def q0(self) -> float:
        """Average luminance coefficient Q0, sr⁻¹."""
        ...

    def r(
        self, beta_deg: NDArray[np.float64], tan_gamma: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """r (sr⁻¹) for β in 0..180 deg and tan γ ≥ 0 (broadcast)."""
        ...


@dataclass(frozen=True)
class DiffuseSurface:
    """A Lambertian surface: ``r = Q0 · cos³ γ`` (so ``L = Q0 · E_h``); see the module docstring."""

    q0: float = R3_Q0
    name: str = "diffuse, Q0 = 0.07 (R3 lightness, NOT the CIE R3 table)"

    def r(
        self, beta_deg: NDArray[np.float64], tan_gamma: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """``Q0 / (1 + tan² γ)^1.5``, independent of β."""
        t = np.asarray(tan_gamma, dtype=np.float64)
        shape = np.broadcast_shapes(np.shape(beta_deg), t.shape)
        return np.broadcast_to(self.q0 / (1.0 + t**2) ** 1.5, shape).astype(np.float64)


@dataclass(frozen=True, eq=False)
class RTable:
    """A tabulated r-table: ``r[i, j]`` (sr⁻¹, not ×10⁴) at ``tan_gamma[i]`` and ``beta_deg[j]``.

    Bilinear between the tabulated values; β folded into 0..180; zero beyond
    the last tan γ (as CIE 140 does for tan γ > 12).
    """

    name: str
    q0: float
    beta_deg: NDArray[np.float64]
    tan_gamma: NDArray[np.float64]
    values: NDArray[np.float64]

    def __post_init__(self) -> None:
        b = np.array(self.beta_deg, dtype=np.float64)
        t = np.array(self.tan_gamma, dtype=np.float64)
        v = np.array(self.values, dtype=np.float64)
        if v.shape != (len(t), len(b)) or len(b) < 2 or len(t) < 2:
            raise ValueError(
                f"RTable {self.name}: values must be (n_tan_gamma, n_beta) >= 2x2, got {v.shape}"
            )
        if (
            np.any(np.diff(b) <= 0)
            or np.any(np.diff(t) <= 0)
            or b[0] != 0
            or b[-1] != 180
            or t[0] != 0
        ):
            raise ValueError(f"RTable {self.name}: beta must rise 0..180 and tan_gamma rise from 0")
        if not np.all(np.isfinite(v)) or np.any(v < 0):
            raise ValueError(f"RTable {self.name}: values must be finite and >= 0")
        for name, array in (("beta_deg", b), ("tan_gamma", t), ("values", v)):
            array.setflags(write=False)
            object.__setattr__(self, name, array)

    def r(
        self, beta_deg: NDArray[np.float64], tan_gamma: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """Bilinear r (sr⁻¹); β taken as |β| folded into 0..180."""
        b, t = np.broadcast_arrays(np.asarray(beta_deg, float), np.asarray(tan_gamma, float))
        b = 180.0 - np.abs(180.0 - np.mod(np.abs(b), 360.0))
        inside = t <= self.tan_gamma[-1] + 1e-12
        ti, tt = _bracket(self.tan_gamma, np.clip(t, 0.0, self.tan_gamma[-1]))
        bi, bt = _bracket(self.beta_deg, b)
        v = self.values
        low = v[ti, bi] * (1 - bt) + v[ti, bi + 1] * bt
        high = v[ti + 1, bi] * (1 - bt) + v[ti + 1, bi + 1] * bt
        return np.where(inside, low * (1 - tt) + high * tt, 0.0)


def _bracket(
    grid: NDArray[np.float64], x: NDArray[np.float64]
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    i = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, len(grid) - 2)
    return i, np.clip((x - grid[i]) / (grid[i + 1] - grid[i]), 0.0, 1.0)


def read_r_table_csv(
    path: str | Path, q0: float, name: str | None = None, scale: float = 1e-4
) -> RTable:
    """Load an r-table from CSV: header ``tan_gamma,<β0>,<β1>,...``, one row per tan γ.

    Values are multiplied by ``scale`` (1e-4 for tables printed "× 10⁴", as
    CIE 144 and EN 13201-3 print them). ``q0`` is the table's Q0 (sr⁻¹).
    """
    with Path(path).open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if row and not row[0].startswith("#")]
    try:
        beta = [float(x) for x in rows[0][1:]]
        tan_gamma = [float(row[0]) for row in rows[1:]]
        values = [[float(x) * scale for x in row[1:]] for row in rows[1:]]
    except (ValueError, IndexError) as exc:
        raise ValueError(
            f"{path}: not an r-table CSV (tan_gamma,beta...; numbers): {exc}"
        ) from None
    return RTable(
        name or Path(path).stem, q0, np.array(beta), np.array(tan_gamma), np.array(values)
    )


# --------------------------------------------------------------------------- grids


@dataclass(frozen=True)
class Lane:
    """A lane (or a footway, for P classes): ``y_min_m .. y_min_m + width_m`` (m).

    ``direction``: travel towards +x (1) or -x (-1).
    """

    y_min_m: float
    width_m: float
    direction: int = 1

    def __post_init__(self) -> None:
        if not self.width_m > 0 or self.direction not in (1, -1):
            raise ValueError(f"Lane: width_m must be > 0 and direction 1 or -1, got {self}")

    @property
    def y_centre_m(self) -> float:
        """Centre line of the lane, m."""
        return self.y_min_m + 0.5 * self.width_m


@dataclass(frozen=True)
class CalculationField:
    """The EN 13201-3 field: between two consecutive luminaires of a row, over contiguous lanes.

    ``x_start_m`` (m): the first luminaire's x; ``spacing_m`` (m, > 0): the
    distance to the next; ``lanes``: side by side, ordered by y.
    """

    x_start_m: float
    spacing_m: float
    lanes: tuple[Lane, ...]

    def __post_init__(self) -> None:
        if not self.spacing_m > 0 or not self.lanes:
            raise ValueError("CalculationField: spacing_m must be > 0 and at least one lane given")
        for a, b in zip(self.lanes, self.lanes[1:], strict=False):
            if abs(a.y_min_m + a.width_m - b.y_min_m) > 1e-9:
                raise ValueError("CalculationField: lanes must be contiguous and ordered by y")

    @property
    def y_min_m(self) -> float:
        """Carriageway edge at low y, m."""
        return self.lanes[0].y_min_m

    @property
    def width_m(self) -> float:
        """Carriageway width, m."""
        return sum(lane.width_m for lane in self.lanes)


@dataclass(frozen=True, eq=False)
class CalculationGrid:
    """Grid points on the road (``points``: (n, 2), m) with their row (along) and lane indices.

    ``lane`` is -1 for an illuminance grid that spans the carriageway;
    ``centre_line`` marks the points on a lane's centre line.
    """

    points: NDArray[np.float64]
    row: NDArray[np.intp]
    lane: NDArray[np.intp]
    centre_line: NDArray[np.bool_]

    @property
    def n_along(self) -> int:
        """Number of points along the road (N)."""
        return int(self.row.max()) + 1


def longitudinal_count(spacing_m: float) -> int:
    """EN 13201-3 points along a field: the smallest N with S/N ≤ 3 m, and at least 10."""
    return max(_MIN_LONG_POINTS, math.ceil(spacing_m / _MAX_LONG_SPACING_M - 1e-9))


def _along(field: CalculationField) -> NDArray[np.float64]:
    n = longitudinal_count(field.spacing_m)
    step = field.spacing_m / n
    return np.asarray(field.x_start_m + step * (np.arange(n) + 0.5), dtype=np.float64)


def _grid(
    xs: NDArray[np.float64],
    ys: NDArray[np.float64],
    lanes: NDArray[np.intp],
    centre: NDArray[np.bool_],
) -> CalculationGrid:
    n_x = len(xs)
    points = np.column_stack([np.repeat(xs, len(ys)), np.tile(ys, n_x)])
    return CalculationGrid(
        points=points,
        row=np.repeat(np.arange(n_x), len(ys)),
        lane=np.tile(lanes, n_x),
        centre_line=np.tile(centre, n_x),
    )


def luminance_grid(field: CalculationField) -> CalculationGrid:
    """EN 13201-3 luminance grid: N rows (spacing D = S/N, first at D/2), 3 points per lane.

    Across each lane at its centre line and ±W/3 (spacing W/3, outer points
    W/6 from the lane edges). Points are ordered row by row, then by y.
    """
    ys, lanes, centre = [], [], []
    for k, lane in enumerate(field.lanes):
        for offset in (-1.0, 0.0, 1.0):
            ys.append(lane.y_centre_m + offset * lane.width_m / 3.0)
            lanes.append(k)
            centre.append(offset == 0.0)
    return _grid(_along(field), np.array(ys), np.array(lanes, dtype=np.intp), np.array(centre))


def illuminance_grid(field: CalculationField) -> CalculationGrid:
    """EN 13201-3 illuminance grid over the carriageway: N rows; n ≥ 3 across with spacing ≤ 1.5 m.

    Across: ``n = max(3, ceil(W / 1.5))`` points spaced ``d = W / n``, the
    outer ones ``d / 2`` from the edges.
    """
    n = max(3, math.ceil(field.width_m / _MAX_TRANSVERSE_SPACING_M - 1e-9))
    d = field.width_m / n
    ys = np.asarray(field.y_min_m + d * (np.arange(n) + 0.5), dtype=np.float64)
    return _grid(_along(field), ys, np.full(n, -1, dtype=np.intp), np.zeros(n, dtype=bool))


@dataclass(frozen=True)
class Observer:
    """An eye at ``(x_m, y_m, z_m)`` (m) looking along the road towards ``direction`` (+1/-1)."""

    x_m: float
    y_m: float
    z_m: float
    direction: int
    lane: int

    @property
    def position(self) -> NDArray[np.float64]:
        """Eye position in the road frame, m."""
        return np.array([self.x_m, self.y_m, self.z_m])


def observers(
    field: CalculationField,
    eye_height_m: float = EYE_HEIGHT_M,
    distance_m: float = OBSERVER_DISTANCE_M,
) -> tuple[Observer, ...]:
    """Luminance observers: each lane centre, ``distance_m`` before the field (travel direction)."""
    out = []
    for k, lane in enumerate(field.lanes):
        if lane.direction == 1:
            x = field.x_start_m - distance_m
        else:
            x = field.x_start_m + field.spacing_m + distance_m
        out.append(Observer(x, lane.y_centre_m, eye_height_m, lane.direction, k))
    return tuple(out)


def threshold_observers(
    field: CalculationField, mounting_height_m: float, eye_height_m: float = EYE_HEIGHT_M
) -> tuple[Observer, ...]:
    """TI observer positions: per lane, N steps of D starting ``2.75 (h - 1.5)`` m before the field.

    2.75 = 1 / tan 20°: from there the field's first luminaire is just at the
    car-roof cut-off. For a lane travelling -x the field is entered from its
    far end.
    """
    n = longitudinal_count(field.spacing_m)
    step = field.spacing_m / n
    back = max(mounting_height_m - eye_height_m, 0.0) / math.tan(math.radians(TI_CUTOFF_DEG))
    out = []
    for k, lane in enumerate(field.lanes):
        entry = field.x_start_m if lane.direction == 1 else field.x_start_m + field.spacing_m
        for i in range(n):
            x = entry - lane.direction * back + lane.direction * step * i
            out.append(Observer(x, lane.y_centre_m, eye_height_m, lane.direction, k))
    return tuple(out)


# --------------------------------------------------------------------------- luminance and glare


def luminance_matrix(
    luminaires: Sequence[Luminaire],
    points: ArrayLike,
    observer: Observer,
    surface: SurfaceReflection | None = None,
) -> NDArray[np.float64]:
    """Road-surface luminance (cd/m²) at each road point from each luminaire at 100 % flux.

    ``(n_points, n_luminaires)``; ``L = r(β, tan γ) · I(C, γ) / h²`` with the
    surface's r (default :class:`DiffuseSurface`; read the module docstring).
    """
    reflection: SurfaceReflection = surface if surface is not None else DiffuseSurface()
    targets = _as_points(points)
    out = np.zeros((len(targets), len(luminaires)))
    to_observer = observer.position[:2] - targets[:, :2]
    for k, luminaire in enumerate(luminaires):
        intensity, _ = _intensity_towards(luminaire, targets)
        to_foot = luminaire.position[:2] - targets[:, :2]
        h = luminaire.height_m - targets[:, 2]
        tan_gamma = np.hypot(to_foot[:, 0], to_foot[:, 1]) / np.where(h > 0, h, 1.0)
        cross = to_observer[:, 0] * to_foot[:, 1] - to_observer[:, 1] * to_foot[:, 0]
        dot = np.sum(to_observer * to_foot, axis=1)
        beta = 180.0 - np.degrees(np.arctan2(np.abs(cross), dot))
        r = reflection.r(beta, tan_gamma)
        out[:, k] = np.where(h > 0, r * intensity / np.where(h > 0, h, 1.0) ** 2, 0.0)
    return out


def _sight(direction: int) -> NDArray[np.float64]:
    down = math.radians(SIGHT_DOWN_DEG)
    return np.array([direction * math.cos(down), 0.0, -math.sin(down)])


def veiling_matrix(
    luminaires: Sequence[Luminaire], eyes: Sequence[Observer]
) -> NDArray[np.float64]:
    """Veiling luminance (cd/m²) at each eye from each luminaire at 100 % flux: (n_eyes, n_lum).

    ``Lv = 10 · E_eye / θ²``: ``E_eye`` (lx) on the plane normal to the line
    of sight, θ (deg) between the line of sight and the luminaire, clamped to
    ≥ 1.5°; counted only when the luminaire is ahead, within 500 m along the
    road, at most 20° above the eye's horizontal, and θ ≤ 60°.
    """
    out = np.zeros((len(eyes), len(luminaires)))
    for e, eye in enumerate(eyes):
        sight = _sight(eye.direction)
        for k, luminaire in enumerate(luminaires):
            v = luminaire.position - eye.position
            distance = float(np.linalg.norm(v))
            ahead = eye.direction * v[0]
            elevation = math.degrees(math.atan2(v[2], math.hypot(v[0], v[1])))
            theta = math.degrees(math.acos(max(-1.0, min(1.0, float(v @ sight) / distance))))
            if not (0 < ahead <= TI_RANGE_M and elevation <= TI_CUTOFF_DEG and theta <= 60.0):
                continue
            intensity, _ = _intensity_towards(luminaire, eye.position[None, :])
            e_eye = float(intensity[0]) * math.cos(math.radians(theta)) / distance**2
            out[e, k] = 10.0 * e_eye / max(theta, 1.5) ** 2
    return out


# --------------------------------------------------------------------------- quality


@dataclass(frozen=True)
class RoadQuality:
    """EN 13201 quality figures for one dimming state.

    ``l_avg_cd_m2`` (cd/m²), ``u0`` and ``ul`` (-, 0..1): operative (lowest)
    over observers/lanes; ``ti_pct`` (%): highest over TI positions (0 when no
    luminaire counts, inf when there is glare on a black road); ``e_avg_lx``,
    ``e_min_lx`` (lx) and ``e_u0`` (-) over the illuminance grid.
    """

    l_avg_cd_m2: float
    u0: float
    ul: float
    ti_pct: float
    e_avg_lx: float
    e_min_lx: float
    e_u0: float


def _ratio(numerator: NDArray[np.float64], denominator: NDArray[np.float64]) -> NDArray[np.float64]:
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, numerator / safe, 0.0)


@dataclass(frozen=True, eq=False)
class RoadMatrices:
    """Everything a dimming state needs, at 100 % flux per luminaire (:func:`build_road_matrices`).

    ``illuminance``: (n_E, n_lum) lx; ``luminance``: (n_obs, n_L, n_lum)
    cd/m²; ``centre_line``: (n_obs, n_L) the points on each observer's lane
    centre line; ``veiling``: (n_ti, n_lum) cd/m².
    """

    field: CalculationField
    luminaires: tuple[Luminaire, ...]
    illuminance_grid: CalculationGrid
    luminance_grid: CalculationGrid
    illuminance: NDArray[np.float64]
    luminance: NDArray[np.float64]
    centre_line: NDArray[np.bool_]
    veiling: NDArray[np.float64]

    def flux_vector(self, flux_fraction: ArrayLike) -> NDArray[np.float64]:
        """``flux_fraction`` (scalar for all luminaires, or one per luminaire; 0..1) as a vector."""
        f = np.broadcast_to(np.asarray(flux_fraction, dtype=np.float64), (len(self.luminaires),))
        if not np.all(np.isfinite(f)) or np.any(f < 0):
            raise ValueError(f"flux fractions must be finite and >= 0, got {f}")
        return f

    def quality(self, flux_fraction: ArrayLike = 1.0) -> RoadQuality:
        """Quality figures when luminaire k gives ``flux_fraction[k]`` of its full flux."""
        f = self.flux_vector(flux_fraction)
        e = self.illuminance @ f
        lum = self.luminance @ f
        l_avg_obs = lum.mean(axis=1)
        u0_obs = _ratio(lum.min(axis=1), l_avg_obs)
        centre = np.where(self.centre_line, lum, np.nan)
        ul_obs = _ratio(np.nanmin(centre, axis=1), np.nanmax(centre, axis=1))
        l_avg = float(l_avg_obs.min())
        lv = float((self.veiling @ f).max()) if self.veiling.size else 0.0
        if lv <= 0:
            ti = 0.0
        elif l_avg <= 0:
            ti = math.inf
        else:
            ti = 65.0 * lv / l_avg**0.8
        e_avg = float(e.mean())
        return RoadQuality(
            l_avg_cd_m2=l_avg,
            u0=float(u0_obs.min()),
            ul=float(ul_obs.min()),
            ti_pct=ti,
            e_avg_lx=e_avg,
            e_min_lx=float(e.min()),
            e_u0=float(e.min() / e_avg) if e_avg > 0 else 0.0,
        )


def build_road_matrices(
    luminaires: Sequence[Luminaire],
    field: CalculationField,
    surface: SurfaceReflection | None = None,
    eye_height_m: float = EYE_HEIGHT_M,
    observer_distance_m: float = OBSERVER_DISTANCE_M,
) -> RoadMatrices:
    """Precompute the EN 13201-3 matrices of ``luminaires`` over ``field`` (module docstring).

    The TI observers use the field's first luminaire height (the luminaire
    nearest to ``(x_start_m, lanes' centre)``) as mounting height.
    """
    if not luminaires:
        raise ValueError("build_road_matrices: no luminaires")
    lums = tuple(luminaires)
    e_grid, l_grid = illuminance_grid(field), luminance_grid(field)
    eyes = observers(field, eye_height_m, observer_distance_m)
    luminance = np.stack([luminance_matrix(lums, l_grid.points, eye, surface) for eye in eyes])
    centre = np.stack([l_grid.centre_line & (l_grid.lane == eye.lane) for eye in eyes])
    y_mid = field.y_min_m + 0.5 * field.width_m
    first = min(lums, key=lambda lum: math.hypot(lum.x_m - field.x_start_m, lum.y_m - y_mid))
    ti_eyes = threshold_observers(field, first.height_m, eye_height_m)
    return RoadMatrices(
        field=field,
        luminaires=lums,
        illuminance_grid=e_grid,
        luminance_grid=l_grid,
        illuminance=contribution_matrix(lums, e_grid.points),
        luminance=luminance,
        centre_line=centre,
        veiling=veiling_matrix(lums, ti_eyes),
    )
