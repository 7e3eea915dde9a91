"""Lamp and cabinet fault detection from metered power against the commanded level.

Driver model (DOMAIN.md: P/Pmax ≈ 0.08–0.10 + 0.90–0.92 × light fraction)::

    P(level) = standby_w                                  level = 0 (off)
    P(level) = rated_w × (a + b × max(level, min_dim)/100) level > 0

The plant raises a level between 0 and the minimum dim level to the minimum,
so the expected power does too.

Alert codes (TALQ lamp-monitor names), highest priority first — the pole's
``fault`` output shows the highest-priority active one:

==================  ===========================================================
code                raised when (for ``persist_scans`` consecutive scans)
==================  ===========================================================
supplyLoss          the cabinet reports ``supply_ok`` False
commFailure         the pole's link is down or unknown, or its power reading
                    is missing/BAD (not judged during a supply loss)
lampFailure         commanded on, but power within ``abs_tol_w`` of standby
dimmingFailure      commanded on and lit, but power off the expected value by
                    more than max(``abs_tol_w``, ``rel_tol`` × expected)
lampUnexpectedOn    commanded off (0 %), but power above standby + ``abs_tol_w``
==================  ===========================================================

Lamp codes are judged only with a good link, a good power reading and the
supply present, and only once the command has *settled*: the on/off state
unchanged for ``settle_s`` (lampFailure, lampUnexpectedOn) or the exact level
unchanged for ``settle_s`` (dimmingFailure) — the meter lags the command.
While a code cannot be judged its state is held. An alert clears after
``clear_scans`` consecutive scans without its condition. Every raise and clear
is an :class:`AlertEvent` with its time, so the twin can measure the time to
detect an injected fault.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FAULT_CODES",
    "AlertEvent",
    "DriverModel",
    "FaultConfig",
    "PoleFaultMonitor",
]

#: share of its expected power under which a lamp commanded on counts as dark
DARK_FRACTION = 0.3

#: alert codes, highest priority first
FAULT_CODES = ("supplyLoss", "commFailure", "lampFailure", "dimmingFailure", "lampUnexpectedOn")
_LAMP_CODES = FAULT_CODES[2:]


def _positive(value: Any, where: str, allow_zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {value!r}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{where}: must be {'>= 0' if allow_zero else '> 0'}, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class DriverModel:
    """Power drawn by a luminaire (lamp + driver) at a dim level.

    Attributes:
        rated_w: power at 100 % (W, > 0).
        a: constant share of rated power when lit (1, 0..1).
        b: share proportional to the light fraction (1, 0..1; a + b ≈ 1).
        standby_w: power when off (W, >= 0, < rated_w × a).
        min_dim_pct: the driver's minimum dim level (%, 0..100).
    """

    rated_w: float = 100.0
    a: float = 0.09
    b: float = 0.91
    standby_w: float = 0.5
    min_dim_pct: float = 10.0

    def __post_init__(self) -> None:
        _positive(self.rated_w, "driver.rated_w")
        for name in ("a", "b"):
            v = _positive(getattr(self, name), f"driver.{name}", allow_zero=True)
            if v > 1.0:
                raise ValueError(f"driver.{name} must be in 0..1, got {v!r}")
        if not 0.5 <= self.a + self.b <= 1.5:
            raise ValueError(f"driver.a + driver.b should be about 1, got {self.a + self.b!r}")
        m = _positive(self.min_dim_pct, "driver.min_dim_pct", allow_zero=True)
        if m > 100.0:
            raise ValueError(f"driver.min_dim_pct must be in 0..100 %, got {m!r}")
        _positive(self.standby_w, "driver.standby_w", allow_zero=True)
        lowest = self.expected_w(max(m, 1e-9))
        if self.standby_w >= lowest:
            raise ValueError(
                f"driver.standby_w {self.standby_w} W must be below the power at the minimum "
                f"dim level ({lowest:.3g} W)"
            )

    def expected_w(self, level_pct: float) -> float:
        """Expected power (W) at a commanded level (%; <= 0 means off)."""
        if not level_pct > 0.0:
            return self.standby_w
        light = min(100.0, max(level_pct, self.min_dim_pct)) / 100.0
        return self.rated_w * (self.a + self.b * light)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "driver") -> DriverModel:
        """From ``{rated_w, a, b, standby_w, min_dim_pct}`` (missing keys: defaults)."""
        return _from_mapping(cls, data, where, "driver")


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """Tolerances and persistence of fault detection.

    Attributes:
        rel_tol: relative tolerance on the expected power (1, 0..1).
        abs_tol_w: absolute tolerance (W, > 0); also the band above standby
            within which a lamp counts as dark.
        persist_scans: consecutive scans with a condition before it is raised (>= 1).
        clear_scans: consecutive scans without it before it clears (>= 1).
        settle_s: time (s, >= 0) a command must be unchanged before lamp codes
            are judged (the meter's lag).
    """

    rel_tol: float = 0.15
    abs_tol_w: float = 5.0
    persist_scans: int = 3
    clear_scans: int = 3
    settle_s: float = 2.0

    def __post_init__(self) -> None:
        if _positive(self.rel_tol, "faults.rel_tol", allow_zero=True) >= 1.0:
            raise ValueError(f"faults.rel_tol must be in 0..1, got {self.rel_tol!r}")
        _positive(self.abs_tol_w, "faults.abs_tol_w")
        _positive(self.settle_s, "faults.settle_s", allow_zero=True)
        for name in ("persist_scans", "clear_scans"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"faults.{name} must be an integer >= 1, got {v!r}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "faults") -> FaultConfig:
        """From ``{rel_tol, abs_tol_w, persist_scans, clear_scans, settle_s}``."""
        return _from_mapping(cls, data, where, "faults")


def _from_mapping(cls: Any, data: Mapping[str, Any], where: str, prefix: str) -> Any:
    """``cls(**data)`` with unknown keys refused and messages naming ``where``."""
    if not isinstance(data, Mapping):
        raise ValueError(f"{where}: expected a mapping")
    fields = list(cls.__dataclass_fields__)
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; use {fields}")
    try:
        return cls(**dict(data))
    except (TypeError, ValueError) as exc:
        msg = str(exc)
        if msg.startswith(prefix + "."):
            raise ValueError(where + msg[len(prefix) :]) from exc
        raise ValueError(f"{where}: {msg}") from exc


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An alert raised or cleared.

    Attributes:
        time_s: run time of the event (s).
        pole: the pole id.
        code: one of :data:`FAULT_CODES`.
        kind: ``"raised"`` or ``"cleared"``.
    """

    time_s: float
    pole: str
    code: str
    kind: str

    def to_mapping(self) -> dict[str, Any]:
        """Plain data."""
        return {"time_s": self.time_s, "pole": self.pole, "code": self.code, "kind": self.kind}

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> AlertEvent:
        """The inverse of :meth:`to_mapping`."""
        return cls(float(data["time_s"]), str(data["pole"]), str(data["code"]), str(data["kind"]))


class PoleFaultMonitor:
    """Persistence-filtered alerts of one pole.

    Args:
        pole_id: the pole's id (used in events).
        driver: the pole's driver model.
        config: tolerances and persistence.
    """

    def __init__(self, pole_id: str, driver: DriverModel, config: FaultConfig) -> None:
        self.pole_id = pole_id
        self.driver = driver
        self.config = config
        self._true = dict.fromkeys(FAULT_CODES, 0)
        self._false = dict.fromkeys(FAULT_CODES, 0)
        self.active: dict[str, float] = {}  # code -> time raised (s)

    @property
    def code(self) -> str:
        """The highest-priority active code, or ``""``."""
        for code in FAULT_CODES:
            if code in self.active:
                return code
        return ""

    def conditions(
        self,
        now: float,
        commanded_pct: float,
        level_since_s: float,
        state_since_s: float,
        power_w: float | None,
        link_ok: bool | None,
        supply_ok: bool | None,
    ) -> dict[str, bool | None]:
        """Each code's condition this scan: True, False, or None (cannot be judged)."""
        cfg, drv = self.config, self.driver
        out: dict[str, bool | None] = dict.fromkeys(FAULT_CODES)
        out["supplyLoss"] = None if supply_ok is None else not supply_ok
        if out["supplyLoss"]:
            return out
        comm_bad = link_ok is not True or power_w is None
        out["commFailure"] = comm_bad
        if comm_bad or supply_ok is not True or power_w is None:
            return out
        on = commanded_pct > 0.0
        # off: any draw above standby is a lamp burning; on: a lamp is dark when it draws
        # under DARK_FRACTION of what its level needs (a failed HPS burner still feeds
        # its ballast ~15 W of 280 W, a failed LED string leaves the driver's ~1.5 W)
        floor = drv.standby_w + cfg.abs_tol_w
        lit = power_w > (max(floor, DARK_FRACTION * drv.expected_w(commanded_pct)) if on else floor)
        if now - state_since_s >= cfg.settle_s:
            out["lampFailure"] = on and not lit
            out["lampUnexpectedOn"] = (not on) and lit
        if on and now - level_since_s >= cfg.settle_s:
            expected = drv.expected_w(commanded_pct)
            out["dimmingFailure"] = lit and abs(power_w - expected) > max(
                cfg.abs_tol_w, cfg.rel_tol * expected
            )
        elif not on:
            out["dimmingFailure"] = False
        return out

    def observe(
        self,
        now: float,
        commanded_pct: float,
        level_since_s: float,
        state_since_s: float,
        power_w: float | None,
        link_ok: bool | None,
        supply_ok: bool | None,
    ) -> list[AlertEvent]:
        """Judge one scan; return the alerts raised or cleared by it.

        Args:
            now: scan time (s).
            commanded_pct: the level commanded at the previous scan (what the
                meter is measuring), %.
            level_since_s: when that exact level was first commanded (s).
            state_since_s: when its on/off state was first commanded (s).
            power_w: metered power (W), None if missing/BAD.
            link_ok: the pole's link (None = unknown).
            supply_ok: the cabinet's mains (None = unknown).
        """
        events: list[AlertEvent] = []
        cfg = self.config
        conds = self.conditions(
            now, commanded_pct, level_since_s, state_since_s, power_w, link_ok, supply_ok
        )
        for code in FAULT_CODES:
            cond = conds[code]
            if cond is None:
                continue
            if cond:
                self._true[code] += 1
                self._false[code] = 0
                if code not in self.active and self._true[code] >= cfg.persist_scans:
                    self.active[code] = now
                    events.append(AlertEvent(now, self.pole_id, code, "raised"))
            else:
                self._false[code] += 1
                self._true[code] = 0
                if code in self.active and self._false[code] >= cfg.clear_scans:
                    del self.active[code]
                    events.append(AlertEvent(now, self.pole_id, code, "cleared"))
        return events

    def snapshot(self) -> dict[str, Any]:
        """State as plain data."""
        return {"true": dict(self._true), "false": dict(self._false), "active": dict(self.active)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot`."""
        true = {c: int(state["true"][c]) for c in FAULT_CODES}
        false = {c: int(state["false"][c]) for c in FAULT_CODES}
        active = {str(c): float(t) for c, t in state["active"].items()}
        if set(active) - set(FAULT_CODES):
            raise ValueError(f"unknown alert codes in snapshot: {sorted(set(active))}")
        self._true, self._false, self.active = true, false, active
