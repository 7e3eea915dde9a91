"""The real-time runner's clock: time-scaled scans that follow the field's run time."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import pytest

from controllers.io import Direction, PointSpec, Quality, Sample
from hil.runner import run_controller

LEVEL = PointSpec("tank/T1/level_m", Direction.INPUT, "m")
PUMP = PointSpec("tank/T1/pump_on", Direction.OUTPUT, "")


class Recorder:
    name, scan_period_s = "tank/T1", 10.0

    def __init__(self) -> None:
        self.seen: list[tuple[float, Sample]] = []

    def points(self):  # type: ignore[no-untyped-def]
        return (LEVEL, PUMP)

    def scan(self, now, inputs):  # type: ignore[no-untyped-def]
        self.seen.append((now, inputs[LEVEL.name]))
        return {PUMP.name: True}

    def snapshot(self) -> dict[str, Any]:
        return {}

    def restore(self, state: Any) -> None:
        pass


class FieldClockLink:
    """A connected link whose field publishes at run times from ``times`` (one per read),
    then the same time again (a field that stopped stepping), or BAD samples."""

    def __init__(self, times: list[float | None]) -> None:
        self.times, self.reads, self.writes = times, 0, 0

    def latest(self, now_wall: float) -> dict[str, Sample]:
        t = self.times[min(self.reads, len(self.times) - 1)]
        self.reads += 1
        if t is None:
            return {LEVEL.name: Sample(None, Quality.BAD, 0.0)}
        return {LEVEL.name: Sample(1.0, Quality.GOOD, t)}

    def write(self, outputs: dict[str, Any]) -> None:
        self.writes += 1


def test_scans_follow_the_field_clock_forward_and_never_go_back():
    # the field is at 5,000 s when we join, then a restarted field reports early times
    link = FieldClockLink([5000.0, 5010.0, 5020.0, 30.0, 40.0, None, None])
    controller = Recorder()
    report = run_controller(
        link, controller, "realtime", speed=1000.0, follow_field_time=True, max_scans=7
    )
    nows = [now for now, _ in controller.seen]
    assert report.scans == 7 and link.writes == 7
    assert nows[0] == pytest.approx(5000.0)
    assert all(b >= a for a, b in pairwise(nows))
    assert nows[2] >= 5020.0 and nows[-1] >= 5020.0  # never back to the restarted field's 30 s
    assert nows[-1] > nows[2]  # at 1,000 x the run time moves on with the wall clock


def test_a_wrong_or_infinite_field_clock_is_not_followed():
    # joined at 100 s; then an infinite stamp and a device a year ahead: both refused
    link = FieldClockLink([100.0, float("inf"), 100.0 + 3.2e7, 110.0])
    controller = Recorder()
    report = run_controller(
        link, controller, "realtime", speed=1000.0, follow_field_time=True, max_scans=4
    )
    nows = [now for now, _ in controller.seen]
    assert nows[0] == pytest.approx(100.0)
    assert max(nows) < 1000.0
    assert report.clock_rejects == 1


def test_without_following_the_run_time_starts_at_zero_and_speed_is_checked():
    controller = Recorder()
    run_controller(FieldClockLink([5000.0]), controller, "realtime", speed=1000.0, max_scans=3)
    assert controller.seen[0][0] == pytest.approx(0.0, abs=5.0)
    with pytest.raises(ValueError, match="speed"):
        run_controller(FieldClockLink([0.0]), Recorder(), "realtime", speed=0.0, max_scans=1)
