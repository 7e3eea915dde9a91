"""The static description of one signalised intersection: links, conflicts, timings.

Model (SUMO conventions): a traffic light controls ``n`` *links* (signal
indices ``0..n-1``); a signal *state* string has one character per link:

====  =====================================================
char  meaning
====  =====================================================
G     priority green
g     permissive green (the movement yields)
y     amber
r     red
o     flashing amber (off-blinking), the fail-safe mode
O     off (dark)
====  =====================================================

The twin derives an intersection from the network's own reference program
(the phase strings netconvert generated, including the amber phases). The
*compatibility matrix* plays the role of a cabinet's conflict card: two links
may be green together only if the approved phasing shows them green together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["GREEN_CHARS", "STATE_CHARS", "IntersectionSpec", "validate_state"]

#: Every character a SUMO signal state may use here.
STATE_CHARS = "GgyroO"
#: Characters that give a link the right to go.
GREEN_CHARS = "Gg"
#: SUMO state characters the twin reads as red in a network's program.
_AS_RED = str.maketrans("su", "rr")


def validate_state(state: object, n_links: int, *, what: str = "state") -> str:
    """Return ``state`` if it is a string of ``n_links`` characters from ``GgyroO``.

    Raises:
        ValueError: with the offending length or characters.
    """
    if not isinstance(state, str):
        raise ValueError(f"{what} must be a string, got {type(state).__name__}")
    if len(state) != n_links:
        raise ValueError(f"{what} {state!r} has {len(state)} characters, expected {n_links}")
    wrong = sorted(set(state) - set(STATE_CHARS))
    if wrong:
        raise ValueError(
            f"{what} {state!r} contains {''.join(wrong)!r}; allowed characters are "
            f"{STATE_CHARS!r} (G/g green, y amber, r red, o flashing amber, O off)"
        )
    return state


def _positive_time(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite time > 0 s, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class IntersectionSpec:
    """One signalised intersection (a SUMO traffic light) as its cabinet sees it.

    Attributes:
        tls_id: the traffic light id in the network (e.g. ``J07``).
        n_links: number of controlled links (signal indices), >= 1.
        compatible: ``n_links`` x ``n_links`` symmetric matrix of booleans;
            ``compatible[i][j]`` is True when links ``i`` and ``j`` may show
            green at the same time. The diagonal is True.
        green_phases: the reference program's green phases (state strings
            with at least one ``G``/``g`` and no ``y``), in program order.
        link_lanes: per link, the id of its incoming lane (``len == n_links``).
        min_green_s: minimum green interval (s, > 0).
        amber_s: amber (yellow change) interval (s, > 0).
        all_red_s: red clearance between conflicting movements (s, > 0).
    """

    tls_id: str
    n_links: int
    compatible: tuple[tuple[bool, ...], ...]
    green_phases: tuple[str, ...]
    link_lanes: tuple[str, ...]
    min_green_s: float = 7.0
    amber_s: float = 3.0
    all_red_s: float = 2.0
    _conflicts: tuple[tuple[int, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.tls_id, str) or not self.tls_id:
            raise ValueError(f"tls_id must be a non-empty string, got {self.tls_id!r}")
        n = self.n_links
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ValueError(f"tls {self.tls_id}: n_links must be an integer >= 1, got {n!r}")
        for name in ("min_green_s", "amber_s", "all_red_s"):
            object.__setattr__(
                self, name, _positive_time(f"tls {self.tls_id}: {name}", getattr(self, name))
            )
        comp = tuple(tuple(bool(v) for v in row) for row in self.compatible)
        if len(comp) != n or any(len(row) != n for row in comp):
            raise ValueError(
                f"tls {self.tls_id}: compatible must be {n}x{n} (one row and column per link)"
            )
        for i in range(n):
            if not comp[i][i]:
                raise ValueError(f"tls {self.tls_id}: link {i} must be compatible with itself")
            for j in range(i + 1, n):
                if comp[i][j] != comp[j][i]:
                    raise ValueError(
                        f"tls {self.tls_id}: compatible is not symmetric at links {i} and {j}"
                    )
        object.__setattr__(self, "compatible", comp)
        lanes = tuple(self.link_lanes)
        if len(lanes) != n:
            raise ValueError(
                f"tls {self.tls_id}: link_lanes has {len(lanes)} entries, expected one per "
                f"link ({n})"
            )
        if not all(isinstance(lane, str) and lane for lane in lanes):
            raise ValueError(f"tls {self.tls_id}: every link_lanes entry must be a lane id")
        object.__setattr__(self, "link_lanes", lanes)
        phases = tuple(self.green_phases)
        if not phases:
            raise ValueError(f"tls {self.tls_id}: needs at least one green phase")
        for k, phase in enumerate(phases):
            validate_state(phase, n, what=f"tls {self.tls_id}: green phase {k}")
            if "y" in phase or not any(c in GREEN_CHARS for c in phase):
                raise ValueError(
                    f"tls {self.tls_id}: green phase {k} {phase!r} must contain a green "
                    "('G'/'g') and no amber ('y')"
                )
            greens = [i for i, c in enumerate(phase) if c in GREEN_CHARS]
            for a in greens:
                for b in greens:
                    if not comp[a][b]:
                        raise ValueError(
                            f"tls {self.tls_id}: green phase {k} {phase!r} shows conflicting "
                            f"links {a} and {b} green together"
                        )
        object.__setattr__(self, "green_phases", phases)
        object.__setattr__(
            self,
            "_conflicts",
            tuple(tuple(j for j in range(n) if not comp[i][j]) for i in range(n)),
        )

    @classmethod
    def from_program(
        cls,
        tls_id: str,
        phase_states: Sequence[str],
        link_lanes: Sequence[str],
        min_green_s: float = 7.0,
        amber_s: float = 3.0,
        all_red_s: float = 2.0,
    ) -> IntersectionSpec:
        """Build a spec from a reference program (e.g. netconvert's static program).

        SUMO's ``u`` (red-amber) and ``s`` (stop, then go: right turn on red)
        are read as red: the twin's controllers never show them.

        Two links are compatible iff they are green (``G`` or ``g``) together in
        some phase of ``phase_states`` (any phase, amber phases included). The
        green phases are the phases with a green and no ``y``, in program
        order, exact duplicates dropped.

        Args:
            tls_id: the traffic light id.
            phase_states: every phase's state string, in program order.
            link_lanes: per link, the incoming lane id.
            min_green_s, amber_s, all_red_s: timings in s (> 0).
        """
        if isinstance(phase_states, str):
            raise ValueError(
                f"tls {tls_id}: phase_states must be a non-empty sequence of state strings"
            )
        states = [s.translate(_AS_RED) if isinstance(s, str) else s for s in phase_states]
        if not states:
            raise ValueError(
                f"tls {tls_id}: phase_states must be a non-empty sequence of state strings"
            )
        n = len(states[0]) if isinstance(states[0], str) else -1
        for k, state in enumerate(states):
            validate_state(state, max(n, 0), what=f"tls {tls_id}: phase {k}")
        if n < 1:
            raise ValueError(f"tls {tls_id}: phase states must not be empty")
        comp = [[i == j for j in range(n)] for i in range(n)]
        for state in states:
            greens = [i for i, c in enumerate(state) if c in GREEN_CHARS]
            for a in greens:
                for b in greens:
                    comp[a][b] = True
        green_phases: list[str] = []
        for state in states:
            is_green = "y" not in state and any(c in GREEN_CHARS for c in state)
            if is_green and state not in green_phases:
                green_phases.append(state)
        return cls(
            tls_id=tls_id,
            n_links=n,
            compatible=tuple(tuple(row) for row in comp),
            green_phases=tuple(green_phases),
            link_lanes=tuple(link_lanes),
            min_green_s=min_green_s,
            amber_s=amber_s,
            all_red_s=all_red_s,
        )

    def conflicts(self, link: int) -> tuple[int, ...]:
        """Indices of the links that must never be green together with ``link``."""
        return self._conflicts[link]

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable) for run folders and reports."""
        return {
            "tls_id": self.tls_id,
            "n_links": self.n_links,
            "compatible": [list(row) for row in self.compatible],
            "green_phases": list(self.green_phases),
            "link_lanes": list(self.link_lanes),
            "min_green_s": self.min_green_s,
            "amber_s": self.amber_s,
            "all_red_s": self.all_red_s,
        }
