"""Signal layout read from a SUMO network: phases, links and lanes of each traffic light.

The twin derives everything a signal controller needs from the network's own
traffic-light logic and connections, so any SUMO network works, not only
Đông Hà's. Read with sumolib (no running simulation needed).

Pedestrian crossings: a signalised crossing is a link from a walking area to
a crossing (both internal edges). Its "lane" here is the crossing's lane
(e.g. ``:J_c0_0``) and its index is listed in ``pedestrian_links``; it has no
vehicle detector. Vehicle-only code uses :attr:`SignalLayout.lanes`, which
leaves crossings out; :attr:`SignalLayout.crossings` lists them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SignalLayout", "point_segment", "read_signal_layouts"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_.#:\-]")


def point_segment(sumo_id: str) -> str:
    """A SUMO id made safe as one segment of a point name (other characters become '_')."""
    return _UNSAFE.sub("_", sumo_id)


@dataclass(frozen=True)
class SignalLayout:
    """One traffic light as the network defines it.

    Attributes:
        tls_id: SUMO traffic-light id.
        phase_states: state strings of the network's reference program, in order.
        phase_durations_s: their durations (s).
        link_lanes: incoming lane id of each link index (signal index 0..n-1).
        link_edges: (from edge id, to edge id) of each link index.
        lane_lengths_m: length (m) of each controlled incoming lane.
        lane_speeds_mps: speed limit (m/s) of each controlled incoming lane.
        pedestrian_links: link indices that are pedestrian crossings.
    """

    tls_id: str
    phase_states: tuple[str, ...]
    phase_durations_s: tuple[float, ...]
    link_lanes: tuple[str, ...]
    link_edges: tuple[tuple[str, str], ...]
    lane_lengths_m: dict[str, float]
    lane_speeds_mps: dict[str, float]
    pedestrian_links: tuple[int, ...] = ()

    @property
    def n_links(self) -> int:
        """Number of signal indices."""
        return len(self.link_lanes)

    @property
    def lanes(self) -> list[str]:
        """Controlled incoming vehicle lanes, in link-index order, without repeats."""
        peds = set(self.pedestrian_links)
        return list(dict.fromkeys(x for i, x in enumerate(self.link_lanes) if i not in peds))

    @property
    def crossings(self) -> list[str]:
        """Signalised pedestrian crossings (crossing lane ids), in link-index order."""
        return list(dict.fromkeys(self.link_lanes[i] for i in sorted(self.pedestrian_links)))


def read_signal_layouts(
    net_file: Path, tls_ids: list[str] | None = None
) -> dict[str, SignalLayout]:
    """Layouts of the traffic lights in ``net_file`` (all signals, or ``tls_ids``), sorted by id.

    Raises ValueError naming the file when a requested id is not a traffic light of the net.
    """
    import sumolib  # heavy: imported on use

    net = sumolib.net.readNet(str(net_file), withPrograms=True, withInternal=False)
    found = {tls.getID(): tls for tls in net.getTrafficLights()}
    if tls_ids is None:  # every signal: rail crossings (no signal program) are not signals
        wanted = sorted(t for t, tls in found.items() if tls.getPrograms())
    else:
        wanted = list(tls_ids)
    missing = [t for t in wanted if t not in found]
    if missing:
        raise ValueError(
            f"{net_file}: no traffic light with id {', '.join(missing)}; "
            f"the network has {len(found)} (e.g. {', '.join(sorted(found)[:5])})"
        )
    crossings = _crossing_links(net_file, set(wanted))
    layouts: dict[str, SignalLayout] = {}
    for tls_id in sorted(wanted):
        tls = found[tls_id]
        links: dict[int, tuple[str, str, str]] = {}
        lengths: dict[str, float] = {}
        speeds: dict[str, float] = {}
        for in_lane, out_lane, index in tls.getConnections():
            links[index] = (in_lane.getID(), in_lane.getEdge().getID(), out_lane.getEdge().getID())
            lengths[in_lane.getID()] = float(in_lane.getLength())
            speeds[in_lane.getID()] = float(in_lane.getSpeed())
        peds = crossings.get(tls_id, {})
        for index, (walk_from, crossing) in peds.items():
            links.setdefault(index, (f"{crossing}_0", walk_from, crossing))
        n = max(links) + 1 if links else 0
        if sorted(links) != list(range(n)):
            raise ValueError(f"{net_file}: traffic light {tls_id} has gaps in its link indices")
        programs = tls.getPrograms()
        if not programs:
            raise ValueError(f"{net_file}: traffic light {tls_id} has no program")
        program = programs[sorted(programs)[0]]
        phases = program.getPhases()
        layouts[tls_id] = SignalLayout(
            tls_id=tls_id,
            phase_states=tuple(p.state for p in phases),
            phase_durations_s=tuple(float(p.duration) for p in phases),
            link_lanes=tuple(links[i][0] for i in range(n)),
            link_edges=tuple((links[i][1], links[i][2]) for i in range(n)),
            lane_lengths_m=lengths,
            lane_speeds_mps=speeds,
            pedestrian_links=tuple(sorted(peds)),
        )
    return layouts


def _crossing_links(net_file: Path, tls_ids: set[str]) -> dict[str, dict[int, tuple[str, str]]]:
    """Per traffic light: link index -> (walking area edge, crossing edge) of its crossings.

    sumolib leaves internal edges out, so crossings are read from the
    ``<connection>`` elements: a signalised crossing has ``from`` a walking
    area and ``to`` a crossing (``function`` of those edges).
    """
    functions: dict[str, str] = {}
    found: dict[str, dict[int, tuple[str, str]]] = {}
    pending: list[tuple[str, int, str, str]] = []
    for _event, elem in ET.iterparse(net_file):
        if elem.tag == "edge" and elem.get("function") in ("walkingarea", "crossing"):
            functions[elem.get("id", "")] = elem.get("function", "")
        elif elem.tag == "connection" and elem.get("tl") in tls_ids:
            src, dst = elem.get("from", ""), elem.get("to", "")
            if src.startswith(":") or dst.startswith(":"):
                pending.append((elem.get("tl", ""), int(elem.get("linkIndex", "-1")), src, dst))
        if elem.tag in ("edge", "connection"):
            elem.clear()
    for tls, index, src, dst in pending:
        if index >= 0 and functions.get(src) == "walkingarea" and functions.get(dst) == "crossing":
            found.setdefault(tls, {})[index] = (src, dst)
    return found
