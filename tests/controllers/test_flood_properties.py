"""Property tests of the flood-warning point controller (hypothesis).

1. For any sequence of good, physically plausible readings the held level is
   never below the level implied by the last reading minus the hysteresis
   band, and it never falls by more than one level per hold period.
2. Whatever arrives on the inputs (garbage values, qualities, timestamps),
   a scan never raises and every output fits its declared point.
3. Snapshot and restore at any moment give identical subsequent outputs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.flood.config import FloodPointConfig
from controllers.flood.levels import level_of
from controllers.flood.point import FloodPointController
from controllers.io import Direction, Quality, Sample

PID = "P01"
LEVEL, UPLINK = f"flood/{PID}/level_m", f"flood/{PID}/uplink_ok"


def make(kind: str) -> FloodPointController:
    neighbour = FloodPointConfig.for_kind("P02", kind).as_neighbour()
    return FloodPointController(
        FloodPointConfig.for_kind(
            PID, kind, neighbours=(neighbour,), has_rain=True, has_battery=True
        )
    )


# one report: seconds since the previous one, the change in m (a fraction of the plausible
# jump), and how many extra scans see the same report before the next one
reports = st.lists(
    st.tuples(
        st.floats(1.0, 900.0),
        st.floats(-0.99, 0.99),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(["river", "street"]), start=st.floats(0.0, 1.0), steps=reports)
def test_level_is_never_below_the_last_reading_minus_the_band_and_falls_slowly(
    kind: str, start: float, steps: list[tuple[float, float, int]]
) -> None:
    ctrl = make(kind)
    thresholds, faults = ctrl.config.thresholds, ctrl.config.faults
    low, high = faults.valid_low_m, faults.valid_high_m
    value = low + start * (high - low) * 0.5
    t, last_change, previous = 0.0, None, 0  # a point starts at level 0
    for dt, frac, extra in steps:
        t += dt
        value = min(high, max(low, value + frac * faults.max_jump_m))
        sample = Sample(value, Quality.GOOD, t)
        scan_times = [t + k * dt / (extra + 1) for k in range(extra + 1)]
        for now in scan_times:
            out = ctrl.scan(now, {LEVEL: sample, UPLINK: Sample(False, Quality.GOOD, now)})
            level = out[f"flood/{PID}/warning_level"]
            assert level >= level_of(value - thresholds.hysteresis_m, thresholds)
            if level != previous:
                if level < previous:
                    assert level == previous - 1, "fell more than one level at once"
                    assert last_change is not None
                    assert now - last_change >= thresholds.hold_s, "fell within a hold period"
                last_change = now
            previous = level
        t = scan_times[-1]


def garbage() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**6), 10**6),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=3),
        st.just([1.0]),
    )


samples = st.one_of(
    st.none(),
    st.builds(
        Sample,
        garbage(),
        st.sampled_from(list(Quality)),
        st.one_of(st.floats(-1e6, 1e6), st.just(math.nan), st.just(-math.inf)),
    ),
)


@settings(max_examples=200, deadline=None)
@given(
    kind=st.sampled_from(["river", "street"]),
    scans=st.lists(
        st.tuples(
            st.floats(0.0, 3600.0),
            st.dictionaries(
                st.sampled_from(
                    [
                        LEVEL,
                        UPLINK,
                        f"flood/{PID}/rain_mm_h",
                        f"flood/{PID}/battery_pct",
                        "flood/P02/level_m",
                    ]
                ),
                samples,
            ),
        ),
        min_size=1,
        max_size=60,
    ),
)
def test_any_input_is_survived_with_valid_outputs(
    kind: str, scans: list[tuple[float, dict[str, Sample | None]]]
) -> None:
    ctrl = make(kind)
    specs = {p.name: p for p in ctrl.points() if p.direction is Direction.OUTPUT}
    t = 0.0
    for dt, raw in scans:
        t += dt
        inputs = {k: v for k, v in raw.items() if v is not None}
        out = ctrl.scan(t, inputs)
        assert set(out) == set(specs)
        for name, value in out.items():
            assert specs[name].check(value) == value
        json.dumps(ctrl.snapshot())  # state stays plain data whatever came in


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from(["river", "street"]),
    steps=st.lists(
        st.tuples(st.floats(10.0, 400.0), st.floats(-0.3, 0.3), st.booleans(), st.booleans()),
        min_size=2,
        max_size=80,
    ),
    split=st.floats(0.0, 1.0),
)
def test_snapshot_restore_at_any_moment_gives_identical_outputs(
    kind: str, steps: list[tuple[float, float, bool, bool]], split: float
) -> None:
    ctrl = make(kind)
    low = ctrl.config.faults.valid_low_m
    series, t, value = [], 0.0, low + 0.3
    for dt, change, report, link in steps:
        t += dt
        value = max(low, value + change)
        inputs = {
            UPLINK: Sample(link, Quality.GOOD, t),
            "flood/P02/level_m": Sample(value, Quality.GOOD, t),
        }
        if report:
            inputs[LEVEL] = Sample(value, Quality.GOOD, t)
        series.append((t, inputs))
    cut = int(split * len(series))
    for now, inputs in series[:cut]:
        ctrl.scan(now, inputs)
    twin = make(kind)
    twin.restore(json.loads(json.dumps(ctrl.snapshot())))
    for now, inputs in series[cut:]:
        assert twin.scan(now, inputs) == ctrl.scan(now, inputs)
