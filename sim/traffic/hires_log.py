"""High-resolution signal event logs ("Indiana" / ATSPM style), split and cycle histories.

After a run, :func:`write_hires_logs` turns what the traffic plant recorded
into the files a signal engineer audits from a real cabinet's logger::

    summary = write_hires_logs(run_dir, layouts, begin_s=config.begin_s)  # HiresSummary

Inputs (in ``run_dir``):

- ``signal_log.csv`` (``time_s,tls,state``, written by ``TrafficPlant.close``):
  every state put on the signal heads, one SUMO character per link, shown
  from ``time_s`` on (s, run time = SUMO time - ``TrafficPlantConfig.begin_s``).
  Several rows of one junction at the same time: the last one is what was shown.
- ``detector_events.xml``: SUMO ``instantInductionLoop`` output, one loop per
  controlled lane at the stop-line loop position (``TrafficPlantConfig.
  detector_events``, micro mode), in SUMO time. Stream-parsed; a missing, empty or
  truncated file (SUMO died) keeps whatever is readable and says so in
  :attr:`HiresSummary.problems`.

Outputs (in ``run_dir/signals/``; ``<tls>`` is the id made file-safe):

- ``events_<tls>.csv``: ``time_s,code,param``, time rounded to 0.1 s (the
  logger resolution), sorted by time, then code, then param.
- ``channels_<tls>.csv``: ``tls,kind,number,value``: what each phase number
  (value = its state string) and detector channel (value = lane id) means.
- ``splits.csv``: one row per phase served: ``tls, cycle, phase,
  green_start_s, green_s, yellow_s, red_clearance_s, ended_by``; durations in
  s, empty while an interval was still running when the log ended.
- ``cycles.csv``: ``tls, cycle, start_s, length_s, phases_served, flash,
  complete``.

Event codes (Indiana Traffic Signal Hi Resolution Data Logger Enumerations,
Sturdevant et al., INDOT / Purdue, 2012):

====  ==============================  =========================================
code  event                           param
====  ==============================  =========================================
1     Phase Begin Green               phase number
7     Phase Green Termination         phase number
8     Phase Begin Yellow Clearance    phase number
9     Phase End Yellow Clearance      phase number
10    Phase Begin Red Clearance       phase number
11    Phase End Red Clearance         phase number
81    Detector Off                    detector channel
82    Detector On                     detector channel
173   Unit Flash Status change        NTCIP 1202 ``unitFlashStatus``: 2 not
                                      flashing, 7 start-up (flash at the start
                                      of the log), 1 other (any later flash:
                                      the signal log does not say why)
====  ==============================  =========================================

Code 12 (Phase Inactive) and the timing-reason codes (gap/max out, force
off) are not logged: a state log does not carry them.

Phase numbers are 1-based indices into the junction's green phases: by
default the layout's reference-program states that show a green (``G``/``g``)
and no amber (``y``), in order, repeats dropped (the rule of
``IntersectionSpec.from_program``); pass ``green_phases`` to use others.
Detector channels are 1-based indices into ``SignalLayout.lanes``.

Phase semantics on SUMO states (one phase at a time, as the controllers
here run a single ring):

- a state *shows* phase ``p`` when every link green in ``p`` is green with
  ``p``'s own character (``G`` protected / ``g`` permissive); if several
  phases are shown, the one with the most green links wins (ties: the lower
  number). So a protected-left phase whose arrow stays lit as ``g`` through
  the previous phase begins green when its ``G`` appears.
- **Begin green (1)**: a state shows ``p`` while ``p`` was not in green.
- **Green termination (7)**: another phase begins green, or any of ``p``'s
  green links stops being green. Links green in both phases stay green
  through the change and do not end anything by themselves.
- **Yellow (8, 9)**: begins with the termination if one of ``p``'s links
  turned amber; ends when none of them is amber any more.
- **Red clearance (10, 11)**: begins when the yellow ends (or at the
  termination if ``p``'s links went straight to red); ends when any link
  turns green that was not green before (a grant) or a phase begins green,
  normally the next phase's begin green. If the next phase is already green
  when the yellow ends, or took over ``p``'s links without a change
  interval, ``p`` has no red clearance (0 s).
- **Flash**: a state with every link ``o``/``O`` ends whatever interval each
  phase is in (7, 9 or 11) and logs 173; the first non-flash state logs
  173 with param 2. Other states with ``o`` treat it as not green, not amber.

Detector semantics: a channel is *on* while at least one vehicle is over its
loop (motorbikes ride side by side): on (82) when the first enters, off (81)
when the last leaves, at SUMO's sub-step times. SUMO's per-step ``stay``
records are ignored, so a vehicle that changes onto the lane already over
the loop is not seen. On the 0.1 s grid an off is logged at least 0.1 s
after its on (a detector card's minimum pulse), so every on has its off
later in the sorted log; a channel still occupied when the file ends has a
last on without an off (counted in the summary).

Cycles: a cycle runs from one begin green of phase 1 to the next (phase 1
never served: the first phase served in the log). Phases served before the
first such start form cycle 0 (incomplete). ``flash`` says whether flashing
overlapped the cycle.
"""

from __future__ import annotations

import csv
import math
import re
import xml.etree.ElementTree as ET
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sim.traffic.layout import SignalLayout

__all__ = [
    "DETECTOR_EVENTS_FILE",
    "DETECTOR_OFF",
    "DETECTOR_ON",
    "PHASE_BEGIN_GREEN",
    "PHASE_BEGIN_RED_CLEARANCE",
    "PHASE_BEGIN_YELLOW",
    "PHASE_END_RED_CLEARANCE",
    "PHASE_END_YELLOW",
    "PHASE_GREEN_TERMINATION",
    "SIGNALS_DIR",
    "SIGNAL_LOG_FILE",
    "UNIT_FLASH_STATUS",
    "HiresSummary",
    "default_green_phases",
    "file_safe",
    "instant_loop_id",
    "write_hires_logs",
]

SIGNAL_LOG_FILE = "signal_log.csv"
DETECTOR_EVENTS_FILE = "detector_events.xml"
SIGNALS_DIR = "signals"

PHASE_BEGIN_GREEN = 1
PHASE_GREEN_TERMINATION = 7
PHASE_BEGIN_YELLOW = 8
PHASE_END_YELLOW = 9
PHASE_BEGIN_RED_CLEARANCE = 10
PHASE_END_RED_CLEARANCE = 11
DETECTOR_OFF = 81
DETECTOR_ON = 82
UNIT_FLASH_STATUS = 173
# NTCIP 1202 unitFlashStatus values, the parameter of code 173
FLASH_OTHER = 1
FLASH_NOT_FLASH = 2
FLASH_STARTUP = 7

_GREEN = frozenset("Gg")
_AMBER = frozenset("yY")
_DARK = frozenset("oO")
_UNSAFE_FILE_CHARS = re.compile(r"[^A-Za-z0-9_.\-]")

_IN_GREEN, _IN_YELLOW, _IN_RED_CLEARANCE = "green", "yellow", "red_clearance"
_Event = tuple[int, int, int]  # (time in 0.1 s ticks, code, param)


def instant_loop_id(lane: str) -> str:
    """Id of the instantaneous induction loop the traffic plant puts on ``lane``."""
    return "i1_" + lane.replace(" ", "_")


def file_safe(sumo_id: str) -> str:
    """A SUMO id usable in a file name (characters other than ``A-Za-z0-9_.-`` become '_')."""
    return _UNSAFE_FILE_CHARS.sub("_", sumo_id)


def default_green_phases(layout: SignalLayout) -> tuple[str, ...]:
    """The layout's green phases: program states with a green and no amber, in order, no repeats."""
    phases: list[str] = []
    for state in layout.phase_states:
        if "y" not in state and any(c in _GREEN for c in state) and state not in phases:
            phases.append(state)
    return tuple(phases)


@dataclass
class HiresSummary:
    """What :func:`write_hires_logs` read and wrote.

    Attributes:
        out_dir: the folder written (``run_dir/signals``).
        files: every file written.
        event_files: per traffic light, its ``events_<tls>.csv``.
        signal_changes: effective signal-state changes used (after collapsing
            same-time rows and repeats).
        detector_records: ``enter``/``leave`` records read from the detector file.
        detector_file_complete: the detector file was present and parsed to its end.
        unmatched_leaves: ``leave`` records of vehicles never seen entering (skipped).
        detectors_on_at_end: detectors still occupied where the file ends (their
            last on has no off).
        per_tls: per traffic light: ``serves`` (phases served), ``cycles``
            (complete cycles), ``detector_on`` (82 events), ``flashes`` (flash
            periods begun).
        problems: human-readable notes on anything missing, truncated or unexpected.
    """

    out_dir: Path
    files: list[Path] = field(default_factory=list)
    event_files: dict[str, Path] = field(default_factory=dict)
    signal_changes: int = 0
    detector_records: int = 0
    detector_file_complete: bool = False
    unmatched_leaves: int = 0
    detectors_on_at_end: int = 0
    per_tls: dict[str, dict[str, int]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (JSON-serialisable) for a run manifest."""
        return {
            "out_dir": str(self.out_dir),
            "files": [str(p) for p in self.files],
            "signal_changes": self.signal_changes,
            "detector_records": self.detector_records,
            "detector_file_complete": self.detector_file_complete,
            "unmatched_leaves": self.unmatched_leaves,
            "detectors_on_at_end": self.detectors_on_at_end,
            "per_tls": {k: dict(v) for k, v in self.per_tls.items()},
            "problems": list(self.problems),
        }


def write_hires_logs(
    run_dir: Path,
    layouts: Mapping[str, SignalLayout],
    *,
    green_phases: Mapping[str, Sequence[str]] | None = None,
    begin_s: float = 0.0,
) -> HiresSummary:
    """Write event logs, splits and cycles of a finished run into ``run_dir/signals/``.

    All times written are run times (s), those of ``signal_log.csv``.

    Args:
        run_dir: the run folder holding ``signal_log.csv`` and ``detector_events.xml``.
        layouts: the run's traffic lights (``read_signal_layouts``); one event file each.
        green_phases: per traffic light, its green phase states (numbered from 1);
            default :func:`default_green_phases` of its layout.
        begin_s: SUMO time (s) of run time 0 (``TrafficPlantConfig.begin_s``): SUMO
            writes detector records in SUMO time, so they are shifted back by it.

    Returns:
        A :class:`HiresSummary`; missing or truncated inputs are listed in ``problems``.

    Raises:
        ValueError: a malformed ``signal_log.csv`` row or detector record (with
            file and line), or a green phase that does not fit its traffic light.
    """
    run_dir = Path(run_dir)
    out_dir = run_dir / SIGNALS_DIR
    summary = HiresSummary(out_dir=out_dir)
    phases = {tls: _green_phases_of(layout, green_phases) for tls, layout in layouts.items()}
    changes = _read_signal_log(run_dir / SIGNAL_LOG_FILE, layouts, summary)
    lane_ticks = _detector_ticks(run_dir / DETECTOR_EVENTS_FILE, layouts, summary, begin_s)
    out_dir.mkdir(parents=True, exist_ok=True)
    split_rows: list[list[str]] = []
    cycle_rows: list[list[str]] = []
    used_names: set[str] = set()
    for tls in sorted(layouts):
        history = _PhaseHistory(phases[tls])
        for t, state in changes.get(tls, []):
            history.show(t, state)
        history.finish()
        summary.signal_changes += history.changes
        if history.saw_green and not history.serves:
            summary.problems.append(
                f"{tls}: signals showed green but no state matched a green phase exactly "
                f"(phases {list(phases[tls])}); pass green_phases"
            )
        name = _unique_name(file_safe(tls), used_names)
        n_on = _write_junction(out_dir, name, layouts[tls], phases[tls], history, lane_ticks)
        summary.files += [out_dir / f"events_{name}.csv", out_dir / f"channels_{name}.csv"]
        summary.event_files[tls] = out_dir / f"events_{name}.csv"
        cycles = _cycles(history)
        split_rows += [[tls, str(s.cycle), str(s.phase), *s.row()] for s in history.serves]
        cycle_rows += [[tls, *row] for row in cycles]
        summary.per_tls[tls] = {
            "serves": len(history.serves),
            "cycles": sum(1 for row in cycles if row[-1] == "true"),
            "detector_on": n_on,
            "flashes": len(history.flashes),
        }
    split_header = ["tls", "cycle", "phase", "green_start_s", "green_s", "yellow_s"]
    _write_csv(out_dir / "splits.csv", [*split_header, "red_clearance_s", "ended_by"], split_rows)
    _write_csv(
        out_dir / "cycles.csv",
        ["tls", "cycle", "start_s", "length_s", "phases_served", "flash", "complete"],
        cycle_rows,
    )
    summary.files += [out_dir / "splits.csv", out_dir / "cycles.csv"]
    return summary


def _write_junction(
    out_dir: Path,
    name: str,
    layout: SignalLayout,
    phases: Sequence[str],
    history: _PhaseHistory,
    lane_ticks: Mapping[str, list[tuple[int, bool]]],
) -> int:
    """Write ``events_<name>.csv`` and ``channels_<name>.csv``; the number of detector ons."""
    events = list(history.events)
    n_on = 0
    for channel, lane in enumerate(layout.lanes, start=1):
        for tick, on in lane_ticks.get(lane, ()):
            events.append((tick, DETECTOR_ON if on else DETECTOR_OFF, channel))
            n_on += on
    events.sort()
    with (out_dir / f"events_{name}.csv").open("w", encoding="utf-8", newline="") as out:
        out.write("time_s,code,param\n")
        out.writelines(f"{_tick_text(t)},{code},{param}\n" for t, code, param in events)
    tls = layout.tls_id
    _write_csv(
        out_dir / f"channels_{name}.csv",
        ["tls", "kind", "number", "value"],
        [[tls, "phase", str(k), s] for k, s in enumerate(phases, start=1)]
        + [[tls, "detector", str(k), lane] for k, lane in enumerate(layout.lanes, start=1)],
    )
    return n_on


def _detector_ticks(
    path: Path, layouts: Mapping[str, SignalLayout], summary: HiresSummary, begin_s: float
) -> dict[str, list[tuple[int, bool]]]:
    """Per controlled lane, its loop's on/off transitions ``(0.1 s tick of run time, on?)``."""
    loops = _read_detector_records(path, summary, begin_s)
    lane_of_loop = {
        instant_loop_id(lane): lane for layout in layouts.values() for lane in layout.lanes
    }
    unknown = sorted(set(loops) - set(lane_of_loop))
    if unknown:
        summary.problems.append(
            f"{path}: {len(unknown)} loop(s) on no lane of these traffic lights were skipped "
            f"(e.g. {', '.join(unknown[:3])})"
        )
    ticks: dict[str, list[tuple[int, bool]]] = {}
    for loop_id, records in loops.items():
        lane = lane_of_loop.get(loop_id)
        if lane is not None:
            transitions, bad_leaves, on_at_end = _presence(records)
            summary.unmatched_leaves += bad_leaves
            summary.detectors_on_at_end += on_at_end
            ticks[lane] = _quantise(transitions)
    if summary.unmatched_leaves:
        summary.problems.append(
            f"{path}: {summary.unmatched_leaves} 'leave' record(s) without an 'enter' were skipped"
        )
    return ticks


# -- signal states -> phase events ---------------------------------------------------


@dataclass
class _Serve:
    """One phase served: its interval boundaries (s); None = not reached (yet)."""

    phase: int
    green_start: float
    green_end: float | None = None
    yellow_start: float | None = None
    yellow_end: float | None = None
    red_start: float | None = None
    red_end: float | None = None
    interval: str = _IN_GREEN
    ended_by: str = ""  # 'sequence', 'flash' or 'end_of_log'
    cycle: int = 0

    def row(self) -> list[str]:
        """green_start_s, green_s, yellow_s, red_clearance_s, ended_by (s; '' = unknown)."""

        def span(start: float | None, end: float | None) -> str:
            if start is None:  # the interval never began: 0 s if the serve ended, else unknown
                return "0" if self.ended_by != "end_of_log" else ""
            return "" if end is None else _num(end - start)

        return [
            _num(self.green_start),
            span(self.green_start, self.green_end),
            span(self.yellow_start, self.yellow_end),
            span(self.red_start, self.red_end),
            self.ended_by,
        ]


class _PhaseHistory:
    """Feeds one junction's shown states in time order; collects events and serves."""

    def __init__(self, phases: Sequence[str]) -> None:
        self.phases = tuple(phases)
        # per phase (0-based): its green links with their character, and their indices
        self._own = [[(i, c) for i, c in enumerate(p) if c in _GREEN] for p in self.phases]
        self._links = [[i for i, _c in own] for own in self._own]
        self.events: list[_Event] = []
        self.serves: list[_Serve] = []
        self.flashes: list[tuple[float, float | None]] = []  # (start s, end s or None)
        self.changes = 0
        self.first_t: float | None = None
        self.saw_green = False
        self._open: dict[int, _Serve] = {}  # 0-based phase -> its serve in progress
        self._prev: str | None = None
        self._flashing = False

    def _shown(self, state: str) -> int | None:
        """The phase (0-based) that ``state`` shows, or None (see module docstring)."""
        best: int | None = None
        for k, own in enumerate(self._own):
            if all(state[i] == c for i, c in own) and (
                best is None or len(own) > len(self._own[best])
            ):
                best = k
        return best

    def _emit(self, t: float, code: int, phase: int) -> None:
        self.events.append((_tick(t), code, phase + 1))

    def _close(self, phase: int, how: str) -> None:
        self._open.pop(phase).ended_by = how

    def show(self, t: float, state: str) -> None:
        """``state`` is shown from ``t`` (s) on; times must not decrease."""
        if state == self._prev:
            return
        self.changes += 1
        if self.first_t is None:
            self.first_t = t
        if all(c in _DARK for c in state):
            self._flash(t)
            self._prev = state
            return
        if self._flashing:
            self._flashing = False
            self.events.append((_tick(t), UNIT_FLASH_STATUS, FLASH_NOT_FLASH))
            self.flashes[-1] = (self.flashes[-1][0], t)
        greens = {i for i, c in enumerate(state) if c in _GREEN}
        self.saw_green = self.saw_green or bool(greens)
        before = {i for i, c in enumerate(self._prev or "") if c in _GREEN}
        granted = bool(greens - before)
        shown = self._shown(state)
        begin = shown
        if shown is not None and shown in self._open and self._open[shown].interval == _IN_GREEN:
            begin = None
        # 1. yellows that ended: red clearance follows unless something is green already
        for k, serve in list(self._open.items()):
            if serve.interval != _IN_YELLOW:
                continue
            if any(state[i] in _AMBER for i in self._links[k]):
                continue
            self._emit(t, PHASE_END_YELLOW, k)
            serve.yellow_end = t
            other_green = any(s.interval == _IN_GREEN for s in self._open.values())
            if begin is not None or granted or other_green:
                self._close(k, "sequence")
            else:
                self._emit(t, PHASE_BEGIN_RED_CLEARANCE, k)
                serve.interval, serve.red_start = _IN_RED_CLEARANCE, t
        # 2. red clearances that were running end at a grant or a begin green
        for k, serve in list(self._open.items()):
            if serve.interval == _IN_RED_CLEARANCE and (begin is not None or granted):
                self._emit(t, PHASE_END_RED_CLEARANCE, k)
                serve.red_end = t
                self._close(k, "sequence")
        # 3. greens that terminate
        for k, serve in list(self._open.items()):
            if serve.interval != _IN_GREEN:
                continue
            if begin is None and all(i in greens for i in self._links[k]):
                continue
            self._emit(t, PHASE_GREEN_TERMINATION, k)
            serve.green_end = t
            clearing = [i for i in self._links[k] if i not in greens]
            if any(state[i] in _AMBER for i in clearing):
                self._emit(t, PHASE_BEGIN_YELLOW, k)
                serve.interval, serve.yellow_start = _IN_YELLOW, t
            elif clearing and begin is None and not granted:
                self._emit(t, PHASE_BEGIN_RED_CLEARANCE, k)
                serve.interval, serve.red_start = _IN_RED_CLEARANCE, t
            else:  # another phase took its links over without a change interval
                self._close(k, "sequence")
        # 4. the shown phase begins green
        if begin is not None:
            self._emit(t, PHASE_BEGIN_GREEN, begin)
            serve = _Serve(phase=begin + 1, green_start=t)
            self._open[begin] = serve
            self.serves.append(serve)
        self._prev = state

    def _flash(self, t: float) -> None:
        """Flashing amber from ``t``: every interval in progress ends now."""
        for k, serve in list(self._open.items()):
            if serve.interval == _IN_GREEN:
                self._emit(t, PHASE_GREEN_TERMINATION, k)
                serve.green_end = t
            elif serve.interval == _IN_YELLOW:
                self._emit(t, PHASE_END_YELLOW, k)
                serve.yellow_end = t
            else:
                self._emit(t, PHASE_END_RED_CLEARANCE, k)
                serve.red_end = t
            self._close(k, "flash")
        if not self._flashing:
            self._flashing = True
            why = FLASH_STARTUP if self.changes == 1 else FLASH_OTHER
            self.events.append((_tick(t), UNIT_FLASH_STATUS, why))
            self.flashes.append((t, None))

    def finish(self) -> None:
        """The log ended: serves still in progress end with unknown durations."""
        for k in list(self._open):
            self._close(k, "end_of_log")


def _cycles(history: _PhaseHistory) -> list[list[str]]:
    """Number each serve's cycle; rows ``cycle, start_s, length_s, phases_served, flash,
    complete`` (see module docstring)."""
    serves = history.serves
    if not serves:
        return []
    ref = 1 if any(s.phase == 1 for s in serves) else serves[0].phase
    starts = [s.green_start for s in serves if s.phase == ref]
    served: dict[int, int] = {}
    for serve in serves:
        serve.cycle = bisect_right(starts, serve.green_start)
        served[serve.cycle] = served.get(serve.cycle, 0) + 1
    bounds: list[tuple[int, float, float | None]] = []
    if served.get(0):
        assert history.first_t is not None
        bounds.append((0, history.first_t, starts[0]))
    for n, start in enumerate(starts, start=1):
        bounds.append((n, start, starts[n] if n < len(starts) else None))
    rows = []
    for n, start, end in bounds:
        flash = any(
            (end is None or f_start < end) and (f_end is None or f_end > start)
            for f_start, f_end in history.flashes
        )
        complete = n > 0 and end is not None
        rows.append(
            [
                str(n),
                _num(start),
                "" if end is None else _num(end - start),
                str(served.get(n, 0)),
                "true" if flash else "false",
                "true" if complete else "false",
            ]
        )
    return rows


def _green_phases_of(
    layout: SignalLayout, given: Mapping[str, Sequence[str]] | None
) -> tuple[str, ...]:
    """The green phases of ``layout`` (given or default), checked against its links."""
    tls = layout.tls_id
    phases = tuple(given[tls]) if given is not None and tls in given else None
    if phases is None:
        phases = default_green_phases(layout)
    if isinstance(phases, str) or not phases:
        raise ValueError(f"tls {tls}: needs at least one green phase state, got {phases!r}")
    for k, state in enumerate(phases, start=1):
        if not isinstance(state, str) or len(state) != layout.n_links:
            raise ValueError(
                f"tls {tls}: green phase {k} {state!r} must be a state of {layout.n_links} "
                "characters (one per link)"
            )
        if not any(c in _GREEN for c in state):
            raise ValueError(f"tls {tls}: green phase {k} {state!r} shows no green ('G'/'g')")
    return phases


def _read_signal_log(
    path: Path, layouts: Mapping[str, SignalLayout], summary: HiresSummary
) -> dict[str, list[tuple[float, str]]]:
    """Per traffic light, its shown states ``(time s, state)`` in time order, one per time."""
    if not path.exists():
        summary.problems.append(f"{path}: missing, so no phase events")
        return {}
    per_tls: dict[str, dict[float, str]] = {}
    skipped: dict[str, int] = {}
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header != ["time_s", "tls", "state"]:
            raise ValueError(f"{path}:1: header must be time_s,tls,state, not {header}")
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if len(row) != 3:
                raise ValueError(f"{where}: expected time_s,tls,state, got {row}")
            text, tls, state = row
            try:
                t = float(text)
            except ValueError:
                raise ValueError(f"{where}: time {text!r} is not a number of seconds") from None
            if not math.isfinite(t) or t < 0:
                raise ValueError(f"{where}: time {text!r} must be a finite time >= 0 s")
            layout = layouts.get(tls)
            if layout is None:
                skipped[tls] = skipped.get(tls, 0) + 1
                continue
            if len(state) != layout.n_links:
                raise ValueError(
                    f"{where}: state {state!r} of {tls} has {len(state)} characters but the "
                    f"layout has {layout.n_links} links (a log of another network?)"
                )
            states = per_tls.setdefault(tls, {})
            if states and t < next(reversed(states)):
                raise ValueError(f"{where}: time {text} s of {tls} goes back in time")
            states.pop(t, None)  # several rows at one time: the last is what was shown
            states[t] = state
    if skipped:
        summary.problems.append(
            f"{path}: rows of {len(skipped)} traffic light(s) not in the layouts were skipped "
            f"({', '.join(sorted(skipped)[:5])})"
        )
    return {tls: list(states.items()) for tls, states in per_tls.items()}


# -- detector records -> on/off events ------------------------------------------------


def _read_detector_records(
    path: Path, summary: HiresSummary, begin_s: float
) -> dict[str, list[tuple[float, int, str]]]:
    """Per loop id: ``(run time s, 0 enter | 1 leave, vehicle id)``, as far as readable."""
    records: dict[str, list[tuple[float, int, str]]] = {}
    if not path.exists():
        summary.problems.append(f"{path}: missing, so no detector events")
        return records
    n = 0
    root: ET.Element | None = None
    try:
        for kind, elem in ET.iterparse(path, events=("start", "end")):
            if kind == "start":
                if root is None:
                    root = elem
                continue
            if elem.tag != "instantOut":
                continue
            state = elem.get("state")
            if state in ("enter", "leave"):
                a = elem.attrib
                try:
                    t = float(a["time"]) - begin_s
                    loop_id, veh = a["id"], a["vehID"]
                except (KeyError, ValueError) as err:
                    raise ValueError(
                        f"{path}: record {n + 1} {dict(a)} needs id, vehID and a numeric time"
                    ) from err
                records.setdefault(loop_id, []).append((t, 0 if state == "enter" else 1, veh))
                n += 1
            if root is not None:
                root.clear()  # keep memory flat on long runs
    except ET.ParseError as err:
        line, column = err.position
        summary.problems.append(
            f"{path}: unreadable after line {line}, column {column} (truncated? SUMO may "
            f"have stopped early); kept the {n} records before it"
        )
    else:
        summary.detector_file_complete = True
    summary.detector_records = n
    return records


def _presence(
    records: list[tuple[float, int, str]],
) -> tuple[list[tuple[float, bool]], int, int]:
    """On/off transitions ``(time s, on?)`` of one loop from its enter/leave records.

    Returns the transitions, the number of leaves of vehicles never seen
    entering, and 1 if the loop is still occupied at the end (else 0).
    """
    on: set[str] = set()
    transitions: list[tuple[float, bool]] = []
    bad = 0
    # enters before leaves at one time: a vehicle arriving as another leaves keeps it on
    for t, kind, veh in sorted(records, key=lambda r: (r[0], r[1])):
        if kind == 0:
            if not on:
                transitions.append((t, True))
            on.add(veh)
        elif veh in on:
            on.discard(veh)
            if not on:
                transitions.append((t, False))
        else:
            bad += 1
    return transitions, bad, int(bool(on))


def _quantise(transitions: list[tuple[float, bool]]) -> list[tuple[int, bool]]:
    """Transitions on the 0.1 s grid; an off at least one tick after its on."""
    out: list[tuple[int, bool]] = []
    last = -1
    for t, on in transitions:
        tick = max(_tick(t), last if on else last + 1)
        out.append((tick, on))
        last = tick
    return out


# -- small helpers ----------------------------------------------------------------------


def _tick(t: float) -> int:
    """Time ``t`` (s) in 0.1 s ticks, rounded half up."""
    return math.floor(t * 10.0 + 0.5 + 1e-9)


def _tick_text(tick: int) -> str:
    """A time in 0.1 s ticks as seconds with one decimal, exactly."""
    whole, tenth = divmod(abs(tick), 10)
    return f"{'-' if tick < 0 else ''}{whole}.{tenth}"


def _num(x: float) -> str:
    """Seconds as text: at most 3 decimals, no trailing zeros."""
    text = f"{x:.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _unique_name(name: str, used: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... if another id already made it."""
    candidate, n = name, 1
    while candidate in used:
        n += 1
        candidate = f"{name}_{n}"
    used.add(candidate)
    return candidate


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
