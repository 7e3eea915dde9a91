"""A map of a DEM: hill-shaded elevation with rivers, roads, flood hotspots and the gauge.

Reads a :class:`sim.hydro.dem.Dem` (EPSG:32648) and the OSM GeoJSON files ([lon, lat] WGS84);
writes one PNG. Axes are UTM 48N easting/northing in km. The colour scale is stepped to show
the flood-relevant levels (0–5 m in 0.5 m steps, the gauge alert levels 2/3/4 m among them)
as well as the hills.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.hydro.dem import Dem, lonlat_to_utm
from sim.hydro.dongha_dem import GAUGE_DONG_HA, HOTSPOTS, GaugeSite, Hotspot

__all__ = ["plot_dem"]

_OSM_CREDIT = "Geometry © OpenStreetMap contributors, ODbL 1.0"
_LEVELS_M = (
    -3,
    -2,
    -1,
    0,
    0.5,
    1,
    1.5,
    2,
    2.5,
    3,
    3.5,
    4,
    4.5,
    5,
    6,
    8,
    10,
    15,
    20,
    30,
    50,
    75,
    100,
)
_ROAD_STYLE = {  # class -> (colour, line width pt)
    "motorway": ("#7a0177", 1.6),
    "trunk": ("#d7301f", 1.4),
    "primary": ("#fc8d59", 1.1),
    "secondary": ("#444444", 0.7),
    "tertiary": ("#777777", 0.45),
    "rail": ("#000000", 0.9),
}


def _geo_parts(path: Path) -> list[tuple[dict[str, Any], str, list[np.ndarray]]]:
    """``(properties, 'line'|'polygon', [xy arrays in EPSG:32648 m])`` per feature."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    out: list[tuple[dict[str, Any], str, list[np.ndarray]]] = []
    for feat in data.get("features", []):
        geom = feat.get("geometry") or {}
        gtype: Any = geom.get("type")
        coords: Any = geom.get("coordinates")
        if gtype == "LineString":
            kind, parts = "line", [coords]
        elif gtype == "MultiLineString":
            kind, parts = "line", list(coords)
        elif gtype == "Polygon":
            kind, parts = "polygon", list(coords)
        elif gtype == "MultiPolygon":
            kind, parts = "polygon", [ring for poly in coords for ring in poly]
        else:
            continue
        xy = []
        for part in parts:
            a = np.asarray(part, dtype=np.float64)
            x, y = lonlat_to_utm(a[:, 0], a[:, 1])
            xy.append(np.column_stack([x, y]) / 1000.0)
        out.append((dict(feat.get("properties") or {}), kind, xy))
    return out


def plot_dem(
    dem: Dem,
    roads_geojson: str | Path,
    water_geojson: str | Path,
    path: str | Path,
    *,
    hotspots: Sequence[Hotspot] = HOTSPOTS,
    gauge: GaugeSite | None = GAUGE_DONG_HA,
    title: str = "Đông Hà — elevation",
    dpi: int = 110,
) -> Path:
    """Write a PNG map of ``dem`` to ``path`` and return the path.

    Args:
        dem: the elevation raster (m, EPSG:32648).
        roads_geojson: OSM roads (trunk…tertiary, railway), [lon, lat] WGS84.
        water_geojson: OSM rivers (lines), river areas and lakes (polygons), [lon, lat] WGS84.
        path: output PNG; parent folders are created.
        hotspots: labelled as numbered red circles (those inside the DEM).
        gauge: the river gauge marked as a triangle (None: not drawn).
        title: figure title.
        dpi: resolution; the figure is 10 x 9 in.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import BoundaryNorm, LightSource

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    xmin, ymin, xmax, ymax = dem.bounds
    extent = (xmin / 1000.0, xmax / 1000.0, ymin / 1000.0, ymax / 1000.0)

    z = dem.elevation
    levels = [lv for lv in _LEVELS_M if lv > z.min()] or [float(z.max()) + 1.0]
    levels = [min(float(z.min()), levels[0] - 1.0), *levels]  # above the top: top colour
    cmap = plt.get_cmap("terrain")
    norm = BoundaryNorm(levels, cmap.N, clip=True)
    shaded = LightSource(azdeg=315, altdeg=45).shade(
        z, cmap=cmap, norm=norm, blend_mode="soft", vert_exag=3.0, dx=dem.cell_m, dy=dem.cell_m
    )

    fig, ax = plt.subplots(figsize=(10, 9))
    try:
        ax.imshow(shaded, extent=extent, origin="upper", interpolation="nearest")
        for _props, kind, parts in _geo_parts(Path(water_geojson)):
            for xy in parts:
                if kind == "polygon":
                    ax.fill(xy[:, 0], xy[:, 1], color="#2b8cbe", alpha=0.35, lw=0)
                    ax.plot(xy[:, 0], xy[:, 1], color="#0868ac", lw=0.5)
                else:
                    ax.plot(xy[:, 0], xy[:, 1], color="#0868ac", lw=0.8)
        for props, _kind, parts in _geo_parts(Path(roads_geojson)):
            cls = "rail" if props.get("kind") == "rail" else str(props.get("class"))
            colour, width = _ROAD_STYLE.get(cls, ("#999999", 0.4))
            style = (0, (3, 2)) if cls == "rail" else "-"
            for xy in parts:
                ax.plot(xy[:, 0], xy[:, 1], color=colour, lw=width, ls=style)
        for i, h in enumerate(hotspots, start=1):
            hx, hy = h.xy
            if not (xmin <= hx < xmax and ymin <= hy < ymax):
                continue
            circle = plt.Circle(
                (hx / 1000.0, hy / 1000.0), h.radius_m / 1000.0, fill=False, color="red", lw=1.2
            )
            ax.add_patch(circle)
            ax.annotate(
                f"{i} {h.name}",
                (hx / 1000.0, hy / 1000.0),
                xytext=(6, 6),
                textcoords="offset points",
                fontsize=7,
                color="darkred",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "alpha": 0.7, "lw": 0},
            )
        if gauge is not None:
            gx, gy = gauge.xy
            if xmin <= gx < xmax and ymin <= gy < ymax:
                ax.plot(gx / 1000.0, gy / 1000.0, marker="^", color="yellow", mec="black", ms=9)
                alerts = "/".join(f"{a:g}" for a in gauge.alert_levels_m)
                ax.annotate(
                    f"{gauge.name} (alerts {alerts} m)",
                    (gx / 1000.0, gy / 1000.0),
                    xytext=(8, -12),
                    textcoords="offset points",
                    fontsize=7,
                    bbox={"boxstyle": "round,pad=0.15", "fc": "lightyellow", "lw": 0},
                )
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        ax.set_aspect("equal")
        ax.set_xlabel("easting, km (UTM 48N, EPSG:32648)")
        ax.set_ylabel("northing, km")
        ax.set_title(title)
        sm = ScalarMappable(norm=norm, cmap=cmap)
        cbar = fig.colorbar(sm, ax=ax, shrink=0.8, ticks=levels)
        cbar.set_label("elevation, m above datum")
        cbar.ax.tick_params(labelsize=7)
        credit = _OSM_CREDIT + (f"\nDEM: {dem.description}" if dem.description else "")
        ax.text(
            0.995,
            0.005,
            credit,
            transform=ax.transAxes,
            ha="right",
            va="bottom",
            fontsize=6.5,
            bbox={"boxstyle": "square,pad=0.25", "fc": "white", "alpha": 0.8, "lw": 0},
        )
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
