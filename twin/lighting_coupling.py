"""Couplings of the lighting plant: SUMO road users trigger the poles' motion sensors.

Every SUMO step the vehicles and pedestrians on the road edges that pass within reach
of a pole are handed to :meth:`sim.lighting.plant.LightingPlant.observe_road_users`, in
UTM 48N: a SUMO network built by the twin is in UTM 48N shifted by its ``netOffset``
(``<location>`` element), so ``utm = net - netOffset``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.traffic.edge_geometry import edge_sample_points

if TYPE_CHECKING:
    from sim.lighting.plant import LightingPlant
    from sim.traffic.plant import TrafficPlant
    from twin.kernel import Kernel

__all__ = ["TrafficLightingCoupling", "net_offset"]

#: an edge is watched when one of its sample points lies this close to a pole (m): the
#: motion zone (15 m) plus half a carriageway and the 20 m sample spacing
REACH_M = 40.0


def net_offset(net_file: Path | str) -> tuple[float, float]:
    """The ``netOffset`` (m) of a SUMO network with a UTM projection.

    Raises:
        ValueError: the network has no ``<location>`` with a UTM ``projParameter``
            (e.g. a netgenerate grid), so its x/y cannot be put on the map.
    """
    for _, el in ET.iterparse(net_file, events=("start",)):
        if el.tag == "location":
            proj = el.get("projParameter", "")
            if "+proj=utm" not in proj or "+zone=48" not in proj:
                raise ValueError(
                    f"{net_file}: projection {proj!r} is not UTM 48N: build the network "
                    "from OSM with 'twin network build' so poles and vehicles share a frame"
                )
            x, y = (float(v) for v in el.get("netOffset", "0,0").split(","))
            return x, y
        if el.tag == "edge":
            break
    raise ValueError(f"{net_file}: no <location> element before the edges")


class TrafficLightingCoupling:
    """SUMO road users near the poles → the lighting plant's motion sensors and counters.

    Args:
        traffic: the traffic plant (micro or meso; meso positions are segment-level).
        lighting: the lighting plant.
        net_file: the SUMO network the traffic plant runs.
        period_s: how often (s) positions are passed on: the SUMO step.
    """

    name = "traffic->lighting"

    def __init__(
        self,
        traffic: TrafficPlant,
        lighting: LightingPlant,
        net_file: Path | str,
        *,
        period_s: float = 1.0,
    ) -> None:
        if not period_s > 0:
            raise ValueError(f"period_s must be > 0 s, got {period_s}")
        self.traffic = traffic
        self.lighting = lighting
        self.period_s = float(period_s)
        self.offset = net_offset(net_file)
        poles = np.column_stack([lighting.layout.pole_array("x"), lighting.layout.pole_array("y")])
        watched: list[str] = []
        for edge_id, sample in sorted(edge_sample_points(net_file).items()):
            pts = np.column_stack([sample.x_utm, sample.y_utm])
            d2 = ((pts[:, None, :] - poles[None, :, :]) ** 2).sum(axis=2)
            if float(d2.min()) <= REACH_M**2:
                watched.append(edge_id)
        if not watched:
            raise ValueError(
                f"no road edge of {net_file} passes within {REACH_M} m of a pole: is it the "
                "Đông Hà network the poles were laid out on?"
            )
        self.edges = tuple(watched)
        self.users_seen = 0

    def step(self, now: float, kernel: Kernel) -> None:
        """Pass the road users on the watched edges to the lighting plant."""
        ids, x, y = self.traffic.road_users_on(self.edges)
        self.users_seen += len(ids)
        self.lighting.observe_road_users(now, x - self.offset[0], y - self.offset[1], ids=ids)
