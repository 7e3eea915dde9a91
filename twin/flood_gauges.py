"""The flood-warning points as field devices: gauge, rain gauge, battery, uplink, siren.

In the field each warning point is one box: a water-level sensor (radar gauge
on the river, depth sensor in the street), often a rain gauge, a battery, a
LoRa uplink — and a siren and a level display driven by the point's own
warning controller. The twin's flood plant (:class:`~sim.hydro.plant.FloodPlant`)
models the sensors only; :class:`GaugeField` adds the devices' outputs so the
simulated points stand in for the real boxes over OPC-UA or ZeroMQ:

- sensor points (INPUT): the plant's (each point's level, rain, battery,
  uplink and the neighbours' levels it reads);
- actuator points (OUTPUT): each point's ``warning_level``, ``siren``,
  ``sensor_health`` and ``rate_alarm``, as its controller declares them.

Written values are checked against their point and kept with the plant time
they took effect (:attr:`GaugeField.timeline`), so a session shows when each
siren sounded. When its controller goes silent a box *holds* its last warning
and siren: a warning is never lowered by a silence (the point controller's own
rule, :mod:`controllers.flood.point`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controllers.flood.point import FloodPointController
from controllers.io import Direction, PointSpec, PointValueError, Sample
from sim.hydro.plant import FloodPlant

__all__ = ["GaugeField"]


class GaugeField:
    """The flood plant with each warning point's siren and display (a plant model)."""

    def __init__(self, plant: FloodPlant, controllers: Sequence[FloodPointController]) -> None:
        self.plant = plant
        self.name, self.step_s = plant.name, plant.step_s
        self._outputs: dict[str, PointSpec] = {
            p.name: p for c in controllers for p in c.points() if p.direction is Direction.OUTPUT
        }
        #: the last value written to each output point
        self.shown: dict[str, Any] = {}
        #: (plant time s, point, value) of every change written
        self.timeline: list[tuple[float, str, Any]] = []
        self._t = 0.0

    def points(self) -> list[PointSpec]:
        """The plant's sensors and the warning devices' outputs."""
        return [*self.plant.points(), *self._outputs.values()]

    def start(self, t0: float) -> None:
        """Start the flood plant at ``t0`` (s)."""
        self.plant.start(t0)
        self._t = t0

    def actuate(self, values: Mapping[str, Any]) -> None:
        """Show written warnings and sound sirens; a bad value is refused with its point."""
        for name, value in values.items():
            spec = self._outputs.get(name)
            if spec is None:
                raise KeyError(f"{name!r} is not an output of a warning device")
            try:
                checked = spec.check(value)
            except PointValueError as err:
                raise ValueError(f"warning device refused {name}: {err}") from None
            if self.shown.get(name) != checked:
                self.timeline.append((self._t, name, checked))
            self.shown[name] = checked

    def advance(self, t: float) -> None:
        """Advance the flood plant to ``t`` (s)."""
        self.plant.advance(t)
        self._t = t

    def sensors(self) -> Mapping[str, Sample]:
        """The plant's changed sensor samples."""
        return self.plant.sensors()

    def close(self) -> None:
        """Close the flood plant."""
        self.plant.close()

    def siren_s(self) -> dict[str, float]:
        """Seconds each siren sounded up to now (plant time)."""
        on: dict[str, float] = {}
        started: dict[str, float] = {}
        for t, name, value in self.timeline:
            if not name.endswith("/siren"):
                continue
            if value and name not in started:
                started[name] = t
            elif not value and name in started:
                on[name] = on.get(name, 0.0) + t - started.pop(name)
        for name, t0 in started.items():
            on[name] = on.get(name, 0.0) + self._t - t0
        return on
