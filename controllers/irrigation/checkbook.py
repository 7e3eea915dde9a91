"""The ET checkbook of one plot: a running root-zone depletion estimate (mm).

Arithmetic per update over ``dt`` seconds (FAO-56 root-zone balance without
capillary rise, runoff or percolation terms — whatever would push the
depletion below 0 is lost, so it is clamped to [0, TAW])::

    Dr ← clamp(Dr + Kc · ET0 · dt / 86400 − rain − I_net, 0, TAW)

with ET0 (mm/day) the last good weather-station value (held for
``et0_hold_s``), rain (mm) fallen since the last update and ``I_net`` the net
irrigation (mm) = delivered litres × efficiency / area.

Probe correction (a complementary filter): the probe sees one point of the
plot with noise but no drift; the checkbook sees the whole plot but drifts
(Kc, ET0 and rain errors accumulate). When the probe is good the estimate is
pulled towards the probe's depletion with ``α = 1 − exp(−dt/τ)``
(``τ = blend_tau_s``): a fast pull removes the drift within a few τ, while a
single noisy reading moves the estimate by only α of its error. The first good
reading (or one after the checkbook expired) sets the estimate outright.

The checkbook is *valid* when it holds an estimate whose last probe anchor is
at most ``max_age_s`` old and it either was anchored now or has a held ET0;
otherwise it is unknown and the controller does not irrigate on it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["Checkbook"]

SECONDS_PER_DAY = 86_400.0


class Checkbook:
    """Running depletion estimate of one plot.

    Args:
        kc: crop coefficient (> 0).
        taw_mm: total available water (mm, > 0).
        blend_tau_s: time constant of the pull towards the probe (s, > 0).
        et0_hold_s: how long a good ET0 value is used (s).
        max_age_s: how long the estimate runs without a good probe (s).
    """

    def __init__(
        self, kc: float, taw_mm: float, blend_tau_s: float, et0_hold_s: float, max_age_s: float
    ) -> None:
        self.kc = kc
        self.taw_mm = taw_mm
        self.blend_tau_s = blend_tau_s
        self.et0_hold_s = et0_hold_s
        self.max_age_s = max_age_s
        self.depletion_mm: float | None = None
        self.anchored_s: float | None = None
        self.et0_mm_d: float | None = None
        self.et0_s: float | None = None

    def _et0(self, now: float) -> float | None:
        if self.et0_s is None or now - self.et0_s > self.et0_hold_s:
            return None
        return self.et0_mm_d

    def valid(self, now: float) -> bool:
        """True when the estimate may be used for decisions at ``now``."""
        if self.depletion_mm is None or self.anchored_s is None:
            return False
        if now - self.anchored_s > self.max_age_s:
            return False
        return self.anchored_s == now or self._et0(now) is not None

    def update(
        self,
        now: float,
        dt_s: float,
        et0_mm_d: float | None,
        rain_mm: float,
        net_irrigation_mm: float,
        probe_depletion_mm: float | None,
    ) -> float | None:
        """Advance by ``dt_s`` to ``now``; returns the estimate if valid, else None.

        ``et0_mm_d`` / ``probe_depletion_mm`` are None when not good this scan.
        """
        was_valid = self.valid(now)
        if et0_mm_d is not None:
            self.et0_mm_d, self.et0_s = float(et0_mm_d), float(now)
        if self.depletion_mm is not None:
            et0 = self._et0(now)
            etc = 0.0 if et0 is None else self.kc * et0 * dt_s / SECONDS_PER_DAY
            dr = self.depletion_mm + etc - rain_mm - net_irrigation_mm
            self.depletion_mm = min(max(dr, 0.0), self.taw_mm)
        if probe_depletion_mm is not None:
            if self.depletion_mm is None or not was_valid:
                self.depletion_mm = float(probe_depletion_mm)
            else:
                alpha = 1.0 - math.exp(-max(dt_s, 0.0) / self.blend_tau_s)
                self.depletion_mm += alpha * (probe_depletion_mm - self.depletion_mm)
            self.anchored_s = float(now)
        return self.depletion_mm if self.valid(now) else None

    def snapshot(self) -> dict[str, Any]:
        """State as JSON-serialisable data."""
        return {
            "depletion_mm": self.depletion_mm,
            "anchored_s": self.anchored_s,
            "et0_mm_d": self.et0_mm_d,
            "et0_s": self.et0_s,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot`."""

        def opt(key: str) -> float | None:
            value = state[key]
            return None if value is None else float(value)

        self.depletion_mm = opt("depletion_mm")
        self.anchored_s = opt("anchored_s")
        self.et0_mm_d = opt("et0_mm_d")
        self.et0_s = opt("et0_s")
