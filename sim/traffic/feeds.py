"""Which signalised junctions feed which: the links of one signal that lead to another's lanes.

For every link of every traffic light, follow the road it leads onto
downstream through unsignalised junctions, always taking the straightest
continuation (a turn of more than ``max_turn_deg`` ends the search), until
the road reaches an incoming edge of another traffic light or runs past
``max_distance_m``. Each hit is a :class:`SignalLink`: the upstream light and
link, the downstream light and the controlled lanes of the edge reached, and
the distance and free-flow travel time between the two stop lines.

Read with sumolib from the network file; no simulation needed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from sim.traffic.layout import SignalLayout

__all__ = ["SignalLink", "signal_links"]


@dataclass(frozen=True)
class SignalLink:
    """A movement of one traffic light that leads to another's approach.

    Attributes:
        up_tls: upstream traffic light id.
        up_link: its link index.
        down_tls: downstream traffic light id.
        down_lanes: the downstream light's controlled lanes on the edge reached.
        distance_m: stop line to stop line along the road (m).
        travel_s: free-flow travel time over ``distance_m`` at the speed limits (s).
    """

    up_tls: str
    up_link: int
    down_tls: str
    down_lanes: tuple[str, ...]
    distance_m: float
    travel_s: float


def _heading(shape: list[tuple[float, float]], at_end: bool) -> float:
    (x0, y0), (x1, y1) = (shape[-2], shape[-1]) if at_end else (shape[0], shape[1])
    return math.degrees(math.atan2(y1 - y0, x1 - x0))


def _turn(a: float, b: float) -> float:
    return abs((b - a + 180.0) % 360.0 - 180.0)


def signal_links(
    net_file: Path,
    layouts: Mapping[str, SignalLayout],
    *,
    max_distance_m: float = 800.0,
    max_turn_deg: float = 45.0,
) -> list[SignalLink]:
    """All upstream-to-downstream signal links of ``layouts`` in ``net_file`` (see module doc)."""
    import sumolib  # heavy: imported on use

    net = sumolib.net.readNet(str(net_file), withInternal=False)
    approach: dict[str, tuple[str, tuple[str, ...]]] = {}  # edge -> (tls, its controlled lanes)
    for tls_id, layout in layouts.items():
        for lane in layout.lanes:
            edge = net.getLane(lane).getEdge().getID()
            tls, lanes = approach.get(edge, (tls_id, ()))
            if tls == tls_id:
                approach[edge] = (tls_id, (*lanes, lane))
    found: list[SignalLink] = []
    for tls_id, layout in layouts.items():
        peds = set(layout.pedestrian_links)
        for link, (_from_edge, to_edge) in enumerate(layout.link_edges):
            if link in peds:
                continue  # a crossing leads nowhere a vehicle goes
            edge = net.getEdge(to_edge)
            distance, travel = 0.0, 0.0
            seen: set[str] = set()
            while edge is not None and edge.getID() not in seen:
                seen.add(edge.getID())
                hit = approach.get(edge.getID())
                length = edge.getLength()
                if hit is not None and hit[0] != tls_id:
                    distance += length
                    travel += length / max(edge.getSpeed(), 1.0)
                    if distance > max_distance_m:
                        break  # too far apart to be coordinated
                    found.append(
                        SignalLink(
                            tls_id, link, hit[0], hit[1], round(distance, 1), round(travel, 2)
                        )
                    )
                    break
                if hit is not None:  # back to the same junction
                    break
                distance += length
                travel += length / max(edge.getSpeed(), 1.0)
                if distance > max_distance_m:
                    break
                node = edge.getToNode()
                if node.getType() == "traffic_light":
                    break
                heading = _heading(edge.getShape(), at_end=True)
                best, best_turn = None, max_turn_deg
                for nxt in edge.getOutgoing():
                    if nxt.getToNode() == edge.getFromNode():
                        continue  # the reverse direction
                    turn = _turn(heading, _heading(nxt.getShape(), at_end=False))
                    if turn <= best_turn:
                        best, best_turn = nxt, turn
                edge = best
    return found
