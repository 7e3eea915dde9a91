"""Couplings of the lighting plant: road users trigger motion sensors, flood water trips cabinets.

Every SUMO step the vehicles and pedestrians on the road edges that pass within reach
of a pole are handed to :meth:`sim.lighting.plant.LightingPlant.observe_road_users`, in
UTM 48N: a SUMO network built by the twin is in UTM 48N shifted by its ``netOffset``
(``<location>`` element), so ``utm = net - netOffset``.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.traffic.edge_geometry import edge_sample_points

if TYPE_CHECKING:
    from sim.lighting.plant import LightingPlant
    from sim.traffic.plant import TrafficPlant
    from twin.kernel import Kernel

__all__ = ["FloodLightingCoupling", "TrafficLightingCoupling", "net_offset"]

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


class FloodLightingCoupling:
    """Flood water at a lighting cabinet trips its supply (plinth height in the plant).

    Every ``period_s`` the depth (m) of the flood cell under each cabinet goes to
    :meth:`sim.lighting.plant.LightingPlant.set_cabinet_water_depth`; a tripped cabinet
    stays off until reset, as a real one does. Cabinets off the flood grid are listed in
    ``outside`` and never trip.

    Args:
        flood: the flood plant (its ``cells_of_xy`` and ``depth_at``).
        lighting: the lighting plant.
        period_s: how often (s) depths are passed on: the flood plant's step.
    """

    name = "flood->lighting"

    def __init__(self, flood: Any, lighting: LightingPlant, *, period_s: float = 60.0) -> None:
        if not period_s > 0:
            raise ValueError(f"period_s must be > 0 s, got {period_s}")
        self.flood = flood
        self.lighting = lighting
        self.period_s = float(period_s)
        cabinets = lighting.layout.cabinets
        xs = np.array([c.x for c in cabinets])
        ys = np.array([c.y for c in cabinets])
        with warnings.catch_warnings():  # cabinets beyond the DEM are reported below
            warnings.simplefilter("ignore", UserWarning)
            rows, cols = flood.cells_of_xy(xs, ys)
        inside = (rows >= 0) & (cols >= 0)
        self.outside = [c.id for c, ok in zip(cabinets, inside, strict=True) if not ok]
        self._ids = [c.id for c, ok in zip(cabinets, inside, strict=True) if ok]
        self._rows, self._cols = rows[inside], cols[inside]
        self.max_depth_m: dict[str, float] = dict.fromkeys(self._ids, 0.0)

    def step(self, now: float, kernel: Kernel) -> None:
        """Pass the water depth at each cabinet to the lighting plant."""
        if not self._ids:
            return
        depths = self.flood.depth_at(self._rows, self._cols)
        for cabinet, depth in zip(self._ids, depths, strict=True):
            d = float(depth)
            self.max_depth_m[cabinet] = max(self.max_depth_m[cabinet], d)
            self.lighting.set_cabinet_water_depth(cabinet, d)
