"""Run an unchanged controller over a bridge link, in lock-step or real time.

Protocol-agnostic: it needs only :class:`hil.bridge.ControllerLink` and
:class:`controllers.io.Controller`, so the OPC-UA bridge can use it too.

- **lock-step**: ``wait_step`` → ``controller.scan(step.now, inputs)`` →
  ``finish_step``, until the field side ends; a step that comes before the
  controller's next scan is due (the field steps faster than the controller
  scans) is answered with the held outputs, as in the kernel. The controller sees exactly the
  run times and samples the field sent, so its outputs are the same as
  in-process, bit for bit.
- **real time**: one scan every ``controller.scan_period_s`` of wall time
  (monotonic clock), at ``t0 + i * period``. Each scan reads ``latest()``
  (BAD inputs while the link is down, so the controller goes to its
  fail-safe), scans at ``now`` = seconds since the run start, and writes. A
  scan that starts late is measured (``late_s``, the drift against its
  schedule); when the loop fell behind by whole periods it skips the missed
  slots instead of running them back to back (no bursts).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from controllers.io import Controller, Direction, Quality, Sample, bad_sample
from hil.bridge import ControllerLink

__all__ = ["RunReport", "ScanRecord", "run_controller"]

MODES = ("lockstep", "realtime")


@dataclass(frozen=True, slots=True)
class ScanRecord:
    """One scan of the controller.

    Attributes:
        index: scan number, 0, 1, …
        k: lock-step step number (None in real time).
        now: run time (s) passed to ``scan``.
        outputs: what the scan returned.
        bad_inputs: inputs whose sample was not GOOD, in point order.
        late_s: real time: how late the scan started against its schedule (s); 0 in lock-step.
        written: the outputs reached the field side (acked).
        clock_s: the runner's clock (monotonic s) when the scan started.
    """

    index: int
    k: int | None
    now: float
    outputs: dict[str, Any]
    bad_inputs: tuple[str, ...]
    late_s: float
    written: bool
    clock_s: float


@dataclass
class RunReport:
    """What a run did.

    Attributes:
        mode: ``lockstep`` or ``realtime``.
        scans: scans run.
        write_failures: real time: writes that did not reach the field (link down).
        skipped_slots: real time: scan slots skipped after falling behind.
        max_late_s, mean_late_s: real time: drift of scan starts against schedule (s).
        ended_by: ``field_end``, ``max_scans``, ``duration`` or ``stop``.
        clock_rejects: real time, following the field's clock: jumps ahead refused.
        records: every scan, when kept.
    """

    mode: str
    scans: int = 0
    write_failures: int = 0
    skipped_slots: int = 0
    max_late_s: float = 0.0
    mean_late_s: float = 0.0
    ended_by: str = ""
    clock_rejects: int = 0
    records: list[ScanRecord] = field(default_factory=list)


def run_controller(
    link: ControllerLink,
    controller: Controller,
    mode: str = "lockstep",
    *,
    step_timeout_s: float = 10.0,
    duration_s: float | None = None,
    max_scans: int | None = None,
    stop: threading.Event | None = None,
    keep_records: bool = True,
    on_scan: Callable[[ScanRecord], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    speed: float = 1.0,
    follow_field_time: bool = False,
) -> RunReport:
    """Run ``controller`` over a connected ``link`` until the field ends or a limit is hit.

    Args:
        link: a connected :class:`hil.bridge.ControllerLink`.
        controller: any :class:`controllers.io.Controller`, unchanged.
        mode: ``lockstep`` or ``realtime``.
        step_timeout_s: lock-step: longest wait for the next step (s); TimeoutError after.
        duration_s: real time: run this long (s, wall clock).
        max_scans: stop after this many scans (either mode).
        stop: set it (from another thread) to end the run after the current scan.
        keep_records: keep every :class:`ScanRecord` in the report.
        on_scan: called after every scan with its record.
        clock: monotonic seconds (real time scheduling and drift).
        speed: real time: run time per wall second (> 0); the controller scans every
            ``scan_period_s / speed`` wall seconds, so it keeps pace with a field served
            at ``speed`` × real time.
        follow_field_time: real time: the controller's run time follows the field's
            (the newest finite source time among the GOOD samples) instead of starting
            at 0, so input ages are judged on the field's clock. It only ever moves
            forward: it joins the field's time at the first good sample, then takes a
            jump ahead only within ``max(10 periods, 60 s)`` of run time (a device with
            a wrong clock does not drag it into the future); larger jumps are counted
            in ``RunReport.clock_rejects``.

    Lock-step errors (a rejected or undeliverable write, a step timeout) are
    raised; in real time a write that cannot reach the field (ConnectionError)
    is counted and the loop carries on at its period.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if max_scans is not None and max_scans < 0:
        raise ValueError(f"max_scans must be >= 0, got {max_scans}")
    period = float(controller.scan_period_s)
    if not period > 0:
        raise ValueError(f"{controller.name}: scan_period_s must be > 0 s, got {period!r}")
    inputs = tuple(p.name for p in controller.points() if p.direction is Direction.INPUT)
    stop = stop if stop is not None else threading.Event()
    report = RunReport(mode)

    def record(rec: ScanRecord) -> None:
        report.scans += 1
        if keep_records:
            report.records.append(rec)
        if on_scan is not None:
            on_scan(rec)

    if mode == "lockstep":
        held: dict[str, Any] = {}
        next_scan: float | None = None
        while True:
            if max_scans is not None and report.scans >= max_scans:
                report.ended_by = "max_scans"
                break
            if stop.is_set():
                report.ended_by = "stop"
                break
            step = link.wait_step(step_timeout_s)
            if step is None:
                report.ended_by = "field_end"
                break
            if next_scan is not None and step.now < next_scan - 1e-9:
                # the field steps faster than the controller scans: hold the last outputs
                link.finish_step(step.k, held)
                continue
            start = clock()
            samples = _inputs(inputs, step.samples)
            outputs = controller.scan(step.now, samples)
            held = dict(outputs)
            next_scan = step.now + controller.scan_period_s
            link.finish_step(step.k, outputs)
            record(
                ScanRecord(report.scans, step.k, step.now, outputs, _bad(samples), 0.0, True, start)
            )
        return report

    if not (speed > 0 and speed < float("inf")):
        raise ValueError(f"speed must be a finite factor > 0, got {speed!r}")
    period /= speed
    t0 = clock()
    slot = 0
    late_sum = 0.0
    base = 0.0  # run time at t0 (follow_field_time moves it forward)
    last_now = -float("inf")
    joined = False  # follow_field_time: aligned with the field's clock yet
    max_jump = max(10.0 * period * speed, 60.0)  # s of run time
    while True:
        if max_scans is not None and report.scans >= max_scans:
            report.ended_by = "max_scans"
            break
        due = t0 + slot * period
        if duration_s is not None and due - t0 > duration_s:
            report.ended_by = "duration"
            break
        delay = due - clock()
        if delay > 0 and stop.wait(delay):
            report.ended_by = "stop"
            break
        if stop.is_set():
            report.ended_by = "stop"
            break
        start = clock()
        late = max(0.0, start - due)
        samples = _inputs(inputs, link.latest(time.time()))
        now = (start - t0) * speed + base
        if follow_field_time:
            newest = max(
                (
                    s.source_time
                    for s in samples.values()
                    if s.quality is Quality.GOOD and math.isfinite(s.source_time)
                ),
                default=None,
            )
            if newest is not None and newest > now:
                if not joined or newest - now <= max_jump:
                    base += newest - now
                    now = newest
                else:
                    report.clock_rejects += 1
            joined = joined or newest is not None
        now = max(now, last_now)  # never backwards (a field restarted from an earlier time)
        last_now = now
        outputs = controller.scan(now, samples)
        written = True
        try:
            link.write(outputs)
        except ConnectionError:
            written = False
            report.write_failures += 1
        late_sum += late
        report.max_late_s = max(report.max_late_s, late)
        record(ScanRecord(report.scans, None, now, outputs, _bad(samples), late, written, start))
        report.mean_late_s = late_sum / report.scans
        slot += 1
        behind = clock() - (t0 + slot * period)
        if behind >= period:  # missed whole slots: skip them, run the newest one due
            skip = int(behind // period)
            slot += skip
            report.skipped_slots += skip
    return report


def _inputs(names: tuple[str, ...], samples: Mapping[str, Sample]) -> dict[str, Sample]:
    """Every input of the controller: the link's sample, or BAD where it has none."""
    return {name: samples.get(name) or bad_sample() for name in names}


def _bad(samples: dict[str, Sample]) -> tuple[str, ...]:
    return tuple(n for n, s in samples.items() if s.quality != Quality.GOOD)
