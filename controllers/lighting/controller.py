"""The lighting controller of one pilot section: central manager + every pole node.

Points (``<p>`` pole id, ``<c>`` cabinet id; ranges as in the lighting contract)
-------------------------------------------------------------------------------
INPUT  ``light/<p>/motion`` (bool), ``light/<p>/power_w`` (W, 0..2000),
``light/<p>/link_ok`` (bool), ``light/<c>/ambient_lx`` (lx, 0..150000),
``light/<c>/rain_mm_h`` (mm/h, 0..500), ``light/<c>/volume_veh_h``
(veh/h, 0..20000), ``light/<c>/supply_ok`` (bool), ``light/<c>/power_w``
(W, 0..100000), ``light/<c>/energy_kwh`` (kWh, 0..1e9).
OUTPUT ``light/<p>/dim_pct`` (%, 0..100; 0 = off) and ``light/<p>/fault``
(text: "" or a code of :data:`~controllers.lighting.faults.FAULT_CODES`).

A scan
------
1. Local time from ``start_utc_s + now`` and ``utc_offset_h``; the calendar's
   programmed level (astro clock).
2. Per cabinet, the central decision (:mod:`~controllers.lighting.central`):
   on/off, class, level, boost level.
3. Per pole whose ``link_ok`` is a GOOD True: the centre's level/boost (and
   the calendar, when the pole lacks it) and pending override commands are
   delivered. A pole without link gets nothing and runs on what it has (see
   :mod:`~controllers.lighting.pole`).
4. Motion: a GOOD True ``motion`` boosts the own pole; if its link is up the
   detection is relayed to its neighbours whose links are up.
5. Each node computes its level; the fault monitor compares the power
   metered now with the level commanded at the previous scan.

Fallbacks (DESIGN.md: lighting falls back to full on when it cannot tell)
--------------------------------------------------------------------------
Only GOOD samples of the right type within range are used; anything else is
"bad". Bad ``ambient_lx`` → the astro calendar alone decides on/off. Bad
``volume_veh_h`` → the time band's design (brightest) class. Bad
``rain_mm_h`` → treated as wet (one class brighter). Bad ``motion`` → no
boost from that pole, the class level stays. Bad ``link_ok`` → link down.
Bad ``power_w`` → ``commFailure`` after persistence. A pole that never
received its program and has no link → 100 %.

Operator commands: :meth:`LightingController.command` queues an override;
it reaches each target pole at its next scan with the link up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controllers.io import (
    Direction,
    PointSpec,
    Sample,
    ValueType,
    check_scan_time,
    good_flag,
    good_number,
)
from controllers.lighting.astro import AstroClock
from controllers.lighting.central import SegmentDecision, SegmentManager
from controllers.lighting.clock import LocalClock
from controllers.lighting.config import LightingControllerConfig
from controllers.lighting.faults import AlertEvent, PoleFaultMonitor
from controllers.lighting.override import OverrideCommand
from controllers.lighting.pole import BoostConfig, PoleNode
from controllers.lighting.program import Calendar, ControlProgram

__all__ = ["LightingController"]

_SNAPSHOT_VERSION = 1
_PENDING_MAX = 32  # undelivered commands kept per pole

# (leaf, unit, type, low, high, stale_after_s, bad_after_s, description)
_POLE_INPUTS = (
    ("motion", "", ValueType.BOOL, None, None, 10.0, 30.0, "road user detected by the pole"),
    ("power_w", "W", ValueType.FLOAT, 0.0, 2000.0, 30.0, 120.0, "metered lamp+driver power"),
    ("link_ok", "", ValueType.BOOL, None, None, 30.0, 120.0, "pole node link to the gateway"),
)
_CABINET_INPUTS = (
    ("ambient_lx", "lx", ValueType.FLOAT, 0.0, 150000.0, 120.0, 600.0, "cabinet photocell"),
    ("rain_mm_h", "mm/h", ValueType.FLOAT, 0.0, 500.0, 900.0, 1800.0, "rain at the cabinet"),
    ("volume_veh_h", "veh/h", ValueType.FLOAT, 0.0, 20000.0, 1200.0, 1800.0, "15-min count"),
    ("supply_ok", "", ValueType.BOOL, None, None, 30.0, 120.0, "mains present at the cabinet"),
    ("power_w", "W", ValueType.FLOAT, 0.0, 100000.0, 60.0, 300.0, "cabinet meter power"),
    ("energy_kwh", "kWh", ValueType.FLOAT, 0.0, 1e9, 300.0, 900.0, "cabinet meter energy"),
)


class LightingController:
    """Central lighting management and all pole nodes of one section.

    Implements ``controllers.io.Controller``.

    Args:
        config: the validated configuration.

    Attributes (read-only diagnostics of the last scan):
        decisions: the central decision per cabinet id.
        levels: the commanded level (%) per pole id.
    """

    def __init__(self, config: LightingControllerConfig) -> None:
        if not isinstance(config, LightingControllerConfig):
            raise ValueError(
                f"config must be a LightingControllerConfig, got {type(config).__name__}"
            )
        self.config = config
        self.name = config.name
        self.scan_period_s = float(config.scan_period_s)
        self.clock = LocalClock(config.start_utc_s, config.utc_offset_h)
        self._astro = AstroClock(config.lat_deg, config.lon_deg, config.utc_offset_h)
        self._calendars: list[Calendar] = []
        self._programs: list[ControlProgram] = []
        self._version = self._add_calendar(config.calendar)
        boost = config.boost if config.mode == "adaptive" else BoostConfig(enabled=False)
        self._pole_ids = tuple(p.pole_id for p in config.poles)
        self._pole_cabinet = {p.pole_id: p.cabinet for p in config.poles}
        self._neighbours = {p.pole_id: config.neighbours_of(p) for p in config.poles}
        self._cabinet_ids = tuple(c.cabinet_id for c in config.cabinets)
        self._segments = {
            c.cabinet_id: SegmentManager(
                c.cabinet_id,
                c.commissioning,
                c.road,
                config.volume_bands,
                config.time_bands,
                config.rain,
                config.photocell,
                boost,
                config.mode,
                config.class_step_down_hold_s,
            )
            for c in config.cabinets
        }
        self._nodes = {pid: PoleNode(pid, boost, config.central_ttl_s) for pid in self._pole_ids}
        if config.preloaded_program:
            for node in self._nodes.values():
                node.program, node.program_version = self._programs[0], 0
        self._monitors = {
            p.pole_id: PoleFaultMonitor(p.pole_id, config.driver_of(p), config.faults)
            for p in config.poles
        }
        # per pole: (level commanded at the last scan, since when, on/off since when)
        self._commanded: dict[str, tuple[float, float, float]] = {}
        self._pending: dict[str, list[OverrideCommand]] = {pid: [] for pid in self._pole_ids}
        self._events: list[AlertEvent] = []
        self._last_now: float | None = None
        self.decisions: dict[str, SegmentDecision] = {}
        self.levels: dict[str, float] = {}
        self._specs = self._declare()

    # ---------------------------------------------------------------- points
    def _declare(self) -> tuple[PointSpec, ...]:
        specs: list[PointSpec] = []
        for owner_ids, table in (
            (self._pole_ids, _POLE_INPUTS),
            (self._cabinet_ids, _CABINET_INPUTS),
        ):
            for oid in owner_ids:
                for leaf, unit, vt, low, high, stale, bad, what in table:
                    specs.append(
                        PointSpec(
                            f"light/{oid}/{leaf}",
                            Direction.INPUT,
                            unit,
                            vt,
                            low=low,
                            high=high,
                            stale_after_s=stale,
                            bad_after_s=bad,
                            description=f"{what} ({oid})",
                        )
                    )
        for pid in self._pole_ids:
            specs.append(
                PointSpec(
                    f"light/{pid}/dim_pct",
                    Direction.OUTPUT,
                    "%",
                    ValueType.FLOAT,
                    low=0.0,
                    high=100.0,
                    description=f"commanded light level of {pid} (0 = off)",
                )
            )
            specs.append(
                PointSpec(
                    f"light/{pid}/fault",
                    Direction.OUTPUT,
                    "",
                    ValueType.STR,
                    description=f"current alert code of {pid} ('' = none)",
                )
            )
        return tuple(specs)

    def points(self) -> Sequence[PointSpec]:
        """Every pole and cabinet input of the contract, then dim_pct and fault per pole."""
        return self._specs

    # ------------------------------------------------------------- operation
    def _add_calendar(self, calendar: Calendar) -> int:
        self._calendars.append(calendar)
        self._programs.append(ControlProgram(calendar, self._astro))
        return len(self._calendars) - 1

    def load_calendar(self, calendar: Calendar) -> int:
        """Replace the central calendar; poles receive it at their next scan with link.

        Returns the new program version number.
        """
        if not isinstance(calendar, Calendar):
            raise ValueError(f"expected a Calendar, got {type(calendar).__name__}")
        self._version = self._add_calendar(calendar)
        return self._version

    def command(self, command: OverrideCommand | Mapping[str, Any]) -> tuple[str, ...]:
        """Queue an operator override; returns the pole ids it targets.

        ``targets`` may name poles and cabinets (a cabinet = all its poles);
        empty = every pole. Raises ValueError for an unknown target.
        """
        cmd = (
            command
            if isinstance(command, OverrideCommand)
            else OverrideCommand.from_mapping(command)
        )
        if not cmd.targets:
            poles: tuple[str, ...] = self._pole_ids
        else:
            chosen: set[str] = set()
            for target in cmd.targets:
                if target in self._pending:
                    chosen.add(target)
                elif target in self._segments:
                    chosen.update(p for p in self._pole_ids if self._pole_cabinet[p] == target)
                else:
                    raise ValueError(
                        f"override {cmd.command_id}: unknown target {target!r}; name poles "
                        f"{list(self._pole_ids[:3])}... or cabinets {list(self._cabinet_ids)}"
                    )
            poles = tuple(p for p in self._pole_ids if p in chosen)
        for pid in poles:
            queue = self._pending[pid]
            if all(c.command_id != cmd.command_id for c in queue):
                queue.append(cmd)
                if len(queue) > _PENDING_MAX:
                    queue.sort(key=lambda c: c.order_key)
                    del queue[0]
        return poles

    def alerts(self, since: int = 0) -> list[AlertEvent]:
        """Alert events (raised/cleared, with times) from index ``since`` on, oldest first."""
        return list(self._events[since:])

    def active_alerts(self) -> dict[str, str]:
        """The current alert code per pole, for poles that have one."""
        return {pid: m.code for pid, m in self._monitors.items() if m.code}

    def pole_source(self, pole_id: str) -> str:
        """What set the pole's level at the last scan: central, program, failsafe, override."""
        return self._nodes[pole_id].source

    # ------------------------------------------------------------------ scan
    def _check_time(self, now: float) -> float:
        self._last_now = check_scan_time(self.name, now, self._last_now)
        return self._last_now

    def scan(self, now: float, inputs: Mapping[str, Sample]) -> dict[str, Any]:
        """One scan at ``now`` (s): levels and alert codes for every pole."""
        now = self._check_time(now)
        local = self.clock.local(now)
        program = self._programs[self._version]
        programmed = program.level_at(local)
        get = inputs.get
        supply: dict[str, bool | None] = {}
        for cid, seg in self._segments.items():
            self.decisions[cid] = seg.decide(
                now,
                local.seconds,
                programmed,
                good_number(get(f"light/{cid}/ambient_lx"), 0.0, 150000.0),
                good_number(get(f"light/{cid}/rain_mm_h"), 0.0, 500.0),
                good_number(get(f"light/{cid}/volume_veh_h"), 0.0, 20000.0),
            )
            supply[cid] = good_flag(get(f"light/{cid}/supply_ok"))
        link = {pid: good_flag(get(f"light/{pid}/link_ok")) is True for pid in self._pole_ids}
        for pid in self._pole_ids:
            if not link[pid]:
                continue
            node = self._nodes[pid]
            decision = self.decisions[self._pole_cabinet[pid]]
            node.receive_central(
                now, decision.level_pct, decision.boost_pct, program, self._version
            )
            queue = self._pending[pid]
            if queue:
                for cmd in sorted(queue, key=lambda c: c.order_key):
                    node.receive_command(cmd)
                queue.clear()
        for pid in self._pole_ids:
            if good_flag(get(f"light/{pid}/motion")) is True:
                self._nodes[pid].motion(now)
                if link[pid]:
                    for nid in self._neighbours[pid]:
                        if link[nid]:
                            self._nodes[nid].motion(now)
        out: dict[str, Any] = {}
        for pid in self._pole_ids:
            level = self._nodes[pid].step(now, local)
            previous = self._commanded.get(pid)
            if previous is not None:
                events = self._monitors[pid].observe(
                    now,
                    previous[0],
                    previous[1],
                    previous[2],
                    good_number(get(f"light/{pid}/power_w"), 0.0, 2000.0),
                    good_flag(get(f"light/{pid}/link_ok")),
                    supply[self._pole_cabinet[pid]],
                )
                self._events.extend(events)
            if previous is None:
                self._commanded[pid] = (level, now, now)
            elif level != previous[0]:
                state_since = previous[2] if (level > 0) == (previous[0] > 0) else now
                self._commanded[pid] = (level, now, state_since)
            self.levels[pid] = level
            out[f"light/{pid}/dim_pct"] = level
            out[f"light/{pid}/fault"] = self._monitors[pid].code
        return out

    # ------------------------------------------------------ snapshot / restore
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-serialisable data (times in run s, levels in %)."""
        return {
            "version": _SNAPSHOT_VERSION,
            "name": self.name,
            "last_now": self._last_now,
            "calendars": [c.to_mapping() for c in self._calendars],
            "calendar_version": self._version,
            "segments": {cid: seg.snapshot() for cid, seg in self._segments.items()},
            "nodes": {pid: node.snapshot() for pid, node in self._nodes.items()},
            "monitors": {pid: m.snapshot() for pid, m in self._monitors.items()},
            "commanded": {pid: list(v) for pid, v in self._commanded.items()},
            "pending": {pid: [c.to_mapping() for c in q] for pid, q in self._pending.items()},
            "events": [e.to_mapping() for e in self._events],
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
            if set(state["nodes"]) != set(self._pole_ids) or set(state["segments"]) != set(
                self._cabinet_ids
            ):
                raise ValueError("snapshot is of a section with other poles or cabinets")
            fresh = LightingController(self.config)
            fresh._calendars, fresh._programs = [], []
            for data in state["calendars"]:
                fresh._add_calendar(Calendar.from_mapping(data))
            version = int(state["calendar_version"])
            if not 0 <= version < len(fresh._calendars):
                raise ValueError(f"calendar_version {version} out of range")
            fresh._version = version
            for cid, seg in fresh._segments.items():
                seg.restore(state["segments"][cid])
            for pid, node in fresh._nodes.items():
                ns = state["nodes"][pid]
                v = ns["program_version"]
                node.restore(ns, None if v is None else fresh._programs[int(v)])
            for pid, mon in fresh._monitors.items():
                mon.restore(state["monitors"][pid])
            commanded = {}
            for pid, v in state["commanded"].items():
                if pid not in fresh._nodes:
                    raise ValueError(f"unknown pole {pid!r} in snapshot")
                commanded[pid] = (float(v[0]), float(v[1]), float(v[2]))
            pending = {
                pid: [OverrideCommand.from_mapping(c) for c in state["pending"][pid]]
                for pid in self._pole_ids
            }
            events = [AlertEvent.from_mapping(e) for e in state["events"]]
            last_now = None if state["last_now"] is None else float(state["last_now"])
        except (KeyError, TypeError, IndexError) as exc:
            raise ValueError(f"{self.name}: malformed snapshot ({exc!r})") from exc
        self._calendars, self._programs, self._version = (
            fresh._calendars,
            fresh._programs,
            fresh._version,
        )
        self._segments, self._nodes, self._monitors = (
            fresh._segments,
            fresh._nodes,
            fresh._monitors,
        )
        self._commanded, self._pending, self._events = commanded, pending, events
        self._last_now = last_now
        self.decisions, self.levels = {}, {}
