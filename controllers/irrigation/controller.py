"""The irrigation controller of one cooperative site (runs on the fog node).

Points (``<p>`` plot id, ``<s>`` site id)
-----------------------------------------
INPUT ``agri/<p>/soil_vwc`` (m³/m³, 0..0.6), ``agri/<p>/flow_lpm`` (L/min,
0..500), ``agri/<s>/pump_pressure_kpa`` (kPa, 0..1000), ``agri/<s>/et0_mm_d``
(mm/day, 0..15, yesterday's value), ``agri/<s>/rain_mm`` (mm since the last
scan, 0..500), ``agri/<s>/forecast_rain_mm`` (mm over the next 24 h, 0..500),
``agri/<s>/forecast_prob`` (1, 0..1).
OUTPUT ``agri/<p>/valve_open`` (bool), ``agri/<s>/pump_on`` (bool).

Decision per plot
-----------------
* Probe depletion ``Dr = 1000 (θFC − θ) Zr`` (mm, clamped to [0, TAW]) from a
  GOOD, in-range ``soil_vwc`` no older than ``probe_bad_after_s``.
* The ET checkbook (:mod:`~controllers.irrigation.checkbook`) runs
  ``Dr += Kc·ET0·dt/86400 − rain − I_net`` and is pulled towards the probe
  with ``α = 1 − exp(−dt/τ)`` while the probe is good; with the probe bad it
  is used alone (for ``checkbook_max_age_s``). The decision uses this
  estimate; when it is unknown too, the plot's valve is closed.
* With a crop calendar (:mod:`~controllers.irrigation.calendar`) Kc and the root
  depth ``Zr`` (hence TAW, RAW and the probe depletion) follow the crop's age,
  and a fallow plot gets no automatic runs (its running run ends).
* A plot needs water when ``Dr ≥ f·RAW`` with ``RAW = p·TAW`` and the trigger
  fraction ``f`` (1 = at the onset of stress; below 1 a margin for sensor
  errors). Net depth = ``Dr`` (refill to field capacity) or ``min(Dr, f·RAW)``;
  gross depth = net / efficiency (drip 0.9); target volume (L) = gross (mm) ×
  area (m²); planned runtime = volume / design flow; max runtime =
  min(plot max, factor × planned + 1 scan).
* New runs start only inside an irrigation window (local time from
  ``start_utc_s + now`` and ``utc_offset_h``), not while ``forecast_prob ×
  forecast_rain_mm ≥ skip_threshold_mm`` — unless the plot's depletion has
  reached ``skip_cap_fraction × RAW`` (the rain is late, stress is near): then
  it gets its water less the expected rain (at least half), — not on a day
  skipped by command,
  not within ``rest_s`` after the plot's last run. A run ends when the
  delivered volume (∫ flow_lpm dt; design flow while the meter is bad) reaches
  the target, at max runtime, at the window end, or on any fail-safe.
* Scheduling (:mod:`~controllers.irrigation.schedule`): waiting plots start
  round robin by household, most depleted first, while the sum of the open
  valves' design flows stays within the pump capacity. ``pump_on`` = any valve open.

Probe full-point calibration
----------------------------
A capacitance probe's offset (±0.01–0.03 m³/m³ in the field) is as large as a
leafy vegetable's RAW, and a probe that reads dry makes a controller water
again and again. Growers calibrate probes on the "full point": the reading a
while after the soil was brought to field capacity. The controller does the
same: ``fullpoint_settle_s`` after an automatic run that refilled the plot to
field capacity, or after a rain event (bursts less than 6 h apart) larger than
the plot's TAW (which leaves any root zone at field capacity; the wet season
has few irrigations to learn from), the expected water content is ``θFC − ETc since then /
(1000 Zr)``; the per-plot correction added to every reading moves by
``fullpoint_gain`` of the difference towards it (clamped to
±``fullpoint_max_offset``). A wet-reading probe under-states the depletion, so a
refill leaves the soil short of field capacity and the probe still reads "full":
its offset is invisible. ``fullpoint_overshoot`` (a share of TAW added to each
automatic refill, for a plot's first ``fullpoint_overshoot_checks`` full-point
checks) brings the soil to field capacity anyway (the excess drains), so the
check sees the offset; the correction converges over a few refills, and later
refills stop at the (now corrected) field capacity.
``fullpoint_settle_s`` 0 disables the calibration.

Fail-safes (DESIGN.md: irrigation falls back to valves closed)
--------------------------------------------------------------
* Probe and checkbook both unknown → the plot's valve closes
  (alarm ``DEPLETION_UNKNOWN`` once per episode).
* Pump on and pressure bad or < ``min_pressure_kpa`` for
  ``pressure_loss_scans`` scans → every valve closes, pump off, alarm
  ``PRESSURE_LOST``; no new starts for ``pressure_lockout_s`` (or a reset).
* Valve open for ``flow_grace_s`` and a GOOD flow below ``low_flow_fraction``
  (``FLOW_LOW``: blocked) or above ``high_flow_fraction`` (``FLOW_HIGH``:
  burst) × design flow for ``flow_fault_scans`` scans → the valve closes and the
  plot is locked until a ``reset`` command.
* Valve closed for ``flow_grace_s`` and flow > ``leak_lpm`` for
  ``flow_fault_scans`` scans → alarm ``LEAK`` (once per episode).

Commands (:meth:`IrrigationController.command`): ids make replays no-ops; per
target the command issued last wins (an older one arriving later is ignored).
Kinds: ``irrigate`` (plot, ``depth_mm`` net; ignores windows and the forecast,
not the fail-safes), ``skip_today`` (site or plot; the local day of
``issued_s``), ``stop_all`` (site; closes all and holds until ``resume``),
``resume`` (site; clears hold and site skip), ``reset`` (site or plot; clears
flow locks and the pressure lockout).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from controllers.io import (
    Direction,
    PointSpec,
    Sample,
    ValueType,
    check_scan_time,
    good_number,
)
from controllers.irrigation.checkbook import Checkbook
from controllers.irrigation.config import IrrigationConfig, PlotConfig
from controllers.irrigation.schedule import Candidate, pick_starts

__all__ = ["COMMAND_KINDS", "Alarm", "IrrigationController"]

_SNAPSHOT_VERSION = 2
_SEEN_MAX = 4096
COMMAND_KINDS = ("irrigate", "skip_today", "stop_all", "resume", "reset")
_DAY = 86_400.0
_RAIN_EVENT_GAP_S = 6 * 3600.0  # dry spell (s) that separates two rain events

# (leaf, unit, low, high, stale_after_s, bad_after_s, description)
_PLOT_INPUTS = (
    ("soil_vwc", "m3/m3", 0.0, 0.6, 900.0, 1800.0, "soil-moisture probe"),
    ("flow_lpm", "L/min", 0.0, 500.0, 120.0, 300.0, "valve flow meter"),
)
_SITE_INPUTS = (
    ("pump_pressure_kpa", "kPa", 0.0, 1000.0, 60.0, 180.0, "pump discharge pressure"),
    ("et0_mm_d", "mm/d", 0.0, 15.0, 129600.0, 172800.0, "yesterday's reference ET"),
    ("rain_mm", "mm", 0.0, 500.0, 300.0, 900.0, "rain since the last scan"),
    ("forecast_rain_mm", "mm", 0.0, 500.0, 21600.0, 43200.0, "rain expected in 24 h"),
    ("forecast_prob", "1", 0.0, 1.0, 21600.0, 43200.0, "probability of that rain"),
)


@dataclass(frozen=True, slots=True)
class Alarm:
    """An alarm event: run time (s), plot or site id, code, free text."""

    time_s: float
    target: str
    code: str
    detail: str = ""


def _fresh_plot_state() -> dict[str, Any]:
    return {
        "open": False,
        "changed_s": None,
        "run": None,  # {target_l, delivered_l, started_s, max_s, manual}
        "rest_until_s": -math.inf,
        "flow_count": 0,
        "leak_count": 0,
        "leak_active": False,
        "lock": "",
        "manual_mm": None,
        "skip_day": None,
        "unknown": False,
        "delivered_total_l": 0.0,
        "offset_vwc": 0.0,  # learned probe correction (m³/m³), added to the reading
        "fullpoint_at": None,  # run time (s) of the next full-point check
        "fullpoint_et_mm": 0.0,  # crop ET since the refill that scheduled it
        "fullpoint_checks": 0,  # full-point checks taken (the overshoot stops after a few)
    }


class IrrigationController:
    """Per-plot irrigation of one site on a shared pump. Implements ``controllers.io.Controller``.

    Args:
        config: the validated configuration.

    Attributes (diagnostics of the last scan):
        depletion_mm: the decision depletion per plot (None = unknown).
    """

    def __init__(self, config: IrrigationConfig) -> None:
        if not isinstance(config, IrrigationConfig):
            raise ValueError(f"config must be an IrrigationConfig, got {type(config).__name__}")
        self.config = config
        self.name = config.name
        self.scan_period_s = float(config.scan_period_s)
        self._plots: dict[str, PlotConfig] = {p.plot_id: p for p in config.plots}
        self._households = tuple(sorted({p.household for p in config.plots}))
        self._books = {
            pid: Checkbook(
                p.kc * p.et_factor,
                p.taw_mm,
                config.blend_tau_s,
                config.et0_hold_s,
                config.checkbook_max_age_s,
            )
            for pid, p in self._plots.items()
        }
        self._state: dict[str, dict[str, Any]] = {pid: _fresh_plot_state() for pid in self._plots}
        self._last_now: float | None = None
        self._last_household: str | None = None
        self._pump_on = False
        self._pressure_count = 0
        self._lockout_until_s = -math.inf
        self._hold = False
        self._site_skip_day: int | None = None
        self._rain_event_mm = 0.0  # rain of the current (or last) rain event
        self._rain_last_s: float | None = None
        self._seen: list[str] = []
        self._last_issued: dict[str, float] = {}
        self._alarms: list[Alarm] = []
        self.depletion_mm: dict[str, float | None] = {pid: None for pid in self._plots}
        self._crop_cache: dict[str, tuple[int, tuple[float, float] | None]] = {}
        self._specs = self._declare()

    # ---------------------------------------------------------------- points
    def _declare(self) -> tuple[PointSpec, ...]:
        specs: list[PointSpec] = []
        for owners, table in (
            (tuple(self._plots), _PLOT_INPUTS),
            ((self.config.site,), _SITE_INPUTS),
        ):
            for oid in owners:
                for leaf, unit, low, high, stale, bad, what in table:
                    specs.append(
                        PointSpec(
                            f"agri/{oid}/{leaf}",
                            Direction.INPUT,
                            unit,
                            ValueType.FLOAT,
                            low=low,
                            high=high,
                            stale_after_s=stale,
                            bad_after_s=bad,
                            description=f"{what} ({oid})",
                        )
                    )
        for pid in self._plots:
            specs.append(
                PointSpec(
                    f"agri/{pid}/valve_open",
                    Direction.OUTPUT,
                    "",
                    ValueType.BOOL,
                    description=f"solenoid valve of {pid}",
                )
            )
        specs.append(
            PointSpec(
                f"agri/{self.config.site}/pump_on",
                Direction.OUTPUT,
                "",
                ValueType.BOOL,
                description=f"shared pump of {self.config.site}",
            )
        )
        return tuple(specs)

    def points(self) -> Sequence[PointSpec]:
        """Plot inputs, site inputs, then valve_open per plot and pump_on."""
        return self._specs

    # -------------------------------------------------------------- queries
    def alarms(self, since: int = 0) -> list[Alarm]:
        """Alarm events from index ``since`` on, oldest first."""
        return list(self._alarms[since:])

    def delivered_l(self) -> dict[str, float]:
        """Total water delivered per plot since start (L)."""
        return {pid: float(st["delivered_total_l"]) for pid, st in self._state.items()}

    def _alarm(self, now: float, target: str, code: str, detail: str = "") -> None:
        self._alarms.append(Alarm(now, target, code, detail))

    def _local(self, t: float) -> tuple[int, float]:
        """(local day number, seconds since local midnight) at run time ``t``."""
        local = self.config.start_utc_s + t + self.config.utc_offset_h * 3600.0
        day = math.floor(local / _DAY)
        return day, local - day * _DAY

    # ------------------------------------------------------------- commands
    def command(
        self,
        cmd_id: str,
        issued_s: float,
        kind: str,
        target: str | None = None,
        depth_mm: float | None = None,
    ) -> str:
        """Apply a centre command; returns ``applied``, ``duplicate`` or ``superseded``.

        ``target`` None means the site. Raises ValueError on an unknown kind or
        target or a missing/invalid ``depth_mm`` for ``irrigate``.
        """
        if not isinstance(cmd_id, str) or not cmd_id:
            raise ValueError(f"cmd_id must be a non-empty string, got {cmd_id!r}")
        if cmd_id in self._seen:
            return "duplicate"
        if kind not in COMMAND_KINDS:
            raise ValueError(f"command {cmd_id}: unknown kind {kind!r}; use one of {COMMAND_KINDS}")
        if isinstance(issued_s, bool) or not isinstance(issued_s, int | float):
            raise ValueError(f"command {cmd_id}: issued_s must be run seconds, got {issued_s!r}")
        target = self.config.site if target is None else target
        if target != self.config.site and target not in self._plots:
            raise ValueError(
                f"command {cmd_id}: unknown target {target!r}; name the site "
                f"{self.config.site!r} or a plot like {next(iter(self._plots))!r}"
            )
        site_only = kind in ("stop_all", "resume")
        if (site_only and target != self.config.site) or (
            kind == "irrigate" and target not in self._plots
        ):
            raise ValueError(f"command {cmd_id}: {kind} does not apply to {target!r}")
        if kind == "irrigate" and not (
            isinstance(depth_mm, int | float)
            and not isinstance(depth_mm, bool)
            and 0.0 < depth_mm <= 200.0
        ):
            raise ValueError(
                f"command {cmd_id}: irrigate needs depth_mm in (0, 200], got {depth_mm!r}"
            )
        self._seen.append(cmd_id)
        del self._seen[:-_SEEN_MAX]
        if issued_s < self._last_issued.get(target, -math.inf):
            return "superseded"
        self._last_issued[target] = float(issued_s)
        day, _ = self._local(float(issued_s))
        if kind == "irrigate":
            assert depth_mm is not None
            self._state[target]["manual_mm"] = float(depth_mm)
        elif kind == "skip_today":
            if target == self.config.site:
                self._site_skip_day = day
            else:
                self._state[target]["skip_day"] = day
        elif kind == "stop_all":
            self._hold = True
        elif kind == "resume":
            self._hold, self._site_skip_day = False, None
        else:  # reset
            plots = list(self._plots) if target == self.config.site else [target]
            if target == self.config.site:
                self._lockout_until_s, self._pressure_count = -math.inf, 0
            for pid in plots:
                self._state[pid]["lock"], self._state[pid]["flow_count"] = "", 0
        return "applied"

    # ------------------------------------------------------------------ scan
    def _learn_full_point(
        self,
        st: dict[str, Any],
        theta_fc: float,
        zr_m: float,
        theta: float,
        now: float,
        dt: float,
        kc: float,
        book: Checkbook,
    ) -> None:
        """Full-point calibration of the probe (see the module docstring)."""
        if st["fullpoint_at"] is None:
            return
        if book.et0_mm_d is not None:
            st["fullpoint_et_mm"] += kc * book.et0_mm_d * dt / 86_400.0
        if now < st["fullpoint_at"]:
            return
        cfg = self.config
        expected = theta_fc - st["fullpoint_et_mm"] / (1000.0 * zr_m)
        offset = st["offset_vwc"] + cfg.fullpoint_gain * (expected - theta - st["offset_vwc"])
        limit = cfg.fullpoint_max_offset
        st["offset_vwc"] = min(max(offset, -limit), limit)
        st["fullpoint_at"] = None
        st["fullpoint_checks"] += 1

    def _crop_state(self, plot: PlotConfig, now: float) -> tuple[float, float] | None:
        """(Kc, Zr) of a plot, recomputed once per hour of run time (they change daily)."""
        key = math.floor(now / 3600.0)
        cached = self._crop_cache.get(plot.plot_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        value = plot.crop_state(self.config.start_utc_s + now)
        self._crop_cache[plot.plot_id] = (key, value)
        return value

    def _end_run(self, pid: str, now: float) -> None:
        st = self._state[pid]
        if st["run"] is not None:
            if st["run"]["manual"]:
                st["manual_mm"] = None
            st["run"] = None
            st["rest_until_s"] = now + self.config.rest_s

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan at ``now`` (s): valve commands per plot and the pump command."""
        now = check_scan_time(self.name, now, self._last_now)
        dt = 0.0 if self._last_now is None else now - self._last_now
        self._last_now = now
        cfg, site, get = self.config, self.config.site, inputs.get
        day, sec = self._local(now)
        hour = sec / 3600.0
        in_window = any(a <= hour < b for a, b in cfg.windows)

        pressure = good_number(get(f"agri/{site}/pump_pressure_kpa"), 0.0, 1000.0)
        et0 = good_number(get(f"agri/{site}/et0_mm_d"), 0.0, 15.0)
        rain = good_number(get(f"agri/{site}/rain_mm"), 0.0, 500.0) or 0.0
        fc_mm = good_number(get(f"agri/{site}/forecast_rain_mm"), 0.0, 500.0)
        fc_p = good_number(get(f"agri/{site}/forecast_prob"), 0.0, 1.0)
        rain_skip = fc_mm is not None and fc_p is not None and fc_mm * fc_p >= cfg.skip_threshold_mm

        # pump pressure
        if self._pump_on and (pressure is None or pressure < cfg.min_pressure_kpa):
            self._pressure_count += 1
        else:
            self._pressure_count = 0
        pressure_lost = self._pressure_count >= cfg.pressure_loss_scans
        if pressure_lost:
            self._alarm(now, site, "PRESSURE_LOST", f"pressure {pressure} kPa")
            self._lockout_until_s = now + cfg.pressure_lockout_s
            self._pressure_count = 0

        if rain > 0.0:
            gap = None if self._rain_last_s is None else now - self._rain_last_s
            if gap is None or gap > _RAIN_EVENT_GAP_S:
                self._rain_event_mm = 0.0  # a new rain event
            self._rain_event_mm += rain
            self._rain_last_s = now
        fallow: dict[str, bool] = {}
        raw_mm: dict[str, float] = {}
        for pid, plot in self._plots.items():
            st = self._state[pid]
            flow = good_number(get(f"agri/{pid}/flow_lpm"), 0.0, 500.0)
            settled = st["changed_s"] is None or now - st["changed_s"] >= cfg.flow_grace_s
            added_l = 0.0
            if st["open"] and st["run"] is not None:
                rate = plot.emitter_flow_lpm if flow is None else flow
                added_l = rate * dt / 60.0
                st["run"]["delivered_l"] += added_l
                st["delivered_total_l"] += added_l
            # flow supervision
            if st["open"] and settled and flow is not None:
                low = flow < cfg.low_flow_fraction * plot.emitter_flow_lpm
                high = flow > cfg.high_flow_fraction * plot.emitter_flow_lpm
                st["flow_count"] = (
                    st["flow_count"] + 1 if (low or high) and not pressure_lost else 0
                )
                if st["flow_count"] >= cfg.flow_fault_scans:
                    st["lock"] = "FLOW_LOW" if low else "FLOW_HIGH"
                    st["flow_count"] = 0
                    self._alarm(now, pid, st["lock"], f"{flow} L/min")
            elif not st["open"]:
                st["flow_count"] = 0
            if not st["open"] and settled and flow is not None and flow > cfg.leak_lpm:
                st["leak_count"] += 1
                if st["leak_count"] >= cfg.flow_fault_scans and not st["leak_active"]:
                    st["leak_active"] = True
                    self._alarm(now, pid, "LEAK", f"{flow} L/min with the valve closed")
            elif flow is not None:
                st["leak_count"], st["leak_active"] = 0, False
            # crop state: Kc and root depth from the calendar; None = fallow
            crop = self._crop_state(plot, now)
            fallow[pid] = crop is None
            kc, zr = (plot.kc * plot.et_factor, plot.root_depth_m) if crop is None else crop
            taw = 1000.0 * (plot.theta_fc - plot.theta_wp) * zr
            book = self._books[pid]
            p = plot.p
            if cfg.adjust_p and book.et0_mm_d is not None:
                p = min(max(p + 0.04 * (5.0 - kc * book.et0_mm_d), 0.1), 0.8)
            raw_mm[pid] = p * taw
            book.kc, book.taw_mm = kc, taw
            # depletion
            theta = good_number(get(f"agri/{pid}/soil_vwc"), 0.0, 0.6)
            sample = get(f"agri/{pid}/soil_vwc")
            if (
                theta is not None
                and sample is not None
                and now - sample.source_time > cfg.probe_bad_after_s
            ):
                theta = None
            if (
                rain > 0.0
                and cfg.fullpoint_settle_s > 0
                and not fallow[pid]
                and self._rain_event_mm >= taw
            ):  # a rain event larger than the whole root zone leaves it at field capacity
                st["fullpoint_at"] = now + cfg.fullpoint_settle_s
                st["fullpoint_et_mm"] = 0.0
            if theta is not None and cfg.fullpoint_settle_s > 0:
                self._learn_full_point(st, plot.theta_fc, zr, theta, now, dt, kc, book)
            probe_dr = (
                None
                if theta is None
                else min(max(1000.0 * (plot.theta_fc - theta - st["offset_vwc"]) * zr, 0.0), taw)
            )
            net_mm = added_l * plot.efficiency / plot.area_m2
            dr = book.update(now, dt, et0, rain, net_mm, probe_dr)
            self.depletion_mm[pid] = dr
            if dr is None and not st["unknown"] and not fallow[pid]:
                self._alarm(now, pid, "DEPLETION_UNKNOWN", "probe and checkbook both unknown")
            st["unknown"] = dr is None and not fallow[pid]

        # end runs
        blocked = self._hold or pressure_lost or now < self._lockout_until_s
        for pid, st in self._state.items():
            run = st["run"]
            if run is None:
                continue
            refilled = run["delivered_l"] >= run["target_l"] - 1e-9
            if (
                blocked
                or st["lock"]
                or self.depletion_mm[pid] is None
                or refilled
                or now - run["started_s"] >= run["max_s"]
                or (not run["manual"] and (not in_window or fallow[pid]))
            ):
                if refilled and run["full"] and cfg.fullpoint_settle_s > 0:
                    st["fullpoint_at"] = now + cfg.fullpoint_settle_s
                    st["fullpoint_et_mm"] = 0.0
                self._end_run(pid, now)

        # start runs
        if not blocked:
            waiting: list[Candidate] = []
            targets: dict[str, tuple[float, float, bool, bool]] = {}
            for pid, plot in self._plots.items():
                st, dr = self._state[pid], self.depletion_mm[pid]
                if st["run"] is not None or st["lock"] or dr is None or now < st["rest_until_s"]:
                    continue
                if st["manual_mm"] is not None:
                    net, manual, urgency = st["manual_mm"], True, 1e6
                elif (
                    in_window
                    and not fallow[pid]
                    and self._site_skip_day != day
                    and st["skip_day"] != day
                    and dr >= cfg.trigger_fraction * raw_mm[pid] - 1e-9
                    and (not rain_skip or dr >= cfg.skip_cap_fraction * raw_mm[pid] - 1e-9)
                ):
                    calibrating = st["fullpoint_checks"] < cfg.fullpoint_overshoot_checks
                    overshoot = cfg.fullpoint_overshoot * self._books[pid].taw_mm
                    net = (
                        dr + (overshoot if calibrating else 0.0)
                        if cfg.refill_fraction is None
                        else min(dr, cfg.refill_fraction * raw_mm[pid])
                    )
                    if rain_skip:  # the rain is late: water now, leave room for it
                        assert fc_mm is not None and fc_p is not None
                        net = max(net - fc_mm * fc_p, 0.5 * net)
                    manual, urgency = False, dr / raw_mm[pid]
                else:
                    continue
                if net <= 0.0:
                    continue
                volume = net / plot.efficiency * plot.area_m2
                planned_s = volume / plot.emitter_flow_lpm * 60.0
                max_s = min(
                    plot.max_runtime_s, cfg.max_runtime_factor * planned_s + self.scan_period_s
                )
                targets[pid] = (volume, max_s, manual, not manual and net >= dr - 1e-9)
                waiting.append(Candidate(pid, plot.household, plot.emitter_flow_lpm, urgency))
            used = sum(
                self._plots[pid].emitter_flow_lpm for pid, st in self._state.items() if st["run"]
            )
            starts, self._last_household = pick_starts(
                waiting, self._households, self._last_household, cfg.pump_capacity_lpm - used
            )
            for pid in starts:
                volume, max_s, manual, full = targets[pid]
                self._state[pid]["run"] = {
                    "target_l": volume,
                    "delivered_l": 0.0,
                    "started_s": now,
                    "max_s": max_s,
                    "manual": manual,
                    "full": full,
                }

        out: dict[str, Any] = {}
        for pid, st in self._state.items():
            is_open = st["run"] is not None
            if is_open != st["open"]:
                st["changed_s"] = now
            st["open"] = is_open
            out[f"agri/{pid}/valve_open"] = is_open
        self._pump_on = any(st["open"] for st in self._state.values())
        out[f"agri/{site}/pump_on"] = self._pump_on
        return out

    # ------------------------------------------------------ snapshot / restore
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-serialisable data (infinities as None)."""

        def fin(x: float) -> float | None:
            return x if math.isfinite(x) else None

        plots = {}
        for pid, st in self._state.items():
            data = dict(st)
            data["rest_until_s"] = fin(st["rest_until_s"])
            data["run"] = None if st["run"] is None else dict(st["run"])
            plots[pid] = data
        return {
            "version": _SNAPSHOT_VERSION,
            "name": self.name,
            "last_now": self._last_now,
            "last_household": self._last_household,
            "pump_on": self._pump_on,
            "pressure_count": self._pressure_count,
            "lockout_until_s": fin(self._lockout_until_s),
            "hold": self._hold,
            "site_skip_day": self._site_skip_day,
            "rain_event_mm": self._rain_event_mm,
            "rain_last_s": self._rain_last_s,
            "seen": list(self._seen),
            "last_issued": dict(self._last_issued),
            "alarms": [asdict(a) for a in self._alarms],
            "plots": plots,
            "books": {pid: b.snapshot() for pid, b in self._books.items()},
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
            if set(state["plots"]) != set(self._plots) or set(state["books"]) != set(self._plots):
                raise ValueError("snapshot is of a site with other plots")
            fresh = IrrigationController(self.config)
            for pid in self._plots:
                data = dict(state["plots"][pid])
                data.setdefault("fullpoint_checks", 0)  # snapshots from before the counter
                st = _fresh_plot_state()
                missing = set(st) - set(data)
                if missing:
                    raise ValueError(f"plot {pid}: missing {sorted(missing)}")
                st.update({k: data[k] for k in st})
                if st["rest_until_s"] is None:
                    st["rest_until_s"] = -math.inf
                if st["run"] is not None:
                    st["run"] = dict(st["run"])
                fresh._state[pid] = st
                fresh._books[pid].restore(state["books"][pid])
            lockout = state["lockout_until_s"]
            last_household = state["last_household"]
            if last_household is not None and last_household not in self._households:
                raise ValueError(f"unknown household {last_household!r}")
            alarms = [Alarm(**a) for a in state["alarms"]]
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        self._state, self._books = fresh._state, fresh._books
        self._last_now = None if state["last_now"] is None else float(state["last_now"])
        self._last_household = last_household
        self._pump_on = bool(state["pump_on"])
        self._pressure_count = int(state["pressure_count"])
        self._lockout_until_s = -math.inf if lockout is None else float(lockout)
        self._hold = bool(state["hold"])
        self._site_skip_day = state["site_skip_day"]
        self._rain_event_mm = float(state["rain_event_mm"])
        self._rain_last_s = None if state["rain_last_s"] is None else float(state["rain_last_s"])
        self._seen = [str(s) for s in state["seen"]]
        self._last_issued = {str(k): float(v) for k, v in state["last_issued"].items()}
        self._alarms = alarms
        self.depletion_mm = {pid: None for pid in self._plots}
