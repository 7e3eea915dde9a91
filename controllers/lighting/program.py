"""TALQ-style control programs: switch points, day programs and a calendar.

Vocabulary (after TALQ 2.x "CalendarProfile" / "ControlProgram")
----------------------------------------------------------------
switch point
    At a time, set the light level (%, 0..100; 0 = off). The time is a fixed
    local clock time (``at: "23:00"``) or an astronomical event plus an offset
    (``at: sunset, offset_min: -10``; offsets in minutes, -240..240).
day program
    An ordered list of switch points for one *lighting day*.
calendar
    Which day program runs on which lighting day: a default program and rules
    (weekdays, single dates, date ranges — each optionally recurring every
    year) with priorities.

The lighting day
----------------
A night crosses midnight, so a day program runs over a *lighting day*: from
``day_start`` (local clock, default 12:00) on date D to ``day_start`` on D+1.
The calendar chooses the program by D, the date of the evening. Within it:

* a clock time at or after ``day_start`` is on D, a clock time before it is on
  the next morning (D+1): with the default noon start, ``"23:00"`` is the
  evening and ``"05:00"`` the next morning;
* ``sunset`` is the sunset of D and ``sunrise`` the sunrise of D+1.

Before the first switch point of a lighting day, the level is the last level
of the previous lighting day's program (normally 0 after a sunrise point).

Ordering and the astronomical clock
-----------------------------------
Switch points must be listed in time order; this is checked when the program
is built using nominal astro times (sunset 18:00, sunrise 06:00 local). At
evaluation the real sunset/sunrise are used, and if a point would then come
before the point listed before it, it takes effect together with that point
(times are made non-decreasing; the later-listed level wins). In polar night
(no sunrise/sunset, Sun always down) sunset resolves to the start of the
lighting day and sunrise to its end, so the lights stay on; in polar day the
reverse, so they stay off.

Local time has a fixed UTC offset (Vietnam keeps no DST), so no lighting day
is ever 23 or 25 hours long.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from controllers.lighting.astro import AstroClock, SunTimes
from controllers.lighting.clock import SECONDS_PER_DAY, LocalTime

__all__ = [
    "ANCHORS",
    "Calendar",
    "CalendarRule",
    "ControlProgram",
    "DayProgram",
    "SwitchPoint",
    "parse_clock",
]

#: what a switch point's time refers to
ANCHORS = ("clock", "sunset", "sunrise")
_NOMINAL_S = {"sunset": 18 * 3600.0, "sunrise": 6 * 3600.0}
_MAX_OFFSET_MIN = 240.0
_CLOCK_RE = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")
_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MONTH_DAY_RE = re.compile(r"^(\d{2})-(\d{2})$")


def parse_clock(text: str, where: str = "time") -> float:
    """Seconds after local midnight (0..86399) of ``"HH:MM"`` or ``"HH:MM:SS"``."""
    match = _CLOCK_RE.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{where}: expected a clock time 'HH:MM' (00:00..23:59), got {text!r}")
    h, m, s = int(match[1]), int(match[2]), int(match[3] or 0)
    if h > 23 or m > 59 or s > 59:
        raise ValueError(f"{where}: {text!r} is not a clock time (00:00..23:59)")
    return float(h * 3600 + m * 60 + s)


def _format_clock(seconds: float) -> str:
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h:02d}:{m:02d}" if sec == 0 else f"{h:02d}:{m:02d}:{sec:02d}"


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


@dataclass(frozen=True, slots=True)
class SwitchPoint:
    """One switch point of a day program.

    Attributes:
        anchor: ``"clock"``, ``"sunset"`` or ``"sunrise"``.
        level_pct: light level from this point on (%, 0..100; 0 = off).
        clock_s: for ``anchor="clock"``: seconds after local midnight (0..86399).
        offset_min: for ``sunset``/``sunrise``: minutes after the event
            (-240..240; negative = before).
    """

    anchor: str
    level_pct: float
    clock_s: float = 0.0
    offset_min: float = 0.0

    def __post_init__(self) -> None:
        if self.anchor not in ANCHORS:
            raise ValueError(f"switch point anchor must be one of {ANCHORS}, got {self.anchor!r}")
        level = _number(self.level_pct, "switch point level_pct")
        if not 0.0 <= level <= 100.0:
            raise ValueError(f"switch point level_pct must be in 0..100 %, got {level!r}")
        clock = _number(self.clock_s, "switch point clock_s")
        if not 0.0 <= clock < SECONDS_PER_DAY:
            raise ValueError(f"switch point clock_s must be in [0, 86400) s, got {clock!r}")
        offset = _number(self.offset_min, "switch point offset_min")
        if abs(offset) > _MAX_OFFSET_MIN:
            raise ValueError(
                f"switch point offset_min must be within ±{_MAX_OFFSET_MIN:g} min, got {offset!r}"
            )
        if self.anchor == "clock" and offset != 0.0:
            raise ValueError("a clock-time switch point takes no offset_min; shift its time")
        object.__setattr__(self, "level_pct", level)
        object.__setattr__(self, "clock_s", clock)
        object.__setattr__(self, "offset_min", offset)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "switch point") -> SwitchPoint:
        """From ``{at: "HH:MM" | sunset | sunrise, offset_min: m, level_pct: x}``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping with 'at' and 'level_pct'")
        unknown = sorted(set(data) - {"at", "offset_min", "level_pct"})
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; use at, offset_min, level_pct")
        if "at" not in data or "level_pct" not in data:
            raise ValueError(f"{where}: needs 'at' (HH:MM, sunset or sunrise) and 'level_pct'")
        at = data["at"]
        try:
            if at in ("sunset", "sunrise"):
                return cls(at, data["level_pct"], offset_min=data.get("offset_min", 0.0))
            if "offset_min" in data:
                raise ValueError("offset_min is only for sunset/sunrise points")
            return cls("clock", data["level_pct"], clock_s=parse_clock(at, f"{where}.at"))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of :meth:`from_mapping`."""
        if self.anchor == "clock":
            return {"at": _format_clock(self.clock_s), "level_pct": self.level_pct}
        return {"at": self.anchor, "offset_min": self.offset_min, "level_pct": self.level_pct}

    def program_time_s(
        self, day_start_s: float, sun_d: SunTimes | None, sun_d1: SunTimes | None
    ) -> float:
        """Seconds after the lighting day's start (0..86400); nominal astro times if no sun."""
        if self.anchor == "clock":
            return (self.clock_s - day_start_s) % SECONDS_PER_DAY
        offset_s = self.offset_min * 60.0
        if self.anchor == "sunset":
            if sun_d is None:
                event_s = _NOMINAL_S["sunset"]
            elif sun_d.sunset_h is None:
                return 0.0 if sun_d.polar == "night" else float(SECONDS_PER_DAY)
            else:
                event_s = sun_d.sunset_h * 3600.0
            t = event_s + offset_s - day_start_s
        else:
            if sun_d1 is None:
                event_s = _NOMINAL_S["sunrise"]
            elif sun_d1.sunrise_h is None:
                return float(SECONDS_PER_DAY) if sun_d1.polar == "night" else 0.0
            else:
                event_s = sun_d1.sunrise_h * 3600.0
            t = event_s + SECONDS_PER_DAY + offset_s - day_start_s
        return min(max(t, 0.0), float(SECONDS_PER_DAY))


@dataclass(frozen=True, slots=True)
class DayProgram:
    """A named, ordered list of switch points (at least one).

    Attributes:
        name: the program's name (non-empty).
        points: switch points in time order (see the module docstring).
    """

    name: str
    points: tuple[SwitchPoint, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"day program name must be a non-empty string, got {self.name!r}")
        if not isinstance(self.points, tuple) or not self.points:
            raise ValueError(f"day program {self.name!r} needs at least one switch point")
        if not all(isinstance(p, SwitchPoint) for p in self.points):
            raise ValueError(f"day program {self.name!r}: points must be SwitchPoint objects")

    def check_order(self, day_start_s: float) -> None:
        """Raise ValueError if the points are not in time order (nominal astro times)."""
        times = [p.program_time_s(day_start_s, None, None) for p in self.points]
        for i in range(1, len(times)):
            if times[i] <= times[i - 1]:
                raise ValueError(
                    f"day program {self.name!r}: switch point {i} "
                    f"({self.points[i].to_mapping()}) is not after point {i - 1} "
                    f"({self.points[i - 1].to_mapping()}) in the lighting day starting at "
                    f"{_format_clock(day_start_s)} (sunset taken as 18:00, sunrise as 06:00 "
                    "next morning); list switch points in time order"
                )

    @classmethod
    def from_sequence(cls, name: str, data: Sequence[Mapping[str, Any]]) -> DayProgram:
        """From a list of switch-point mappings (see :meth:`SwitchPoint.from_mapping`)."""
        if isinstance(data, str | bytes) or not isinstance(data, Sequence):
            raise ValueError(f"programs.{name}: expected a list of switch points")
        return cls(
            name,
            tuple(SwitchPoint.from_mapping(p, f"programs.{name}[{i}]") for i, p in enumerate(data)),
        )


def _parse_date_spec(text: Any, where: str) -> tuple[int | None, int, int]:
    """``"YYYY-MM-DD"`` -> (year, month, day); ``"MM-DD"`` -> (None, month, day)."""
    if isinstance(text, _dt.date):
        return text.year, text.month, text.day
    if not isinstance(text, str):
        raise ValueError(f"{where}: expected 'YYYY-MM-DD' or 'MM-DD' (every year), got {text!r}")
    match = _MONTH_DAY_RE.match(text)
    try:
        if match:
            _dt.date(2000, int(match[1]), int(match[2]))  # 2000 is a leap year: 02-29 is fine
            return None, int(match[1]), int(match[2])
        d = _dt.date.fromisoformat(text)
        return d.year, d.month, d.day
    except ValueError as exc:
        raise ValueError(f"{where}: {text!r} is not a date 'YYYY-MM-DD' or 'MM-DD'") from exc


def _format_date_spec(spec: tuple[int | None, int, int]) -> str:
    y, m, d = spec
    return f"{m:02d}-{d:02d}" if y is None else f"{y:04d}-{m:02d}-{d:02d}"


@dataclass(frozen=True, slots=True)
class CalendarRule:
    """Run ``program`` on the lighting days that match every condition given.

    Attributes:
        program: name of a day program of the calendar.
        priority: the highest-priority matching rule wins; ties go to the rule
            listed first.
        weekdays: days of week (0 = Monday .. 6 = Sunday) of the evening date;
            empty = any.
        dates: single dates, ``(year, month, day)``; year None = every year;
            empty = any.
        date_range: inclusive ``(from, to)`` as above; both with a year, or
            both without (then it may wrap the year end: 12-20..01-05). None =
            any.
    """

    program: str
    priority: int = 0
    weekdays: tuple[int, ...] = ()
    dates: tuple[tuple[int | None, int, int], ...] = ()
    date_range: tuple[tuple[int | None, int, int], tuple[int | None, int, int]] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.program, str) or not self.program:
            raise ValueError(f"calendar rule program must be a name, got {self.program!r}")
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ValueError(f"calendar rule priority must be an integer, got {self.priority!r}")
        if any(isinstance(w, bool) or w not in range(7) for w in self.weekdays):
            raise ValueError(
                f"calendar rule weekdays must be 0 (Mon)..6 (Sun), got {self.weekdays}"
            )
        if self.date_range is not None:
            lo, hi = self.date_range
            if (lo[0] is None) != (hi[0] is None):
                raise ValueError(
                    "calendar rule from/to: give both with a year or both as MM-DD (every year)"
                )
            if lo[0] is not None and lo > hi:
                raise ValueError(
                    f"calendar rule from {_format_date_spec(lo)} is after "
                    f"to {_format_date_spec(hi)}"
                )

    def matches(self, date: _dt.date) -> bool:
        """True when ``date`` (the evening date of a lighting day) meets every condition."""
        if self.weekdays and date.weekday() not in self.weekdays:
            return False
        if self.dates and not any(
            (y is None or y == date.year) and m == date.month and d == date.day
            for y, m, d in self.dates
        ):
            return False
        if self.date_range is not None:
            lo, hi = self.date_range
            if lo[0] is not None:
                return (lo[0], lo[1], lo[2]) <= (date.year, date.month, date.day) <= hi
            md, lo_md, hi_md = (date.month, date.day), (lo[1], lo[2]), (hi[1], hi[2])
            if lo_md <= hi_md:
                return lo_md <= md <= hi_md
            return md >= lo_md or md <= hi_md
        return True

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "calendar rule") -> CalendarRule:
        """From ``{program, priority, weekdays: [mon, ...], dates: [...], from, to}``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping with at least 'program'")
        allowed = {"program", "priority", "weekdays", "dates", "from", "to"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; use {sorted(allowed)}")
        if "program" not in data:
            raise ValueError(f"{where}: needs 'program' (a day program name)")
        weekdays = []
        for w in data.get("weekdays", ()) or ():
            if isinstance(w, str) and w.lower()[:3] in _WEEKDAYS:
                weekdays.append(_WEEKDAYS.index(w.lower()[:3]))
            elif isinstance(w, int) and not isinstance(w, bool) and 0 <= w <= 6:
                weekdays.append(w)
            else:
                raise ValueError(f"{where}.weekdays: {w!r} is not mon..sun or 0 (Mon)..6 (Sun)")
        dates = tuple(
            _parse_date_spec(d, f"{where}.dates[{i}]")
            for i, d in enumerate(data.get("dates", ()) or ())
        )
        if ("from" in data) != ("to" in data):
            raise ValueError(f"{where}: give both 'from' and 'to' for a date range")
        date_range = None
        if "from" in data:
            date_range = (
                _parse_date_spec(data["from"], f"{where}.from"),
                _parse_date_spec(data["to"], f"{where}.to"),
            )
        try:
            return cls(
                program=data["program"],
                priority=data.get("priority", 0),
                weekdays=tuple(weekdays),
                dates=dates,
                date_range=date_range,
            )
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of :meth:`from_mapping`."""
        out: dict[str, Any] = {"program": self.program, "priority": self.priority}
        if self.weekdays:
            out["weekdays"] = [_WEEKDAYS[w] for w in self.weekdays]
        if self.dates:
            out["dates"] = [_format_date_spec(d) for d in self.dates]
        if self.date_range is not None:
            out["from"] = _format_date_spec(self.date_range[0])
            out["to"] = _format_date_spec(self.date_range[1])
        return out


@dataclass(frozen=True, slots=True)
class Calendar:
    """Day programs and the rules that choose one per lighting day.

    Attributes:
        programs: day programs by name.
        default: the program of days no rule matches.
        rules: calendar rules (see :class:`CalendarRule`).
        day_start_s: start of the lighting day, seconds after local midnight
            (default 12:00).
    """

    programs: Mapping[str, DayProgram]
    default: str
    rules: tuple[CalendarRule, ...] = ()
    day_start_s: float = 12 * 3600.0
    _by_priority: tuple[CalendarRule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.programs, Mapping) or not self.programs:
            raise ValueError("calendar.programs must name at least one day program")
        for name, prog in self.programs.items():
            if not isinstance(prog, DayProgram) or prog.name != name:
                raise ValueError(f"calendar.programs.{name} must be a DayProgram named {name!r}")
        day_start = _number(self.day_start_s, "calendar.day_start")
        if not 0.0 <= day_start < SECONDS_PER_DAY:
            raise ValueError(f"calendar.day_start must be a clock time, got {day_start!r} s")
        known = sorted(self.programs)
        if self.default not in self.programs:
            raise ValueError(
                f"calendar.default: unknown program {self.default!r}; known programs: {known}"
            )
        for i, rule in enumerate(self.rules):
            if not isinstance(rule, CalendarRule):
                raise ValueError(f"calendar.rules[{i}] must be a CalendarRule")
            if rule.program not in self.programs:
                raise ValueError(
                    f"calendar.rules[{i}].program: unknown program {rule.program!r}; "
                    f"known programs: {known}"
                )
        for prog in self.programs.values():
            prog.check_order(day_start)
        ordered = sorted(enumerate(self.rules), key=lambda ir: (-ir[1].priority, ir[0]))
        object.__setattr__(self, "_by_priority", tuple(r for _, r in ordered))

    def program_for(self, date: _dt.date) -> DayProgram:
        """The day program of the lighting day that starts on (evening) ``date``."""
        for rule in self._by_priority:
            if rule.matches(date):
                return self.programs[rule.program]
        return self.programs[self.default]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "calendar") -> Calendar:
        """From ``{default, day_start: "HH:MM", programs: {name: [points]}, rules: [...]}``."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: expected a mapping with 'programs' and 'default'")
        allowed = {"default", "day_start", "programs", "rules"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; use {sorted(allowed)}")
        programs_data = data.get("programs")
        if not isinstance(programs_data, Mapping) or not programs_data:
            raise ValueError(f"{where}.programs: give at least one day program {{name: [points]}}")
        programs = {
            str(name): DayProgram.from_sequence(str(name), pts)
            for name, pts in programs_data.items()
        }
        default = data.get("default", next(iter(programs)))
        rules_data = data.get("rules", ()) or ()
        if isinstance(rules_data, str | bytes) or not isinstance(rules_data, Sequence):
            raise ValueError(f"{where}.rules: expected a list of rules")
        rules = tuple(
            CalendarRule.from_mapping(r, f"{where}.rules[{i}]") for i, r in enumerate(rules_data)
        )
        day_start = parse_clock(data.get("day_start", "12:00"), f"{where}.day_start")
        try:
            return cls(programs, default, rules, day_start)
        except ValueError as exc:
            raise ValueError(str(exc).replace("calendar", where, 1)) from exc

    def to_mapping(self) -> dict[str, Any]:
        """The inverse of :meth:`from_mapping` (plain data)."""
        return {
            "default": self.default,
            "day_start": _format_clock(self.day_start_s),
            "programs": {
                name: [p.to_mapping() for p in prog.points] for name, prog in self.programs.items()
            },
            "rules": [r.to_mapping() for r in self.rules],
        }

    @classmethod
    def always(cls, level_pct: float, name: str = "always") -> Calendar:
        """A calendar with one program holding ``level_pct`` all the time."""
        return cls({name: DayProgram(name, (SwitchPoint("clock", level_pct, clock_s=0.0),))}, name)


class ControlProgram:
    """Evaluates a calendar at local times with an astronomical clock (cached per day).

    Args:
        calendar: the calendar and its day programs.
        astro: the sun times of the place.
    """

    def __init__(self, calendar: Calendar, astro: AstroClock, cache_days: int = 8) -> None:
        self.calendar = calendar
        self.astro = astro
        self._cache_days = max(2, cache_days)
        self._cache: dict[int, tuple[tuple[float, float], ...]] = {}

    def resolved(self, date: _dt.date) -> tuple[tuple[float, float], ...]:
        """(seconds after the lighting day's start, level %) of each switch point of ``date``."""
        key = date.toordinal()
        hit = self._cache.get(key)
        if hit is None:
            program = self.calendar.program_for(date)
            sun_d = self.astro.sun(date)
            sun_d1 = self.astro.sun(date + _dt.timedelta(days=1))
            out: list[tuple[float, float]] = []
            previous = 0.0
            for point in program.points:
                t = max(previous, point.program_time_s(self.calendar.day_start_s, sun_d, sun_d1))
                out.append((t, point.level_pct))
                previous = t
            if len(self._cache) >= self._cache_days:
                self._cache.pop(next(iter(self._cache)))
            hit = self._cache[key] = tuple(out)
        return hit

    def lighting_day(self, local: LocalTime) -> tuple[_dt.date, float]:
        """(evening date D, seconds since D's lighting-day start) at local time ``local``."""
        start = self.calendar.day_start_s
        if local.seconds >= start:
            return local.date, local.seconds - start
        return local.date - _dt.timedelta(days=1), local.seconds + SECONDS_PER_DAY - start

    def level_at(self, local: LocalTime) -> float:
        """The programmed light level (%, 0..100) at local time ``local``."""
        day, t = self.lighting_day(local)
        level = None
        for at, lv in self.resolved(day):
            if at <= t:
                level = lv
            else:
                break
        if level is None:  # before the first point: carry the previous lighting day's last level
            level = self.resolved(day - _dt.timedelta(days=1))[-1][1]
        return level
