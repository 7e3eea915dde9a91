"""A 2D local-inertial flood solver on a raster DEM, usable on its own.

Example::

    solver = FloodSolver(dem_m, cell_m=10.0, manning_n=0.05)
    solver.set_rain(RainSeries.uniform_mm_h([0, 3600], [50, 0]))
    solver.add_stage_boundary(river_in_mask, Hydrograph.from_points([(0, 1.0), (86400, 5.4)]))
    solver.advance_to(6 * 3600)
    depth = solver.depth          # m, (ny, nx), row 0 = north
    u, v = solver.velocity        # m/s, eastwards and southwards
    print(solver.ledger.as_dict())

The momentum and continuity step is :mod:`sim.hydro.kernels` (de Almeida et
al. 2012, with a positivity limiter). Around it, each time step of length
``Δt = min(α Δx / sqrt(g h_max), dt_max)``, cut so it never straddles a rain
interval or the target time, does in order:

1. fluxes and depths (the kernel);
2. rain, added to every cell (uniform or gridded);
3. point and line inflows (hydrograph in m³/s, trapezoidal in time; a line
   shares its discharge equally among its cells; negative = withdrawal,
   limited by the water present);
4. infiltration (Green–Ampt or curve number), limited by the water present;
5. drainage: a capacity per cell (m/s) or per zone (m³/s shared equally by
   the zone's cells; capacity a dry cell cannot use is not passed on);
6. boundary cells: stage cells are set to the stage of their hydrograph
   (depth ``max(stage - z, 0)``), free outlets are emptied; the volume this
   adds or removes is booked in the ledger.

Validity: the local-inertial equations drop convective acceleration; they
hold for slowly varying, subcritical flow (Froude ≲ 0.5) such as floodplain
inundation, and do not reproduce dam-break bores (de Almeida & Bates 2013).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.hydro.forcing import Hydrograph, RainSeries
from sim.hydro.infiltration import Infiltration
from sim.hydro.kernels import GRAVITY, step_function
from sim.hydro.ledger import MassLedger

__all__ = ["FloodSolver"]

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class _StageBoundary:
    name: str
    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    stage: Hydrograph | None  # None = free outlet (depth forced to 0)


@dataclass(frozen=True)
class _Inflow:
    name: str
    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    discharge: Hydrograph  # m³/s for the whole point or line


class FloodSolver:
    """The flood model of one raster.

    Args:
        dem_m: bed elevation (m), ``(ny, nx)``, row 0 = north; finite.
        cell_m: cell size (m) > 0 (square cells).
        manning_n: Manning's n (s/m^(1/3)), scalar or per cell, 0.01..0.3.
        theta: flux weighting θ, 0.5..1; 0.7 by default (de Almeida et al.
            recommend 0.7–0.8; 1 is the plain Bates et al. 2010 scheme).
        alpha: CFL coefficient α, ``0 < α <= sqrt(θ / 2)``; 0.5 by default.
            The bound is the frictionless 2-D von Neumann limit of the
            θ-scheme: the 2Δx checkerboard mode has amplification matrix
            trace ``2θ - 1 + 1 - 8C²`` and determinant ``2θ - 1`` (C the
            Courant number), stable only for ``C² <= θ / 2``. So θ = 0.8
            allows α <= 0.632 and θ = 0.7 allows 0.592: the often-quoted
            α = 0.7 (Landlab's default with θ = 0.8) lets round-off grow in
            deep, smooth water — we measured it, and the tests keep it out.
        dt_max_s: the longest step (s), used while the grid is (nearly) dry.
        h_dry_m: face depth (m) below which a face carries nothing.
        froude_max: cap on a face's Froude number, or None for none.
        initial_depth_m: starting depth (m) >= 0, scalar or per cell.
        backend: ``"numba"`` (compiled) or ``"numpy"``; same results.
        arrival_depth_m: depth (m) whose first crossing is stored per cell in
            :attr:`arrival_s` (e.g. 0.1 m for the warning-time map).
    """

    def __init__(
        self,
        dem_m: ArrayLike,
        cell_m: float,
        manning_n: float | ArrayLike = 0.05,
        *,
        theta: float = 0.7,
        alpha: float = 0.5,
        dt_max_s: float = 10.0,
        h_dry_m: float = 1e-5,
        froude_max: float | None = None,
        initial_depth_m: float | ArrayLike = 0.0,
        backend: str = "numba",
        arrival_depth_m: float = 0.1,
    ) -> None:
        z = np.array(dem_m, dtype=np.float64)
        if z.ndim != 2 or min(z.shape) < 1:
            raise ValueError(f"dem_m must be a 2-D array (ny, nx), got shape {z.shape}")
        if not np.all(np.isfinite(z)):
            bad = np.argwhere(~np.isfinite(z))[0]
            raise ValueError(
                f"dem_m has NaN/inf (first at row {bad[0]}, col {bad[1]}): fill nodata first"
            )
        if not (math.isfinite(cell_m) and cell_m > 0):
            raise ValueError(f"cell_m must be > 0 (m), got {cell_m}")
        n = np.broadcast_to(np.asarray(manning_n, dtype=np.float64), z.shape)
        if not np.all(np.isfinite(n)) or np.any(n <= 0) or np.any(n > 1):
            raise ValueError(
                "manning_n must be within (0, 1] s/m^(1/3) everywhere; 0.03–0.1 is usual"
            )
        if not 0.5 <= theta <= 1.0:
            raise ValueError(f"theta must be within 0.5..1, got {theta}")
        alpha_max = math.sqrt(theta / 2.0)
        if not 0.0 < alpha <= alpha_max + 1e-12:
            raise ValueError(
                f"alpha must be within (0, sqrt(theta/2)] = (0, {alpha_max:.3f}] for "
                f"theta={theta}, got {alpha}: above it the scheme is unstable in deep water"
            )
        if not dt_max_s > 0:
            raise ValueError(f"dt_max_s must be > 0 (s), got {dt_max_s}")
        if not h_dry_m > 0:
            raise ValueError(f"h_dry_m must be > 0 (m), got {h_dry_m}")
        h0 = np.array(np.broadcast_to(np.asarray(initial_depth_m, dtype=np.float64), z.shape))
        if not np.all(np.isfinite(h0)) or np.any(h0 < 0):
            raise ValueError("initial_depth_m must be finite and >= 0 everywhere")
        self.z = z
        self.cell_m = float(cell_m)
        self.area_m2 = self.cell_m**2
        self.theta = float(theta)
        self.alpha = float(alpha)
        self.dt_max_s = float(dt_max_s)
        self.h_dry_m = float(h_dry_m)
        self.froude_max = float(froude_max) if froude_max else 0.0
        self.backend = backend
        self._step = step_function(backend)
        self._n2 = np.ascontiguousarray(n * n)
        ny, nx = z.shape
        self.h = h0
        self.qx = np.zeros((ny, nx + 1))
        self.qy = np.zeros((ny + 1, nx))
        self.time_s = 0.0
        self.steps = 0
        self.cell_updates = 0
        self.max_depth_m = h0.copy()
        self.arrival_depth_m = float(arrival_depth_m)
        self.arrival_s = np.where(h0 >= self.arrival_depth_m, 0.0, np.nan)
        self.ledger = MassLedger(storage_start_m3=self._storage(), storage_m3=self._storage())
        self._rain: RainSeries | None = None
        self._infiltration: Infiltration | None = None
        self._drain_rate: Array | None = None
        self._boundaries: list[_StageBoundary] = []
        self._inflows: list[_Inflow] = []
        self._h_max = float(h0.max())

    # -- set-up --------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, int]:
        """Grid shape ``(ny, nx)``."""
        return (int(self.z.shape[0]), int(self.z.shape[1]))

    def set_rain(self, rain: RainSeries | None) -> None:
        """Use ``rain`` from now on (None: no rain); a gridded series must match the grid."""
        if rain is not None and rain.gridded and rain.rates.shape[1:] != self.shape:
            raise ValueError(
                f"gridded rain has fields of shape {rain.rates.shape[1:]}, grid is {self.shape}"
            )
        self._rain = rain

    def set_infiltration(self, model: Infiltration | None) -> None:
        """Use an infiltration model (None: sealed ground)."""
        self._infiltration = model

    def set_drainage(
        self,
        rate_m_s: float | ArrayLike | None = None,
        *,
        zones: ArrayLike | None = None,
        zone_capacity_m3_s: dict[int, float] | None = None,
    ) -> None:
        """Set the drains' capacity: a rate per cell (m/s), and/or per zone (m³/s).

        ``zones`` labels cells with an integer zone id (negative = no zone);
        ``zone_capacity_m3_s`` maps a zone id to its drains' capacity, shared
        equally by the zone's cells. Both may be given; they add up.
        """
        rate = np.zeros(self.shape)
        if rate_m_s is not None:
            rate += np.broadcast_to(np.asarray(rate_m_s, dtype=np.float64), self.shape)
        if zones is not None or zone_capacity_m3_s:
            if zones is None or not zone_capacity_m3_s:
                raise ValueError("give both zones and zone_capacity_m3_s for zone drainage")
            labels = np.asarray(zones)
            if labels.shape != self.shape:
                raise ValueError(f"zones has shape {labels.shape}, grid is {self.shape}")
            for zone, capacity in zone_capacity_m3_s.items():
                cells = labels == zone
                count = int(cells.sum())
                if count == 0:
                    raise ValueError(f"drainage zone {zone} has no cells in the zones array")
                if not (math.isfinite(capacity) and capacity >= 0):
                    raise ValueError(f"drainage zone {zone}: capacity must be >= 0 m³/s")
                rate[cells] += capacity / (count * self.area_m2)
        if not np.all(np.isfinite(rate)) or np.any(rate < 0):
            raise ValueError("drainage rates must be finite and >= 0 (m/s)")
        self._drain_rate = rate if rate.any() else None

    def _cells(self, where: ArrayLike, what: str) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Cells from a boolean mask or an ``(n, 2)`` list of (row, col)."""
        arr = np.asarray(where)
        if arr.dtype == bool:
            if arr.shape != self.shape:
                raise ValueError(f"{what}: mask has shape {arr.shape}, grid is {self.shape}")
            rows, cols = np.nonzero(arr)
        else:
            arr = np.atleast_2d(arr).astype(np.intp)
            if arr.ndim != 2 or arr.shape[1] != 2:
                raise ValueError(f"{what}: give a boolean mask or (row, col) pairs")
            rows, cols = arr[:, 0], arr[:, 1]
            ny, nx = self.shape
            if np.any((rows < 0) | (rows >= ny) | (cols < 0) | (cols >= nx)):
                raise ValueError(f"{what}: a cell lies outside the {ny} x {nx} grid")
        if rows.size == 0:
            raise ValueError(f"{what}: no cells selected")
        return rows.astype(np.intp), cols.astype(np.intp)

    def add_stage_boundary(self, where: ArrayLike, stage: Hydrograph, name: str = "") -> None:
        """Hold the water surface of some cells at a stage hydrograph (m above datum)."""
        rows, cols = self._cells(where, f"stage boundary {name!r}")
        self._boundaries.append(_StageBoundary(name or stage.name, rows, cols, stage))
        self._apply_boundaries(self.time_s)

    def add_outlet(self, where: ArrayLike, name: str = "outlet") -> None:
        """Make cells free outlets: whatever reaches them leaves the grid."""
        rows, cols = self._cells(where, f"outlet {name!r}")
        self._boundaries.append(_StageBoundary(name, rows, cols, None))
        self._apply_boundaries(self.time_s)

    def add_inflow(self, where: ArrayLike, discharge: Hydrograph, name: str = "") -> None:
        """A point (one cell) or line (several) inflow; ``discharge`` in m³/s for all of it."""
        rows, cols = self._cells(where, f"inflow {name!r}")
        self._inflows.append(_Inflow(name or discharge.name, rows, cols, discharge))

    # -- state ---------------------------------------------------------------------------

    @property
    def depth(self) -> Array:
        """Water depth (m) per cell; a view, do not modify."""
        return self.h

    @property
    def eta(self) -> Array:
        """Water-surface elevation (m above datum) per cell."""
        return self.z + self.h

    @property
    def velocity(self) -> tuple[Array, Array]:
        """Depth-averaged velocity (m/s) at cell centres: (eastwards, southwards); 0 where dry."""
        wet = self.h > self.h_dry_m
        h = np.where(wet, self.h, 1.0)
        u = np.where(wet, 0.5 * (self.qx[:, :-1] + self.qx[:, 1:]) / h, 0.0)
        v = np.where(wet, 0.5 * (self.qy[:-1, :] + self.qy[1:, :]) / h, 0.0)
        return u, v

    def _storage(self) -> float:
        return float(self.h.sum()) * self.area_m2

    # -- time stepping -------------------------------------------------------------------

    def stable_dt(self) -> float:
        """The CFL step (s) for the current depths, capped at ``dt_max_s``."""
        if self._h_max <= self.h_dry_m:
            return self.dt_max_s
        return min(self.alpha * self.cell_m / math.sqrt(GRAVITY * self._h_max), self.dt_max_s)

    def advance_to(self, t_s: float) -> None:
        """Run until the solver clock reads ``t_s`` (s); earlier times are an error."""
        if not math.isfinite(t_s):
            raise ValueError(f"advance_to needs a finite time, got {t_s}")
        if t_s < self.time_s - 1e-9:
            raise ValueError(f"cannot go back in time: at {self.time_s} s, asked for {t_s} s")
        while self.time_s < t_s - 1e-9:
            dt = min(self.stable_dt(), t_s - self.time_s)
            if self._rain is not None:
                dt = min(dt, max(self._rain.next_change_s(self.time_s) - self.time_s, 1e-6))
            self._one_step(dt)

    def _one_step(self, dt: float) -> None:
        t0 = self.time_s
        self._h_max = self._step(
            self.z,
            self.h,
            self.qx,
            self.qy,
            self._n2,
            dt,
            self.cell_m,
            self.theta,
            self.h_dry_m,
            self.froude_max,
        )
        t1 = t0 + dt
        ledger, area = self.ledger, self.area_m2
        rain_depth: Array | float = 0.0
        if self._rain is not None:
            rate = self._rain.rate(t0)
            rain_depth = rate * dt
            if isinstance(rain_depth, float):
                if rain_depth > 0:
                    self.h += rain_depth
                    ledger.rain_m3 += rain_depth * self.h.size * area
            else:
                self.h += rain_depth
                ledger.rain_m3 += float(rain_depth.sum()) * area
        for inflow in self._inflows:
            q = 0.5 * (inflow.discharge.at(t0) + inflow.discharge.at(t1))
            per_cell = q * dt / (inflow.rows.size * area)  # m
            if per_cell >= 0:
                np.add.at(self.h, (inflow.rows, inflow.cols), per_cell)
                ledger.inflow_m3 += per_cell * inflow.rows.size * area
            else:
                cur = self.h[inflow.rows, inflow.cols]
                took = np.minimum(cur, -per_cell)
                self.h[inflow.rows, inflow.cols] = cur - took
                ledger.outflow_m3 += float(took.sum()) * area
        if self._infiltration is not None:
            taken = self._infiltration.take(self.h, rain_depth, dt)
            ledger.infiltration_m3 += float(taken.sum()) * area
        if self._drain_rate is not None:
            took = np.minimum(self.h, self._drain_rate * dt)
            self.h -= took
            ledger.drainage_m3 += float(took.sum()) * area
        self._apply_boundaries(t1)
        self.time_s = t1
        self.steps += 1
        self.cell_updates += self.h.size
        np.maximum(self.max_depth_m, self.h, out=self.max_depth_m)
        newly = np.isnan(self.arrival_s) & (self.h >= self.arrival_depth_m)
        if newly.any():
            self.arrival_s[newly] = t1
        self._h_max = float(self.h.max())
        ledger.storage_m3 = self._storage()

    def _apply_boundaries(self, t_s: float) -> None:
        for b in self._boundaries:
            cur = self.h[b.rows, b.cols]
            if b.stage is None:
                target = np.zeros_like(cur)
            else:
                target = np.maximum(b.stage.at(t_s) - self.z[b.rows, b.cols], 0.0)
            change = float((target - cur).sum()) * self.area_m2
            self.h[b.rows, b.cols] = target
            if b.stage is None:
                self.ledger.outflow_m3 -= change
            elif change >= 0:
                self.ledger.boundary_in_m3 += change
            else:
                self.ledger.boundary_out_m3 -= change
        if self._boundaries:
            self._h_max = float(self.h.max())
            self.ledger.storage_m3 = self._storage()

    # -- snapshot ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The solver's state (for drills and mirror hand-over)."""
        return {
            "time_s": self.time_s,
            "h": self.h.copy(),
            "qx": self.qx.copy(),
            "qy": self.qy.copy(),
            "max_depth_m": self.max_depth_m.copy(),
            "arrival_s": self.arrival_s.copy(),
            "ledger": self.ledger.as_dict(),
            "infiltration": self._infiltration.snapshot() if self._infiltration else {},
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`snapshot` taken from a solver on the same grid."""
        if state["h"].shape != self.shape:
            raise ValueError(f"snapshot grid {state['h'].shape} != solver grid {self.shape}")
        self.time_s = float(state["time_s"])
        self.h = state["h"].copy()
        self.qx = state["qx"].copy()
        self.qy = state["qy"].copy()
        self.max_depth_m = state["max_depth_m"].copy()
        self.arrival_s = state["arrival_s"].copy()
        terms = {k: v for k, v in state["ledger"].items() if k in MassLedger.__dataclass_fields__}
        self.ledger = MassLedger(**terms)
        if self._infiltration is not None:
            self._infiltration.restore(state["infiltration"])
        self._h_max = float(self.h.max())
