"""Flood water on the roads: the coupling from the flood plant to the traffic plant.

Every ``period_s`` the coupling reads the simulated depth under each road
edge (the deepest of the cells under its sample points, 20 m apart along the
edge; points over the river channel are bridge decks and are skipped) and
applies the road state of :data:`sim.traffic.flooding.ROAD_FLOOD_THRESHOLDS`
(open / slowed / closed, with their source) to the edge in SUMO, where
vehicles reroute around closures. A state rises at once; it falls only when
the depth is ``reopen_band_m`` below the threshold that raised it, so an edge
does not flap open and shut with centimetre ripples (crews reopen a road
after the water has clearly gone).

It records what engineers and planners ask after a flood: which roads
closed and when, kilometres closed and slowed over time, and (from the
traffic plant) vehicles rerouted or stranded.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.traffic.flooding import RoadFloodState, flood_state

if TYPE_CHECKING:
    from sim.hydro.plant import FloodPlant
    from sim.traffic.edge_geometry import EdgeSamples
    from sim.traffic.plant import TrafficPlant
    from twin.eventlog import EventLog
    from twin.kernel import Kernel

#: a road sample on a bank cell holding this much water (m) when the coupling is built
#: is under the river at its starting stage: a bridge abutment or a riverside cell
_START_WET_M = 0.05


def _next_to(mask: np.ndarray) -> np.ndarray:
    """Cells of ``mask`` and their 8 neighbours."""
    out = mask.copy()
    ny, nx = mask.shape
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            src = mask[max(0, -dr) : ny - max(0, dr), max(0, -dc) : nx - max(0, dc)]
            out[max(0, dr) : ny - max(0, -dr), max(0, dc) : nx - max(0, -dc)] |= src
    return out


__all__ = ["EdgeFloodRecord", "FloodTrafficCoupling"]

_SEVERITY = {RoadFloodState.OPEN: 0, RoadFloodState.SLOWED: 1, RoadFloodState.CLOSED: 2}


@dataclass
class EdgeFloodRecord:
    """What happened to one edge: first times (s, run clock) and its deepest water (m)."""

    edge: str
    length_km: float
    first_slowed_s: float | None = None
    first_closed_s: float | None = None
    reopened_s: float | None = None
    max_depth_m: float = 0.0
    x_m: float = 0.0  # edge midpoint, UTM 48N
    y_m: float = 0.0


@dataclass
class _Series:
    t_s: list[float] = field(default_factory=list)
    km_closed: list[float] = field(default_factory=list)
    km_slowed: list[float] = field(default_factory=list)
    edges_closed: list[int] = field(default_factory=list)


class FloodTrafficCoupling:
    """Flood depth slows and closes SUMO edges (see the module docstring).

    Args:
        flood: the flood plant (reads depths at cells).
        traffic: the traffic plant (applies edge states, counts reroutes).
        edges: sample points per edge (UTM 48N) from
            :func:`sim.traffic.edge_geometry.edge_sample_points`.
        period_s: how often (s) depths are read and states applied.
        reopen_band_m: depth (m) below a threshold before its state is lifted.
        log: event log for ``road_closed`` / ``road_slowed`` / ``road_reopened``.
    """

    name = "flood->traffic"

    def __init__(
        self,
        flood: FloodPlant,
        traffic: TrafficPlant,
        edges: Mapping[str, EdgeSamples],
        *,
        period_s: float = 60.0,
        reopen_band_m: float = 0.05,
        log: EventLog | None = None,
    ) -> None:
        if not period_s > 0:
            raise ValueError(f"coupling period_s must be > 0 s, got {period_s}")
        if not 0 <= reopen_band_m < 0.1:
            raise ValueError(f"reopen_band_m must be within 0..0.1 m, got {reopen_band_m}")
        self.flood = flood
        self.traffic = traffic
        self.period_s = float(period_s)
        self.reopen_band_m = float(reopen_band_m)
        self.log = log
        ids: list[str] = []
        rows: list[np.ndarray] = []
        cols: list[np.ndarray] = []
        self.records: dict[str, EdgeFloodRecord] = {}
        self.outside: list[str] = []  # edges with no sample on the flood grid
        self.bridges: list[str] = []  # edges entirely over the river (channel or start water)
        channel_below_m = float(getattr(flood.config, "channel_below_m", 0.0))
        bank = _next_to(flood.solver.z < channel_below_m)
        for edge_id in sorted(edges):
            sample = edges[edge_id]
            with warnings.catch_warnings():  # roads beyond the DEM are expected: counted below
                warnings.simplefilter("ignore", UserWarning)
                r, c = flood.cells_of_xy(np.asarray(sample.x_utm), np.asarray(sample.y_utm))
            inside = (r >= 0) & (c >= 0)
            if not inside.any():
                self.outside.append(edge_id)
                continue
            # a bridge deck is above the river: water in the channel under a road does
            # not flood it, so samples over channel cells are skipped; so are samples on
            # a bank cell (next to the channel) already under the river at the start: a
            # bridge abutment or a riverside cell a coarse grid shares with a road's end
            over_land = np.zeros_like(inside)
            ri, ci = r[inside], c[inside]
            over_land[inside] = (flood.solver.z[ri, ci] >= channel_below_m) & ~(
                bank[ri, ci] & (flood.solver.h[ri, ci] >= _START_WET_M)
            )
            if not over_land.any():
                self.bridges.append(edge_id)
                continue
            inside = over_land
            ids.append(edge_id)
            rows.append(r[inside])
            cols.append(c[inside])
            self.records[edge_id] = EdgeFloodRecord(
                edge_id,
                sample.length_m / 1000.0,
                x_m=float(np.mean(sample.x_utm)),
                y_m=float(np.mean(sample.y_utm)),
            )
        self._ids = ids
        self._rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.intp)
        self._cols = np.concatenate(cols) if cols else np.zeros(0, dtype=np.intp)
        counts = np.array([r.size for r in rows], dtype=np.intp)
        self._starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
        self._state: dict[str, RoadFloodState] = dict.fromkeys(ids, RoadFloodState.OPEN)
        self._limit: dict[str, float | None] = dict.fromkeys(ids)
        self.series = _Series()

    @property
    def coupled_edges(self) -> int:
        """Edges with at least one sample on the flood grid."""
        return len(self._ids)

    def edge_depths(self) -> dict[str, float]:
        """The deepest water (m) under each coupled edge now."""
        if not self._ids:
            return {}
        depth = self.flood.depth_at(self._rows, self._cols)
        per_edge = np.maximum.reduceat(depth, self._starts)
        return dict(zip(self._ids, per_edge.tolist(), strict=True))

    def _target(self, edge: str, depth: float) -> tuple[RoadFloodState, float | None]:
        state, limit = flood_state(depth)
        current = self._state[edge]
        if _SEVERITY[state] >= _SEVERITY[current]:
            return state, limit
        # falling: only as far as the depth plus the band allows
        lower, lower_limit = flood_state(depth + self.reopen_band_m)
        if _SEVERITY[lower] < _SEVERITY[current]:
            return lower, lower_limit
        return current, self._limit[edge]

    def step(self, now: float, kernel: Kernel | None = None) -> None:
        """Read depths, apply changed edge states, append to the series."""
        for edge, depth in self.edge_depths().items():
            record = self.records[edge]
            record.max_depth_m = max(record.max_depth_m, depth)
            state, limit = self._target(edge, depth)
            old = self._state[edge]
            if state is old and (state is not RoadFloodState.SLOWED or limit == self._limit[edge]):
                continue
            self.traffic.set_edge_flood(edge, state, limit)
            self._state[edge], self._limit[edge] = state, limit
            if state is RoadFloodState.CLOSED and record.first_closed_s is None:
                record.first_closed_s = now
            if state is RoadFloodState.SLOWED and record.first_slowed_s is None:
                record.first_slowed_s = now
            if state is RoadFloodState.OPEN:
                record.reopened_s = now
            if self.log is not None and state is not old:
                self.log.emit(
                    now,
                    f"road_{'reopened' if state is RoadFloodState.OPEN else state.value}",
                    edge=edge,
                    depth_m=round(depth, 3),
                )
        closed = [e for e, s in self._state.items() if s is RoadFloodState.CLOSED]
        slowed = [e for e, s in self._state.items() if s is RoadFloodState.SLOWED]
        self.series.t_s.append(now)
        self.series.km_closed.append(sum(self.records[e].length_km for e in closed))
        self.series.km_slowed.append(sum(self.records[e].length_km for e in slowed))
        self.series.edges_closed.append(len(closed))

    def kpis(self) -> dict[str, Any]:
        """Closures summary: km closed/slowed (max and km·h), edges closed, first closures."""
        s = self.series
        hours = self.period_s / 3600.0
        closed = [r for r in self.records.values() if r.first_closed_s is not None]
        closed.sort(key=lambda r: (r.first_closed_s, r.edge))
        return {
            "coupled_edges": self.coupled_edges,
            "edges_outside_flood_grid": len(self.outside),
            "bridges_over_channel": len(self.bridges),
            "max_km_closed": round(max(s.km_closed, default=0.0), 3),
            "max_km_slowed": round(max(s.km_slowed, default=0.0), 3),
            "km_hours_closed": round(sum(s.km_closed) * hours, 2),
            "edges_ever_closed": len(closed),
            "edges_ever_slowed": sum(1 for r in self.records.values() if r.first_slowed_s),
            "first_closures": [
                {"edge": r.edge, "t_s": r.first_closed_s, "max_depth_m": round(r.max_depth_m, 3)}
                for r in closed[:20]
            ],
        }
