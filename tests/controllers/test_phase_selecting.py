"""Max-pressure and adaptive controllers on a synthetic four-lane crossing (no SUMO needed)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.io import Quality, Sample
from controllers.signals import ConflictMonitor, IntersectionSpec, SignalPlan, plan_request
from controllers.signals.adaptive import AdaptiveController, AdaptiveTuning, UpstreamFeed
from controllers.signals.detection import LaneDetector
from controllers.signals.maxpressure import MaxPressureController
from controllers.signals.phase_control import PhaseTimingLimits

LANES = ("n_0", "s_0", "e_0", "w_0")
NS, EW = "GGrr", "rrGG"


def spec() -> IntersectionSpec:
    return IntersectionSpec.from_program("J", [NS, "yyrr", EW, "rryy"], LANES)


def plan() -> SignalPlan:
    return SignalPlan.fixed([NS, EW], [20.0, 20.0], 3.0, 2.0)


def detectors(pcu: float = 0.5) -> list[LaneDetector]:
    return [LaneDetector(lane, f"tls/J/det/{lane}", pcu_per_vehicle=pcu) for lane in LANES]


class Road:
    """Synthetic detector readings: vehicles per lane and cumulative stop-line counts."""

    def __init__(self) -> None:
        self.vehicles = dict.fromkeys(LANES, 0)
        self.count = dict.fromkeys(LANES, 0)
        self.quality = dict.fromkeys(LANES, Quality.GOOD)

    def inputs(self, now: float) -> dict[str, Sample]:
        out: dict[str, Sample] = {}
        for lane in LANES:
            q = self.quality[lane]
            n = self.vehicles[lane]
            out[f"tls/J/det/{lane}/vehicles"] = Sample(n, q, now)
            out[f"tls/J/det/{lane}/queue_m"] = Sample(7.0 * n, q, now)
            out[f"tls/J/det/{lane}/count"] = Sample(self.count[lane], q, now)
        return out


def run(controller, road: Road, start: float, end: float, step=None, monitor=None) -> list[str]:
    """Scan every second from start to end; ``step(t, road, shown)`` may change the road."""
    shown_log: list[str] = []
    shown = "rrrr"
    t = start
    while t < end:
        if step is not None:
            step(t, road, shown)
        shown = controller.scan(t, road.inputs(t))[f"tls/{controller.spec.tls_id}/state"]
        if monitor is not None:
            monitor.check(t, shown)
        shown_log.append(shown)
        t += 1.0
    return shown_log


def discharge(t: float, road: Road, shown: str) -> None:
    """Green lanes discharge one vehicle per second (and count it at the stop line)."""
    for i, lane in enumerate(LANES):
        if shown[i] in "Gg" and road.vehicles[lane] > 0:
            road.vehicles[lane] -= 1
            road.count[lane] += 1


def first_green(log: list[str], state: str, after: int = 0) -> int:
    return next(i for i, s in enumerate(log) if i >= after and s == state)


@pytest.mark.parametrize("cls", [MaxPressureController, AdaptiveController])
def test_serves_the_waiting_approach_and_rests_without_demand(cls):
    road = Road()
    c = cls(spec(), plan(), detectors())
    road.vehicles["e_0"] = 8
    log = run(c, road, 0, 120, step=discharge)
    ew = first_green(log, EW)
    assert ew < 30, f"waiting EW traffic first served at {ew} s"
    assert road.vehicles["e_0"] == 0
    # nobody else waits: the last green rests, no needless change
    assert log[-1] == log[-30]
    assert c.adaptive and c.fallbacks == 0


def test_maxpressure_picks_the_phase_of_highest_pressure():
    road = Road()
    c = MaxPressureController(spec(), plan(), detectors())
    road.vehicles.update({"n_0": 10, "s_0": 10, "e_0": 3, "w_0": 3})
    log = run(c, road, 0, 40)
    assert log[-1] == NS  # 20 vehicles beat 6, with no discharge it never switches
    road.vehicles.update({"n_0": 1, "s_0": 1})
    log = run(c, road, 40, 60)
    assert EW in log


def test_adaptive_gaps_out_when_the_stop_line_goes_quiet():
    road = Road()
    c = AdaptiveController(spec(), plan(), detectors(), tuning=AdaptiveTuning(max_gap_s=3.0))
    road.vehicles.update({"n_0": 6, "s_0": 6})
    log = run(c, road, 0, 30)  # NS green, but nothing discharges: no count
    ns_start = first_green(log, NS)
    road.vehicles["e_0"] = 1  # one vehicle waits on EW; NS still has 12 "in the zone"
    log2 = run(c, road, 30, 60)
    # NS has far more pressure, but nobody crosses its stop line: it gaps out
    assert EW in log2, "a green that stopped discharging must give way"
    assert ns_start < 10


def test_adaptive_holds_a_discharging_green_against_a_small_queue():
    road = Road()
    c = AdaptiveController(spec(), plan(), detectors())
    road.vehicles.update({"n_0": 40, "s_0": 40, "e_0": 2})

    def keep_arriving(t, road, shown):
        discharge(t, road, shown)
        road.vehicles["n_0"] += 1  # a steady stream keeps the NS queue up
        road.vehicles["s_0"] += 1

    log = run(c, road, 0, 60, step=keep_arriving)
    ns = first_green(log, NS)
    # held while discharging, EW (2 vehicles) waits; max green ends it at the latest
    assert all(s != EW for s in log[ns : ns + 30])
    log = run(c, road, 60, 140, step=keep_arriving)
    assert EW in log, "max green / ageing must eventually serve EW"


def test_max_green_ends_a_green_when_others_wait():
    road = Road()
    limits = PhaseTimingLimits(max_green_s=20.0)
    c = MaxPressureController(spec(), plan(), detectors(), limits=limits)
    road.vehicles.update({"n_0": 50, "s_0": 50, "e_0": 1})
    log = run(c, road, 0, 60)
    ns = first_green(log, NS)
    ew = first_green(log, EW, after=ns)
    green = ew - ns - 5  # minus amber + all-red
    assert green <= 20 + 1


def test_starvation_guard_serves_a_phase_that_waited_max_red():
    road = Road()
    limits = PhaseTimingLimits(max_green_s=170.0, max_red_s=40.0)
    c = MaxPressureController(spec(), plan(), detectors(), limits=limits)
    road.vehicles.update({"n_0": 50, "s_0": 50, "e_0": 1})
    log = run(c, road, 0, 80)
    ns = first_green(log, NS)
    assert EW in log[ns : ns + 50]


def test_falls_back_to_the_fixed_plan_on_bad_inputs_and_returns():
    road = Road()
    limits = PhaseTimingLimits(recover_after_s=10.0)
    c = AdaptiveController(spec(), plan(), detectors(), limits=limits)
    road.vehicles.update({"n_0": 3})
    run(c, road, 0, 50)
    assert c.adaptive
    for lane in ("n_0", "s_0"):  # half the lanes fail: more than a quarter
        road.quality[lane] = Quality.BAD
    monitor = ConflictMonitor(spec())
    run(c, road, 50, 200, monitor=monitor)
    assert not c.adaptive and c.fallbacks == 1
    # on the plan: the requested phase follows the plan's clock
    out = c.scan(200.0, road.inputs(200.0))
    assert c.phase_index == plan_request(plan(), 200.0)[0]
    assert out["tls/J/adaptive"] is False
    road.quality.update(dict.fromkeys(LANES, Quality.GOOD))
    run(c, road, 201, 210, monitor=monitor)
    assert not c.adaptive, "returns only after recover_after_s of good input"
    run(c, road, 210, 215, monitor=monitor)
    assert c.adaptive
    assert c.scan(215.0, road.inputs(215.0))["tls/J/adaptive"] is True
    assert monitor.violations == 0, monitor.log[:3]


def test_one_failed_lane_gets_a_recall_and_control_stays_adaptive():
    road = Road()
    c = AdaptiveController(spec(), plan(), detectors())
    road.quality["e_0"] = Quality.BAD  # one lane of four: a quarter, tolerated
    road.vehicles.update({"n_0": 2})
    log = run(c, road, 0, 120, step=discharge)
    assert c.adaptive and c.fallbacks == 0
    assert EW in log, "the failed lane's phase must still be served (recall)"


def test_frozen_reading_counts_as_failed_after_frozen_after_s_of_green():
    det = LaneDetector("n_0", "tls/J/det/n_0", frozen_after_s=60.0)
    road = Road()
    road.vehicles["n_0"] = 5
    # a queue standing through a long red (or blocked by spill-back) is not frozen
    for t in range(0, 300, 10):
        assert not det.read(float(t), road.inputs(float(t)), green=False).failed
    # the same unchanged, non-zero reading through 60 s of its own green is
    assert not det.read(300.0, road.inputs(300.0), green=True).failed
    assert not det.read(359.0, road.inputs(359.0), green=True).failed
    frozen = det.read(360.0, road.inputs(360.0), green=True)
    assert frozen.failed and frozen.demand_pcu >= 5 * 0.45  # recall >= last good demand
    road.vehicles["n_0"] = 6
    assert not det.read(361.0, road.inputs(361.0), green=True).failed
    road.vehicles["n_0"] = 0  # an empty lane that stays empty is not frozen
    assert not det.read(500.0, road.inputs(500.0), green=True).failed
    assert not det.read(900.0, road.inputs(900.0), green=True).failed


def test_gap_out_needs_a_good_count_on_every_served_lane():
    road = Road()
    gap = AdaptiveTuning(max_gap_s=3.0)
    c = AdaptiveController(spec(), plan(), detectors(), tuning=gap)
    road.vehicles.update({"n_0": 60, "s_0": 60})
    run(c, road, 0, 20, step=discharge)
    ns = c.phase
    road.vehicles["e_0"] = 1
    # NS keeps discharging one vehicle per second: no gap-out, EW (0.5 PCU) waits
    log = run(c, road, 20, 40, step=discharge)
    assert EW not in log and c.phase == ns
    # the same, but NS's stop-line counts are lost: silence proves nothing, no gap-out
    road2 = Road()
    c2 = AdaptiveController(spec(), plan(), detectors(), tuning=gap)
    road2.vehicles.update({"n_0": 60, "s_0": 60})
    run(c2, road2, 0, 20)  # nothing discharges: NS would gap out...
    road2.vehicles["e_0"] = 1
    for lane in ("n_0", "s_0"):
        road2.count[lane] = 0
    count_points = {f"tls/J/det/{lane}/count" for lane in ("n_0", "s_0")}
    for t in range(20, 40):
        inputs = road2.inputs(float(t))
        for name in count_points:
            inputs.pop(name)
        c2.scan(float(t), inputs)
    assert c2.phase == ns, "...but without counts it must not: hold on pressure"


@pytest.mark.parametrize("bad", [math.nan, -3, "7", True, None])
def test_malformed_detector_values_fail_the_lane_not_the_controller(bad):
    det = LaneDetector("n_0", "tls/J/det/n_0")
    reading = det.read(0.0, {"tls/J/det/n_0/vehicles": Sample(bad, Quality.GOOD, 0.0)})
    assert reading.failed


def test_platoon_from_upstream_counts_arrives_after_the_travel_time():
    feed = UpstreamFeed(
        lane="e_0",
        count_points=("tls/UP/det/x_0/count",),
        shares=(0.5,),
        travel_s=20.0,
        pcu_per_vehicle=1.0,
    )
    c = AdaptiveController(
        spec(), plan(), detectors(), feeds=[feed], tuning=AdaptiveTuning(platoon_horizon_s=5.0)
    )
    road = Road()
    upstream = 0

    def scan(t: float) -> list[float]:
        inputs = road.inputs(t)
        inputs["tls/UP/det/x_0/count"] = Sample(upstream, Quality.GOOD, t)
        c.scan(t, inputs)
        return c.arriving_pcu(t, 5.0)

    for t in range(0, 100):
        scan(float(t))
    for t in range(100, 104):  # 4 s of 2 veh/s crossing upstream = 8 vehicles, half ours
        upstream += 2
        scan(float(t))
    assert scan(104.0)[2] == 0.0  # not here yet
    # counted in (99, 104] s: they reach the zone within 5 s of t = 119 s
    arriving = scan(119.0)
    assert arriving[2] == pytest.approx(4.0)
    assert arriving[0] == arriving[1] == arriving[3] == 0.0
    assert scan(160.0)[2] == 0.0  # gone past


def test_snapshot_restore_continues_the_same_decisions():
    road = Road()
    road.vehicles.update({"n_0": 5, "e_0": 9})
    a = AdaptiveController(spec(), plan(), detectors())
    run(a, road, 0, 37, step=discharge)
    b = AdaptiveController(spec(), plan(), detectors())
    b.restore(a.snapshot())
    road_b = Road()
    road_b.vehicles, road_b.count = dict(road.vehicles), dict(road.count)
    assert run(a, road, 37, 120, step=discharge) == run(b, road_b, 37, 120, step=discharge)


def test_restore_refuses_a_malformed_snapshot():
    c = AdaptiveController(spec(), plan(), detectors())
    state = c.snapshot()
    state["phase_selection"]["phase"] = 7
    with pytest.raises(ValueError, match="phase 7"):
        c.restore(state)


def test_every_lane_needs_a_detector():
    with pytest.raises(ValueError, match="no detector for lanes w_0"):
        AdaptiveController(spec(), plan(), detectors()[:3])


_quality = st.sampled_from(
    [Quality.GOOD, Quality.GOOD, Quality.GOOD, Quality.UNCERTAIN, Quality.BAD]
)
_value = st.one_of(st.integers(0, 60), st.just(math.nan), st.just(-1))


@settings(max_examples=60, deadline=None)
@given(
    kind=st.sampled_from([MaxPressureController, AdaptiveController]),
    script=st.lists(
        st.tuples(
            st.lists(_value, min_size=4, max_size=4), st.lists(_quality, min_size=4, max_size=4)
        ),
        min_size=20,
        max_size=200,
    ),
)
def test_any_input_sequence_shows_only_safe_states(kind, script):
    """Random, faulty and malformed inputs: the independent monitor never sees a violation."""
    s = spec()
    c = kind(s, plan(), detectors())
    monitor = ConflictMonitor(s)
    for count, (values, qualities) in enumerate(script, start=1):
        t = float(count)
        inputs = {}
        for lane, v, q in zip(LANES, values, qualities, strict=True):
            inputs[f"tls/J/det/{lane}/vehicles"] = Sample(v, q, t)
            inputs[f"tls/J/det/{lane}/queue_m"] = Sample(v, q, t)
            inputs[f"tls/J/det/{lane}/count"] = Sample(count, q, t)
        shown = c.scan(t, inputs)["tls/J/state"]
        monitor.check(t, shown)
    assert monitor.violations == 0, monitor.log[:3]


def test_pedestrian_phase_runs_only_when_someone_waits():
    from controllers.signals.detection import PedestrianDetector

    lanes = (*LANES, ":J_c0_0")
    s = IntersectionSpec.from_program(
        "J", ["GGrrr", "yyrrr", "rrGGr", "rryyr", "rrrrG", "rrrrr"], lanes
    )
    p = SignalPlan.fixed(["GGrrr", "rrGGr", "rrrrG"], [20.0, 20.0, 10.0], 3.0, 2.0)
    dets = [*detectors(), PedestrianDetector(":J_c0_0", "tls/J/ped/c0")]
    c = AdaptiveController(s, p, dets)
    road = Road()
    waiting = 0

    def step(t, road, shown):
        discharge(t, road, shown)
        if int(t) % 10 == 0:  # traffic keeps coming on both streets
            road.vehicles["n_0"] += 3
            road.vehicles["e_0"] += 3

    def scan_all(start, end):
        log = []
        for t in range(start, end):
            step(float(t), road, log[-1] if log else "rrrrr")
            inputs = road.inputs(float(t))
            inputs["tls/J/ped/c0/waiting"] = Sample(waiting, Quality.GOOD, float(t))
            log.append(c.scan(float(t), inputs)["tls/J/state"])
        return log

    assert "rrrrG" not in scan_all(0, 200)  # nobody waits: the walk phase is skipped
    waiting = 4  # four people at the kerb weigh 3 PCU
    assert "rrrrG" in scan_all(200, 330)


def test_max_green_cannot_continue_under_an_overlapping_phase():
    """Phases GGr / Grr / rrG: ending GGr by switching to Grr would keep link 0 green."""
    lanes = ("a_0", "b_0", "c_0")
    s = IntersectionSpec.from_program("J", ["GGr", "yyr", "Grr", "yrr", "rrG", "rry"], lanes)
    p = SignalPlan.fixed(["GGr", "Grr", "rrG"], [20.0, 20.0, 20.0], 3.0, 2.0)
    dets = [LaneDetector(x, f"tls/J/det/{x}") for x in lanes]
    c = MaxPressureController(s, p, dets, limits=PhaseTimingLimits(max_green_s=60.0))
    green_run, longest = 0, 0
    for t in range(400):
        inputs = {}
        for lane, n in zip(lanes, (40, 40, 1), strict=True):
            inputs[f"tls/J/det/{lane}/vehicles"] = Sample(n, Quality.GOOD, float(t))
            inputs[f"tls/J/det/{lane}/queue_m"] = Sample(7.0 * n, Quality.GOOD, float(t))
        shown = c.scan(float(t), inputs)["tls/J/state"]
        green_run = green_run + 1 if shown[0] in "Gg" else 0
        longest = max(longest, green_run)
    assert longest <= 60 + 2, f"link 0 stayed green {longest} s with max green 60 s"
