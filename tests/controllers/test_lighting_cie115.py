"""CIE 115 class selection (worked by hand from the table), classes, volume bands."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from controllers.lighting.central import commissioning_level
from controllers.lighting.cie115 import (
    VOLUME_OPTIONS,
    WEIGHTS,
    RoadParameters,
    VolumeBands,
    select_class,
)
from controllers.lighting.classes import REQUIREMENTS, LightingClass, brighter, parse_class

M = LightingClass


def test_requirements_table_matches_en13201() -> None:
    assert [REQUIREMENTS[c].avg_luminance_cd_m2 for c in M] == [2.0, 1.5, 1.0, 0.75, 0.5, 0.3]
    assert [REQUIREMENTS[c].u0 for c in M] == [0.4, 0.4, 0.4, 0.4, 0.35, 0.35]
    assert [REQUIREMENTS[c].ti_max_pct for c in M] == [10, 10, 15, 15, 15, 20]


@pytest.mark.parametrize(
    ("volume", "expected", "vws"),
    [
        # defaults: speed moderate 0, mixed 1, not separated 1, junctions high 1,
        # no parking 0, ambient moderate 0, guidance good 0 -> 3 before volume
        ("very_high", M.M2, 4.0),  # 6 - 4 = 2
        ("high", M.M2, 3.5),  # 6 - 3.5 = 2.5 -> brighter: M2
        ("moderate", M.M3, 3.0),
        ("low", M.M3, 2.5),  # 3.5 -> M3
        ("very_low", M.M4, 2.0),
    ],
)
def test_hung_vuong_defaults_worked_by_hand(volume: str, expected: M, vws: float) -> None:
    sel = select_class(RoadParameters(), volume)
    assert sel.vws == vws
    assert sel.lighting_class is expected


def test_a_quiet_separated_road_worked_by_hand() -> None:
    road = RoadParameters(
        speed="high",  # 0.5
        composition="motorised_only",  # 0
        separation="yes",  # 0
        junction_density="moderate",  # 0
        parked_vehicles="present",  # 0.5
        ambient="low",  # -1
        navigation="poor",  # 0.5
    )
    assert road.fixed_sum == 0.5
    assert select_class(road, "very_high").lighting_class is M.M4  # 6 - 1.5 = 4.5 -> M4
    assert select_class(road, "moderate").lighting_class is M.M5  # 5.5 -> M5
    assert select_class(road, "very_low").lighting_class is M.M6  # 6.5 -> clamped M6


def test_busiest_road_clamps_to_m1() -> None:
    road = RoadParameters(
        "very_high", "mixed_high_non_motorised", "no", "high", "present", "high", "poor"
    )
    assert road.fixed_sum == 1 + 2 + 1 + 1 + 0.5 + 1 + 0.5
    assert select_class(road, "very_high").lighting_class is M.M1  # 6 - 8 = -2 -> M1


def test_wet_road_is_one_class_brighter_and_clamped() -> None:
    road = RoadParameters()
    assert select_class(road, "moderate", wet=True).lighting_class is M.M2
    assert select_class(road, "very_high", wet=True, wet_class_steps=3).lighting_class is M.M1


@given(
    st.tuples(
        *[
            st.sampled_from(sorted(WEIGHTS[p]))
            for p in (
                "speed",
                "composition",
                "separation",
                "junction_density",
                "parked_vehicles",
                "ambient",
                "navigation",
            )
        ]
    ),
    st.sampled_from(VOLUME_OPTIONS),
    st.booleans(),
)
def test_class_is_always_m1_to_m6_and_more_traffic_never_darker(
    fixed: tuple[str, ...], volume: str, wet: bool
) -> None:
    road = RoadParameters(*fixed)
    sel = select_class(road, volume, wet)
    assert M.M1 <= sel.lighting_class <= M.M6
    busier = VOLUME_OPTIONS[max(0, VOLUME_OPTIONS.index(volume) - 1)]
    assert select_class(road, busier, wet).lighting_class <= sel.lighting_class
    assert (
        select_class(road, volume, True).lighting_class <= select_class(road, volume).lighting_class
    )


def test_volume_bands_from_capacity_and_absolute() -> None:
    bands = VolumeBands.from_capacity(2000.0)  # limits 1300, 900, 300, 140 veh/h
    assert [bands.option(v) for v in (1500, 1300, 1000, 500, 200, 100, 0)] == [
        "very_high",
        "very_high",
        "high",
        "moderate",
        "low",
        "very_low",
        "very_low",
    ]
    same = VolumeBands.from_mapping({"very_high": 1300, "high": 900, "moderate": 300, "low": 140})
    assert same == bands
    with pytest.raises(ValueError, match="strictly decreasing"):
        VolumeBands((100.0, 200.0, 50.0, 10.0))
    with pytest.raises(ValueError, match="volume_bands: unknown key"):
        VolumeBands.from_mapping({"capacity": 10})


def test_unknown_options_and_classes_are_refused() -> None:
    with pytest.raises(ValueError, match=r"road\.speed: unknown option 'fast'"):
        RoadParameters(speed="fast")
    with pytest.raises(ValueError, match="M1, M2"):
        parse_class("M7")
    assert parse_class("m4") is M.M4
    assert brighter(M.M1) is M.M1 and brighter(M.M6, -1) is M.M6 and brighter(M.M4, 2) is M.M2


def test_commissioning_table_falls_back_to_the_next_brighter_class() -> None:
    table = {M.M2: 95.0, M.M4: 55.0}
    assert commissioning_level(table, M.M4) == 55.0
    assert commissioning_level(table, M.M3) == 95.0
    assert commissioning_level(table, M.M6) == 55.0
    assert commissioning_level(table, M.M1) == 100.0


def test_yaml_bare_no_for_separation_is_understood() -> None:
    assert RoadParameters.from_mapping({"separation": False}).separation == "no"
    assert RoadParameters.from_mapping({"separation": True}).separation == "yes"
