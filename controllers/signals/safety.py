"""The signal safety layer: every signal controller's request passes through it.

A controller *requests* a state string; :class:`SafetyLayer` returns the state
that is actually safe to show. It is a per-link state machine driven only by
the ``now`` passed in (s, run clock; it never reads a clock):

* **Grant.** A red link turns green only when every conflicting link is red
  and has been red for at least ``all_red_s`` since its amber (or flash)
  ended; the link itself must also have been red for ``all_red_s``. Grants
  are made in link-index order, so of two conflicting links requested in the
  same call the lower index wins and the other waits.
* **Minimum green.** A green link stays green for at least ``min_green_s``
  even if the request drops it. While green it shows ``G`` or ``g`` exactly
  as requested.
* **Change interval.** Green to red always passes through amber; an amber
  ends at the first call with ``now - amber_start >= amber_s`` and is always
  followed by red (a link re-requested during its amber still completes the
  change and red clearance).
* **Flashing amber is the fail-safe.** ``o`` on every link is shown

  - for a malformed request (not a string, wrong length, a character outside
    ``GgyroO``) or a non-finite time: a *fault*, counted in ``faults``;
    it lasts while requests stay malformed;
  - while :meth:`SafetyLayer.flash` is in force (manual / commanded flash,
    latched until :meth:`SafetyLayer.release_flash`);
  - when the request contains ``o`` or ``O`` (the controller asks for
    flash / off). A dark signal (``O``) is never shown: flashing amber is the
    defined "off" mode, and a partial flash next to a green is not safe.

  Flash entry is immediate, even mid-green or mid-amber. Leaving flash (and
  the cold start, which counts as flash) shows all links red for
  ``amber_s + all_red_s`` before any green.
* **Time going backwards** raises :class:`TimeWentBackwardsError` and leaves
  the state unchanged: it is a fault of the caller (the kernel or a bridge),
  not of the request. Equal times are allowed.

Requested ``y`` and ``r`` both mean "not green"; the layer times the amber
itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from controllers.signals.intersection import GREEN_CHARS, STATE_CHARS, IntersectionSpec

__all__ = ["SafetyLayer", "TimeWentBackwardsError"]

_SNAPSHOT_VERSION = 1
_COUNTER_NAMES = (
    "calls",
    "faults",
    "flash_calls",
    "flash_requests",
    "grants",
    "grants_withheld",
    "greens_held",
)


_NO_REQUEST = object()  # equal to no request, valid or not


class TimeWentBackwardsError(ValueError):
    """``now`` is earlier than the previous call's ``now``."""


class SafetyLayer:
    """Turns requested signal states into safe ones for one intersection.

    Args:
        spec: the intersection (conflicts and min green / amber / all-red, s).

    Attributes:
        spec: the intersection this layer guards.
    """

    def __init__(self, spec: IntersectionSpec) -> None:
        self.spec = spec
        n = spec.n_links
        # Per link: the shown char ('G', 'g', 'y', 'r' or 'o') and the time
        # (s) it entered its current mode (green / amber / red); None in flash.
        self._shown: list[str] = ["o"] * n
        self._since: list[float | None] = [None] * n
        self._last_now: float | None = None
        self._hold_red_until: float | None = None
        self._forced_flash = False
        self._counters = dict.fromkeys(_COUNTER_NAMES, 0)
        # The last request whose answer was steady (shown == request, nothing timing):
        # repeating it cannot change anything, so it is answered without the per-link pass.
        self._steady_request: object = _NO_REQUEST
        self._steady_shown = ""

    # ------------------------------------------------------------------ API

    @property
    def shown(self) -> str:
        """The state returned by the last call (``o`` * n before the first call)."""
        return "".join(self._shown)

    @property
    def forced_flash(self) -> bool:
        """True while a manual / commanded flash is latched."""
        return self._forced_flash

    @property
    def counters(self) -> dict[str, int]:
        """Counts since construction: calls, faults (malformed requests or times),
        flash_calls (calls that showed flash), flash_requests (requests with
        ``o``/``O``), grants (red->green), grants_withheld (link-calls where a
        requested green was refused), greens_held (link-calls where a dropped
        green was held for min green)."""
        return dict(self._counters)

    @property
    def faults(self) -> int:
        """Number of malformed requests / non-finite times seen."""
        return self._counters["faults"]

    def flash(self) -> None:
        """Latch flashing amber (manual or commanded flash) from the next call on."""
        self._forced_flash = True

    def release_flash(self) -> None:
        """Release a latched flash; the next call starts the all-red start-up."""
        self._forced_flash = False

    def apply(self, now: float, requested: str) -> str:
        """Return the safe state to show at ``now`` (s) for the ``requested`` state.

        Args:
            now: run-clock time in s; must not decrease between calls.
            requested: one char per link from ``GgyroO``.

        Returns:
            A state string over ``Ggyro`` (never ``O``).

        Raises:
            TimeWentBackwardsError: ``now`` is before the previous call's time.
        """
        c = self._counters
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            c["calls"] += 1
            c["faults"] += 1
            return self._enter_flash()
        now = float(now)
        if self._last_now is not None and now < self._last_now:
            raise TimeWentBackwardsError(
                f"tls {self.spec.tls_id}: time went backwards from {self._last_now} s to "
                f"{now} s; the caller must pass a non-decreasing run-clock time"
            )
        c["calls"] += 1
        self._last_now = now
        if requested == self._steady_request and not self._forced_flash:
            return self._steady_shown
        if not self._valid_request(requested):
            c["faults"] += 1
            return self._enter_flash()
        if "o" in requested or "O" in requested:
            c["flash_requests"] += 1
            return self._enter_flash()
        if self._forced_flash:
            return self._enter_flash()
        if self._shown[0] == "o":
            self._leave_flash(now)
        shown = self._step(now, requested)
        if shown == requested.replace("y", "r"):
            self._steady_request, self._steady_shown = requested, shown
        else:
            self._steady_request = _NO_REQUEST
        return shown

    # -------------------------------------------------------------- internals

    def _valid_request(self, requested: object) -> bool:
        return (
            isinstance(requested, str)
            and len(requested) == self.spec.n_links
            and all(ch in STATE_CHARS for ch in requested)
        )

    def _enter_flash(self) -> str:
        n = self.spec.n_links
        self._steady_request = _NO_REQUEST
        self._shown = ["o"] * n
        self._since = [None] * n
        self._hold_red_until = None
        self._counters["flash_calls"] += 1
        return "o" * n

    def _leave_flash(self, now: float) -> None:
        n = self.spec.n_links
        self._shown = ["r"] * n
        self._since = [now] * n
        self._hold_red_until = now + self.spec.amber_s + self.spec.all_red_s

    def _red_for(self, link: int, now: float) -> float:
        """How long (s) ``link`` has been red at ``now``; -1 if it is not red."""
        if self._shown[link] != "r":
            return -1.0
        since = self._since[link]
        assert since is not None
        return now - since

    def _step(self, now: float, requested: str) -> str:
        spec = self.spec
        shown, since, c = self._shown, self._since, self._counters
        # 1. Ambers that have lasted amber_s end: the link turns red now.
        for i, ch in enumerate(shown):
            if ch == "y":
                start = since[i]
                assert start is not None
                if now - start >= spec.amber_s:
                    shown[i], since[i] = "r", now
        # 2. Greens: follow G/g if still requested, else amber once min green is served.
        for i, ch in enumerate(shown):
            if ch not in GREEN_CHARS:
                continue
            want = requested[i]
            if want in GREEN_CHARS:
                shown[i] = want
                continue
            start = since[i]
            assert start is not None
            if now - start >= spec.min_green_s:
                shown[i], since[i] = "y", now
            else:
                c["greens_held"] += 1
        # 3. Grants, in index order.
        hold = self._hold_red_until
        for j, want in enumerate(requested):
            if want not in GREEN_CHARS or shown[j] != "r":
                continue
            ok = (hold is None or now >= hold) and self._red_for(j, now) >= spec.all_red_s
            if ok:
                for i in spec.conflicts(j):
                    if self._red_for(i, now) < spec.all_red_s:
                        ok = False
                        break
            if ok:
                shown[j], since[j] = want, now
                c["grants"] += 1
            else:
                c["grants_withheld"] += 1
        return "".join(shown)

    # ------------------------------------------------------ snapshot / restore

    def snapshot(self) -> dict[str, Any]:
        """The layer's state as plain JSON-serialisable data (times in s)."""
        return {
            "version": _SNAPSHOT_VERSION,
            "tls_id": self.spec.tls_id,
            "n_links": self.spec.n_links,
            "shown": "".join(self._shown),
            "since": list(self._since),
            "last_now": self._last_now,
            "hold_red_until": self._hold_red_until,
            "forced_flash": self._forced_flash,
            "counters": dict(self._counters),
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a state produced by :meth:`snapshot` of a layer for the same tls.

        Raises:
            ValueError: the snapshot is of another intersection or malformed.
        """
        spec = self.spec
        try:
            if state["version"] != _SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {state['version']!r}")
            if state["tls_id"] != spec.tls_id or state["n_links"] != spec.n_links:
                raise ValueError(
                    f"snapshot is of tls {state['tls_id']!r} with {state['n_links']} links, "
                    f"this layer guards {spec.tls_id!r} with {spec.n_links}"
                )
            shown = list(state["shown"])
            since = [None if t is None else float(t) for t in state["since"]]
            last_now = None if state["last_now"] is None else float(state["last_now"])
            hold = None if state["hold_red_until"] is None else float(state["hold_red_until"])
            forced = bool(state["forced_flash"])
            counters = {k: int(state["counters"][k]) for k in _COUNTER_NAMES}
        except (KeyError, TypeError) as exc:
            raise ValueError(f"tls {spec.tls_id}: malformed safety snapshot ({exc!r})") from exc
        n = spec.n_links
        if len(shown) != n or len(since) != n:
            raise ValueError(f"tls {spec.tls_id}: snapshot 'shown'/'since' must have {n} entries")
        flashing = all(ch == "o" for ch in shown)
        if flashing:
            if any(t is not None for t in since):
                raise ValueError(f"tls {spec.tls_id}: flash snapshot must have no timers")
        elif any(ch not in "Ggyr" for ch in shown) or any(t is None for t in since):
            raise ValueError(
                f"tls {spec.tls_id}: snapshot 'shown' must be all 'o' or over 'Ggyr' with a "
                "time for every link"
            )
        moving = [i for i, ch in enumerate(shown) if ch in "Ggy"]
        for i in moving:
            for j in moving:
                if not spec.compatible[i][j]:
                    raise ValueError(
                        f"tls {spec.tls_id}: snapshot shows conflicting links {i} and {j} "
                        "green/amber together; refusing to restore it"
                    )
        self._shown = shown
        self._since = since
        self._steady_request = _NO_REQUEST
        self._last_now = last_now
        self._hold_red_until = hold
        self._forced_flash = forced
        self._counters = counters
