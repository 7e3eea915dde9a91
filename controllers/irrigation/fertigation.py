"""Fertigation control of one cooperative site: EC and pH by pulse dosing (runs on the fog node).

Standard library and ``controllers.*`` only.

Points (``<s>`` site id)
------------------------
INPUT ``agri/<s>/tank_ec_ms_cm`` (mS/cm, 0..10), ``agri/<s>/tank_ph`` (0..14),
``agri/<s>/irrigating`` (bool: the drip pump runs and draws from the tank).
OUTPUT ``agri/<s>/dose_nutrient_on``, ``agri/<s>/dose_acid_on`` (bool).
A sample is usable when it is GOOD, in range and not older than
``probe_stale_s`` (the points' ``stale_after_s``).

Decision
--------
* EC set-point: a ``set_ec`` command's value if one is active, else the
  schedule's step value for the day of the season (``floor((now −
  season_start_s)/86400)``; the last entry whose day has been reached), else
  ``ec_setpoint_ms_cm``. The nutrient pump is wanted when EC < set-point −
  ``ec_deadband_ms_cm`` (nutrient dosing can only raise EC; fresh water lowers it).
* pH: the acid pump is wanted when pH > ``ph_target + ph_deadband`` (acid can
  only lower pH). pH below ``ph_low`` raises ``PH_LOW`` once per episode (no
  base pump: the operator must act). The band ``[ph_low, ph_high]`` is what the
  crop should get; ``ph_target`` sits inside it.
* Pulse dosing: one pump runs for ``pulse_s`` (rounded up to whole scans), then
  nothing doses for ``mix_wait_s`` so the tank mixes before the next judgement
  (a pulse window). Never both pumps in one window; when both are wanted the
  one that did not dose last goes first. A pump doses at most
  ``max_dose_s_per_h`` in any sliding hour. With ``dose_only_while_irrigating``
  a pump runs only while ``irrigating`` is GOOD and true.

Fail-safes (DESIGN.md: a controller stays safe on bad input)
------------------------------------------------------------
* EC (pH) sample bad, stale, missing or out of range → the nutrient (acid)
  pump is off; alarm ``EC_PROBE_BAD`` (``PH_PROBE_BAD``) once per episode.
  ``irrigating`` unusable counts as not irrigating (``IRRIGATING_BAD``).
* EC > ``ec_max_ms_cm`` (``EC_LIMIT``) or pH outside ``[ph_min_abs,
  ph_max_abs]`` (``PH_LIMIT``): a stuck pump or a fouled probe → both pumps off
  and latched off until a ``reset`` command.
* A pump whose pulse (at least half of ``pulse_s`` delivered) moves its probe
  less than ``ec_min_rise_ms_cm`` up (``ph_min_drop`` down), judged at the end of
  the pulse window against the reading at the pulse start, for
  ``no_response_pulses`` pulses in a row → ``DOSING_NO_RESPONSE`` and that pump
  is locked until ``reset`` (a stuck or fouled probe, an empty stock, an air-locked pump).
  Set the thresholds to about a quarter of one pulse's nominal effect on the
  tank and well above the probe's reading noise.
* Flatline (off unless ``flatline_s`` > 0): a probe whose usable reading has
  not changed at all for ``flatline_s`` of irrigation (time not irrigating does
  not count: a standing tank may read steady) is treated as unusable —
  ``EC_FLATLINE`` / ``PH_FLATLINE`` once per episode, its pump off — until the
  reading changes. This catches a probe stuck *inside* the band, which never
  asks for a pulse and so is never judged. Use it only with probes whose
  reading visibly jitters (noise above the resolution).

Commands (:meth:`FertigationController.command`): ids make replays no-ops; per
group (set-point: ``set_ec``/``clear_ec``; hold: ``stop``/``resume``; ``reset``)
the command issued last wins. ``set_ec`` (value mS/cm) overrides the schedule
until ``clear_ec``; ``stop`` holds both pumps off until ``resume``; ``reset``
clears the latched limit trip, the no-response locks and counters, and re-arms
the once-per-episode alarms.

Config (:meth:`FertigationConfig.from_mapping`, units; defaults after ``=``;
all defaults are estimates for a 5 m³ tank on a ~100 L/min drip main)::

    name: fertigation/an_lac           # (= "fertigation/<site>")
    site: an_lac                       # point-name segment (required)
    scan_period_s: 10                  # s, > 0 (= 10)
    ec_setpoint_ms_cm: 1.5             # mS/cm (= 1.5; leafy vegetables 1.2–1.8 (est.))
    ec_deadband_ms_cm: 0.1             # mS/cm, > 0 (= 0.1)
    ec_schedule: [[0, 1.2], [21, 1.8]] # [day_of_season >= 0, set-point]; days ascending (= [])
    season_start_s: 0                  # run s of day 0 of the season (= 0)
    ec_max_ms_cm: 3.5                  # mS/cm: above = trip (= 3.5 (est.))
    ph_low: 5.8                        # band the crop should get (= 5.8)
    ph_high: 6.5                       # (= 6.5)
    ph_target: 6.0                     # in (ph_low, ph_high) (= 6.0)
    ph_deadband: 0.1                   # acid when pH > target + dead band (= 0.1)
    ph_min_abs: 4.0                    # below = trip (= 4.0 (est.))
    ph_max_abs: 8.5                    # above = trip (= 8.5 (est.))
    pulse_s: 20                        # s, > 0 (= 20)
    mix_wait_s: 60                     # s, >= 0 (= 60: ~1 mixing time constant after the pulse)
    max_dose_s_per_h: 1200             # s, pulse_s..3600 (= 1200)
    dose_only_while_irrigating: true   # (= true)
    probe_stale_s: 60                  # s, > 0 (= 60)
    no_response_pulses: 3              # integer >= 1 (= 3)
    ec_min_rise_ms_cm: 0.03            # mS/cm, >= 0 (= 0.03: ~1/4 of a default pulse's rise)
    ph_min_drop: 0.05                  # pH, >= 0 (= 0.05: ~1/4 of a default pulse's drop)
    flatline_s: 0                      # s, >= 0; 0 = off (= 0)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from controllers.io import (
    Direction,
    PointSpec,
    Quality,
    Sample,
    ValueType,
    check_scan_time,
    good_flag,
    good_number,
    validate_point_name,
)
from controllers.irrigation.controller import Alarm
from controllers.irrigation.validation import is_finite_number, number

__all__ = [
    "FERTIGATION_COMMANDS",
    "PUMPS",
    "FertigationConfig",
    "FertigationController",
]

FERTIGATION_COMMANDS = ("reset", "set_ec", "clear_ec", "stop", "resume")
PUMPS = ("nutrient", "acid")
_GROUP = {"reset": "reset", "set_ec": "ec", "clear_ec": "ec", "stop": "hold", "resume": "hold"}
_SNAPSHOT_VERSION = 1
_SEEN_MAX = 4096
_DAY = 86_400.0
_HOUR = 3600.0
_EC_RANGE = (0.0, 10.0)
_PH_RANGE = (0.0, 14.0)


# ---------------------------------------------------------------------- config
def _number(
    data: Mapping[str, Any],
    key: str,
    default: float,
    low: float = -math.inf,
    high: float = math.inf,
    low_open: bool = False,
) -> float:
    """``data[key]`` (or ``default``) as a float in its range; errors name the key."""
    return number(data, key, "fertigation", default, low, high, low_open)


def _schedule(raw: Any) -> tuple[tuple[int, float], ...]:
    """Validated ``ec_schedule``: [[day >= 0 (int), set-point > 0], ...] with days ascending."""
    key = "fertigation.ec_schedule"
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise ValueError(f"{key} must be a list of [day_of_season, setpoint_ms_cm] pairs")
    out: list[tuple[int, float]] = []
    for i, pair in enumerate(raw):
        ok = (
            isinstance(pair, Sequence)
            and not isinstance(pair, str)
            and len(pair) == 2
            and is_finite_number(pair[0])
            and float(pair[0]) == int(pair[0])
            and pair[0] >= 0
            and is_finite_number(pair[1])
            and pair[1] > 0
        )
        if not ok:
            raise ValueError(
                f"{key}[{i}] must be [day_of_season (integer >= 0), setpoint (mS/cm > 0)], "
                f"got {pair!r}"
            )
        if out and int(pair[0]) <= out[-1][0]:
            raise ValueError(f"{key}[{i}]: days must be strictly ascending, got {pair[0]!r}")
        out.append((int(pair[0]), float(pair[1])))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class FertigationConfig:
    """The validated configuration of one site's fertigation controller (see module doc)."""

    name: str
    site: str
    scan_period_s: float = 10.0
    ec_setpoint_ms_cm: float = 1.5
    ec_deadband_ms_cm: float = 0.1
    ec_schedule: tuple[tuple[int, float], ...] = ()
    season_start_s: float = 0.0
    ec_max_ms_cm: float = 3.5
    ph_low: float = 5.8
    ph_high: float = 6.5
    ph_target: float = 6.0
    ph_deadband: float = 0.1
    ph_min_abs: float = 4.0
    ph_max_abs: float = 8.5
    pulse_s: float = 20.0
    mix_wait_s: float = 60.0
    max_dose_s_per_h: float = 1200.0
    dose_only_while_irrigating: bool = True
    probe_stale_s: float = 60.0
    no_response_pulses: int = 3
    ec_min_rise_ms_cm: float = 0.03
    ph_min_drop: float = 0.05
    flatline_s: float = 0.0

    def __post_init__(self) -> None:
        self._check()

    def _check(self) -> None:
        w = "fertigation"
        top = self.ec_max_ms_cm - self.ec_deadband_ms_cm
        for where, sp in (
            ("ec_setpoint_ms_cm", self.ec_setpoint_ms_cm),
            *((f"ec_schedule (day {d})", v) for d, v in self.ec_schedule),
        ):
            if not self.ec_deadband_ms_cm < sp < top:
                raise ValueError(
                    f"{w}.{where} = {sp} must lie in (ec_deadband_ms_cm, ec_max_ms_cm − "
                    f"ec_deadband_ms_cm) = ({self.ec_deadband_ms_cm}, {top})"
                )
        if self.ec_max_ms_cm > _EC_RANGE[1]:
            raise ValueError(f"{w}.ec_max_ms_cm must be <= {_EC_RANGE[1]} (the probe range)")
        if not (
            _PH_RANGE[0] < self.ph_min_abs < self.ph_low < self.ph_target < self.ph_high
            and self.ph_high < self.ph_max_abs < _PH_RANGE[1]
        ):
            raise ValueError(
                f"{w}: need 0 < ph_min_abs < ph_low < ph_target < ph_high < ph_max_abs < 14, got "
                f"{self.ph_min_abs}, {self.ph_low}, {self.ph_target}, {self.ph_high}, "
                f"{self.ph_max_abs}"
            )
        if self.ph_target + self.ph_deadband > self.ph_high:
            raise ValueError(f"{w}.ph_deadband: ph_target + ph_deadband must be <= ph_high")
        if not self.pulse_s <= self.max_dose_s_per_h <= _HOUR:
            raise ValueError(f"{w}.max_dose_s_per_h must lie in [pulse_s, 3600]")

    def setpoint_at(self, now: float) -> float:
        """The scheduled EC set-point (mS/cm) at run time ``now`` (s), without overrides."""
        day = math.floor((now - self.season_start_s) / _DAY)
        value = self.ec_setpoint_ms_cm
        for d, sp in self.ec_schedule:
            if day >= d:
                value = sp
        return value

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FertigationConfig:
        """Build from plain data (the scenario YAML); every error names the offending key."""
        w = "fertigation"
        if not isinstance(data, Mapping):
            raise ValueError(f"{w} config must be a mapping, got {type(data).__name__}")
        # key: (default, low, high, low_open)
        scalars = {
            "scan_period_s": (10.0, 0.0, 3600.0, True),
            "ec_setpoint_ms_cm": (1.5, 0.0, 10.0, True),
            "ec_deadband_ms_cm": (0.1, 0.0, 2.0, True),
            "season_start_s": (0.0, -math.inf, math.inf, False),
            "ec_max_ms_cm": (3.5, 0.0, 10.0, True),
            "ph_low": (5.8, 0.0, 14.0, False),
            "ph_high": (6.5, 0.0, 14.0, False),
            "ph_target": (6.0, 0.0, 14.0, False),
            "ph_deadband": (0.1, 0.0, 2.0, False),
            "ph_min_abs": (4.0, 0.0, 14.0, False),
            "ph_max_abs": (8.5, 0.0, 14.0, False),
            "pulse_s": (20.0, 0.0, 3600.0, True),
            "mix_wait_s": (60.0, 0.0, 86400.0, False),
            "max_dose_s_per_h": (1200.0, 0.0, 3600.0, True),
            "probe_stale_s": (60.0, 0.0, 86400.0, True),
            "ec_min_rise_ms_cm": (0.03, 0.0, 5.0, False),
            "ph_min_drop": (0.05, 0.0, 5.0, False),
            "flatline_s": (0.0, 0.0, 86400.0, False),
        }
        allowed = {
            "name",
            "site",
            "ec_schedule",
            "dose_only_while_irrigating",
            "no_response_pulses",
            *scalars,
        }
        extra = sorted(str(k) for k in data if k not in allowed)
        if extra:
            raise ValueError(f"{w}: unknown key(s) {extra}; allowed: {sorted(allowed)}")
        if "site" not in data:
            raise ValueError(f"{w}.site is required (e.g. 'an_lac')")
        site = data["site"]
        if not isinstance(site, str) or "/" in site:
            raise ValueError(f"{w}.site must be one point-name segment, got {site!r}")
        try:
            validate_point_name(f"agri/{site}")
        except ValueError as exc:
            raise ValueError(f"{w}.site {site!r}: use letters, digits and _ . # : -") from exc
        name = data.get("name", f"fertigation/{site}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{w}.name must be a non-empty string, got {name!r}")
        only = data.get("dose_only_while_irrigating", True)
        if not isinstance(only, bool):
            raise ValueError(f"{w}.dose_only_while_irrigating must be true or false, got {only!r}")
        pulses = data.get("no_response_pulses", 3)
        if isinstance(pulses, bool) or not isinstance(pulses, int) or pulses < 1:
            raise ValueError(f"{w}.no_response_pulses must be an integer >= 1, got {pulses!r}")
        kwargs = {k: _number(data, k, *spec) for k, spec in scalars.items()}
        return cls(
            name=name,
            site=site,
            ec_schedule=_schedule(data.get("ec_schedule", [])),
            dose_only_while_irrigating=only,
            no_response_pulses=pulses,
            **kwargs,
        )


# ------------------------------------------------------------------ controller
def _fresh_state() -> dict[str, Any]:
    return {
        "last_now": None,
        "pump": "",  # the pump of the current pulse window, "" when idle
        "on": False,  # the pump is running (the pulse part of the window)
        "pulse_end_s": None,
        "window_end_s": None,
        "pulse_ref": None,  # probe reading at the pulse start
        "pulse_on_s": 0.0,  # seconds dosed in this pulse
        "last_pump": "",
        "intervals": {p: [] for p in PUMPS},  # [[start_s, end_s], ...] of dosing in the last hour
        "no_response": {p: 0 for p in PUMPS},
        "pump_lock": {p: False for p in PUMPS},
        "trip": "",  # latched EC_LIMIT / PH_LIMIT
        "hold": False,
        "ec_override": None,
        "episodes": [],  # alarm codes whose condition is active (sorted)
        "flat": {"ec": [None, None], "ph": [None, None]},  # [last reading, unchanged since s]
        "seen": [],
        "last_issued": {},
    }


class FertigationController:
    """EC and pH pulse dosing of one site's mixing tank. Implements ``controllers.io.Controller``.

    Args:
        config: the validated configuration.
    """

    def __init__(self, config: FertigationConfig) -> None:
        if not isinstance(config, FertigationConfig):
            raise ValueError(f"config must be a FertigationConfig, got {type(config).__name__}")
        self.config = config
        self.name = config.name
        self.scan_period_s = float(config.scan_period_s)
        s = config.site
        self._ec_point = f"agri/{s}/tank_ec_ms_cm"
        self._ph_point = f"agri/{s}/tank_ph"
        self._irr_point = f"agri/{s}/irrigating"
        self._out = {"nutrient": f"agri/{s}/dose_nutrient_on", "acid": f"agri/{s}/dose_acid_on"}
        self._st = _fresh_state()
        self._alarms: list[Alarm] = []
        self._specs = self._declare()
        self._by_name = {p.name: p for p in self._specs}

    # ---------------------------------------------------------------- points
    def _declare(self) -> tuple[PointSpec, ...]:
        stale, bad = self.config.probe_stale_s, 2.0 * self.config.probe_stale_s
        return (
            PointSpec(
                self._ec_point,
                Direction.INPUT,
                "mS/cm",
                ValueType.FLOAT,
                *_EC_RANGE,
                description="mixing-tank EC probe (25 °C)",
                stale_after_s=stale,
                bad_after_s=bad,
            ),
            PointSpec(
                self._ph_point,
                Direction.INPUT,
                "1",
                ValueType.FLOAT,
                *_PH_RANGE,
                description="mixing-tank pH probe",
                stale_after_s=stale,
                bad_after_s=bad,
            ),
            PointSpec(
                self._irr_point,
                Direction.INPUT,
                "",
                ValueType.BOOL,
                description="drip pump running (draws from the tank)",
                stale_after_s=stale,
                bad_after_s=bad,
            ),
            PointSpec(
                self._out["nutrient"],
                Direction.OUTPUT,
                "",
                ValueType.BOOL,
                description="nutrient stock dosing pump",
            ),
            PointSpec(
                self._out["acid"],
                Direction.OUTPUT,
                "",
                ValueType.BOOL,
                description="acid stock dosing pump",
            ),
        )

    def points(self) -> Sequence[PointSpec]:
        """tank_ec_ms_cm, tank_ph, irrigating (inputs), then dose_nutrient_on, dose_acid_on."""
        return self._specs

    # -------------------------------------------------------------- queries
    def alarms(self, since: int = 0) -> list[Alarm]:
        """Alarm events from index ``since`` on, oldest first."""
        return list(self._alarms[since:])

    def setpoint_ms_cm(self, now: float) -> float:
        """The EC set-point in force at run time ``now`` (s): override, schedule or default."""
        override = self._st["ec_override"]
        return float(override) if override is not None else self.config.setpoint_at(now)

    def locks(self) -> dict[str, str]:
        """Active locks: ``trip`` (EC_LIMIT / PH_LIMIT / ""), per pump ``NO_RESPONSE`` or ""."""
        st = self._st
        out = {"trip": st["trip"], "hold": "HOLD" if st["hold"] else ""}
        out.update({p: "NO_RESPONSE" if st["pump_lock"][p] else "" for p in PUMPS})
        return out

    def dose_s_last_hour(self, pump: str, now: float) -> float:
        """Seconds ``pump`` dosed in the hour before ``now`` (as far as the scans saw)."""
        if pump not in PUMPS:
            raise ValueError(f"pump must be one of {PUMPS}, got {pump!r}")
        lo = now - _HOUR
        return sum(max(0.0, min(e, now) - max(s, lo)) for s, e in self._st["intervals"][pump])

    # ------------------------------------------------------------- commands
    def command(self, cmd_id: str, issued_s: float, kind: str, value: float | None = None) -> str:
        """Apply a centre command; returns ``applied``, ``duplicate`` or ``superseded``.

        Kinds: :data:`FERTIGATION_COMMANDS`; ``set_ec`` needs ``value`` (mS/cm)
        within the configured limits. Raises ValueError on a bad id, kind,
        time or value (the command is then not recorded).
        """
        st = self._st
        if not isinstance(cmd_id, str) or not cmd_id:
            raise ValueError(f"cmd_id must be a non-empty string, got {cmd_id!r}")
        if cmd_id in st["seen"]:
            return "duplicate"
        if kind not in FERTIGATION_COMMANDS:
            raise ValueError(
                f"command {cmd_id}: unknown kind {kind!r}; use one of {FERTIGATION_COMMANDS}"
            )
        if not is_finite_number(issued_s):
            raise ValueError(f"command {cmd_id}: issued_s must be run seconds, got {issued_s!r}")
        cfg = self.config
        setpoint: float | None = None
        if kind == "set_ec":
            top = cfg.ec_max_ms_cm - cfg.ec_deadband_ms_cm
            if is_finite_number(value) and value is not None:
                setpoint = float(value)
            if setpoint is None or not cfg.ec_deadband_ms_cm < setpoint < top:
                raise ValueError(
                    f"command {cmd_id}: set_ec needs value in ({cfg.ec_deadband_ms_cm}, {top}) "
                    f"mS/cm, got {value!r}"
                )
        st["seen"].append(cmd_id)
        del st["seen"][:-_SEEN_MAX]
        group = _GROUP[kind]
        if issued_s < st["last_issued"].get(group, -math.inf):
            return "superseded"
        st["last_issued"][group] = float(issued_s)
        if kind == "set_ec":
            st["ec_override"] = setpoint
        elif kind == "clear_ec":
            st["ec_override"] = None
        elif kind == "stop":
            st["hold"] = True
        elif kind == "resume":
            st["hold"] = False
        else:  # reset
            st["trip"] = ""
            st["pump_lock"] = {p: False for p in PUMPS}
            st["no_response"] = {p: 0 for p in PUMPS}
            st["episodes"] = []
        return "applied"

    # ------------------------------------------------------------------ scan
    def _alarm(self, now: float, target: str, code: str, detail: str = "") -> None:
        self._alarms.append(Alarm(now, target, code, detail))

    def _episode(self, now: float, code: str, active: bool, target: str, detail: str) -> None:
        """Raise ``code`` when its condition becomes active; forget it when it clears."""
        episodes: list[str] = self._st["episodes"]
        if active and code not in episodes:
            episodes.append(code)
            episodes.sort()
            self._alarm(now, target, code, detail)
        elif not active and code in episodes:
            episodes.remove(code)

    def _read(self, point: str, now: float, inputs: Mapping[str, Sample]) -> Sample | None:
        """The sample of ``point`` if its quality at ``now`` (age included) is GOOD."""
        sample = inputs.get(point)
        if not isinstance(sample, Sample):
            return None
        try:
            quality = self._by_name[point].quality_at(sample, now)
        except TypeError:  # a malformed source time
            return None
        return sample if quality is Quality.GOOD else None

    def _account(self, now: float, dt: float) -> None:
        """Credit the running pump with the time since the last scan; forget old intervals."""
        st = self._st
        if st["on"] and st["pump"]:
            st["intervals"][st["pump"]][-1][1] = now
            st["pulse_on_s"] += dt
        lo = now - _HOUR
        for p in PUMPS:
            st["intervals"][p] = [iv for iv in st["intervals"][p] if iv[1] > lo]

    def _flatline(self, now: float, probe: str, value: float | None, irrigating: bool) -> bool:
        """Whether ``probe`` has read exactly ``value`` for ``flatline_s`` of irrigation."""
        rec = self._st["flat"][probe]
        if value is None or value != rec[0] or not irrigating:
            rec[0], rec[1] = value, now
            return False
        return 0.0 < self.config.flatline_s <= now - rec[1]

    def _supervise(self, now: float, ec: float | None, ph: float | None) -> None:
        """Absolute limits: latch a trip (both pumps off until reset)."""
        cfg, st = self.config, self._st
        ec_high = ec is not None and ec > cfg.ec_max_ms_cm
        ph_out = ph is not None and not cfg.ph_min_abs <= ph <= cfg.ph_max_abs
        self._episode(now, "EC_LIMIT", ec_high, cfg.site, f"EC {ec} mS/cm > {cfg.ec_max_ms_cm}")
        self._episode(
            now,
            "PH_LIMIT",
            ph_out,
            cfg.site,
            f"pH {ph} outside [{cfg.ph_min_abs}, {cfg.ph_max_abs}]",
        )
        if ec_high and not st["trip"]:
            st["trip"] = "EC_LIMIT"
        elif ph_out and not st["trip"]:
            st["trip"] = "PH_LIMIT"

    def _judge(self, now: float, ec: float | None, ph: float | None) -> None:
        """At a window's end: did the probe respond to the pulse?"""
        cfg, st = self.config, self._st
        pump, ref = st["pump"], st["pulse_ref"]
        reading = ec if pump == "nutrient" else ph
        if ref is None or reading is None or st["pulse_on_s"] < 0.5 * cfg.pulse_s:
            return
        moved = reading - ref if pump == "nutrient" else ref - reading
        needed = cfg.ec_min_rise_ms_cm if pump == "nutrient" else cfg.ph_min_drop
        if moved >= needed:
            st["no_response"][pump] = 0
            return
        st["no_response"][pump] += 1
        if st["no_response"][pump] >= cfg.no_response_pulses and not st["pump_lock"][pump]:
            st["pump_lock"][pump] = True
            self._alarm(
                now,
                f"{cfg.site}/{pump}",
                "DOSING_NO_RESPONSE",
                f"{st['no_response'][pump]} pulses moved the probe by < {needed}",
            )

    def _allowed(self, pump: str, reading: float | None, irrigating: bool) -> bool:
        st = self._st
        return (
            reading is not None
            and not st["trip"]
            and not st["hold"]
            and not st["pump_lock"][pump]
            and (irrigating or not self.config.dose_only_while_irrigating)
        )

    def _sense(
        self, now: float, inputs: Mapping[str, Sample]
    ) -> tuple[float | None, float | None, bool]:
        """Usable EC, pH (None = unusable) and the irrigating flag; raises the input alarms."""
        cfg = self.config
        ec = good_number(self._read(self._ec_point, now, inputs), *_EC_RANGE)
        ph = good_number(self._read(self._ph_point, now, inputs), *_PH_RANGE)
        flag = good_flag(self._read(self._irr_point, now, inputs))
        irrigating = bool(flag)
        self._episode(now, "EC_PROBE_BAD", ec is None, f"{cfg.site}/ec", "EC sample unusable")
        self._episode(now, "PH_PROBE_BAD", ph is None, f"{cfg.site}/ph", "pH sample unusable")
        self._episode(
            now,
            "IRRIGATING_BAD",
            flag is None and cfg.dose_only_while_irrigating,
            cfg.site,
            "irrigating unusable: treated as not irrigating",
        )
        self._episode(now, "PH_LOW", ph is not None and ph < cfg.ph_low, cfg.site, f"pH {ph}")
        self._supervise(now, ec, ph)
        flat_ec = self._flatline(now, "ec", ec, irrigating)
        flat_ph = self._flatline(now, "ph", ph, irrigating)
        self._episode(now, "EC_FLATLINE", flat_ec, f"{cfg.site}/ec", f"EC reads {ec} unchanged")
        self._episode(now, "PH_FLATLINE", flat_ph, f"{cfg.site}/ph", f"pH reads {ph} unchanged")
        return (None if flat_ec else ec), (None if flat_ph else ph), irrigating

    def _wanted(self, now: float, readings: Mapping[str, float | None], irrigating: bool) -> str:
        """The pump to pulse in a free window ("" = none): wanted, allowed, within budget."""
        cfg, st = self.config, self._st
        ec, ph = readings["nutrient"], readings["acid"]
        wanted = []
        if ec is not None and ec < self.setpoint_ms_cm(now) - cfg.ec_deadband_ms_cm:
            wanted.append("nutrient")
        if ph is not None and ph > cfg.ph_target + cfg.ph_deadband:
            wanted.append("acid")
        wanted = [
            p
            for p in wanted
            if self._allowed(p, readings[p], irrigating)
            and self.dose_s_last_hour(p, now) + cfg.pulse_s <= cfg.max_dose_s_per_h
        ]
        if not wanted:
            return ""
        # both wanted: the one that did not dose last goes first
        return wanted[-1] if len(wanted) > 1 and wanted[0] == st["last_pump"] else wanted[0]

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan at ``now`` (s): the two dosing-pump commands."""
        st, cfg = self._st, self.config
        now = check_scan_time(self.name, now, st["last_now"])
        dt = 0.0 if st["last_now"] is None else now - st["last_now"]
        st["last_now"] = now
        self._account(now, dt)
        ec, ph, irrigating = self._sense(now, inputs)
        readings = {"nutrient": ec, "acid": ph}
        # the running pulse: stop at its end or on any fail-safe
        if st["on"]:
            pump = st["pump"]
            if (
                now >= st["pulse_end_s"]
                or not self._allowed(pump, readings[pump], irrigating)
                or self.dose_s_last_hour(pump, now) >= cfg.max_dose_s_per_h
            ):
                st["on"] = False
                st["window_end_s"] = now + cfg.mix_wait_s
        # the window's end: judge the response, then the window is free
        if st["pump"] and not st["on"] and now >= st["window_end_s"]:
            self._judge(now, ec, ph)
            st.update(pump="", pulse_end_s=None, window_end_s=None, pulse_ref=None)
        # a free window: start a pulse of the pump that is wanted
        if not st["pump"]:
            pump = self._wanted(now, readings, irrigating)
            if pump:
                st.update(
                    pump=pump,
                    on=True,
                    pulse_end_s=now + cfg.pulse_s,
                    window_end_s=now + cfg.pulse_s + cfg.mix_wait_s,
                    pulse_ref=readings[pump],
                    pulse_on_s=0.0,
                    last_pump=pump,
                )
                st["intervals"][pump].append([now, now])
        return {self._out[p]: bool(st["on"] and st["pump"] == p) for p in PUMPS}

    # ------------------------------------------------------ snapshot / restore
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-serialisable data (a deep copy)."""
        st = self._st
        return {
            "version": _SNAPSHOT_VERSION,
            "name": self.name,
            **{k: v for k, v in st.items() if k not in ("intervals", "flat")},
            "intervals": {p: [list(iv) for iv in st["intervals"][p]] for p in PUMPS},
            "flat": {k: list(v) for k, v in st["flat"].items()},
            "no_response": dict(st["no_response"]),
            "pump_lock": dict(st["pump_lock"]),
            "episodes": list(st["episodes"]),
            "seen": list(st["seen"]),
            "last_issued": dict(st["last_issued"]),
            "alarms": [asdict(a) for a in self._alarms],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Restore a :meth:`snapshot` of a controller with the same configuration.

        Raises:
            ValueError: another controller's snapshot, another version, or
                malformed data (this controller is then left unchanged).
        """
        try:
            if state["version"] != _SNAPSHOT_VERSION:
                raise ValueError(f"unsupported snapshot version {state['version']!r}")
            if state["name"] != self.name:
                raise ValueError(f"snapshot is of {state['name']!r}, this is {self.name!r}")
            fresh = _fresh_state()
            missing = sorted(set(fresh) - set(state))
            if missing:
                raise ValueError(f"snapshot lacks {missing}")
            st = self._parse(state)
            alarms = [Alarm(**a) for a in state["alarms"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        self._st, self._alarms = st, alarms

    @staticmethod
    def _parse(state: Mapping[str, Any]) -> dict[str, Any]:
        """A fresh state dict from snapshot data (KeyError/TypeError/ValueError if malformed)."""

        def opt(x: Any) -> float | None:
            return None if x is None else float(x)

        pump = str(state["pump"])
        if pump not in ("", *PUMPS) or str(state["last_pump"]) not in ("", *PUMPS):
            raise ValueError(f"unknown pump {pump!r} or {state['last_pump']!r}")
        if str(state["trip"]) not in ("", "EC_LIMIT", "PH_LIMIT"):
            raise ValueError(f"unknown trip {state['trip']!r}")
        return {
            "last_now": opt(state["last_now"]),
            "pump": pump,
            "on": bool(state["on"]),
            "pulse_end_s": opt(state["pulse_end_s"]),
            "window_end_s": opt(state["window_end_s"]),
            "pulse_ref": opt(state["pulse_ref"]),
            "pulse_on_s": float(state["pulse_on_s"]),
            "last_pump": str(state["last_pump"]),
            "intervals": {
                p: [[float(s), float(e)] for s, e in state["intervals"][p]] for p in PUMPS
            },
            "no_response": {p: int(state["no_response"][p]) for p in PUMPS},
            "pump_lock": {p: bool(state["pump_lock"][p]) for p in PUMPS},
            "trip": str(state["trip"]),
            "hold": bool(state["hold"]),
            "ec_override": opt(state["ec_override"]),
            "episodes": sorted(str(c) for c in state["episodes"]),
            "seen": [str(s) for s in state["seen"]],
            "flat": {k: [opt(state["flat"][k][0]), opt(state["flat"][k][1])] for k in ("ec", "ph")},
            "last_issued": {str(k): float(v) for k, v in state["last_issued"].items()},
        }
