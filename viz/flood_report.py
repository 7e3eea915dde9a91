"""The flood run report: max depth, warning time, the river against its alert levels, closures.

Reads only the run folder: ``flood/max_depth_m.npy``, ``flood/arrival_s.npy``,
``flood/dem_m.npy`` and the grid JSON written by the flood plant,
``flood/closures.csv``, ``kpis.json`` (the warning probe's times) and the
recorded points (``points.parquet``: the simulated stage, the Đông Hà gauge
reading and the city warning level). Writes ``flood_report.png`` and
``flood_dem.png`` (the DEM with the OSM rivers, roads and hotspots).

The warning-time map shows, for every cell the water reached (0.1 m), the
hours between the first warning of the nearest warning point and the
water's arrival: positive = people had that long; negative = the water came
first. Cells nearest a point that never warned are grey.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["make_flood_report"]

_ATTRIBUTION = "DEM synthetic from OSM geometry; roads & water © OpenStreetMap contributors (ODbL)"
_ALERTS_M = (2.0, 3.0, 4.0)


def _grid_meta(folder: Path) -> dict[str, Any]:
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if {"x0", "y0", "cell_m"} <= set(data):
            return data
    raise FileNotFoundError(f"no grid JSON (x0, y0, cell_m) in {folder}")


def _series(run_dir: Path, names: list[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Recorded (time s, value) of each point in ``names`` (long-format points.parquet)."""
    path = run_dir / "points.parquet"
    out: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    if not path.exists():
        return out
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["time_s", "point", "value"])
    points = pc.cast(table.column("point"), "string")
    for name in names:
        rows = table.filter(pc.equal(points, name))
        if rows.num_rows:
            t = np.asarray(rows.column("time_s").to_numpy(zero_copy_only=False), dtype=float)
            v = rows.column("value").to_numpy(zero_copy_only=False).astype(float)
            out[name] = (t, v)
    return out


def make_flood_report(run_dir: Path) -> Path:
    """Draw ``run_dir/flood_report.png`` and return its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = run_dir / "flood"
    meta = _grid_meta(folder)
    max_depth = np.load(folder / "max_depth_m.npy")
    arrival = np.load(folder / "arrival_s.npy")
    dem = np.load(folder / "dem_m.npy")
    kpis = json.loads((run_dir / "kpis.json").read_text(encoding="utf-8"))
    scenario = json.loads((run_dir / "scenario.json").read_text(encoding="utf-8"))
    cell, x0, y0 = float(meta["cell_m"]), float(meta["x0"]), float(meta["y0"])
    ny, nx = dem.shape
    extent = (x0 / 1000, (x0 + nx * cell) / 1000, (y0 - ny * cell) / 1000, y0 / 1000)

    points = kpis.get("flood_warnings", {}).get("points", {})
    sites = _site_positions(scenario)

    fig = plt.figure(figsize=(17, 11), dpi=100)
    grid = fig.add_gridspec(2, 2, height_ratios=[1.25, 1], hspace=0.28, wspace=0.15)

    ax = fig.add_subplot(grid[0, 0])
    ax.imshow(dem, cmap="Greys_r", extent=extent, vmin=-3, vmax=40)
    shown = np.where(max_depth >= 0.05, max_depth, np.nan)
    im = ax.imshow(shown, cmap="Blues", extent=extent, vmin=0, vmax=3, alpha=0.9)
    fig.colorbar(im, ax=ax, shrink=0.8, label="max depth (m)")
    _mark_sites(ax, sites)
    ax.set_title("Maximum water depth over the run")
    ax.set_xlabel("UTM 48N easting (km)")
    ax.set_ylabel("northing (km)")

    ax = fig.add_subplot(grid[0, 1])
    ax.imshow(dem, cmap="Greys_r", extent=extent, vmin=-3, vmax=40)
    lead = _lead_map(arrival, dem, meta, sites, points)
    im = ax.imshow(lead, cmap="RdYlGn", extent=extent, vmin=-6, vmax=6)
    fig.colorbar(im, ax=ax, shrink=0.8, label="warning before water (h)")
    _mark_sites(ax, sites)
    ax.set_title("Warning time: nearest point's first warning → water ≥ 0.1 m")
    ax.set_xlabel("UTM 48N easting (km)")

    ax = fig.add_subplot(grid[1, 0])
    series = _series(
        run_dir, ["flood/river/stage_m", "flood/P01/level_m", "flood/city/warning_level"]
    )
    if "flood/river/stage_m" in series:
        t, v = series["flood/river/stage_m"]
        ax.plot(t / 3600, v, color="navy", label="simulated stage at Đông Hà")
    if "flood/P01/level_m" in series:
        t, v = series["flood/P01/level_m"]
        ax.plot(t / 3600, v, ".", ms=2, color="tab:orange", label="P01 gauge reading (LoRa)")
    for level, name in zip(_ALERTS_M, ("I", "II", "III"), strict=True):
        ax.axhline(level, color="red", lw=0.8, ls="--")
        ax.text(0.2, level + 0.05, f"alert {name} ({level:g} m)", color="red", fontsize=8)
    ax.set_xlabel("hours since start")
    ax.set_ylabel("stage (m above datum)")
    ax.set_title("The Hiếu at Đông Hà against the alert levels")
    if "flood/city/warning_level" in series:
        twin = ax.twinx()
        t, v = series["flood/city/warning_level"]
        twin.step(t / 3600, v, where="post", color="tab:red", alpha=0.6, label="city warning")
        twin.set_ylim(-0.2, 3.5)
        twin.set_yticks([0, 1, 2, 3])
        twin.set_ylabel("city warning level")
    ax.legend(loc="upper left", fontsize=8)

    ax = fig.add_subplot(grid[1, 1])
    closures = folder / "closures.csv"
    if closures.exists():
        data = np.genfromtxt(closures, delimiter=",", names=True)
        if data.size:
            ax.plot(data["t_s"] / 3600, data["km_closed"], color="tab:red", label="km closed")
            ax.plot(data["t_s"] / 3600, data["km_slowed"], color="tab:orange", label="km slowed")
    rc = kpis.get("road_closures", {})
    ax.set_title(
        f"Roads under water: {rc.get('edges_ever_closed', 0)} edges closed, "
        f"{rc.get('vehicles_rerouted', 0)} vehicles rerouted, "
        f"{rc.get('vehicles_stranded', 0)} stranded"
    )
    ax.set_xlabel("hours since start")
    ax.set_ylabel("km of road")
    ax.legend(loc="upper left", fontsize=8)

    ledger = kpis.get("flood", {}).get("ledger", {})
    fig.suptitle(
        f"{scenario['name']} — {scenario['start'][:16]} +{scenario['duration'] / 3600:g} h; "
        f"mass balance residual {ledger.get('relative_error', float('nan')):.1e}",
        fontsize=13,
    )
    fig.text(0.01, 0.005, _ATTRIBUTION, fontsize=8, color="0.3")
    out = run_dir / "flood_report.png"
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    _dem_map(run_dir, dem, meta)
    return out


def _dem_map(run_dir: Path, dem: np.ndarray, meta: dict[str, Any]) -> Path:
    """``flood_dem.png``: the run's DEM with the OSM rivers, roads and hotspots over it."""
    from sim.hydro.dem import Dem
    from sim.hydro.dongha_dem import DemSources
    from viz.dem_map import plot_dem

    sources = DemSources.default()
    grid = Dem(
        np.ascontiguousarray(dem, dtype=np.float64),
        float(meta["cell_m"]),
        float(meta["x0"]),
        float(meta["y0"]),
    )
    return plot_dem(
        grid,
        sources.roads_geojson,
        sources.water_geojson,
        run_dir / "flood_dem.png",
        title=f"Đông Hà — the run's {float(meta['cell_m']):g} m DEM",
    )


def _site_positions(scenario: dict[str, Any]) -> dict[str, tuple[float, float]]:
    from sim.hydro.sites import load_warning_sites

    sites = load_warning_sites(Path(scenario["plants"]["flood"]["sites"])).sites
    return {s.id: (s.x_m, s.y_m) for s in sites}


def _mark_sites(ax: Any, sites: dict[str, tuple[float, float]]) -> None:
    for pid, (x, y) in sites.items():
        ax.plot(x / 1000, y / 1000, "^", color="crimson", ms=6, mec="white")
        ax.annotate(
            pid, (x / 1000, y / 1000), fontsize=7, xytext=(3, 3), textcoords="offset points"
        )


def _lead_map(
    arrival: np.ndarray,
    dem: np.ndarray,
    meta: dict[str, Any],
    sites: dict[str, tuple[float, float]],
    points: dict[str, Any],
) -> np.ndarray:
    """Hours from the nearest point's first warning to the water's arrival, per cell."""
    ny, nx = dem.shape
    cell, x0, y0 = float(meta["cell_m"]), float(meta["x0"]), float(meta["y0"])
    xs = x0 + (np.arange(nx) + 0.5) * cell
    ys = y0 - (np.arange(ny) + 0.5) * cell
    ids = [p for p in sites if p in points]
    if not ids:
        return np.full(dem.shape, np.nan)
    px = np.array([sites[p][0] for p in ids])
    py = np.array([sites[p][1] for p in ids])
    xx, yy = np.meshgrid(xs, ys)
    dist = (xx[..., None] - px) ** 2 + (yy[..., None] - py) ** 2
    nearest = np.argmin(dist, axis=-1)
    first = [points[p]["warned_s"].get("1") for p in ids]
    warned = np.array([np.nan if w is None else float(w) for w in first])
    lead_h = (arrival - warned[nearest]) / 3600.0
    return np.where(np.isfinite(arrival) & (dem > 0), lead_h, np.nan)
