"""The central manager's decision for one segment (the stretch fed by one cabinet).

Each scan, per segment:

1. **On or off.** The calendar's programmed level (astro clock) says whether
   it is lighting time; the cabinet photocell is a check that can only add
   light: a good ``ambient_lx`` below ``dark_below_lx`` switches the segment
   on even outside the programmed hours (a dark storm), and it stays on until
   the ambient rises above ``light_above_lx`` (hysteresis). A bad photocell is
   ignored (the astro calendar is trusted). Off means 0 %.
2. **Class.** CIE 115 class from the fixed road parameters and the measured
   ``volume_veh_h`` (:mod:`controllers.lighting.cie115`), re-summed per time
   band: at a band change the class is re-selected at once; within a band a
   brighter class applies at once, a darker one only after it has been
   indicated for ``step_down_hold_s`` (no flicker on a noisy count). A bad
   volume uses the band's ``design_volume`` (the design, brightest, class of
   the band). Wet road (rain above ``wet_above_mm_h``, and for ``dry_after_s``
   after) raises the class ``wet_class_steps``; a bad rain reading counts as
   wet (the safe side).
3. **Level.** The commissioning table gives the lowest uniform dim level
   (%) meeting each class on this segment (computed by the twin from
   photometry); a class with no entry uses the next brighter class that has
   one, and 100 % if none has.

In ``mode="fixed"`` the level is the programmed level (100 % when only the
photocell switched on) and there are no boosts: the fixed-schedule baseline.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from controllers.lighting.cie115 import (
    VOLUME_OPTIONS,
    ClassSelection,
    RoadParameters,
    VolumeBands,
    select_class,
)
from controllers.lighting.classes import LightingClass, brighter, parse_class
from controllers.lighting.pole import BoostConfig
from controllers.lighting.program import parse_clock

__all__ = [
    "MODES",
    "PhotocellRule",
    "RainRule",
    "SegmentDecision",
    "SegmentManager",
    "TimeBand",
    "commissioning_level",
    "parse_commissioning",
]

#: controller modes: CIE 115 adaptive dimming, or the fixed schedule baseline
MODES = ("adaptive", "fixed")


def _finite(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


@dataclass(frozen=True, slots=True)
class TimeBand:
    """A time band of the night; bands repeat every day.

    Attributes:
        start_s: local clock start (s after midnight, 0..86399).
        name: label (e.g. ``evening``).
        design_volume: the CIE volume option assumed when the count is bad
            (the band's design volume, default very high).
    """

    start_s: float
    name: str
    design_volume: str = "very_high"

    def __post_init__(self) -> None:
        if not (_finite(self.start_s) and 0.0 <= self.start_s < 86400.0):
            raise ValueError(f"time band start must be a clock time, got {self.start_s!r} s")
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"time band name must be non-empty text, got {self.name!r}")
        if self.design_volume not in VOLUME_OPTIONS:
            raise ValueError(
                f"time band {self.name!r}: design_volume {self.design_volume!r} not in "
                f"{list(VOLUME_OPTIONS)}"
            )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "time band") -> TimeBand:
        """From ``{start: "HH:MM", name, design_volume}``."""
        if not isinstance(data, Mapping) or "start" not in data:
            raise ValueError(f"{where}: expected {{start: 'HH:MM', name, design_volume}}")
        unknown = sorted(set(data) - {"start", "name", "design_volume"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; use start, name, design_volume")
        try:
            start = parse_clock(data["start"], f"{where}.start")
            return cls(
                start, str(data.get("name", data["start"])), data.get("design_volume", "very_high")
            )
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc


@dataclass(frozen=True, slots=True)
class RainRule:
    """When the road counts as wet, and what that does to the class.

    Attributes:
        wet_above_mm_h: rain (mm/h, >= 0) above which the road is wet.
        dry_after_s: the road stays wet this long (s, >= 0) after the rain.
        wet_class_steps: classes brighter while wet (>= 0).
    """

    wet_above_mm_h: float = 0.5
    dry_after_s: float = 1800.0
    wet_class_steps: int = 1

    def __post_init__(self) -> None:
        for name in ("wet_above_mm_h", "dry_after_s"):
            v = getattr(self, name)
            if not (_finite(v) and v >= 0):
                raise ValueError(f"rain.{name} must be a number >= 0, got {v!r}")
        s = self.wet_class_steps
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ValueError(f"rain.wet_class_steps must be an integer >= 0, got {s!r}")


@dataclass(frozen=True, slots=True)
class PhotocellRule:
    """Photocell switching thresholds (lx, horizontal illuminance).

    Attributes:
        dark_below_lx: below this the segment is switched on (> 0).
        light_above_lx: above this the photocell releases (> dark_below_lx).
    """

    dark_below_lx: float = 20.0
    light_above_lx: float = 50.0

    def __post_init__(self) -> None:
        if not (_finite(self.dark_below_lx) and self.dark_below_lx > 0):
            raise ValueError(f"photocell.dark_below_lx must be > 0 lx, got {self.dark_below_lx!r}")
        if not (_finite(self.light_above_lx) and self.light_above_lx > self.dark_below_lx):
            raise ValueError(
                "photocell.light_above_lx must be above dark_below_lx, got "
                f"{self.light_above_lx!r} <= {self.dark_below_lx!r}"
            )


def parse_commissioning(data: Mapping[Any, Any], where: str) -> dict[LightingClass, float]:
    """``{"M3": 72.0, ...}`` -> {LightingClass.M3: 72.0}; levels 0..100 %, at least one."""
    if not isinstance(data, Mapping) or not data:
        raise ValueError(f"{where}: give the dim level (%) per class, e.g. {{M3: 72.0, M4: 55.0}}")
    out: dict[LightingClass, float] = {}
    for key, value in data.items():
        try:
            cls = parse_class(key)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
        if not (_finite(value) and 0.0 < value <= 100.0):
            raise ValueError(f"{where}.{key}: dim level must be in (0, 100] %, got {value!r}")
        out[cls] = float(value)
    return out


def commissioning_level(table: Mapping[LightingClass, float], cls: LightingClass) -> float:
    """The table's level for ``cls``, else the next brighter class's, else 100 %."""
    for number in range(int(cls), 0, -1):
        level = table.get(LightingClass(number))
        if level is not None:
            return level
    return 100.0


@dataclass(frozen=True, slots=True)
class SegmentDecision:
    """What the centre wants for a segment this scan.

    Attributes:
        lit: lighting time (calendar or photocell).
        programmed_pct: the calendar's level (%).
        band: the time band's name.
        selection: the CIE 115 selection (class, VWS, volume option, wet).
        level_pct: the level sent to the segment's poles (%, 0..100).
        boost_pct: the boost level sent to them (%, 0..100).
        notes: the fallbacks taken (``"volume bad"``, ``"rain bad"``,
            ``"ambient bad"``, ``"photocell on"``).
    """

    lit: bool
    programmed_pct: float
    band: str
    selection: ClassSelection
    level_pct: float
    boost_pct: float
    notes: tuple[str, ...]


class SegmentManager:
    """Class selection and on/off decision for one segment.

    Args:
        cabinet_id: the cabinet feeding the segment.
        commissioning: dim level (%) per class for this segment.
        road: the fixed CIE 115 parameters.
        volume_bands: volume thresholds.
        bands: the time bands (at least one; any order).
        rain, photocell: the rules above.
        boost: boost settings (its level is computed here).
        mode: ``"adaptive"`` or ``"fixed"``.
        step_down_hold_s: delay (s, >= 0) before stepping to a darker class in a band.
    """

    def __init__(
        self,
        cabinet_id: str,
        commissioning: Mapping[LightingClass, float],
        road: RoadParameters,
        volume_bands: VolumeBands,
        bands: Sequence[TimeBand],
        rain: RainRule,
        photocell: PhotocellRule,
        boost: BoostConfig,
        mode: str = "adaptive",
        step_down_hold_s: float = 900.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if not bands:
            raise ValueError("give at least one time band")
        self.cabinet_id = cabinet_id
        self.commissioning = dict(commissioning)
        self.road = road
        self.volume_bands = volume_bands
        self.bands = tuple(sorted(bands, key=lambda b: b.start_s))
        self.rain = rain
        self.photocell = photocell
        self.boost = boost
        self.mode = mode
        self.step_down_hold_s = float(step_down_hold_s)
        # state
        self.lighting_class: LightingClass | None = None
        self.band_name: str | None = None
        self.darker_since_s: float | None = None
        self.wet_until_s = -math.inf
        self.photocell_dark: bool | None = None

    def band_at(self, seconds_of_day: float) -> TimeBand:
        """The time band in force at a local clock time (s after midnight)."""
        current = self.bands[-1]  # before the first start: the last band (from yesterday)
        for band in self.bands:
            if band.start_s <= seconds_of_day:
                current = band
        return current

    def _class(self, now: float, band: TimeBand, selection: ClassSelection) -> LightingClass:
        target = selection.lighting_class
        current = self.lighting_class
        if current is None or band.name != self.band_name or target <= current:
            self.darker_since_s = None
            self.band_name = band.name
            self.lighting_class = target
            return target
        if self.darker_since_s is None:
            self.darker_since_s = now
        if now - self.darker_since_s >= self.step_down_hold_s:
            self.darker_since_s = None
            self.lighting_class = target
            return target
        return current

    def decide(
        self,
        now: float,
        seconds_of_day: float,
        programmed_pct: float,
        ambient_lx: float | None,
        rain_mm_h: float | None,
        volume_veh_h: float | None,
    ) -> SegmentDecision:
        """The decision at ``now`` (s); sensor values None when missing or bad."""
        notes: list[str] = []
        # on/off
        if ambient_lx is None:
            self.photocell_dark = None
            notes.append("ambient bad")
        elif ambient_lx < self.photocell.dark_below_lx:
            self.photocell_dark = True
        elif ambient_lx > self.photocell.light_above_lx or self.photocell_dark is None:
            self.photocell_dark = False
        programmed = programmed_pct if _finite(programmed_pct) else 100.0
        lit = programmed > 0.0 or self.photocell_dark is True
        if lit and programmed <= 0.0:
            notes.append("photocell on")
        # class
        band = self.band_at(seconds_of_day)
        if volume_veh_h is None:
            option = band.design_volume
            notes.append("volume bad")
        else:
            option = self.volume_bands.option(volume_veh_h)
        if rain_mm_h is None:
            wet = True
            notes.append("rain bad")
        else:
            if rain_mm_h > self.rain.wet_above_mm_h:
                self.wet_until_s = now + self.rain.dry_after_s
            wet = rain_mm_h > self.rain.wet_above_mm_h or now < self.wet_until_s
        selection = select_class(self.road, option, wet, self.rain.wet_class_steps)
        cls = self._class(now, band, selection)
        if cls != selection.lighting_class:
            selection = ClassSelection(cls, selection.vws, selection.volume_option, wet)
        # level
        if self.mode == "fixed":
            level = (programmed if programmed > 0.0 else 100.0) if lit else 0.0
            boost = level
        else:
            level = commissioning_level(self.commissioning, cls) if lit else 0.0
            if self.boost.level_pct is not None:
                boost = self.boost.level_pct
            else:
                # one class up, but never above the band's design class: CIE 115 has
                # priced the traffic in already, so in busy hours (class = design) a
                # detection adds nothing; boosts matter once the class has stepped down
                design = select_class(self.road, band.design_volume, wet, self.rain.wet_class_steps)
                boost = min(
                    commissioning_level(self.commissioning, brighter(cls, self.boost.class_steps)),
                    commissioning_level(self.commissioning, design.lighting_class),
                )
            boost = max(level, boost)
        return SegmentDecision(lit, programmed, band.name, selection, level, boost, tuple(notes))

    def snapshot(self) -> dict[str, Any]:
        """State as plain data."""
        return {
            "class": None if self.lighting_class is None else int(self.lighting_class),
            "band": self.band_name,
            "darker_since_s": self.darker_since_s,
            "wet_until_s": None if self.wet_until_s == -math.inf else self.wet_until_s,
            "photocell_dark": self.photocell_dark,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot`."""
        cls = state["class"]
        self.lighting_class = None if cls is None else LightingClass(int(cls))
        self.band_name = None if state["band"] is None else str(state["band"])
        d = state["darker_since_s"]
        self.darker_since_s = None if d is None else float(d)
        w = state["wet_until_s"]
        self.wet_until_s = -math.inf if w is None else float(w)
        p = state["photocell_dark"]
        self.photocell_dark = None if p is None else bool(p)
