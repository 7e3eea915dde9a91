"""The traffic plant behind virtual NTCIP signal cabinets: a plant model.

In the field a central system never writes a signal state: it writes phase
control to each junction's cabinet, and the cabinet drives the signal heads.
:class:`CabinetField` is that arrangement in the twin — SUMO
(:class:`~sim.traffic.plant.TrafficPlant`) with one
:class:`~controllers.signals.cabinet.SignalCabinet` per junction scanned
in front of it every plant step — behind the plant-model protocol, so the
kernel, ``twin hil serve`` and the lock-step and real-time loops use it as
any plant:

- sensor points (INPUT): the traffic plant's (detectors, crossings, the
  heads' actual state), every cabinet's NTCIP status, and its detectors as
  NTCIP numbers them (``tls/J/ntcip/detector/<n>/volume_total`` (veh since
  power-up), ``/occupancy_pct``, ``/presence``; detector ``n`` is the
  junction's ``n``-th controlled lane, see :attr:`CabinetField.detector_lanes`);
- actuator points (OUTPUT): every cabinet's phase control, pattern command
  and heartbeat.

Written values are stamped with the plant time they were written at, so a
cabinet's heartbeat ages as it would on a wire. At each step the cabinets
scan (in junction order) with the latest commands, their states go to SUMO,
and SUMO advances one step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType
from controllers.signals.cabinet import SignalCabinet
from controllers.signals.fixed_time import FixedTimeController
from controllers.signals.ntcip import point_name
from controllers.signals.ntcip_central import NtcipCentral
from sim.traffic.camera import MeasuredPlant
from sim.traffic.layout import point_segment
from sim.traffic.plant import TrafficPlant

__all__ = ["CabinetField", "cabinets_for", "centrals_for"]


def cabinets_for(
    controllers: Sequence[FixedTimeController], *, backup_s: float = 10.0
) -> list[SignalCabinet]:
    """One cabinet per controller's junction, holding that controller's plan as its
    time base (same offset and scan period)."""
    return [
        SignalCabinet(
            c.spec,
            c.plan,
            offset_s=c.offset_s,
            backup_s=backup_s,
            scan_period_s=c.scan_period_s,
        )
        for c in controllers
    ]


def centrals_for(
    controllers: Sequence[FixedTimeController], *, backup_s: float = 10.0
) -> list[NtcipCentral]:
    """Each controller wrapped as the central system of its junction's cabinet."""
    return [NtcipCentral(c, backup_s=backup_s) for c in controllers]


class CabinetField:
    """SUMO with a virtual NTCIP cabinet in front of each signal (see module docstring)."""

    name = "traffic"

    def __init__(
        self,
        plant: TrafficPlant,
        cabinets: Sequence[SignalCabinet],
        *,
        measured: MeasuredPlant[TrafficPlant] | None = None,
    ) -> None:
        ids = [c.spec.tls_id for c in cabinets]
        unknown = sorted(set(ids) - set(plant.layouts))
        if unknown:
            raise ValueError(f"cabinets for junctions the network does not control: {unknown}")
        if len(set(ids)) != len(ids):
            raise ValueError("two cabinets for one junction")
        for c in cabinets:
            if abs(c.scan_period_s - plant.step_s) > 1e-9:
                raise ValueError(
                    f"{c.name} scans every {c.scan_period_s:g} s but SUMO steps "
                    f"{plant.step_s:g} s; a cabinet scans once per step"
                )
        if measured is not None and measured.inner is not plant:
            raise ValueError("measured must wrap this field's traffic plant")
        self.plant = plant
        #: what the detectors report: the plant itself, or through the camera model
        self._source: TrafficPlant | MeasuredPlant[TrafficPlant] = measured or plant
        self.cabinets = list(cabinets)
        self.step_s = plant.step_s
        self._cabinet_points = {p.name: p for c in cabinets for p in c.points()}
        #: per junction, its NTCIP detector numbers' lanes: {tls: (lane of detector 1, ...)}
        self.detector_lanes: dict[str, tuple[str, ...]] = {}
        # plant lane point → (NTCIP detector point, how to derive its value)
        self._detector_of: dict[str, tuple[str, Callable[[Any], Any]]] = {}
        self._detector_points: list[PointSpec] = []
        for cabinet in cabinets:
            self._add_detectors(cabinet.spec.tls_id, plant)
        self._commands: dict[str, Sample] = {}
        self._status: dict[str, Sample] = {}
        self._t = 0.0

    def _add_detectors(self, tls_id: str, plant: TrafficPlant) -> None:
        lanes = tuple(plant.layouts[tls_id].lanes)
        self.detector_lanes[tls_id] = lanes
        described = (
            ("count", "volume_total", "veh", ValueType.INT, int, "vehicles since power-up"),
            ("occupancy_pct", "occupancy_pct", "%", ValueType.FLOAT, float, "occupancy"),
            ("vehicles", "presence", "", ValueType.BOOL, lambda v: v > 0, "a vehicle present"),
        )
        for n, lane in enumerate(lanes, start=1):
            source = f"tls/{point_segment(tls_id)}/det/{point_segment(lane)}"
            for leaf, field, unit, kind, derive, text in described:
                name = point_name(tls_id, f"detector/{n}/{field}")
                self._detector_of[f"{source}/{leaf}"] = (name, derive)
                self._detector_points.append(
                    PointSpec(name, Direction.INPUT, unit, kind,
                              description=f"NTCIP detector {n} ({lane}): {text}")
                )  # fmt: skip

    def points(self) -> list[PointSpec]:
        """The plant's sensors, the cabinets' status and detectors (INPUT) and phase
        control (OUTPUT)."""
        own = [p for p in self._source.points() if p.direction is Direction.INPUT]
        own += self._detector_points
        for cabinet in self.cabinets:
            for p in cabinet.points():
                if p.name.endswith("/state"):
                    continue  # the heads' state stays between cabinet and SUMO
                flipped = Direction.OUTPUT if p.direction is Direction.INPUT else Direction.INPUT
                own.append(
                    PointSpec(
                        p.name, flipped, p.unit, p.value_type, p.low, p.high,
                        description=p.description,
                    )
                )  # fmt: skip
        return own

    def start(self, t0: float) -> None:
        """Start SUMO at ``t0`` (s); the cabinets power up on their first scan."""
        self._source.start(t0)
        self._t = t0

    def actuate(self, values: Mapping[str, Any]) -> None:
        """Phase-control writes, stamped with the current plant time."""
        for name, value in values.items():
            if name not in self._cabinet_points:
                raise KeyError(f"{name!r} is not a cabinet command point")
            self._commands[name] = Sample(value, Quality.GOOD, self._t)

    def advance(self, t: float) -> None:
        """Scan every cabinet and step SUMO, one plant step at a time, up to ``t`` (s)."""
        while self._t < t - 1e-9:
            states: dict[str, Any] = {}
            for cabinet in self.cabinets:
                out = cabinet.scan(self._t, self._commands)
                states[cabinet.state_point.name] = out.pop(cabinet.state_point.name)
                for name, value in out.items():
                    self._status[name] = Sample(value, Quality.GOOD, self._t)
            self._source.actuate(states)
            self._t += self.step_s
            self._source.advance(self._t)

    def sensors(self) -> Mapping[str, Sample]:
        """SUMO's changed sensors, their NTCIP detector views, and every cabinet's
        status of the last scan."""
        out = dict(self._source.sensors())
        detector_of = self._detector_of
        for name, sample in list(out.items()):
            found = detector_of.get(name)
            if found is not None:
                value = None if sample.value is None else found[1](sample.value)
                out[found[0]] = Sample(value, sample.quality, sample.source_time)
        out.update(self._status)
        return out

    def close(self) -> None:
        """Close SUMO; safe to call twice."""
        self._source.close()

    @property
    def mmu_violations(self) -> int:
        """Breaches the cabinets' conflict monitors saw (0 in every sound run)."""
        return sum(c.monitor.violations for c in self.cabinets)
