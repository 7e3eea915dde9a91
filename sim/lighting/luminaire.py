"""Luminaire models: the existing high-pressure sodium lanterns and the LED replacement.

Everything is vectorised: levels and burning hours may be numpy arrays (one
entry per pole), results have their shape.

Vocabulary
----------
level
    The driver's output setting as a fraction of full light (0..1) after the
    clamps of :meth:`LuminaireModel.clamp_level`: 0 = off (the node keeps the
    driver in standby), a dimmable driver raises 0 < x < ``min_level`` to
    ``min_level``; a non-dimmable one burns at 1 for any x > 0.
light fraction
    Luminous flux as a fraction of the NEW luminaire's rated flux
    (``initial_lumens``): level × lumen maintenance (× nothing else: dirt and
    ambient-temperature factors are left to photometry). Photometry's
    contribution matrix at 100 % flux times this fraction gives the field.
power
    Active power drawn from the mains by lamp + ballast/driver (W):
    ``rated_power_w × (a + b × drive)`` when on (``a + b = 1``), ``standby_w``
    when off. ``drive`` equals the level, except with constant light output
    (CLO), where the driver raises its drive by ``1 / maintenance`` (capped at
    1) so that the light fraction stays at the level while the LEDs age.

Lumen maintenance (exponential, as TM-21 projects LM-80 data):
``M(h) = exp(-k h)`` with ``k = -ln(L) / h_L`` from one rated point
``(L, h_L)`` such as L90 at 100,000 h.

The numbers (every default is an estimate; sources in the factory docstrings)
---------------------------------------------------------------------------------
================  ==========  =================================================
quantity          HPS 250 W   LED (default 100 W)
================  ==========  =================================================
system power      280 W       100 W
flux (luminaire)  20,250 lm   14,000 lm
P/Pmax            on/off      0.08 + 0.92 × level
minimum level     1 (no dim)  0.10
standby power     0 W         0.5 W
failed lamp       15 W        1.5 W
maintenance       L90 at      L90 at 100,000 h
                  16,000 h
rated life        24,000 h    100,000 h
================  ==========  =================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "LuminaireError",
    "LuminaireModel",
    "hps_250w",
    "led_100w",
    "luminaire_by_name",
]

FloatArray = NDArray[np.float64]


class LuminaireError(ValueError):
    """A luminaire parameter or a commanded level is invalid."""


@dataclass(frozen=True)
class LuminaireModel:
    """One luminaire type (see the module docstring for the formulas).

    Attributes:
        name: short id (``hps_250w``, ``led_100w``…).
        kind: ``"hps"`` or ``"led"``.
        rated_power_w: system power at full light (lamp + ballast/driver, W, > 0).
        initial_lumens: luminaire flux at full light, new (lm, > 0).
        power_a, power_b: driver curve ``P / Pmax = a + b × drive`` (a, b >= 0,
            a + b = 1).
        dimmable: False = the lamp burns at full for any level > 0.
        min_level: lowest dimmed level (fraction, 0 < min_level <= 1; 1 for
            non-dimmable).
        standby_w: power while switched off by the node (W, >= 0).
        failed_lamp_w: power with the lamp failed but the gear powered (W, >= 0).
        maintenance_fraction, maintenance_hours: the rated lumen-maintenance
            point (e.g. 0.9 at 100,000 h).
        rated_life_h: rated lamp/luminaire life (h, > 0), for reports and
            replacement planning (the plant draws no random failures).
        clo: constant light output (drive raised as the flux depreciates).
        source: where the numbers come from.
    """

    name: str
    kind: str
    rated_power_w: float
    initial_lumens: float
    power_a: float
    power_b: float
    dimmable: bool
    min_level: float
    standby_w: float
    failed_lamp_w: float
    maintenance_fraction: float
    maintenance_hours: float
    rated_life_h: float
    clo: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ("hps", "led"):
            raise LuminaireError(f"LuminaireModel.kind = {self.kind!r}: use 'hps' or 'led'")
        for key in ("rated_power_w", "initial_lumens", "maintenance_hours", "rated_life_h"):
            _positive(key, getattr(self, key))
        for key in ("power_a", "power_b", "standby_w", "failed_lamp_w"):
            value = getattr(self, key)
            if not _finite(value) or value < 0:
                raise LuminaireError(f"LuminaireModel.{key} = {value!r}: must be a number >= 0")
        if abs(self.power_a + self.power_b - 1.0) > 1e-9:
            raise LuminaireError(
                f"LuminaireModel.power_a + power_b = {self.power_a + self.power_b!r}: must be 1 "
                "(P = Pmax at full light), e.g. 0.08 and 0.92"
            )
        if not (_finite(self.min_level) and 0 < self.min_level <= 1):
            raise LuminaireError(
                f"LuminaireModel.min_level = {self.min_level!r}: must be in (0, 1]"
            )
        if not self.dimmable and self.min_level != 1.0:
            raise LuminaireError("LuminaireModel.min_level must be 1 for a non-dimmable lamp")
        if not (_finite(self.maintenance_fraction) and 0 < self.maintenance_fraction < 1):
            raise LuminaireError(
                f"LuminaireModel.maintenance_fraction = {self.maintenance_fraction!r}: must be in "
                "(0, 1), e.g. 0.9 for L90"
            )

    @property
    def efficacy_lm_w(self) -> float:
        """Luminaire efficacy at full light, new (lm/W)."""
        return self.initial_lumens / self.rated_power_w

    @property
    def depreciation_per_h(self) -> float:
        """Exponential lumen-depreciation rate ``k`` (1/h)."""
        return -math.log(self.maintenance_fraction) / self.maintenance_hours

    def with_(self, **changes: Any) -> LuminaireModel:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)

    # ------------------------------------------------------------------ curves
    def clamp_level(self, level: ArrayLike) -> FloatArray:
        """Commanded fraction (0..1) → the level the driver runs at.

        0 stays 0 (off); a dimmable driver raises 0 < x < ``min_level`` to
        ``min_level``; a non-dimmable lamp runs at 1 for any x > 0. Raises
        :class:`LuminaireError` for values outside 0..1 or not finite.
        """
        x = np.asarray(level, dtype=np.float64)
        if not np.all(np.isfinite(x)) or np.any(x < 0) or np.any(x > 1):
            bad = x[~(np.isfinite(x) & (x >= 0) & (x <= 1))].ravel()
            raise LuminaireError(
                f"{self.name}: level {float(bad[0])!r} is outside 0..1 (a fraction; dim_pct / 100)"
            )
        if not self.dimmable:
            return np.where(x > 0, 1.0, 0.0)
        return np.where(x > 0, np.maximum(x, self.min_level), 0.0)

    def maintenance(self, hours: ArrayLike) -> FloatArray:
        """Lumen maintenance ``exp(-k h)`` after ``hours`` burning hours (fraction, 0..1]."""
        h = np.maximum(np.asarray(hours, dtype=np.float64), 0.0)
        return np.asarray(np.exp(-self.depreciation_per_h * h))

    def hours_to(self, fraction: float) -> float:
        """Burning hours (h) until maintenance falls to ``fraction`` (e.g. 0.7 → L70)."""
        if not 0 < fraction < 1:
            raise LuminaireError(f"fraction {fraction!r} must be in (0, 1)")
        return -math.log(fraction) / self.depreciation_per_h

    def drive(self, level: ArrayLike, hours: ArrayLike = 0.0) -> FloatArray:
        """Driver drive (0..1) for a clamped ``level`` at ``hours``: the level, or with CLO
        the level / maintenance capped at 1."""
        lv = np.asarray(level, dtype=np.float64)
        if not self.clo:
            return lv
        return np.asarray(np.minimum(lv / self.maintenance(hours), 1.0))

    def light_fraction(self, level: ArrayLike, hours: ArrayLike = 0.0) -> FloatArray:
        """Flux as a fraction of ``initial_lumens`` for a clamped ``level`` at ``hours``."""
        return np.asarray(self.drive(level, hours) * self.maintenance(hours))

    def power_w(self, level: ArrayLike, hours: ArrayLike = 0.0) -> FloatArray:
        """System power (W) at a clamped ``level`` (0 = standby) at ``hours``."""
        lv = np.asarray(level, dtype=np.float64)
        d = self.drive(lv, hours)
        on = self.rated_power_w * (self.power_a + self.power_b * d)
        return np.asarray(np.where(lv > 0, on, self.standby_w))

    def flux_lm(self, level: ArrayLike, hours: ArrayLike = 0.0) -> FloatArray:
        """Luminous flux (lm) at a clamped ``level`` and ``hours``."""
        return np.asarray(self.initial_lumens * self.light_fraction(level, hours))


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _positive(key: str, value: Any) -> None:
    if not (_finite(value) and value > 0):
        raise LuminaireError(f"LuminaireModel.{key} = {value!r}: must be a number > 0")


def hps_250w(delivered_efficacy_lm_w: float | None = None) -> LuminaireModel:
    """The existing high-pressure sodium lantern: 250 W lamp on a magnetic ballast.

    - 280 W system: 250 W lamp + ~30 W (12 %) magnetic-ballast loss *(est.;
      IEC 60923-class ballasts lose 25-35 W at 250 W)*.
    - Lamp 27,000 lm *(est.; standard 250 W HPS lamps are rated 27,000-33,000 lm)*;
      luminaire light-output ratio 0.75 *(est., an older closed lantern)* →
      20,250 lm from the luminaire (72 lm/W).
    - ``delivered_efficacy_lm_w``: the plan's "~10 lm/W" for the existing
      sodium lamps (DOMAIN.md: a parameter, not a constant). When given, the
      luminaire flux becomes ``delivered_efficacy_lm_w × 280 W`` — what an old,
      dirty lantern with a depreciated lamp delivers — instead of 20,250 lm.
    - Not dimmable (magnetic ballast, on/off by the cabinet contactor);
      standby 0 W (no node); a failed lamp leaves ~15 W of ballast/ignitor
      losses *(est.)*.
    - Lamp lumen maintenance 0.90 at 16,000 h *(est.; HPS lamp maintenance is
      ~0.9 at 12,000-16,000 h in CIE 154 tables)*; rated average life 24,000 h
      *(est., 50 % mortality of standard HPS lamps)*.
    """
    lumens = 20_250.0
    source = "HPS 250 W + magnetic ballast, 27 klm lamp x LOR 0.75 (est.)"
    if delivered_efficacy_lm_w is not None:
        _positive("delivered_efficacy_lm_w", delivered_efficacy_lm_w)
        lumens = delivered_efficacy_lm_w * 280.0
        source = (
            f"HPS 250 W, plan's delivered efficacy {delivered_efficacy_lm_w:g} lm/W (parameter)"
        )
    return LuminaireModel(
        name="hps_250w",
        kind="hps",
        rated_power_w=280.0,
        initial_lumens=lumens,
        power_a=0.0,
        power_b=1.0,
        dimmable=False,
        min_level=1.0,
        standby_w=0.0,
        failed_lamp_w=15.0,
        maintenance_fraction=0.90,
        maintenance_hours=16_000.0,
        rated_life_h=24_000.0,
        source=source,
    )


def led_100w(
    power_w: float = 100.0, efficacy_lm_w: float = 140.0, min_level: float = 0.10, clo: bool = False
) -> LuminaireModel:
    """The LED replacement with a smart node (DALI/0-10 V driver behind a relay).

    - ``power_w`` 100 W system *(est.; 250 W HPS road lanterns are usually
      replaced by 90-150 W LED)*; ``efficacy_lm_w`` 140 lm/W *(est.; DOMAIN.md:
      LED road luminaires ~130-170 lm/W)* → 14,000 lm.
    - Driver curve P/Pmax = 0.08 + 0.92 × drive (DOMAIN.md: 0.08-0.10 +
      0.90-0.92 × light fraction); ``min_level`` 10 % (DOMAIN.md: 10-20 %).
    - Standby 0.5 W for the node and driver in standby *(est.; 0.3-1 W)*;
      a failed LED string leaves the driver idling at ~1.5 W *(est.)*.
    - L90 at 100,000 h (DOMAIN.md: L80-L90 at 50-100 kh; TM-21-style
      exponential); rated life 100,000 h *(est.)*.
    """
    _positive("power_w", power_w)
    _positive("efficacy_lm_w", efficacy_lm_w)
    return LuminaireModel(
        name=f"led_{power_w:g}w",
        kind="led",
        rated_power_w=float(power_w),
        initial_lumens=float(power_w) * float(efficacy_lm_w),
        power_a=0.08,
        power_b=0.92,
        dimmable=True,
        min_level=float(min_level),
        standby_w=0.5,
        failed_lamp_w=1.5,
        maintenance_fraction=0.90,
        maintenance_hours=100_000.0,
        rated_life_h=100_000.0,
        clo=clo,
        source=f"LED {power_w:g} W at {efficacy_lm_w:g} lm/W, DOMAIN.md driver curve (est.)",
    )


def luminaire_by_name(kind: str) -> LuminaireModel:
    """``"hps_fixed"`` / ``"hps"`` → :func:`hps_250w`; ``"led"`` → :func:`led_100w`."""
    if kind in ("hps_fixed", "hps"):
        return hps_250w()
    if kind == "led":
        return led_100w()
    raise LuminaireError(f"unknown luminaire type {kind!r}: use 'hps_fixed' or 'led'")
