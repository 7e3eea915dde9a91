"""Points along the road edges of a SUMO network, in WGS84 and UTM 48N.

A flood model knows water depth on a grid; the traffic plant closes edges.
:func:`edge_sample_points` gives, for every edge a road vehicle may use, points
along its shape where the coupling can read the depth:

- the edge's shape (SUMO network x/y, m) is cut into ``n = ceil(L / spacing_m)``
  equal pieces (``L`` its geometric length) and one point is put at the middle
  of each, so an edge always has at least one point and points are at most
  ``spacing_m`` apart;
- ``positions_m`` is each point's distance from the edge start in SUMO's edge
  length (the lane length, which may differ slightly from the drawn shape);
- lon/lat come from sumolib's ``net.convertXY2LonLat`` (WGS84, degrees), UTM
  48N (EPSG:32648, m) from pyproj. Đông Hà lies in UTM zone 48.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["EdgeSamples", "edge_sample_points"]

UTM_48N = "EPSG:32648"
# vehicle classes that are not road traffic: an edge open only to these is skipped
_NOT_ROAD_VEHICLES = frozenset(
    {
        "pedestrian",
        "wheelchair",
        "tram",
        "rail_urban",
        "rail",
        "rail_electric",
        "rail_fast",
        "subway",
        "cable_car",
        "ship",
        "aircraft",
        "drone",
        "container",
    }
)


@dataclass(frozen=True, eq=False)
class EdgeSamples:
    """Sample points along one edge (arrays of equal length n >= 1, read-only).

    Attributes:
        edge_id: SUMO edge id.
        length_m: edge length (m), SUMO's (sumolib ``edge.getLength()``).
        positions_m: distance of each point from the edge start (m, 0..length_m).
        lon, lat: WGS84 longitude and latitude (degrees).
        x_utm, y_utm: UTM zone 48N easting and northing (m, EPSG:32648).
    """

    edge_id: str
    length_m: float
    positions_m: NDArray[np.float64]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    x_utm: NDArray[np.float64]
    y_utm: NDArray[np.float64]


def edge_sample_points(
    net_file: Path | str, spacing_m: float = 20.0, include_internal: bool = False
) -> dict[str, EdgeSamples]:
    """Sample points every ``spacing_m`` (m, > 0) along each road edge of ``net_file``.

    Only edges that some road vehicle may use (not pedestrian-only, rail or
    water ways); internal junction edges only with ``include_internal``. The
    dict is ordered by edge id. Raises ValueError if the network has no
    geo-projection (e.g. a netgenerate grid): lon/lat would be meaningless.
    """
    import sumolib
    from pyproj import Transformer

    if not 0 < spacing_m < math.inf:
        raise ValueError(f"spacing_m must be a finite distance > 0 m, got {spacing_m!r}")
    net = sumolib.net.readNet(str(net_file), withInternal=include_internal)
    if not net.hasGeoProj():
        raise ValueError(
            f"{net_file}: the network has no geo-projection (location projParameter '!'), so "
            "its x/y cannot be put on a map; build it with netconvert from OSM or with "
            "--proj.utm, as scenarios/dongha/net/dongha.net.xml is"
        )
    edges = sorted(
        (e for e in net.getEdges(withInternal=include_internal) if _road_edge(e)),
        key=lambda e: e.getID(),
    )
    points = [_points_along(e.getShape(), spacing_m) for e in edges]
    x = np.concatenate([p[0] for p in points]) if points else np.empty(0)
    y = np.concatenate([p[1] for p in points]) if points else np.empty(0)
    lon, lat = net.convertXY2LonLat(x, y)  # pyproj underneath: whole arrays at once
    lon, lat = np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)
    x_utm, y_utm = Transformer.from_crs("EPSG:4326", UTM_48N, always_xy=True).transform(lon, lat)
    x_utm, y_utm = np.asarray(x_utm, dtype=np.float64), np.asarray(y_utm, dtype=np.float64)
    out: dict[str, EdgeSamples] = {}
    start = 0
    for edge, (_px, _py, fractions) in zip(edges, points, strict=True):
        stop = start + len(fractions)
        length = float(edge.getLength())
        out[edge.getID()] = EdgeSamples(
            edge_id=edge.getID(),
            length_m=length,
            positions_m=_frozen(fractions * length),
            lon=_frozen(lon[start:stop]),
            lat=_frozen(lat[start:stop]),
            x_utm=_frozen(x_utm[start:stop]),
            y_utm=_frozen(y_utm[start:stop]),
        )
        start = stop
    return out


def _road_edge(edge: object) -> bool:
    """Whether some road vehicle may use ``edge`` (a sumolib edge)."""
    return bool(set(edge.getPermissions()) - _NOT_ROAD_VEHICLES)  # type: ignore[attr-defined]


def _points_along(
    shape: list[tuple[float, float]], spacing_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """x, y (m) of the mid-points of ``ceil(L / spacing_m)`` equal pieces of ``shape``.

    Also returns each point's fraction (0..1) of the shape's length ``L``.
    """
    xy = np.asarray(shape, dtype=np.float64)[:, :2]
    seg = np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))
    along = np.concatenate(([0.0], np.cumsum(seg)))
    total = float(along[-1])
    n = max(1, math.ceil(total / spacing_m))
    fractions = (np.arange(n, dtype=np.float64) + 0.5) / n
    if total <= 0.0:  # a degenerate shape: every point at its start
        return np.full(n, xy[0, 0]), np.full(n, xy[0, 1]), fractions
    s = fractions * total
    return np.interp(s, along, xy[:, 0]), np.interp(s, along, xy[:, 1]), fractions


def _frozen(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """A read-only float64 copy of ``values``."""
    out = np.array(values, dtype=np.float64)
    out.setflags(write=False)
    return out
