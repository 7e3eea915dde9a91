"""Flood solver benchmark: our local-inertial solver against Landlab's OverlandFlow.

Both solvers run the same problem in the same process, one after the other:

* grid: a window of the synthetic Đông Hà DEM (10 m cells; the Hiếu through
  the centre, the plain, embankments and hotspots), closed edges;
* start: the river channel filled to a stage of 1.5 m, dry elsewhere;
* forcing: uniform rain of 60 mm/h (an intense burst of the October 2020
  event) for the whole run; Manning's n = 0.05 everywhere;
* scheme settings: θ = 0.8 (Landlab's default), α = 0.6, g = 9.80665 for both.
  Landlab's default α = 0.7 is above the 2-D stability bound sqrt(θ/2) = 0.632
  of this scheme (see sim/hydro/solver.py): with it both solvers blow up in
  the 4 m deep river channel, so both run at 0.6.

Figures: cell updates per second (cells × steps / wall time, JIT compile
excluded and reported apart) for our numba kernel on one thread, on all
cores, and our numpy path; Landlab's; their ratios; and agreement: stored
volume of each against the exact ``initial + R·A·T`` and the max-depth maps
against each other (max and mean absolute difference, domain maxima).

    .venv/bin/python bench/flood.py [--cells 400] [--minutes 20]

Prints one JSON line; ``make bench-flood`` appends it to bench/results/flood.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.hydro.dongha_dem import synthetic_dongha_dem  # noqa: E402
from sim.hydro.forcing import RainSeries, mm_per_hour  # noqa: E402
from sim.hydro.solver import FloodSolver  # noqa: E402

THETA, ALPHA, MANNING_N, STAGE_M, RAIN_MM_H = 0.8, 0.6, 0.05, 1.5, 60.0


def problem(cells: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A ``cells`` x ``cells`` window of the Đông Hà DEM centred on the Hiếu, its start depth."""
    dem = synthetic_dongha_dem(cell_m=10.0)
    z = dem.elevation
    ny, nx = z.shape
    # centre the window on the river cells nearest the middle of the DEM
    rows, cols = np.nonzero(z < 0.0)
    if rows.size:
        k = int(np.argmin((rows - ny / 2) ** 2 + (cols - nx / 2) ** 2))
        r0, c0 = int(rows[k]), int(cols[k])
    else:
        r0, c0 = ny // 2, nx // 2
    r0 = min(max(r0 - cells // 2, 0), ny - cells)
    c0 = min(max(c0 - cells // 2, 0), nx - cells)
    window = np.ascontiguousarray(z[r0 : r0 + cells, c0 : c0 + cells])
    h0 = np.maximum(STAGE_M - window, 0.0)
    return window, h0, dem.cell_m


def run_ours(
    z: np.ndarray, h0: np.ndarray, cell_m: float, seconds: float, backend: str
) -> dict[str, Any]:
    """Time our solver; the first call of a numba backend compiles (timed apart)."""
    tick = time.perf_counter()
    warm = FloodSolver(z[:8, :8], cell_m, MANNING_N, theta=THETA, backend=backend)
    warm.advance_to(1.0)
    compile_s = time.perf_counter() - tick
    solver = FloodSolver(
        z, cell_m, MANNING_N, theta=THETA, alpha=ALPHA, initial_depth_m=h0, backend=backend
    )
    solver.set_rain(RainSeries.uniform_mm_h([0.0], [RAIN_MM_H]))
    max_depth = h0.copy()
    tick = time.perf_counter()
    t = 0.0
    while t < seconds - 1e-9:
        t = min(t + 10.0, seconds)  # max depth every 10 s of model time, as for Landlab
        solver.advance_to(t)
        np.maximum(max_depth, solver.depth, out=max_depth)
    wall = time.perf_counter() - tick
    return {
        "wall_s": wall,
        "compile_s": compile_s,
        "steps": solver.steps,
        "cell_updates_per_s": solver.cell_updates / wall,
        "volume_m3": float(solver.depth.sum()) * cell_m**2,
        "max_depth": max_depth,
        "ledger_relative_error": solver.ledger.relative_error,
        "min_depth_m": float(solver.depth.min()),
    }


def run_landlab(z: np.ndarray, h0: np.ndarray, cell_m: float, seconds: float) -> dict[str, Any]:
    """Landlab OverlandFlow on the same cells (a closed ring of nodes around them)."""
    from landlab import RasterModelGrid
    from landlab.components import OverlandFlow

    ny, nx = z.shape
    grid = RasterModelGrid((ny + 2, nx + 2), xy_spacing=cell_m)
    grid.set_closed_boundaries_at_grid_edges(True, True, True, True)
    # landlab's row 0 is the south edge: flip our north-up rows
    zz = np.zeros((ny + 2, nx + 2))
    zz[1:-1, 1:-1] = z[::-1]
    hh = np.zeros((ny + 2, nx + 2))
    hh[1:-1, 1:-1] = h0[::-1]
    grid.add_field("topographic__elevation", zz.ravel(), at="node")
    depth = grid.add_field("surface_water__depth", hh.ravel(), at="node")
    flow = OverlandFlow(
        grid,
        mannings_n=MANNING_N,
        theta=THETA,
        alpha=ALPHA,
        rainfall_intensity=mm_per_hour(RAIN_MM_H),
    )
    steps = [0]
    original = flow.calc_time_step

    def counted() -> float:
        steps[0] += 1
        return float(original())

    flow.calc_time_step = counted  # type: ignore[method-assign]
    max_depth = hh.copy()
    tick = time.perf_counter()
    t = 0.0
    while t < seconds - 1e-9:
        chunk = min(10.0, seconds - t)  # record the max depth every 10 s of model time
        flow.overland_flow(dt=chunk)
        t += chunk
        np.maximum(max_depth, depth.reshape(ny + 2, nx + 2), out=max_depth)
    wall = time.perf_counter() - tick
    inner = depth.reshape(ny + 2, nx + 2)[1:-1, 1:-1][::-1]
    # overland_flow(dt=chunk) calls calc_time_step once per sub-step (the last one of
    # a chunk is cut to the chunk's end, as ours is)
    sub_steps = max(steps[0], 1)
    return {
        "wall_s": wall,
        "steps": sub_steps,
        "cell_updates_per_s": sub_steps * ny * nx / wall,
        "volume_m3": float(inner.sum()) * cell_m**2,
        "max_depth": max_depth[1:-1, 1:-1][::-1].copy(),
        "min_depth_m": float(inner.min()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=400, help="window side in cells")
    parser.add_argument("--minutes", type=float, default=20.0, help="simulated minutes")
    args = parser.parse_args()
    seconds = args.minutes * 60.0
    z, h0, cell_m = problem(args.cells)
    exact = (float(h0.sum()) + mm_per_hour(RAIN_MM_H) * seconds * z.size) * cell_m**2
    ours = run_ours(z, h0, cell_m, seconds, "numba")
    ours_par = run_ours(z, h0, cell_m, seconds, "numba-parallel")
    ours_np = run_ours(z, h0, cell_m, seconds, "numpy")
    landlab = run_landlab(z, h0, cell_m, seconds)
    diff = np.abs(ours["max_depth"] - landlab["max_depth"])
    wet = (ours["max_depth"] > 0.05) | (landlab["max_depth"] > 0.05)
    record = {
        "bench": "flood",
        "grid": f"{z.shape[0]}x{z.shape[1]} cells of {cell_m:g} m (synthetic Đông Hà DEM)",
        "simulated_s": seconds,
        "rain_mm_h": RAIN_MM_H,
        "manning_n": MANNING_N,
        "theta": THETA,
        "ours_cell_updates_per_s": round(ours["cell_updates_per_s"]),
        "ours_parallel_cell_updates_per_s": round(ours_par["cell_updates_per_s"]),
        "ours_numpy_cell_updates_per_s": round(ours_np["cell_updates_per_s"]),
        "landlab_cell_updates_per_s": round(landlab["cell_updates_per_s"]),
        "ratio_vs_landlab": round(ours["cell_updates_per_s"] / landlab["cell_updates_per_s"], 2),
        "ratio_parallel_vs_landlab": round(
            ours_par["cell_updates_per_s"] / landlab["cell_updates_per_s"], 2
        ),
        "ratio_numpy_vs_landlab": round(
            ours_np["cell_updates_per_s"] / landlab["cell_updates_per_s"], 2
        ),
        "ours_steps": ours["steps"],
        "landlab_steps": landlab["steps"],
        "ours_wall_s": round(ours["wall_s"], 2),
        "ours_parallel_wall_s": round(ours_par["wall_s"], 2),
        "landlab_wall_s": round(landlab["wall_s"], 2),
        "numba_compile_s": round(ours["compile_s"], 2),
        "exact_volume_m3": round(exact, 1),
        "ours_volume_error": float(f"{ours['volume_m3'] / exact - 1:.3e}"),
        "landlab_volume_error": float(f"{landlab['volume_m3'] / exact - 1:.3e}"),
        "ours_min_depth_m": ours["min_depth_m"],
        "landlab_min_depth_m": landlab["min_depth_m"],
        "ours_max_depth_m": round(float(ours["max_depth"].max()), 4),
        "landlab_max_depth_m": round(float(landlab["max_depth"].max()), 4),
        "max_depth_abs_diff_max_m": round(float(diff.max()), 4),
        "max_depth_abs_diff_mean_wet_m": round(float(diff[wet].mean()) if wet.any() else 0.0, 4),
        "parallel_threads": _threads(),
        "cpus": os.cpu_count(),
        "machine": platform.node() or "unknown",
        "python": platform.python_version(),
    }
    print(json.dumps(record, ensure_ascii=False))


def _threads() -> int:
    import numba

    return int(numba.get_num_threads())


if __name__ == "__main__":
    main()
