"""Where the rivers leave the DEM, how high the water stands there, and the river at rest.

A flood run driven by one gauge (the Hiếu at Đông Hà station) needs the stage
at every place a river crosses the raster's edge. The rules, in order:

1. **Channel**: cells below ``channel_below_m`` (0 m for the synthetic Đông Hà
   DEM, whose Hiếu and Thạch Hãn beds are carved to -2 .. -3 m while no land
   lies below 0 m; raise it for a DEM whose rivers show their water surface).
2. **Network**: the channel cells 4-connected (through shared faces, the way
   the solver moves water) to the gauge cell.
3. **Edge groups**: channel cells on the outermost rows and columns, grouped
   by adjacency along the edge. Groups in the network become stage boundaries;
   groups outside it (a stream whose carved bed dips below the threshold but
   does not join the gauged river) stay closed walls and are listed apart.
4. **Outlet**: the network group nearest (straight line from its centre) to
   the sea mouth, by default Cửa Việt, where the Thạch Hãn (with the Hiếu)
   reaches the sea. This is what tells downstream from upstream: the bed
   elevation cannot, as it varies across a river's width and along a
   tributary.
5. **Along-river distance** ``s``: the shortest path from the outlet group
   through network cells (8 neighbours: ``cell`` or ``√2·cell`` per step).
6. **Stage at a group**: the water surface is taken to fall at a uniform slope
   ``S`` along the river, so a group's stage is the gauge stage plus
   ``S·(s_group − s_gauge)``, with ``s_group`` the mean ``s`` of its cells: an
   upstream edge stands higher than the gauge, the outlet lower, a tributary
   entering near the outlet a little lower. At the default ``S = 1e-4`` (10 cm
   per km, a lowland river in flood) the 7 km of Hiếu from the western edge to
   the gauge add 0.7 m.

The river at rest (:func:`initial_depth`): every cell gets the level of its
nearest network cell, ``stage0 + S·(s − s_gauge)``; the cells below that
level that are 4-connected to the network are filled to it, everything else
is dry. At the synthetic DEM's 2.0 m starting stage that is the channel, the
low cells joined to it (stream mouths; more of them at coarse cells) and, near
the western edge where the level passes the 2.5 m bank, the floodplain there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from sim.hydro.dem import Dem, DemError, lonlat_to_utm

__all__ = [
    "CUA_VIET_LONLAT",
    "EdgeGroup",
    "RiverLayout",
    "find_river_layout",
    "initial_depth",
    "nearest_cell",
]

CUA_VIET_LONLAT = (107.185, 16.900)
"""Cửa Việt, the mouth of the Thạch Hãn (with the Hiếu) at the sea: (lon, lat) degrees, approx."""

Array = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.intp]


@dataclass(frozen=True)
class EdgeGroup:
    """Channel cells on the DEM edge, next to each other: where one river crosses the edge.

    Attributes:
        side: the edge of the group's first cell: ``north``, ``south``, ``west`` or ``east``.
        rows, cols: the cells (row 0 = north).
        x_m, y_m: centre of the cells (m, EPSG:32648).
        along_m: mean along-river distance from the outlet (m); NaN when not connected.
        offset_m: stage at the group minus stage at the gauge (m); 0 when not connected.
        outlet: True for the outlet group.
    """

    side: str
    rows: IntArray
    cols: IntArray
    x_m: float
    y_m: float
    along_m: float
    offset_m: float
    outlet: bool

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary (no cell lists)."""
        return {
            "side": self.side,
            "cells": int(self.rows.size),
            "x_m": round(self.x_m, 1),
            "y_m": round(self.y_m, 1),
            "along_river_km": (
                round(self.along_m / 1000.0, 3) if math.isfinite(self.along_m) else None
            ),
            "stage_offset_m": round(self.offset_m, 4),
            "outlet": self.outlet,
        }


@dataclass(frozen=True)
class RiverLayout:
    """The river network of a DEM as :func:`find_river_layout` found it.

    Attributes:
        channel: cells below the channel threshold.
        network: channel cells 4-connected to the gauge cell.
        gauge: ``(row, col)`` of the gauge cell (a network cell).
        along_m: along-river distance from the outlet (m) on network cells, NaN elsewhere.
        boundaries: the network's edge groups (stage boundaries), outlet included.
        closed: edge groups not connected to the gauge (left as walls).
        slope: the water-surface slope S used for the offsets (-).
    """

    channel: BoolArray
    network: BoolArray
    gauge: tuple[int, int]
    along_m: Array
    boundaries: tuple[EdgeGroup, ...]
    closed: tuple[EdgeGroup, ...]
    slope: float

    @property
    def gauge_along_m(self) -> float:
        """Along-river distance of the gauge cell from the outlet (m)."""
        return float(self.along_m[self.gauge])


def _edge_groups(channel: BoolArray) -> list[tuple[str, IntArray, IntArray]]:
    """Runs of channel cells along the raster's ring (corners join two sides)."""
    from scipy import ndimage

    ny = channel.shape[0]
    ring = np.zeros_like(channel)
    ring[0, :] = ring[-1, :] = True
    ring[:, 0] = ring[:, -1] = True
    labels, n = ndimage.label(channel & ring, structure=np.ones((3, 3), dtype=bool))
    groups = []
    for k in range(1, n + 1):
        rows, cols = np.nonzero(labels == k)
        r, c = int(rows[0]), int(cols[0])
        side = "north" if r == 0 else "south" if r == ny - 1 else "west" if c == 0 else "east"
        groups.append((side, rows.astype(np.intp), cols.astype(np.intp)))
    return groups


def _along_river(network: BoolArray, sources: BoolArray, cell_m: float) -> Array:
    """Shortest distance (m) from ``sources`` through ``network`` cells, 8 neighbours."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import dijkstra

    ny, nx = network.shape
    index = np.full(network.shape, -1, dtype=np.int64)
    n = int(network.sum())
    index[network] = np.arange(n)
    heads: list[NDArray[np.int64]] = []
    tails: list[NDArray[np.int64]] = []
    costs: list[Array] = []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        r0, r1 = 0, ny - dr
        c0, c1 = max(0, -dc), nx - max(0, dc)
        a = index[r0:r1, c0:c1]
        b = index[r0 + dr : r1 + dr, c0 + dc : c1 + dc]
        both = (a >= 0) & (b >= 0)
        heads.append(a[both])
        tails.append(b[both])
        costs.append(np.full(int(both.sum()), cell_m * math.hypot(dr, dc)))
    graph = coo_matrix(
        (np.concatenate(costs), (np.concatenate(heads), np.concatenate(tails))), shape=(n, n)
    ).tocsr()
    dist = dijkstra(graph, directed=False, indices=index[sources], min_only=True)
    out = np.full(network.shape, np.nan)
    out[network] = dist
    return out


def nearest_cell(mask: BoolArray, row: int, col: int, max_cells: int) -> tuple[int, int] | None:
    """The ``mask`` cell nearest to ``(row, col)`` within ``max_cells`` (Chebyshev), or None."""
    ny, nx = mask.shape
    r0, r1 = max(0, row - max_cells), min(ny, row + max_cells + 1)
    c0, c1 = max(0, col - max_cells), min(nx, col + max_cells + 1)
    rr, cc = np.nonzero(mask[r0:r1, c0:c1])
    if rr.size == 0:
        return None
    d2 = (rr + r0 - row) ** 2 + (cc + c0 - col) ** 2
    k = int(np.argmin(d2))
    return int(rr[k] + r0), int(cc[k] + c0)


def find_river_layout(
    dem: Dem,
    gauge_xy: tuple[float, float],
    *,
    slope: float = 1e-4,
    channel_below_m: float = 0.0,
    outlet_lonlat: tuple[float, float] = CUA_VIET_LONLAT,
    search_m: float = 250.0,
) -> RiverLayout:
    """Find the gauged river network, its edge crossings and their stage offsets.

    Args:
        dem: the DEM (EPSG:32648).
        gauge_xy: the gauge position (m, EPSG:32648); its cell is the nearest
            channel cell within ``search_m`` (at least one cell).
        slope: water-surface slope along the river (-, 0 .. 0.01).
        channel_below_m: cells below this elevation (m) are channel.
        outlet_lonlat: the sea mouth (degrees) the outlet is the group nearest to.
        search_m: how far from ``gauge_xy`` to look for a channel cell (m).

    Raises:
        DemError: no channel cell near the gauge, or the gauged river never
            reaches the DEM edge (nothing to hold its stage).
    """
    if not (math.isfinite(slope) and 0.0 <= slope <= 0.01):
        raise ValueError(f"slope must be within 0 .. 0.01 (-), got {slope}; 1e-4 is typical")
    from scipy import ndimage

    z = dem.elevation
    channel = z < channel_below_m
    row, col = dem.cell_of(*gauge_xy)
    near = nearest_cell(channel, row, col, max(1, math.ceil(search_m / dem.cell_m)))
    if near is None:
        raise DemError(
            f"no channel cell (below {channel_below_m:g} m) within {search_m:g} m of the gauge "
            f"at x={gauge_xy[0]:.0f}, y={gauge_xy[1]:.0f} m. Hint: for a DEM whose river shows "
            "its water surface, raise channel_below_m (e.g. 1.0)"
        )
    labels, _ = ndimage.label(channel)
    network = labels == labels[near]
    groups = _edge_groups(channel)
    connected = [g for g in groups if network[g[1][0], g[2][0]]]
    if not connected:
        raise DemError(
            f"the river at the gauge (cell {near}) does not reach the DEM edge through cells "
            f"below {channel_below_m:g} m, so no stage boundary can hold it. Hint: a larger "
            "DEM window, or a higher channel_below_m"
        )
    ox, oy = (float(v) for v in lonlat_to_utm(*outlet_lonlat))

    def centre(rows: IntArray, cols: IntArray) -> tuple[float, float]:
        x = dem.x0 + (cols.mean() + 0.5) * dem.cell_m
        y = dem.y0 - (rows.mean() + 0.5) * dem.cell_m
        return float(x), float(y)

    centres = [centre(r, c) for _, r, c in connected]
    k_out = int(np.argmin([math.hypot(x - ox, y - oy) for x, y in centres]))
    sources = np.zeros_like(channel)
    sources[connected[k_out][1], connected[k_out][2]] = True
    along = _along_river(network, sources, dem.cell_m)
    s_gauge = float(along[near])
    boundaries = tuple(
        EdgeGroup(
            side,
            rows,
            cols,
            x,
            y,
            float(along[rows, cols].mean()),
            slope * (float(along[rows, cols].mean()) - s_gauge),
            k == k_out,
        )
        for k, ((side, rows, cols), (x, y)) in enumerate(zip(connected, centres, strict=True))
    )
    closed = tuple(
        EdgeGroup(side, rows, cols, *centre(rows, cols), math.nan, 0.0, False)
        for side, rows, cols in groups
        if not network[rows[0], cols[0]]
    )
    return RiverLayout(channel, network, near, along, boundaries, closed, float(slope))


def initial_depth(z: Array, layout: RiverLayout, stage0_m: float) -> Array:
    """Depth (m) of the river at rest at gauge stage ``stage0_m`` (see the module docstring)."""
    from scipy import ndimage

    if not math.isfinite(stage0_m):
        raise ValueError(f"the initial stage must be finite (m), got {stage0_m}")
    level_net = stage0_m + layout.slope * (layout.along_m - layout.gauge_along_m)
    _, (ri, ci) = ndimage.distance_transform_edt(~layout.network, return_indices=True)
    level = level_net[ri, ci]
    labels, _ = ndimage.label(z < level)
    wet_labels = np.unique(labels[layout.network])
    wet = np.isin(labels, wet_labels[wet_labels > 0])
    return np.where(wet, level - z, 0.0)
