"""Manual override commands (TALQ "last command wins").

An operator (IOC, mobile app) sends a command: set a level for a time, or
until cancelled, or cancel. Commands travel over unreliable links: they can
arrive late, out of order, or more than once. Each pole therefore keeps the
command with the latest *issue time* it has seen (ties broken by command id,
so every node agrees), ignores older ones, and ignores replays of an id it
has already seen. Expiry is reckoned from the issue time, so a late delivery
does not lengthen an override. A cancel command (``level_pct`` None) that
wins returns the pole to its program.

Times are run seconds (the controller's ``now`` clock).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["OverrideCommand", "OverrideState"]

_SEEN_MAX = 256


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class OverrideCommand:
    """One override command.

    Attributes:
        command_id: unique id of the command (non-empty text).
        issued_s: issue time at the operator (run seconds, finite).
        level_pct: level to hold (%, 0..100), or None to cancel overrides.
        duration_s: how long from ``issued_s`` (s, > 0), or None = until cancelled.
        targets: pole or cabinet ids it applies to; empty = every pole.
    """

    command_id: str
    issued_s: float
    level_pct: float | None
    duration_s: float | None = None
    targets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.command_id, str) or not self.command_id:
            raise ValueError(f"override command_id must be non-empty text, got {self.command_id!r}")
        if not _finite(self.issued_s):
            raise ValueError(f"override issued_s must be a finite time (s), got {self.issued_s!r}")
        if self.level_pct is not None and not (
            _finite(self.level_pct) and 0.0 <= self.level_pct <= 100.0
        ):
            raise ValueError(
                "override level_pct must be in 0..100 % (or null to cancel), "
                f"got {self.level_pct!r}"
            )
        if self.duration_s is not None and not (_finite(self.duration_s) and self.duration_s > 0):
            raise ValueError(
                f"override duration_s must be > 0 s (or null = until cancelled), "
                f"got {self.duration_s!r}"
            )
        if not isinstance(self.targets, tuple) or not all(
            isinstance(t, str) and t for t in self.targets
        ):
            raise ValueError(f"override targets must be a tuple of ids, got {self.targets!r}")

    @property
    def expires_s(self) -> float:
        """Run time (s) at which the command stops applying (inf = until cancelled)."""
        return math.inf if self.duration_s is None else self.issued_s + self.duration_s

    @property
    def order_key(self) -> tuple[float, str]:
        """Commands compare by issue time, then by id."""
        return (self.issued_s, self.command_id)

    def to_mapping(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "command_id": self.command_id,
            "issued_s": self.issued_s,
            "level_pct": self.level_pct,
            "duration_s": self.duration_s,
            "targets": list(self.targets),
        }

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> OverrideCommand:
        """From ``{command_id, issued_s, level_pct, duration_s, targets}``."""
        if not isinstance(data, Mapping):
            raise ValueError("override command: expected a mapping")
        allowed = {"command_id", "issued_s", "level_pct", "duration_s", "targets"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"override command: unknown key(s) {unknown}; use {sorted(allowed)}")
        missing = sorted({"command_id", "issued_s", "level_pct"} - set(data))
        if missing:
            raise ValueError(f"override command: missing {missing}")
        targets = data.get("targets", ()) or ()
        if isinstance(targets, str) or not isinstance(targets, Sequence):
            raise ValueError("override command: targets must be a list of pole/cabinet ids")
        return cls(
            data["command_id"],
            data["issued_s"],
            data["level_pct"],
            data.get("duration_s"),
            tuple(targets),
        )


class OverrideState:
    """The winning override of one pole and the ids it has seen."""

    def __init__(self) -> None:
        self.winner: OverrideCommand | None = None
        self._seen: dict[str, None] = {}  # insertion-ordered set of ids

    def accept(self, command: OverrideCommand) -> bool:
        """Take a delivered command; True if it became the winner."""
        if command.command_id in self._seen:
            return False  # replay: idempotent
        self._seen[command.command_id] = None
        if len(self._seen) > _SEEN_MAX:
            self._seen.pop(next(iter(self._seen)))
        if self.winner is not None and command.order_key <= self.winner.order_key:
            return False  # older than what we hold: last command wins
        self.winner = command
        return True

    def level(self, now: float) -> float | None:
        """The override level at ``now`` (%), or None when no override applies."""
        w = self.winner
        if w is None or w.level_pct is None or now >= w.expires_s or now < w.issued_s:
            return None
        return w.level_pct

    def snapshot(self) -> dict[str, Any]:
        """State as plain data."""
        return {
            "winner": None if self.winner is None else self.winner.to_mapping(),
            "seen": list(self._seen),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot`."""
        winner = state["winner"]
        self.winner = None if winner is None else OverrideCommand.from_mapping(winner)
        self._seen = dict.fromkeys(str(s) for s in state["seen"])
