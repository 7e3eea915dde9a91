"""A plant or a controller seen under other point names (e.g. TALQ-style names).

A device in the field names its points its own way; :class:`RenamedPlant` makes
a simulated plant publish under those names, and :class:`RenamedController`
lets an unchanged controller run against them. ``rename`` maps a process-image
name to the device's name and must be one-to-one over the points.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from controllers.io import Controller, PointSpec, Sample
from twin.plant import PlantModel

__all__ = ["RenamedController", "RenamedPlant", "renamed_points"]


def renamed_points(
    points: Sequence[PointSpec], rename: Callable[[str], str]
) -> tuple[list[PointSpec], dict[str, str]]:
    """The points under their new names, and the map new name → old name."""
    back: dict[str, str] = {}
    out = []
    for p in points:
        new = rename(p.name)
        if new in back:
            raise ValueError(f"{p.name} and {back[new]} are both renamed to {new}")
        back[new] = p.name
        out.append(replace(p, name=new))
    return out, back


class RenamedPlant:
    """``plant`` with its points renamed by ``rename`` (a plant model)."""

    def __init__(self, plant: PlantModel, rename: Callable[[str], str]) -> None:
        self.plant = plant
        self.name, self.step_s = plant.name, plant.step_s
        self._points, self._back = renamed_points(plant.points(), rename)
        self._forward = {old: new for new, old in self._back.items()}

    def points(self) -> list[PointSpec]:
        """The plant's points under their new names."""
        return list(self._points)

    def start(self, t0: float) -> None:
        """Start the plant at ``t0`` (s)."""
        self.plant.start(t0)

    def actuate(self, values: Mapping[str, Any]) -> None:
        """Apply values written under the new names."""
        try:
            self.plant.actuate({self._back[k]: v for k, v in values.items()})
        except KeyError as err:
            raise KeyError(f"{err.args[0]!r} is not one of this device's points") from None

    def advance(self, t: float) -> None:
        """Advance the plant to ``t`` (s)."""
        self.plant.advance(t)

    def sensors(self) -> Mapping[str, Sample]:
        """The plant's changed samples under the new names."""
        forward = self._forward
        return {forward[k]: s for k, s in self.plant.sensors().items()}

    def close(self) -> None:
        """Close the plant."""
        self.plant.close()


class RenamedController:
    """``inner`` reading and writing points renamed by ``rename`` (a controller)."""

    def __init__(self, inner: Controller, rename: Callable[[str], str]) -> None:
        self.inner = inner
        self.name, self.scan_period_s = inner.name, inner.scan_period_s
        self._points, self._back = renamed_points(inner.points(), rename)
        self._forward = {old: new for new, old in self._back.items()}

    def points(self) -> Sequence[PointSpec]:
        """The controller's points under their new names."""
        return tuple(self._points)

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """Scan ``inner`` with its inputs under their own names; outputs renamed."""
        back = self._back
        own = {back[k]: s for k, s in inputs.items() if k in back}
        forward = self._forward
        return {forward[k]: v for k, v in self.inner.scan(now, own).items()}

    def snapshot(self) -> dict[str, Any]:
        """The inner controller's snapshot."""
        return self.inner.snapshot()

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore the inner controller."""
        self.inner.restore(state)
