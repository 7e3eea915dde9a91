"""Webster fixed-time plans in PCU/h."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.signals import IntersectionSpec, SignalPlan, webster_plan

PROGRAM = ["GGrr", "yyrr", "rrGG", "rryy"]


def spec4(lanes: tuple[str, ...] = ("a_0", "a_1", "b_0", "b_1")) -> IntersectionSpec:
    return IntersectionSpec.from_program("J1", PROGRAM, lanes)  # 7 / 3 / 2 s


def test_hand_computed_two_phase_example() -> None:
    # phase A critical lane a_0: 540 / 1800 = 0.3; phase B critical lane b_1: 360 / 1800 = 0.2
    plan = webster_plan(spec4(), [540, 300, 200, 360])
    assert plan.flow_ratios == pytest.approx((0.3, 0.2))
    total_y = plan.Y
    assert total_y == pytest.approx(0.5)
    assert plan.lost_time_s == pytest.approx(14.0)  # 2 phases x (3 + 2 + 2)
    assert plan.cycle_s == pytest.approx(52.0)  # (1.5*14 + 5) / (1 - 0.5)
    # effective greens share C - L = 38 s as 3:2 -> 22.8 / 15.2; displayed = + 2 s start-up
    assert plan.green_s == pytest.approx((24.8, 17.2))
    assert plan.phases == ("GGrr", "rrGG")
    assert not plan.oversaturated
    assert sum(plan.slot_s) == pytest.approx(plan.cycle_s)


def test_links_sharing_a_lane_add_their_flows() -> None:
    # links 0 and 1 both on lane a_0: 300 + 240 = 540 PCU/h -> y = 0.3
    plan = webster_plan(spec4(("a_0", "a_0", "b_0", "b_1")), [300, 240, 200, 360])
    assert plan.flow_ratios == pytest.approx((0.3, 0.2))
    assert plan.cycle_s == pytest.approx(52.0)


def test_saturation_flow_parameter_is_per_lane() -> None:
    plan = webster_plan(spec4(), [570, 0, 0, 380], saturation_pcu_h_per_lane=1900)
    assert plan.flow_ratios == pytest.approx((0.3, 0.2))


def test_oversaturated_uses_max_cycle_and_flags_it() -> None:
    plan = webster_plan(spec4(), [1080, 0, 0, 648])  # y = 0.6 + 0.36 = 0.96
    assert plan.oversaturated
    total_y = plan.Y
    assert total_y == pytest.approx(0.96)
    assert plan.cycle_s == pytest.approx(120.0)
    eff = [g - 2.0 for g in plan.green_s]
    assert eff[0] / eff[1] == pytest.approx(0.6 / 0.36)
    assert sum(eff) == pytest.approx(120.0 - 14.0)


def test_near_capacity_clamps_to_max_cycle_without_flag() -> None:
    plan = webster_plan(spec4(), [900, 0, 0, 720])  # Y = 0.9 -> C0 = 260 s
    assert plan.cycle_s == pytest.approx(120.0)
    assert not plan.oversaturated


def test_light_traffic_clamps_to_min_cycle() -> None:
    plan = webster_plan(spec4(), [90, 0, 0, 90], min_cycle_s=45)  # C0 = 26 / 0.9 = 28.9 s
    assert plan.cycle_s == pytest.approx(45.0)
    assert plan.green_s[0] == pytest.approx(plan.green_s[1])


def test_phase_without_flow_gets_min_green_and_others_take_the_rest() -> None:
    plan = webster_plan(spec4(), [900, 0, 0, 0])
    assert plan.flow_ratios == pytest.approx((0.5, 0.0))
    assert plan.cycle_s == pytest.approx(52.0)  # (1.5*14 + 5) / (1 - 0.5)
    assert plan.green_s[1] == pytest.approx(7.0)  # min green (effective 5 s)
    assert plan.green_s[0] == pytest.approx(52.0 - 14.0 - 5.0 + 2.0)


def test_no_flow_at_all_splits_the_min_cycle_equally() -> None:
    plan = webster_plan(spec4(), [0, 0, 0, 0])
    assert plan.Y == 0.0
    assert plan.cycle_s == pytest.approx(40.0)
    assert plan.green_s == pytest.approx((15.0, 15.0))


def test_min_greens_that_do_not_fit_lengthen_the_cycle() -> None:
    spec = IntersectionSpec.from_program(
        "J3", ["Grr", "yrr", "rGr", "ryr", "rrG", "rry"], ["a", "b", "c"]
    )
    plan = webster_plan(spec, [100, 100, 100], min_cycle_s=20, max_cycle_s=20)
    assert plan.green_s == pytest.approx((7.0, 7.0, 7.0))
    assert plan.cycle_s == pytest.approx(3 * (7 + 3 + 2))


@pytest.mark.parametrize(
    ("flows", "kwargs", "message"),
    [
        ([1, 2, 3], {}, "3 link flows given"),
        ([1, 2, 3, -4], {}, ">= 0"),
        ([1, 2, 3, math.nan], {}, "finite"),
        ([1, 2, 3, 4], {"saturation_pcu_h_per_lane": 0}, "> 0"),
        ([1, 2, 3, 4], {"min_cycle_s": 90, "max_cycle_s": 60}, "must not exceed"),
        ([1, 2, 3, 4], {"startup_lost_s": -1}, "startup_lost_s"),
    ],
)
def test_bad_inputs_are_rejected(flows: list[float], kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        webster_plan(spec4(), flows, **kwargs)


def test_plan_to_dict_is_json_and_fixed_plans_check_their_cycle() -> None:
    plan = webster_plan(spec4(), [540, 300, 200, 360])
    data = json.loads(json.dumps(plan.to_dict()))
    assert data["cycle_s"] == pytest.approx(52.0)
    assert data["oversaturated"] is False
    hand = SignalPlan.fixed(["GGrr", "rrGG"], [20, 10], 3, 2)
    assert hand.cycle_s == 40.0 and hand.Y is None
    with pytest.raises(ValueError, match="does not match"):
        SignalPlan(("GGrr", "rrGG"), (20.0, 10.0), 3.0, 2.0, 41.0)
    with pytest.raises(ValueError, match="amber"):
        SignalPlan.fixed(["GGrr", "yyrr"], [20, 10], 3, 2)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.floats(0, 2000), min_size=4, max_size=4),
    st.floats(20, 80),
    st.floats(80, 200),
)
def test_plan_properties(flows: list[float], c_min: float, c_max: float) -> None:
    spec = spec4()
    plan = webster_plan(spec, flows, min_cycle_s=c_min, max_cycle_s=c_max)
    assert sum(plan.slot_s) == pytest.approx(plan.cycle_s)
    assert all(g >= spec.min_green_s - 1e-9 for g in plan.green_s)
    assert plan.oversaturated == (plan.Y >= 0.95)
    assert c_min - 1e-6 <= plan.cycle_s <= c_max + 1e-6  # min greens always fit here
    free = [i for i, g in enumerate(plan.green_s) if g > spec.min_green_s + 1e-9]
    if len(free) == 2 and min(plan.flow_ratios) > 0:
        eff = [plan.green_s[i] - 2.0 for i in free]
        assert eff[0] * plan.flow_ratios[1] == pytest.approx(eff[1] * plan.flow_ratios[0])
