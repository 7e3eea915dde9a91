"""Which parts of a road the flood coupling watches.

A real :class:`~sim.hydro.solver.FloodSolver` on a tiny DEM stands in for the flood
plant's grid (the coupling reads only ``solver``, ``config.channel_below_m``,
``cells_of_xy`` and ``depth_at``); no traffic calls happen while the coupling is built.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np

from sim.hydro.solver import FloodSolver
from sim.traffic.edge_geometry import EdgeSamples
from twin.flood_coupling import FloodTrafficCoupling

CELL_M = 10.0


def _plant(z: np.ndarray, h0: np.ndarray) -> Any:
    solver = FloodSolver(z, CELL_M, 0.05, initial_depth_m=h0, backend="numpy")

    def cells_of_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        col = np.floor(x / CELL_M).astype(np.intp)
        row = np.floor(y / CELL_M).astype(np.intp)
        out = (col < 0) | (row < 0) | (col >= z.shape[1]) | (row >= z.shape[0])
        return np.where(out, -1, row), np.where(out, -1, col)

    return SimpleNamespace(
        solver=solver,
        config=SimpleNamespace(channel_below_m=0.0),
        cells_of_xy=cells_of_xy,
        depth_at=lambda r, c: solver.h[r, c],
    )


def _edge(edge_id: str, xs: list[float], y: float) -> EdgeSamples:
    x = np.asarray(xs, dtype=np.float64)
    n = x.size
    return EdgeSamples(
        edge_id=edge_id,
        length_m=float(x[-1] - x[0]) or 1.0,
        positions_m=x - x[0],
        lon=np.zeros(n),
        lat=np.zeros(n),
        x_utm=x,
        y_utm=np.full(n, y),
    )


def test_roads_ignore_the_channel_and_water_present_at_the_start() -> None:
    """Row 0: a channel (z < 0); row 1: a riverside strip at 1 m, wet at the start; rows
    2-3 land at 3 m with a flooded pond. A road over the channel is a bridge; a road whose
    first sample sits in the river's starting water is watched only where it is dry; a
    road in water away from the river is watched (the run may start mid-flood); a road
    partly off the grid is watched on the grid."""
    z = np.full((4, 6), 3.0)
    z[0, :] = -2.0
    z[1, :] = 1.0
    z[3, 5] = 1.0  # a pond away from the river, already flooded: its road is watched
    h0 = np.where(z < 2.0, 2.0 - z, 0.0)  # the river at rest at a 2 m stage
    plant = _plant(z, h0)
    edges = {
        "bridge": _edge("bridge", [5.0, 25.0, 45.0], 5.0),
        "bank_road": _edge("bank_road", [5.0], 15.0),
        "to_the_river": _edge("to_the_river", [5.0, 15.0], 15.0),
        "inland": _edge("inland", [5.0, 15.0, 25.0], 25.0),
        "beyond": _edge("beyond", [500.0, 600.0], 25.0),
        "pond": _edge("pond", [55.0], 35.0),
    }
    edges["to_the_river"] = EdgeSamples(
        edge_id="to_the_river",
        length_m=20.0,
        positions_m=np.array([0.0, 20.0]),
        lon=np.zeros(2),
        lat=np.zeros(2),
        x_utm=np.array([5.0, 5.0]),
        y_utm=np.array([15.0, 35.0]),
    )
    coupling = FloodTrafficCoupling(plant, SimpleNamespace(), edges, period_s=60.0)
    assert sorted(coupling.bridges) == ["bank_road", "bridge"]
    assert coupling.outside == ["beyond"]
    assert sorted(coupling.records) == ["inland", "pond", "to_the_river"]
    # the riverside sample of "to_the_river" is not watched: only its dry end is
    watched = dict(zip(coupling._ids, np.split(coupling._rows, coupling._starts[1:]), strict=True))
    assert watched["to_the_river"].tolist() == [3]
    assert watched["inland"].tolist() == [2, 2, 2]
