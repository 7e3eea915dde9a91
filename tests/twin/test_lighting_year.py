"""Photometric commissioning, class compliance and the sampled lighting year."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from sim.lighting.layout import hung_vuong_layout
from sim.lighting.luminaire import hps_250w, led_100w
from sim.lighting.plant import LOCAL_TZ
from sim.lighting.road_classes import meets
from twin.lighting_design import M_CLASSES, PilotPhotometry, required_class
from twin.lighting_setup import CONFIGURATIONS, configuration, controller_mapping
from twin.lighting_year import simulate_night


@pytest.fixture(scope="module")
def layout():  # type: ignore[no-untyped-def]
    return hung_vuong_layout()


@pytest.fixture(scope="module")
def photometry(layout):  # type: ignore[no-untyped-def]
    return PilotPhotometry(layout)


def test_commissioned_levels_meet_their_class_and_no_lower(layout, photometry) -> None:  # type: ignore[no-untyped-def]
    """At each commissioned level every segment meets the class; 3 % less fails it, and a
    darker class never needs more light than a brighter one."""
    model = led_100w()
    table = photometry.commissioning(model)
    assert set(table) == set(layout.cabinet_ids)
    n = len(layout.poles)
    for cabinet, levels in table.items():
        assert levels, f"{cabinet}: the LED meets no class at all"
        ordered = [levels[c] for c in M_CLASSES if c in levels]
        assert ordered == sorted(ordered, reverse=True)
        fld = photometry.fields[cabinet]
        for name, pct in levels.items():
            at = fld.quality(photometry.relative_flux(model, np.full(n, pct / 100)))
            assert meets(name, at)[0], (cabinet, name, pct, at)
            if pct - 3.0 >= 100 * model.min_level:
                below = fld.quality(photometry.relative_flux(model, np.full(n, (pct - 3) / 100)))
                assert not meets(name, below)[0], (cabinet, name, pct)


def test_a_dark_pole_breaks_its_segment(layout, photometry) -> None:  # type: ignore[no-untyped-def]
    model = led_100w()
    cabinet = layout.cabinet_ids[2]
    level = photometry.commissioning(model)[cabinet]["M4"] / 100 + 0.05
    light = np.full(len(layout.poles), level)
    ok = photometry.compliance(model, light, {cabinet: "M4"})
    assert ok[cabinet][0]
    field_pole = int(
        photometry.fields[cabinet].pole_index[len(photometry.fields[cabinet].pole_index) // 2]
    )
    light[field_pole] = 0.0
    broken = photometry.compliance(model, light, {cabinet: "M4"})
    assert not broken[cabinet][0]
    assert broken[cabinet][1].u0 < ok[cabinet][1].u0


def test_hps_delivers_what_its_flux_allows(layout, photometry) -> None:  # type: ignore[no-untyped-def]
    """The plan's ~10 lm/W sodium lamps light the road far less than the default model."""
    bright = photometry.commissioning(hps_250w())
    dim = photometry.commissioning(hps_250w(10.0))
    cabinet = layout.cabinet_ids[0]
    assert len(dim[cabinet]) < len(bright[cabinet])


def test_required_class_steps_down_with_volume() -> None:
    volumes = [0, 100, 300, 800, 1500, 2500, 4000, 6000]
    classes = [int(required_class(v)[1]) for v in volumes]
    assert classes == sorted(classes, reverse=True)
    assert classes[0] > classes[-1]
    assert int(required_class(800, wet=True)[1]) < int(required_class(800)[1])
    with pytest.raises(ValueError, match="veh/h"):
        required_class(float("nan"))


def test_adaptive_config_needs_commissioning(layout) -> None:  # type: ignore[no-untyped-def]
    start = datetime(2026, 3, 10, 17, tzinfo=LOCAL_TZ)
    with pytest.raises(ValueError, match="commissioning"):
        controller_mapping(layout, configuration("led_adaptive"), start)
    with pytest.raises(ValueError, match="unknown lighting configuration"):
        configuration("mercury")


def test_an_evening_of_each_configuration(layout, photometry) -> None:  # type: ignore[no-untyped-def]
    """17:00-21:00 in March, same traffic seed: sodium burns its rated power from sunset,
    LED less, adaptive LED less again; all meet the required class."""
    start = datetime(2026, 3, 10, 17, tzinfo=LOCAL_TZ)
    results = {}
    for name in CONFIGURATIONS:
        config = configuration(name)
        table = photometry.commissioning(config.model) if config.mode == "adaptive" else None
        results[name] = simulate_night(
            config,
            start,
            layout=layout,
            photometry=photometry,
            commissioning=table,
            seed=5,
            step_s=30.0,
            duration_s=4 * 3600.0,
        )
    sodium = results["sodium_fixed"]
    # sunset near 18:05 on 10 March: about 2.9 lit hours of 128 lanterns at 280 W
    lit_h = sodium.lamp_hours / len(layout.poles)
    assert 2.5 < lit_h < 3.3
    expected = len(layout.poles) * 0.280 * lit_h
    assert sodium.energy_kwh == pytest.approx(expected, rel=0.05)
    assert results["led_adaptive"].energy_kwh < results["led_fixed"].energy_kwh
    assert results["led_fixed"].energy_kwh < 0.5 * sodium.energy_kwh
    for name, result in results.items():
        assert result.samples > 0, name
        assert result.met / result.samples > 0.95, (name, result.met, result.samples)


def test_sampled_nights_cover_every_weekday_and_scale_to_the_year() -> None:
    from twin.lighting_year import NightResult, YearResult, night_starts

    starts = night_starts(2026, 26)
    assert len(starts) == 26
    assert {s.weekday() for s in starts} == set(range(7))
    assert all(s.year == 2026 and s.hour == 16 for s in starts)
    assert starts == sorted(starts)
    leap = night_starts(2028, 366)
    assert len(set(leap)) == len(leap)  # capped at the last day, no repeats
    assert leap[-1].date().isoformat() == "2028-12-31"
    nights = [
        NightResult(s, energy_kwh=10.0, lamp_hours=100.0, samples=4, met=3, day_kwh=1.0)
        for s in starts[:2]
    ]
    summary = YearResult("led_fixed", 2026, nights, wall_s=1.0, simulated_s=2 * 57600.0).summary()
    assert summary["energy_kwh_year"] == pytest.approx(365 / 2 * 2 * 11.0)
    assert summary["lamp_hours_year"] == pytest.approx(365 / 2 * 200.0)
    assert summary["compliance_share"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="nights"):
        night_starts(2026, 0)
