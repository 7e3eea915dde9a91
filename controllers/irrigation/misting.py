"""Mist cooling of shade-net houses by temperature and VPD (An Lạc chrysanthemum houses).

Runs on the fog node next to the irrigation controller: standard library and
``controllers.*`` only.

Points (``<h>`` house id)
-------------------------
INPUT ``agri/<h>/air_temp_c`` (°C, −10..60), ``agri/<h>/air_rh_pct`` (%, 0..100).
OUTPUT ``agri/<h>/mist_on`` (bool).

Decision per house, each scan
-----------------------------
* VPD (kPa) = e°(T)·(1 − RH/100), e°(T) = 0.6108·exp(17.27 T/(T + 237.3))
  (Tetens, FAO-56 eq. 11).
* *Wanted*, with hysteresis: it starts when ``T ≥ t_on_c`` or
  ``VPD ≥ vpd_on_kpa`` and stops once ``T ≤ t_off_c`` and ``VPD ≤ vpd_off_kpa``.
* *Allowed*: local time (``start_utc_s + now`` shifted by ``utc_offset_h``) in
  ``[day_start_h, day_end_h)``, ``RH < rh_max_pct`` (wet leaves at high
  humidity invite white rust and grey mould on chrysanthemum), and the house's
  daily water budget (if any) can pay for one more scan of misting.
* Pulsed: while wanted and allowed, the nozzles open for ``on_s`` then stay
  closed for ``off_s`` so the droplets can evaporate before the next burst.
  Times are whole scans: a pulse lasts ``on_s`` rounded up to whole scan
  periods; the next one starts at the first scan at least ``off_s`` after the
  previous one ended. A pulse cut short (RH limit, evening, budget, fault)
  also starts the ``off_s`` rest.
* Water use is estimated as the house's ``mist_flow_lpm`` × time open (the
  output is held between scans) and counted per local day.

Fail-safe (DESIGN.md: irrigation fails to closed valves)
--------------------------------------------------------
A missing, non-GOOD, non-numeric, NaN, out-of-range, or older than
``sensor_max_age_s`` temperature or RH sample closes that house's nozzles at
once and raises ``SENSOR_BAD`` once per episode; the house resumes when both
readings are good again (hysteresis cleared; a pulse cut by the fault starts
its ``off_s`` rest as usual).
``BUDGET_REACHED`` is raised once per house and local day when the budget
stops a wanted pulse.
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
    good_number,
)
from controllers.irrigation.controller import Alarm
from controllers.irrigation.validation import is_finite_number, number, reject_unknown_keys, segment

__all__ = [
    "MistHouseConfig",
    "MistingConfig",
    "MistingController",
    "vpd_kpa",
]

_SNAPSHOT_VERSION = 1
_DAY = 86_400.0
T_RANGE_C = (-10.0, 60.0)
RH_RANGE_PCT = (0.0, 100.0)


def vpd_kpa(temp_c: float, rh_pct: float) -> float:
    """Vapour pressure deficit (kPa) of air at ``temp_c`` (°C) and ``rh_pct`` (%, 0..100).

    e°(T)·(1 − RH/100) with the Tetens form e°(T) = 0.6108 exp(17.27 T/(T + 237.3))
    (FAO-56 eq. 11).
    """
    es = 0.6108 * math.exp(17.27 * temp_c / (temp_c + 237.3))
    return es * (1.0 - rh_pct / 100.0)


# ---------------------------------------------------------------------- config
@dataclass(frozen=True, slots=True)
class MistHouseConfig:
    """One net house with its own mist line.

    Attributes:
        house_id: point-name segment, e.g. ``AL-H01-P1``.
        mist_flow_lpm: flow of the house's nozzles while open (L/min, > 0); used
            for the water estimate and the budget.
        daily_budget_l: mist water allowed per local day (L, > 0), None = no limit.
    """

    house_id: str
    mist_flow_lpm: float
    daily_budget_l: float | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "house") -> MistHouseConfig:
        """Build from plain data; errors name ``where`` and the key."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} must be a mapping, got {type(data).__name__}")
        reject_unknown_keys(data, {"id", "mist_flow_lpm", "daily_budget_l"}, where)
        if "id" not in data:
            raise ValueError(f"{where}.id is required")
        budget = data.get("daily_budget_l")
        return cls(
            house_id=segment(data["id"], f"{where}.id"),
            mist_flow_lpm=number(data, "mist_flow_lpm", where, low=0.0, high=1000.0, low_open=True),
            daily_budget_l=(
                None
                if budget is None
                else number(data, "daily_budget_l", where, low=0.0, low_open=True)
            ),
        )


@dataclass(frozen=True, slots=True)
class MistingConfig:
    """Validated configuration of one site's misting controller.

    :meth:`from_mapping` builds it from plain data (the scenario YAML) and names
    the offending key in every error. Schema (units; defaults after ``=``)::

        name: misting/an_lac      # controller name (= "misting/<site>")
        site: an_lac              # point-name segment (required)
        start_utc_s: 1767204000   # POSIX s of run time 0 (required)
        utc_offset_h: 7.0         # h, local − UTC (= 7.0)
        scan_period_s: 10         # s, > 0 (= 10)
        t_on_c: 32.0              # °C: start wanting mist at or above (= 32, est.: heat
                                  #   stress of chrysanthemum above ~30–32 °C)
        t_off_c: 30.0             # °C, <= t_on_c: stop once at or below (= 30)
        vpd_on_kpa: 2.0           # kPa: start at or above (= 2.0, est.)
        vpd_off_kpa: 1.5          # kPa, <= vpd_on_kpa: stop once at or below (= 1.5, est.)
        rh_max_pct: 85.0          # %: never mist at or above (= 85, est.: leaf wetness)
        day_start_h: 7.0          # local h: misting allowed from (= 7)
        day_end_h: 17.0           # local h, > start: until (= 17, leaves dry before dusk)
        on_s: 30                  # s, >= scan_period_s: pulse length (= 30)
        off_s: 150                # s, >= 0: rest between pulses (= 150)
        sensor_max_age_s: 60      # s, >= scan_period_s: older readings are unusable (= 60)
        houses:                   # required, ids unique
          - {id: AL-H01-P1, mist_flow_lpm: 1.5, daily_budget_l: 300}   # budget optional

    The set-point defaults are estimates for chrysanthemum (growth optimum
    ~18–25 °C by day); the 30 s / 150 s pulse follows fog-cooling practice of
    short bursts separated by ~2.5 min for the droplets to evaporate.
    """

    name: str
    site: str
    start_utc_s: float
    houses: tuple[MistHouseConfig, ...]
    utc_offset_h: float = 7.0
    scan_period_s: float = 10.0
    t_on_c: float = 32.0
    t_off_c: float = 30.0
    vpd_on_kpa: float = 2.0
    vpd_off_kpa: float = 1.5
    rh_max_pct: float = 85.0
    day_start_h: float = 7.0
    day_end_h: float = 17.0
    on_s: float = 30.0
    off_s: float = 150.0
    sensor_max_age_s: float = 60.0

    def __post_init__(self) -> None:
        w = "misting"
        if not self.houses:
            raise ValueError(f"{w}.houses must name at least one house")
        seen: set[str] = set()
        for i, house in enumerate(self.houses):
            if house.house_id in seen:
                raise ValueError(f"{w}.houses[{i}].id {house.house_id!r} is a duplicate")
            seen.add(house.house_id)
        if self.t_off_c > self.t_on_c:
            raise ValueError(f"{w}.t_off_c ({self.t_off_c}) must be <= t_on_c ({self.t_on_c})")
        if self.vpd_off_kpa > self.vpd_on_kpa:
            raise ValueError(
                f"{w}.vpd_off_kpa ({self.vpd_off_kpa}) must be <= vpd_on_kpa ({self.vpd_on_kpa})"
            )
        if self.day_start_h >= self.day_end_h:
            raise ValueError(
                f"{w}.day_end_h ({self.day_end_h}) must be after day_start_h ({self.day_start_h})"
            )
        if self.on_s < self.scan_period_s:
            raise ValueError(
                f"{w}.on_s ({self.on_s}) must be >= scan_period_s ({self.scan_period_s}): "
                "a pulse lasts at least one scan"
            )
        if self.sensor_max_age_s < self.scan_period_s:
            raise ValueError(
                f"{w}.sensor_max_age_s ({self.sensor_max_age_s}) must be >= scan_period_s "
                f"({self.scan_period_s})"
            )

    def house(self, house_id: str) -> MistHouseConfig:
        """The house with ``house_id`` (KeyError if unknown)."""
        for house in self.houses:
            if house.house_id == house_id:
                return house
        raise KeyError(house_id)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> MistingConfig:
        """Build from plain data; every error names the offending key."""
        w = "misting"
        if not isinstance(data, Mapping):
            raise ValueError(f"{w} config must be a mapping, got {type(data).__name__}")
        # key: (default, low, high, low_open)
        scalar_keys: dict[str, tuple[float, float, float, bool]] = {
            "utc_offset_h": (7.0, -14.0, 14.0, False),
            "scan_period_s": (10.0, 0.0, 3600.0, True),
            "t_on_c": (32.0, *T_RANGE_C, False),
            "t_off_c": (30.0, *T_RANGE_C, False),
            "vpd_on_kpa": (2.0, 0.0, 10.0, False),
            "vpd_off_kpa": (1.5, 0.0, 10.0, False),
            "rh_max_pct": (85.0, 0.0, 100.0, True),
            "day_start_h": (7.0, 0.0, 24.0, False),
            "day_end_h": (17.0, 0.0, 24.0, False),
            "on_s": (30.0, 0.0, 3600.0, True),
            "off_s": (150.0, 0.0, 86400.0, False),
            "sensor_max_age_s": (60.0, 0.0, 86400.0, True),
        }
        reject_unknown_keys(data, {"name", "site", "start_utc_s", "houses", *scalar_keys}, w)
        if "site" not in data:
            raise ValueError(f"{w}.site is required (e.g. 'an_lac')")
        site = segment(data["site"], f"{w}.site")
        name = data.get("name", f"misting/{site}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{w}.name must be a non-empty string, got {name!r}")
        if "start_utc_s" not in data:
            raise ValueError(f"{w}.start_utc_s is required (POSIX s, UTC, of run time 0)")
        houses_raw = data.get("houses")
        if not isinstance(houses_raw, Sequence) or isinstance(houses_raw, str) or not houses_raw:
            raise ValueError(f"{w}.houses must be a non-empty list of houses")
        houses = tuple(
            MistHouseConfig.from_mapping(h, f"{w}.houses[{i}]") for i, h in enumerate(houses_raw)
        )
        kwargs = {
            key: number(data, key, w, default, low, high, low_open)
            for key, (default, low, high, low_open) in scalar_keys.items()
        }
        return cls(
            name=name,
            site=site,
            start_utc_s=number(data, "start_utc_s", w),
            houses=houses,
            **kwargs,
        )


# ------------------------------------------------------------------ controller
def _fresh_house_state() -> dict[str, Any]:
    return {
        "on": False,  # the output of the last scan
        "wanted": False,  # hysteresis latch
        "pulse_start_s": None,  # run time the current pulse started, None = no pulse
        "off_since_s": None,  # run time the last pulse ended, None = never pulsed
        "day": None,  # local day number of used_today_l
        "used_today_l": 0.0,
        "used_total_l": 0.0,
        "sensor_bad": False,  # inside a SENSOR_BAD episode
        "budget_alarmed": False,  # BUDGET_REACHED raised on ``day``
    }


class MistingController:
    """Pulsed mist cooling per net house by temperature and VPD. Implements ``Controller``.

    Args:
        config: the validated configuration.

    Attributes (diagnostics of the last scan, None = unknown):
        last_vpd_kpa: the VPD computed per house (kPa).
    """

    def __init__(self, config: MistingConfig) -> None:
        if not isinstance(config, MistingConfig):
            raise ValueError(f"config must be a MistingConfig, got {type(config).__name__}")
        self.config = config
        self.name = config.name
        self.scan_period_s = float(config.scan_period_s)
        self._houses: dict[str, MistHouseConfig] = {h.house_id: h for h in config.houses}
        self._state: dict[str, dict[str, Any]] = {hid: _fresh_house_state() for hid in self._houses}
        self._last_now: float | None = None
        self._alarms: list[Alarm] = []
        self.last_vpd_kpa: dict[str, float | None] = {hid: None for hid in self._houses}
        self._specs = self._declare()
        self._by_name = {spec.name: spec for spec in self._specs}

    # ---------------------------------------------------------------- points
    def _declare(self) -> tuple[PointSpec, ...]:
        age = self.config.sensor_max_age_s
        specs: list[PointSpec] = []
        for hid in self._houses:
            specs.append(
                PointSpec(
                    f"agri/{hid}/air_temp_c",
                    Direction.INPUT,
                    "degC",
                    ValueType.FLOAT,
                    low=T_RANGE_C[0],
                    high=T_RANGE_C[1],
                    stale_after_s=age,
                    bad_after_s=2.0 * age,
                    description=f"air temperature in net house {hid}",
                )
            )
            specs.append(
                PointSpec(
                    f"agri/{hid}/air_rh_pct",
                    Direction.INPUT,
                    "%",
                    ValueType.FLOAT,
                    low=RH_RANGE_PCT[0],
                    high=RH_RANGE_PCT[1],
                    stale_after_s=age,
                    bad_after_s=2.0 * age,
                    description=f"relative humidity in net house {hid}",
                )
            )
        for hid in self._houses:
            specs.append(
                PointSpec(
                    f"agri/{hid}/mist_on",
                    Direction.OUTPUT,
                    "",
                    ValueType.BOOL,
                    description=f"mist line solenoid of net house {hid}",
                )
            )
        return tuple(specs)

    def points(self) -> Sequence[PointSpec]:
        """air_temp_c and air_rh_pct per house, then mist_on per house."""
        return self._specs

    # -------------------------------------------------------------- queries
    def alarms(self, since: int = 0) -> list[Alarm]:
        """Alarm events from index ``since`` on, oldest first."""
        return list(self._alarms[since:])

    def water_used_l(self) -> dict[str, float]:
        """Estimated mist water per house since start (L)."""
        return {hid: float(st["used_total_l"]) for hid, st in self._state.items()}

    def water_used_today_l(self) -> dict[str, float]:
        """Estimated mist water per house on the local day of the last scan (L)."""
        return {hid: float(st["used_today_l"]) for hid, st in self._state.items()}

    def _local(self, t: float) -> tuple[int, float]:
        """(local day number, local hour 0..24) at run time ``t`` (s)."""
        local = self.config.start_utc_s + t + self.config.utc_offset_h * 3600.0
        day = math.floor(local / _DAY)
        return day, (local - day * _DAY) / 3600.0

    def _reading(
        self, inputs: Mapping[str, Sample], name: str, now: float, lo: float, hi: float
    ) -> float | None:
        """A usable value: GOOD, finite, in [lo, hi] and not older than sensor_max_age_s."""
        sample = inputs.get(name)
        if not isinstance(sample, Sample):
            return None
        if self._by_name[name].quality_at(sample, now) is not Quality.GOOD:
            return None
        return good_number(sample, lo, hi)

    # ------------------------------------------------------------------ scan
    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan at ``now`` (s): ``mist_on`` per house."""
        now = check_scan_time(self.name, now, self._last_now)
        dt = 0.0 if self._last_now is None else now - self._last_now
        self._last_now = now
        day, hour = self._local(now)
        cfg = self.config
        daylight = cfg.day_start_h <= hour < cfg.day_end_h
        out: dict[str, Any] = {}
        for hid, house in self._houses.items():
            st = self._state[hid]
            used = house.mist_flow_lpm * dt / 60.0 if st["on"] else 0.0
            if st["day"] != day:
                st["day"], st["used_today_l"], st["budget_alarmed"] = day, 0.0, False
            st["used_today_l"] += used
            st["used_total_l"] += used
            on = self._decide(now, hid, house, st, inputs, daylight)
            st["on"] = on
            out[f"agri/{hid}/mist_on"] = on
        return out

    def _end_pulse(self, st: dict[str, Any], now: float) -> None:
        if st["pulse_start_s"] is not None:
            st["pulse_start_s"] = None
            st["off_since_s"] = now

    def _decide(
        self,
        now: float,
        hid: str,
        house: MistHouseConfig,
        st: dict[str, Any],
        inputs: Mapping[str, Sample],
        daylight: bool,
    ) -> bool:
        """The house's mist command at ``now``; updates its state."""
        cfg = self.config
        temp = self._reading(inputs, f"agri/{hid}/air_temp_c", now, *T_RANGE_C)
        rh = self._reading(inputs, f"agri/{hid}/air_rh_pct", now, *RH_RANGE_PCT)
        if temp is None or rh is None:
            if not st["sensor_bad"]:
                which = " and ".join(
                    n for n, v in (("air_temp_c", temp), ("air_rh_pct", rh)) if v is None
                )
                self._alarm(now, hid, "SENSOR_BAD", f"{which} unusable: mist off")
            st["sensor_bad"], st["wanted"] = True, False
            self.last_vpd_kpa[hid] = None
            self._end_pulse(st, now)
            return False
        st["sensor_bad"] = False
        vpd = vpd_kpa(temp, rh)
        self.last_vpd_kpa[hid] = vpd
        if st["wanted"]:
            st["wanted"] = not (temp <= cfg.t_off_c and vpd <= cfg.vpd_off_kpa)
        else:
            st["wanted"] = temp >= cfg.t_on_c or vpd >= cfg.vpd_on_kpa
        budget = house.daily_budget_l
        affordable = (
            budget is None
            or st["used_today_l"] + house.mist_flow_lpm * self.scan_period_s / 60.0 <= budget + 1e-9
        )
        allowed = daylight and rh < cfg.rh_max_pct
        if st["wanted"] and allowed and not affordable and not st["budget_alarmed"]:
            detail = f"{st['used_today_l']:.1f} L of {budget} L today"
            self._alarm(now, hid, "BUDGET_REACHED", detail)
            st["budget_alarmed"] = True
        if not (st["wanted"] and allowed and affordable):
            self._end_pulse(st, now)
            return False
        if st["pulse_start_s"] is not None:
            if now - st["pulse_start_s"] < cfg.on_s - 1e-9:
                return True
            self._end_pulse(st, now)
            return False
        if st["off_since_s"] is None or now - st["off_since_s"] >= cfg.off_s - 1e-9:
            st["pulse_start_s"] = now
            return True
        return False

    def _alarm(self, now: float, target: str, code: str, detail: str = "") -> None:
        self._alarms.append(Alarm(now, target, code, detail))

    # ------------------------------------------------------ snapshot / restore
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-serialisable data."""
        return {
            "version": _SNAPSHOT_VERSION,
            "name": self.name,
            "last_now": self._last_now,
            "alarms": [asdict(a) for a in self._alarms],
            "houses": {hid: dict(st) for hid, st in self._state.items()},
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
            if set(state["houses"]) != set(self._houses):
                raise ValueError("snapshot is of a site with other houses")
            houses: dict[str, dict[str, Any]] = {}
            for hid in self._houses:
                data = state["houses"][hid]
                st = _fresh_house_state()
                missing = set(st) - set(data)
                if missing:
                    raise ValueError(f"house {hid}: missing {sorted(missing)}")
                for key in ("on", "wanted", "sensor_bad", "budget_alarmed"):
                    st[key] = bool(data[key])
                for key in ("pulse_start_s", "off_since_s"):
                    st[key] = None if data[key] is None else _time(data[key], f"{hid}.{key}")
                st["day"] = None if data["day"] is None else int(data["day"])
                st["used_today_l"] = _time(data["used_today_l"], f"{hid}.used_today_l")
                st["used_total_l"] = _time(data["used_total_l"], f"{hid}.used_total_l")
                houses[hid] = st
            last_now = state["last_now"]
            last_now = None if last_now is None else _time(last_now, "last_now")
            alarms = [Alarm(**a) for a in state["alarms"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        self._state = houses
        self._last_now = last_now
        self._alarms = alarms
        self.last_vpd_kpa = {hid: None for hid in self._houses}


def _time(value: Any, what: str) -> float:
    if not is_finite_number(value):
        raise ValueError(f"snapshot {what} must be a finite number, got {value!r}")
    return float(value)
