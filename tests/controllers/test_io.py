"""The I/O contract: point names, value checks, quality ageing."""

from __future__ import annotations

import math

import pytest

from controllers.io import (
    Controller,
    Direction,
    PointSpec,
    PointValueError,
    Quality,
    Sample,
    ValueType,
    bad_sample,
    validate_point_name,
)


@pytest.mark.parametrize("name", ["tls/J07/state", "flood/P03/level_m", "tls/J/det/-e12#1_0/q"])
def test_valid_names(name):
    assert validate_point_name(name) == name


@pytest.mark.parametrize("name", ["state", "tls//x", "/tls/x", "tls/J 7/state", "tls/Ngã_tư/x", ""])
def test_invalid_names(name):
    with pytest.raises(ValueError, match="point name"):
        validate_point_name(name)


def level(**kw) -> PointSpec:
    return PointSpec("flood/P03/level_m", Direction.INPUT, "m", low=0.0, high=12.0, **kw)


@pytest.mark.parametrize("value", [math.nan, math.inf, -0.5, 12.01, "3", None, True])
def test_float_point_rejects(value):
    with pytest.raises(PointValueError, match="flood/P03/level_m"):
        level().check(value)


def test_float_point_accepts_ints_and_bounds():
    spec = level()
    assert spec.check(0) == 0.0 and isinstance(spec.check(0), float)
    assert spec.check(12.0) == 12.0


def test_int_bool_and_text_points():
    count = PointSpec("tls/J/det/l/count", Direction.INPUT, "1", ValueType.INT, low=0)
    assert count.check(5.0) == 5
    with pytest.raises(PointValueError):
        count.check(5.5)
    flag = PointSpec("tls/J/flashing", Direction.INPUT, "", ValueType.BOOL)
    assert flag.check(1) is True
    with pytest.raises(PointValueError):
        flag.check(2)
    state = PointSpec("tls/J/state", Direction.OUTPUT, "", ValueType.STR, choices="Ggyro")
    assert state.check("GGrr") == "GGrr"
    with pytest.raises(PointValueError, match="'x'"):
        state.check("GxRr".replace("R", "r"))


def test_spec_validates_itself():
    with pytest.raises(ValueError, match="low"):
        PointSpec("a/b", Direction.INPUT, "m", low=2, high=1)
    with pytest.raises(ValueError, match="stale_after_s"):
        PointSpec("a/b", Direction.INPUT, "m", stale_after_s=10, bad_after_s=5)


def test_quality_ages_from_source_time_and_never_improves():
    spec = level(stale_after_s=5, bad_after_s=20)
    sample = Sample(3.0, Quality.GOOD, 100.0)
    assert spec.quality_at(sample, 105.0) is Quality.GOOD
    assert spec.quality_at(sample, 105.1) is Quality.UNCERTAIN
    assert spec.quality_at(sample, 120.1) is Quality.BAD
    assert spec.quality_at(Sample(3.0, Quality.BAD, 100.0), 101.0) is Quality.BAD
    assert not bad_sample().good


def test_fixed_time_controller_satisfies_the_protocol():
    from controllers.signals import FixedTimeController, IntersectionSpec, SignalPlan

    spec = IntersectionSpec.from_program(
        "J", ["GGrr", "yyrr", "rrGG", "rryy"], ["a", "a", "b", "b"]
    )
    plan = SignalPlan.fixed(spec.green_phases, [20.0, 20.0], spec.amber_s, spec.all_red_s)
    assert isinstance(FixedTimeController(spec, plan), Controller)
