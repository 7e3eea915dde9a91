"""An independent conflict monitor for the state a signal actually shows.

Like a cabinet's malfunction management unit (MMU), :class:`ConflictMonitor`
shares nothing with :class:`controllers.signals.safety.SafetyLayer` but the
intersection spec: it watches the sequence of shown states and reports every
breach of the conflict card and of the minimum intervals. The twin records the
count as ``interlock_violations``, which must be 0 in every run.

Checks at each observation (time ``now`` in s, state over ``GgyroO``):

* a malformed state (length, characters) or time going backwards;
* two conflicting links both in ``{G, g, y}``;
* a green link while a conflicting link is flashing or dark (``o``/``O``);
* a green that ends (to amber) before ``min_green_s``;
* a green that ends straight into red (no amber);
* an amber that ends (to red) before ``amber_s``, or is followed by green;
* a link turning green less than ``all_red_s`` after a conflicting link
  turned red (its red clearance).

Durations are measured between observation times, from the first
observation in the new mode: a green observed first at t1 and left at t2
lasted ``t2 - t1``. Ending a green or amber into flash / dark is the
fail-safe and is not a violation. History before the first observation is
unknown, so intervals already running then are not judged.
"""

from __future__ import annotations

import math

from controllers.signals.intersection import STATE_CHARS, IntersectionSpec

__all__ = ["ConflictMonitor"]

_EPS = 1e-9  # s; tolerance on interval lengths (float noise only)


def _mode(ch: str) -> str:
    """Collapse a state char to its mode: green 'G', amber 'y', red 'r', flash/dark 'o'."""
    if ch in "Gg":
        return "G"
    if ch in "oO":
        return "o"
    return ch


class ConflictMonitor:
    """Watches one intersection's shown states and reports violations.

    Args:
        spec: the intersection (conflict card and minimum intervals in s).

    Attributes:
        violations: total number of violations reported so far.
        log: the first ``max_log`` violation descriptions, oldest first, each
            naming the tls and the time.
    """

    def __init__(self, spec: IntersectionSpec, *, max_log: int = 1000) -> None:
        self.spec = spec
        self.max_log = max_log
        self.violations = 0
        self.log: list[str] = []
        n = spec.n_links
        self._mode: list[str | None] = [None] * n
        # Time (s) each link entered its current mode; None = unknown (before
        # the first observation).
        self._since: list[float | None] = [None] * n
        self._last_now: float | None = None
        self._pairs = [
            (i, j) for i in range(n) for j in range(i + 1, n) if not spec.compatible[i][j]
        ]

    def check(self, now: float, state: str) -> list[str]:
        """Record the state shown at ``now`` (s); return this observation's violations."""
        spec = self.spec
        found: list[str] = []
        tag = f"tls {spec.tls_id} t={now}s"
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            found.append(f"{tag}: non-finite or non-numeric time")
            return self._report(found)
        if self._last_now is not None and now < self._last_now:
            found.append(f"{tag}: time went backwards from {self._last_now}s")
            return self._report(found)
        if (
            not isinstance(state, str)
            or len(state) != spec.n_links
            or any(ch not in STATE_CHARS for ch in state)
        ):
            found.append(f"{tag}: malformed state {state!r}")
            return self._report(found)
        self._last_now = float(now)

        for i, j in self._pairs:
            a, b = state[i], state[j]
            if a in "Ggy" and b in "Ggy":
                found.append(f"{tag}: conflicting links {i} and {j} shown {a!r}/{b!r} together")
            elif (a in "Gg" and b in "oO") or (b in "Gg" and a in "oO"):
                found.append(f"{tag}: link {i} {a!r} with conflicting link {j} {b!r}")

        new_modes = [_mode(ch) for ch in state]
        for i, new in enumerate(new_modes):
            old, start = self._mode[i], self._since[i]
            if old is None or old == new:
                continue
            lasted = None if start is None else now - start
            if old == "G" and new == "r":
                found.append(f"{tag}: link {i} went from green to red without amber")
            elif old == "G" and new == "y":
                if lasted is not None and lasted < spec.min_green_s - _EPS:
                    found.append(
                        f"{tag}: link {i} green lasted {lasted:.3f}s < min green "
                        f"{spec.min_green_s}s"
                    )
            elif old == "y" and new == "G":
                found.append(f"{tag}: link {i} went from amber to green")
            elif old == "y" and new == "r" and lasted is not None and lasted < spec.amber_s - _EPS:
                found.append(f"{tag}: link {i} amber lasted {lasted:.3f}s < {spec.amber_s}s")
            if new == "G":
                for k in spec.conflicts(i):
                    if new_modes[k] != "r" or self._mode[k] is None:
                        continue  # non-red conflicts are reported above; no history
                    red_since = now if self._mode[k] != "r" else self._since[k]
                    if red_since is not None and now - red_since < spec.all_red_s - _EPS:
                        found.append(
                            f"{tag}: link {i} turned green {now - red_since:.3f}s after "
                            f"conflicting link {k} turned red (< {spec.all_red_s}s)"
                        )

        for i, new in enumerate(new_modes):
            if self._mode[i] is None:
                self._mode[i] = new
                self._since[i] = None  # history unknown: do not judge this interval
            elif self._mode[i] != new:
                self._mode[i] = new
                self._since[i] = float(now)
        return self._report(found)

    def _report(self, found: list[str]) -> list[str]:
        self.violations += len(found)
        room = self.max_log - len(self.log)
        if room > 0:
            self.log.extend(found[:room])
        return found
