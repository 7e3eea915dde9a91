"""Several controllers behind one link, as one controller (a central system's view).

A city's central system runs every junction's controller; a hardware-in-the-loop
link carries all their points. :class:`ControllerGroup` scans its members in
order and merges their outputs. Every member is passed all the group's input
samples and reads its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controllers.io import Controller, Direction, PointSpec, Sample

__all__ = ["ControllerGroup"]


class ControllerGroup:
    """Members with one scan period (s) and no shared output point; a ``Controller``.

    Args:
        name: the group's name (e.g. ``signals``).
        members: the controllers, scanned in this order.
    """

    def __init__(self, name: str, members: Sequence[Controller]) -> None:
        if not members:
            raise ValueError(f"group {name!r} has no controllers")
        periods = {m.scan_period_s for m in members}
        if len(periods) != 1:
            raise ValueError(f"group {name!r}: members scan at different periods {sorted(periods)}")
        self._points: dict[str, PointSpec] = {}
        for m in members:
            for p in m.points():
                earlier = self._points.setdefault(p.name, p)
                if earlier is not p and Direction.OUTPUT in (earlier.direction, p.direction):
                    raise ValueError(
                        f"group {name!r}: {m.name} declares {p.name}, which another member "
                        "already declares; an output has one writer and is nobody's input"
                    )
        self.name = name
        self.members = list(members)
        self.scan_period_s = periods.pop()

    def points(self) -> Sequence[PointSpec]:
        """Every member's points, each once."""
        return tuple(self._points.values())

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """Scan every member at ``now`` (s); their outputs merged."""
        out: dict[str, Any] = {}
        for m in self.members:
            out.update(m.scan(now, inputs))
        return out

    def snapshot(self) -> dict[str, Any]:
        """Each member's snapshot by name."""
        return {m.name: m.snapshot() for m in self.members}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore every member from a :meth:`snapshot`."""
        missing = [m.name for m in self.members if m.name not in state]
        if missing:
            raise ValueError(f"group {self.name!r}: snapshot lacks {missing}")
        for m in self.members:
            m.restore(state[m.name])
