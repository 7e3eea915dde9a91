"""Fair start order of waiting plots on a shared pump with a flow limit.

Round robin by household: households are visited in sorted-id order starting
after the household served last; each visit starts that household's most
depleted waiting plot (largest depletion/RAW, ties by plot id). Strictly in
order, without back-filling: when the next plot's design flow does not fit in
the free capacity, nothing else starts this scan. Because every run is capped
(target volume or max runtime) capacity frees up, and since every plot's
design flow is at most the pump capacity (checked in the config) the head of
the rotation starts within a bounded time — no household starves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["Candidate", "pick_starts"]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A plot waiting for water.

    Attributes:
        plot_id: the plot.
        household: its household.
        flow_lpm: the valve's design flow (L/min).
        urgency: depletion / RAW (larger = more urgent; manual requests use a large value).
    """

    plot_id: str
    household: str
    flow_lpm: float
    urgency: float


def pick_starts(
    waiting: Sequence[Candidate],
    households: Sequence[str],
    last_household: str | None,
    free_lpm: float,
) -> tuple[list[str], str | None]:
    """Plots to start now, in order, and the household served last afterwards.

    Args:
        waiting: the waiting plots (any order).
        households: every household of the site, sorted.
        last_household: the household served last (None = none yet).
        free_lpm: pump capacity minus the design flows of the open valves (L/min).
    """
    by_household: dict[str, list[Candidate]] = {}
    for cand in waiting:
        by_household.setdefault(cand.household, []).append(cand)
    for cands in by_household.values():
        cands.sort(key=lambda c: (-c.urgency, c.plot_id))
    order: Mapping[str, int] = {h: i for i, h in enumerate(households)}
    n = len(households)
    starts: list[str] = []
    eps = 1e-9
    while any(by_household.values()):
        start = 0 if last_household is None else order[last_household] + 1
        head = None
        for k in range(n):
            h = households[(start + k) % n]
            if by_household.get(h):
                head = h
                break
        if head is None:
            break
        cand = by_household[head][0]
        if cand.flow_lpm > free_lpm + eps:
            break
        by_household[head].pop(0)
        starts.append(cand.plot_id)
        free_lpm -= cand.flow_lpm
        last_household = head
    return starts, last_household
