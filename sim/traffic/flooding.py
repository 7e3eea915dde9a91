"""Flood water on roads: when a road is open, slowed or closed, and at what speed.

The whole rule is one table, :data:`ROAD_FLOOD_THRESHOLDS`, applied by
:func:`flood_state` to the depth of standing water on a road (m):

==================  ========  ==============================================
depth d (m)         state     speed limit on the flooded road
==================  ========  ==============================================
d < 0.10            OPEN      unchanged
0.10 <= d < 0.20    SLOWED    min(20 km/h, v_P(d)), at least 5 km/h
0.20 <= d < 0.30    SLOWED    5 km/h (walking pace)
d >= 0.30           CLOSED    none: no vehicle may enter
==================  ========  ==============================================

Sources and assumptions:

- ``v_P(d)`` is the depth-disruption function of Pregnolato, Ford, Wilkinson
  and Dawson (2017), "The impact of flooding on road transport: a
  depth-disruption function", Transportation Research Part D 55, 67-81,
  doi:10.1016/j.trd.2017.06.020: the highest speed at which a car keeps
  control in standing water of depth ``w`` mm is
  ``0.0009 w^2 - 0.5529 w + 86.9448`` km/h (87 km/h dry, 41 km/h at
  100 mm, 12 km/h at 200 mm, 2 km/h at 300 mm), and 300 mm is where a road
  stops being passable. That is the CLOSED threshold here.
- Below 0.10 m the curve allows more than 40 km/h, above the urban limits of
  most Đông Hà streets, so the road stays OPEN.
- Motorbikes dominate Đông Hà traffic and set the pace of a flooded street.
  Assumed: from 0.10 m riders slow to a wading pace of at most 20 km/h to keep
  the bow wave out of the exhaust and air intake; the exhaust outlet of the
  common step-through and scooter models sits at about 0.15-0.20 m, and riders
  are told not to ride in water above it (Vietnamese road-safety advice, e.g.
  Báo Nghệ An, "How to drive a motorbike on flooded urban roads"), so from
  ``motorbike_stall_m`` = 0.20 m motorbikes stall and are pushed at walking
  pace, 5 km/h, which then limits the whole road (one speed limit per SUMO
  edge, shared by all vehicle classes). Cars in the last centimetres before
  0.30 m crawl at 2-5 km/h in Pregnolato's data, so 5 km/h is also their floor.

The numbers are deliberately data (a frozen :class:`RoadFloodThresholds`):
a scenario may pass its own table to :func:`flood_state`.

:class:`FloodedRoads` applies such states to a running SUMO (the traffic plant
owns one; see ``TrafficPlant.set_edge_flood``). It works the same in SUMO's
micro and meso models because it changes no lane permissions: SUMO stops
with "has no valid route" when a vehicle is inserted with a route over an
edge whose permissions were withdrawn at run time (SUMO user docs,
Simulation/Rerouter, "Closing a Street"; eclipse-sumo/sumo issue #14203), and
the twin's demand is routed in advance by duarouter.

- SLOWED lowers the max speed of the edge's lanes to min(original, limit).
  Drivers keep SUMO's speed factor (default mean 1, deviation 0.1), so some
  drive a little above it, as on a dry road; routers see the slower edge.
- CLOSED gives the edge a routing travel time of ``CLOSED_EDGE_TRAVEL_TIME_S``
  (``edge.adaptTraveltime``), then, once per plant step, every vehicle whose
  remaining route enters a closed edge is rerouted (one pass over the running
  vehicles after a change, and each newly departed vehicle while any edge is
  closed). A vehicle already on a closed edge, or on the junction leading into
  it, may leave it.
- How a vehicle is rerouted depends on the model. Micro: with
  ``vehicle.rerouteTraveltime``. Meso: the plant asks the same router for a
  route from where the vehicle is (``simulation.findRoute`` from its current
  edge, or from the edge after the junction it is crossing, to its destination)
  and sets it with ``vehicle.setRoute``. ``vehicle.rerouteTraveltime`` must not
  be used on a running meso vehicle (SUMO 1.28): TraCI takes a vehicle without
  a lane for one not yet inserted, and a meso vehicle never has a lane, so SUMO
  replans the whole trip from the departure edge and moves the route position
  back to it while the vehicle stays in its segment queue on another edge. The
  vehicle then jumps back towards its origin at its next move, and when its
  departure edge has no lane with the number of the queue it waits in (a
  two-lane edge has queues 0 and 1), SUMO looks up a lane that is not there and
  dies with a segmentation fault in ``simulationStep`` or ``vehicle.getSpeed``
  (the crash of a coupled flood run over Đông Hà; regression test in
  ``tests/sim/test_traffic_flooding.py``). ``vehicle.setRoute`` has the same
  "not yet inserted" reading, which is harmless when the new route begins at
  the vehicle's current edge. In meso a vehicle with stops still ahead keeps
  its route (``setRoute`` would rebuild its stops from scratch) and is
  stranded if that route enters a closed edge.
- A vehicle for which no route avoids the closures is *stranded*: it keeps the
  route the router returned (through the fewest closed edges, usually its old
  one), drives to the water's edge, i.e. the end of the last open edge before
  the first closed edge ahead, and is removed there (SUMO writes it as
  vaporized in the tripinfo output: an abandoned trip, which
  ``sim.traffic.kpis.trip_kpis`` counts as unfinished). If the closure is lifted
  or a detour opens before it gets there, it drives on. A vehicle SUMO is
  teleporting (jam resolution) is not on any road and is left alone until it
  reappears: then it is removed if it has reached or passed the water.
- OPEN restores the lane speeds and the edge's routing travel time (its free
  flow time, length / speed limit). Vehicles already detoured keep their detour.

Not covered: pedestrians walk on through water; a vehicle with a stop on a
closed edge (a bus line) cannot route around it and is stranded; SUMO's own
periodic rerouting device, if a scenario enables it, does not see closures.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

__all__ = [
    "CLOSED_EDGE_TRAVEL_TIME_S",
    "ROAD_FLOOD_THRESHOLDS",
    "FloodSeriesRow",
    "FloodedRoads",
    "RoadFloodState",
    "RoadFloodThresholds",
    "flood_state",
    "pregnolato_speed_kmh",
]

_KMH = 1.0 / 3.6  # m/s per km/h
CLOSED_EDGE_TRAVEL_TIME_S = 1.0e6
"""Routing travel time (s) of a closed edge: any detour shorter than 11 days wins."""
_WATER_MARGIN_M = 5.0  # a stranded vehicle this close (plus one step's travel) to the water leaves


class RoadFloodState(Enum):
    """What flood water does to a road: nothing, a lower speed limit, or closure."""

    OPEN = "open"
    SLOWED = "slowed"
    CLOSED = "closed"


@dataclass(frozen=True)
class RoadFloodThresholds:
    """Depth thresholds (m) and flooded-road speeds (km/h); see the module docstring.

    Attributes:
        slowed_from_m: depth (m) from which a road is SLOWED (> 0).
        motorbike_stall_m: depth (m) from which motorbikes stall and are pushed,
            so the road runs at ``walking_speed_kmh`` (>= ``slowed_from_m``).
        closed_from_m: depth (m) from which a road is CLOSED (> ``motorbike_stall_m``).
        wading_speed_kmh: highest speed (km/h) on a SLOWED road.
        walking_speed_kmh: lowest speed (km/h) on a SLOWED road (> 0, <= wading).
        curve_kmh: coefficients (a, b, c) of the car speed curve
            ``a w^2 + b w + c`` (km/h, w = depth in mm), Pregnolato et al. 2017.
        sources: references for the numbers, for reports.
    """

    slowed_from_m: float = 0.10
    motorbike_stall_m: float = 0.20
    closed_from_m: float = 0.30
    wading_speed_kmh: float = 20.0
    walking_speed_kmh: float = 5.0
    curve_kmh: tuple[float, float, float] = (0.0009, -0.5529, 86.9448)
    sources: tuple[str, ...] = (
        "Pregnolato M., Ford A., Wilkinson S.M., Dawson R.J. (2017). The impact of flooding "
        "on road transport: a depth-disruption function. Transportation Research Part D 55, "
        "67-81. doi:10.1016/j.trd.2017.06.020 (speed vs depth; 300 mm impassable)",
        "Motorbike assumption: exhaust outlet at about 0.15-0.20 m on step-through and "
        "scooter models; riders advised not to ride in water above it (Vietnamese "
        "road-safety advice), so above 0.20 m motorbikes are pushed at walking pace",
    )

    def __post_init__(self) -> None:
        if not 0 < self.slowed_from_m <= self.motorbike_stall_m < self.closed_from_m:
            raise ValueError(
                "flood thresholds must satisfy 0 < slowed_from_m <= motorbike_stall_m < "
                f"closed_from_m, got {self.slowed_from_m}, {self.motorbike_stall_m}, "
                f"{self.closed_from_m} m"
            )
        if not 0 < self.walking_speed_kmh <= self.wading_speed_kmh:
            raise ValueError(
                "flooded-road speeds must satisfy 0 < walking_speed_kmh <= wading_speed_kmh, "
                f"got {self.walking_speed_kmh} and {self.wading_speed_kmh} km/h"
            )


ROAD_FLOOD_THRESHOLDS = RoadFloodThresholds()
"""The twin's flooded-road rule (see the module docstring for the table and sources)."""


def pregnolato_speed_kmh(
    depth_m: float, thresholds: RoadFloodThresholds = ROAD_FLOOD_THRESHOLDS
) -> float:
    """Highest safe car speed (km/h, >= 0) in standing water ``depth_m`` (m) deep.

    The quadratic of Pregnolato et al. (2017); 0 from its minimum on (about 0.31 m).
    """
    w = 1000.0 * _checked_depth(depth_m)
    a, b, c = thresholds.curve_kmh
    if a > 0 and w >= -b / (2 * a):  # past the parabola's vertex the fit means nothing
        return 0.0
    return max(0.0, a * w * w + b * w + c)


def flood_state(
    depth_m: float, thresholds: RoadFloodThresholds = ROAD_FLOOD_THRESHOLDS
) -> tuple[RoadFloodState, float | None]:
    """State of a road under ``depth_m`` (m, finite, >= 0) of water, and its speed limit.

    Returns ``(state, speed_limit_m_s)``: the limit (m/s) is set only for SLOWED
    (between ``walking_speed_kmh`` and ``wading_speed_kmh``), None for OPEN
    (keep the road's own limit) and CLOSED. Raises ValueError for NaN, infinite
    or negative depths.
    """
    depth = _checked_depth(depth_m)
    t = thresholds
    if depth < t.slowed_from_m:
        return RoadFloodState.OPEN, None
    if depth >= t.closed_from_m:
        return RoadFloodState.CLOSED, None
    if depth >= t.motorbike_stall_m:
        return RoadFloodState.SLOWED, t.walking_speed_kmh * _KMH
    speed = min(t.wading_speed_kmh, max(t.walking_speed_kmh, pregnolato_speed_kmh(depth, t)))
    return RoadFloodState.SLOWED, speed * _KMH


def _checked_depth(depth_m: float) -> float:
    """``depth_m`` as a float, or ValueError with a hint if it is not a real depth."""
    depth = float(depth_m)
    if math.isnan(depth) or math.isinf(depth):
        raise ValueError(
            f"flood depth must be a finite number of metres, got {depth_m!r}: "
            "a dry or unknown cell should be passed as 0.0 or skipped, not NaN"
        )
    if depth < 0:
        raise ValueError(
            f"flood depth must be >= 0 m, got {depth_m!r}: pass water depth above the road "
            "surface (water level minus road elevation, clipped at 0), not a level"
        )
    return depth


_STAT_KEYS = (
    "edges_closed",
    "edges_slowed",
    "km_closed",
    "km_slowed",
    "vehicles_rerouted",
    "vehicles_stranded",
    "vehicles_stranded_driving",
    "vehicles_removed_at_water",
    "reroute_calls",
)
FloodSeriesRow = tuple[float, float, float, int, int]
"""(t s, km closed, km slowed, vehicles rerouted so far, vehicles stranded so far)."""


class FloodedRoads:
    """Flood states of road edges applied to a running SUMO (see the module docstring).

    Args:
        api: the ``libsumo`` or ``traci`` module, connected to a running simulation.
        step_s: the plant's step (s): how far a vehicle may drive between two checks.
        meso: SUMO runs its mesoscopic model (``--mesosim``): vehicles are rerouted
            with ``findRoute`` + ``setRoute`` instead of ``rerouteTraveltime``.
    """

    def __init__(self, api: Any, step_s: float, *, meso: bool = False) -> None:
        self._api = api
        self._step_s = float(step_s)
        self._meso = bool(meso)
        self._edge_ids: frozenset[str] | None = None  # normal (non-internal) edges, lazily
        self._lanes: dict[str, tuple[tuple[str, float], ...]] = {}  # edge -> (lane, orig m/s)
        self._length_m: dict[str, float] = {}
        self._state: dict[str, tuple[RoadFloodState, float | None]] = {}  # edges not OPEN
        self._weighted: set[str] = set()  # edges whose routing travel time we set
        self._closed: set[str] = set()
        self._closures_added = False  # since the last pass: every running vehicle is checked
        self._closures_lifted = False  # since the last pass: the stranded ones are checked
        self._km: tuple[float, float] | None = None  # (closed, slowed), None = recompute
        self._rerouted: set[str] = set()
        self._stranded: set[str] = set()
        self._waiting: dict[str, int] = {}  # stranded vehicle -> route index of its water
        self._removed = 0
        self._reroute_calls = 0
        self.series: list[FloodSeriesRow] = []

    # -- setting states ------------------------------------------------------
    def set_edge(
        self, edge_id: str, state: RoadFloodState, speed_limit_m_s: float | None, t: float
    ) -> None:
        """Put ``edge_id`` in ``state`` at plant time ``t`` (s); idempotent.

        ``speed_limit_m_s`` (m/s, > 0): required for SLOWED, optional for CLOSED
        (the speed of vehicles still leaving the edge), must be None for OPEN.
        Vehicles are rerouted at the next :meth:`before_step`.
        """
        limit = self._checked(edge_id, state, speed_limit_m_s)
        old = self._state.get(edge_id, (RoadFloodState.OPEN, None))
        if old == (state, limit):
            return
        self._apply_speed(edge_id, limit)
        if state is RoadFloodState.CLOSED:
            self._api.edge.adaptTraveltime(edge_id, CLOSED_EDGE_TRAVEL_TIME_S)
            self._weighted.add(edge_id)
            if edge_id not in self._closed:
                self._closed.add(edge_id)
                self._closures_added = True
        else:
            if edge_id in self._weighted:  # back to its free-flow time at the new limit
                lane, _speed = self._lanes[edge_id][0]
                free_flow_s = self._length_m[edge_id] / self._api.lane.getMaxSpeed(lane)
                self._api.edge.adaptTraveltime(edge_id, free_flow_s)
            if edge_id in self._closed:
                self._closed.discard(edge_id)
                self._closures_lifted = True
        if state is RoadFloodState.OPEN:
            del self._state[edge_id]
        else:
            self._state[edge_id] = (state, limit)
        self._km = None
        self._record(t)

    def _checked(
        self, edge_id: str, state: RoadFloodState, speed_limit_m_s: float | None
    ) -> float | None:
        """Validate a request; the limit as a float (or None), errors name the edge."""
        if not isinstance(state, RoadFloodState):
            raise TypeError(f"edge {edge_id!r}: state must be a RoadFloodState, not {state!r}")
        if self._edge_ids is None:
            self._edge_ids = frozenset(
                e for e in self._api.edge.getIDList() if not e.startswith(":")
            )
        if edge_id not in self._edge_ids:
            hint = (
                "it is an internal junction edge: flood the normal edges around the junction"
                if edge_id.startswith(":")
                else "use SUMO edge ids of this network, e.g. from "
                "sim.traffic.edge_geometry.edge_sample_points"
            )
            raise ValueError(f"unknown edge {edge_id!r} in set_edge_flood: {hint}")
        if speed_limit_m_s is None:
            if state is RoadFloodState.SLOWED:
                raise ValueError(
                    f"edge {edge_id!r}: SLOWED needs a speed limit (m/s), e.g. the one "
                    "flood_state(depth) returns"
                )
            return None
        if state is RoadFloodState.OPEN:
            raise ValueError(
                f"edge {edge_id!r}: OPEN takes no speed limit (got {speed_limit_m_s!r}); "
                "OPEN restores the road's own limit"
            )
        limit = float(speed_limit_m_s)
        if not 0 < limit < math.inf:
            raise ValueError(
                f"edge {edge_id!r}: speed limit must be a finite number of m/s > 0, "
                f"got {speed_limit_m_s!r}"
            )
        return limit

    def _apply_speed(self, edge_id: str, limit: float | None) -> None:
        """Lane max speeds of ``edge_id``: min(original, limit), or the originals."""
        lane_api = self._api.lane
        lanes = self._lanes.get(edge_id)
        if lanes is None:
            n = self._api.edge.getLaneNumber(edge_id)
            lanes = tuple(
                (lane, lane_api.getMaxSpeed(lane)) for lane in (f"{edge_id}_{i}" for i in range(n))
            )
            self._lanes[edge_id] = lanes
            self._length_m[edge_id] = lane_api.getLength(lanes[0][0])
        for lane, original in lanes:
            target = original if limit is None else min(original, limit)
            if lane_api.getMaxSpeed(lane) != target:
                lane_api.setMaxSpeed(lane, target)

    # -- each step -------------------------------------------------------------
    def before_step(self, t: float) -> None:
        """Reroute after changes: one pass over the vehicles that a change may concern."""
        if self._closures_added:
            vehicles = list(self._api.vehicle.getIDList())
        elif self._closures_lifted:
            running = set(self._api.vehicle.getIDList())
            vehicles = [vid for vid in self._waiting if vid in running]
        else:
            return
        self._closures_added = self._closures_lifted = False
        for vid in vehicles:
            self._route_around(vid)
        if self._waiting:
            self._leave_at_water()
        self._record(t)

    def after_step(self, t: float) -> None:
        """Reroute vehicles that departed in the step; stranded ones leave at the water."""
        api = self._api
        if self._closed:
            departed = api.simulation.getDepartedIDList()
            if departed:
                running = set(api.vehicle.getIDList())  # not those gone again in the step
                for vid in departed:
                    if vid in running:
                        self._route_around(vid)
        if self._waiting:
            for vid in api.simulation.getArrivedIDList():
                self._waiting.pop(vid, None)
            self._leave_at_water()
        self._record(t)

    def _route_around(self, vid: str) -> None:
        """Reroute ``vid`` if its route enters a closed edge; strand it if it cannot avoid one."""
        veh = self._api.vehicle
        route, index = veh.getRoute(vid), veh.getRouteIndex(vid)
        water = self._water_index(vid, route, index)
        if water is None:
            self._waiting.pop(vid, None)
            return
        self._reroute_calls += 1
        if self._meso:
            self._reroute_meso(vid, route, index)
        else:
            veh.rerouteTraveltime(vid)
        water = self._water_index(vid, veh.getRoute(vid), veh.getRouteIndex(vid))
        if water is None:
            self._rerouted.add(vid)
            self._waiting.pop(vid, None)
        else:
            self._stranded.add(vid)
            self._waiting[vid] = water

    def _reroute_meso(self, vid: str, route: tuple[str, ...], index: int) -> None:
        """Meso: give ``vid`` the router's route from where it is, if that is a new one.

        Not ``vehicle.rerouteTraveltime``, which replans a running meso vehicle
        from its departure edge and crashes SUMO (see the module docstring). The
        new route starts at the vehicle's current edge (route position 0 of the
        new route, where the vehicle is), plus the next edge if the vehicle is
        already crossing the junction into it. ``findRoute`` uses the same
        travel times as ``rerouteTraveltime``, closures included; a vehicle for
        which it finds no route at all, or one with stops ahead, keeps its route.
        """
        api = self._api
        veh = api.vehicle
        if veh.getStops(vid):
            return
        here = max(index, 0)
        start = here + 1 if here + 1 < len(route) and self._on_junction(vid) else here
        found = api.simulation.findRoute(route[start], route[-1], veh.getTypeID(vid)).edges
        if not found or found[0] != route[start]:
            return
        new = [*route[here:start], *found]
        if new != list(route[here:]):
            veh.setRoute(vid, new)

    def _on_junction(self, vid: str) -> bool:
        """Is ``vid`` crossing a junction (micro: internal lane, meso: internal segment)?"""
        veh = self._api.vehicle
        if self._meso:  # a meso vehicle's road is the edge before the junction it is on
            return str(veh.getSegmentID(vid)).startswith(":")
        return str(veh.getRoadID(vid)).startswith(":")

    def _water_index(self, vid: str, route: tuple[str, ...], index: int) -> int | None:
        """Route index of the first closed edge ``vid`` has yet to enter, or None."""
        closed = self._closed
        first = max(index, 0) + 1
        # on the junction into the next edge: committed, it may drive on
        if first < len(route) and route[first] in closed and self._on_junction(vid):
            first += 1
        for j in range(first, len(route)):
            if route[j] in closed:
                return j
        return None

    def _leave_at_water(self) -> None:
        """Remove stranded vehicles that reached the end of their last open edge.

        Only vehicles on a road: one SUMO is teleporting is not in
        ``vehicle.getIDList`` (meso TraCI does not even know its id until it
        reappears) and waits.
        """
        veh = self._api.vehicle
        running = set(veh.getIDList())
        for vid, water in list(self._waiting.items()):
            if vid not in running:
                continue
            index = veh.getRouteIndex(vid)
            if index < water - 1:
                continue
            if index == water - 1 and not self._on_junction(vid):
                last_open = veh.getRoute(vid)[index]
                to_go = self._edge_length_m(last_open) - veh.getLanePosition(vid)
                if to_go > veh.getSpeed(vid) * self._step_s * 1.5 + _WATER_MARGIN_M:
                    continue
            veh.remove(vid, self._api.constants.REMOVE_VAPORIZED)
            del self._waiting[vid]
            self._removed += 1

    def _edge_length_m(self, edge_id: str) -> float:
        length = self._length_m.get(edge_id)
        if length is None:
            length = self._length_m[edge_id] = self._api.lane.getLength(f"{edge_id}_0")
        return length

    # -- reporting ---------------------------------------------------------------
    def stats(self) -> dict[str, float | int]:
        """Current closures and slowdowns, and the rerouting counters (see ``TrafficPlant``)."""
        km_closed, km_slowed = self._km_now()
        return {
            "edges_closed": len(self._closed),
            "edges_slowed": sum(s is RoadFloodState.SLOWED for s, _ in self._state.values()),
            "km_closed": km_closed,
            "km_slowed": km_slowed,
            "vehicles_rerouted": len(self._rerouted),
            "vehicles_stranded": len(self._stranded),
            "vehicles_stranded_driving": len(self._waiting),
            "vehicles_removed_at_water": self._removed,
            "reroute_calls": self._reroute_calls,
        }

    @staticmethod
    def no_stats() -> dict[str, float | int]:
        """:meth:`stats` of a plant where no road was ever flooded."""
        return {key: 0.0 if key.startswith("km_") else 0 for key in _STAT_KEYS}

    def _km_now(self) -> tuple[float, float]:
        """(km closed, km slowed), summed in sorted edge order (reproducible floats)."""
        if self._km is None:
            closed = sum(self._length_m[e] for e in sorted(self._closed)) / 1000.0
            slowed = (
                sum(
                    self._length_m[e]
                    for e, (s, _) in sorted(self._state.items())
                    if s is RoadFloodState.SLOWED
                )
                / 1000.0
            )
            self._km = (closed, slowed)
        return self._km

    def _record(self, t: float) -> None:
        """Append a series row if anything changed; one row per time (the last one wins)."""
        km_closed, km_slowed = self._km_now()
        row = (t, km_closed, km_slowed, len(self._rerouted), len(self._stranded))
        series = self.series
        if series and series[-1][1:] == row[1:]:
            return
        if series and series[-1][0] == t:
            series[-1] = row
        else:
            series.append(row)
