"""The plant-model protocol: what the kernel needs from a plant (traffic, weather, ...).

Plant models live in ``sim/`` and never import ``twin``; they satisfy this
protocol structurally. The kernel calls, in order:

1. ``points()`` once, to register the plant's sensor (INPUT) and actuator
   (OUTPUT) points in the process image;
2. ``start(t0)`` once;
3. repeatedly: ``actuate(values)`` with the actuator values written since the
   last call, then ``advance(t)`` to move the plant to time ``t`` (s, run
   clock, strictly increasing, multiples of ``step_s``), then ``sensors()``
   to read the fresh sensor samples;
4. ``close()`` once, also after an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from controllers.io import PointSpec, Sample

__all__ = ["PlantModel"]


@runtime_checkable
class PlantModel(Protocol):
    """A plant model advanced by the kernel.

    Attributes:
        name: unique plant name (``traffic``, ``weather``...).
        step_s: the interval (s, > 0) at which the kernel advances the plant
            and exchanges points with it; the plant may sub-step internally.
    """

    name: str
    step_s: float

    def points(self) -> Sequence[PointSpec]:
        """Sensor points (direction INPUT) and actuator points (direction OUTPUT)."""
        ...

    def start(self, t0: float) -> None:
        """Prepare to run from time ``t0`` (s)."""
        ...

    def actuate(self, values: Mapping[str, Any]) -> None:
        """Apply actuator values (already range-checked) by point name."""
        ...

    def advance(self, t: float) -> None:
        """Advance the plant to time ``t`` (s)."""
        ...

    def sensors(self) -> Mapping[str, Sample]:
        """Sensor samples by point name that changed at the last ``advance``.

        Report by exception, as an OPC-UA subscription does: a plant may leave
        out points whose value did not change. Each ``advance`` is the plant's
        keep-alive: the kernel treats all its sensor points as current at that
        time. A plant whose sensor fails says so with a BAD sample.
        """
        ...

    def close(self) -> None:
        """Release resources (SUMO, files). Safe to call twice."""
        ...
