"""Net-house microclimate: relaxation, solar warming, mist cooling, saturation, mass balance."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.agri.et0 import psychrometric_constant, saturation_vapour_pressure
from sim.agri.microclimate import (
    DEFAULT_MIST_LPM_PER_M2,
    NetHouseClimate,
    latent_heat_j_kg,
    saturation_vapour_density,
)

LAOS = {"outside_temp_c": 39.0, "outside_rh_pct": 40.0, "wind_mps": 3.0, "solar_wm2": 800.0}


def run(
    model: NetHouseClimate,
    seconds: float,
    dt: float = 10.0,
    *,
    mist: Any = False,
    **weather: Any,
) -> None:
    """Advance ``model`` by ``seconds`` in steps of ``dt`` under constant weather."""
    for _ in range(round(seconds / dt)):
        model.advance(dt, mist_on=mist, **weather)


def wet_bulb_c(t_c: float, rh_pct: float, pressure_kpa: float = 101.3) -> float:
    """Psychrometric wet-bulb temperature: e°(Tw) − e = γ (T − Tw), γ from FAO-56 eq. 8."""
    gamma = float(psychrometric_constant(0.0)) * pressure_kpa / 101.3
    e = rh_pct / 100.0 * float(saturation_vapour_pressure(t_c))
    lo, hi = -20.0, t_c
    for _ in range(80):
        mid = (lo + hi) / 2.0
        if float(saturation_vapour_pressure(mid)) - e > gamma * (t_c - mid):
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2.0


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"area_m2": -5.0}, "area_m2"),
        ({"area_m2": [100.0, math.nan]}, "area_m2"),
        ({"area_m2": []}, "area_m2"),
        ({"height_m": 0.2}, "height_m"),
        ({"shade_transmittance": 0.0}, "shade_transmittance"),
        ({"net_absorptance": 0.7}, "net_absorptance"),
        ({"lai": [1.0, 2.0, 3.0]}, "lai"),
        ({"lai": math.inf}, "lai"),
        ({"mist_flow_lpm": -1.0}, "mist_flow_lpm"),
        ({"mist_vpd_scale_kpa": 0.0}, "mist_vpd_scale_kpa"),
        ({"ach_per_wind": "fast"}, "ach_per_wind"),
        ({"max_substep_s": 0.0}, "max_substep_s"),
    ],
)
def test_constructor_errors_name_the_argument(kwargs: dict[str, object], named: str) -> None:
    args: dict[str, object] = {"area_m2": [200.0, 300.0], **kwargs}
    with pytest.raises(ValueError, match=named):
        NetHouseClimate(**args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"dt_s": -1.0}, "dt_s"),
        ({"dt_s": math.nan}, "dt_s"),
        ({"outside_temp_c": math.nan}, "outside_temp_c"),
        ({"outside_temp_c": 75.0}, "outside_temp_c"),
        ({"outside_rh_pct": 101.0}, "outside_rh_pct"),
        ({"outside_rh_pct": [50.0, 50.0, 50.0]}, "outside_rh_pct"),
        ({"wind_mps": -0.1}, "wind_mps"),
        ({"solar_wm2": math.inf}, "solar_wm2"),
        ({"mist_on": "yes"}, "mist_on"),
        ({"mist_on": [2, 0]}, "mist_on"),
        ({"mist_on": [True, False, True]}, "mist_on"),
    ],
)
def test_advance_errors_name_the_argument(override: dict[str, object], named: str) -> None:
    model = NetHouseClimate([200.0, 300.0])
    args: dict[str, object] = {"dt_s": 10.0, **LAOS, "mist_on": False, **override}
    before = model.temp_c
    with pytest.raises(ValueError, match=named):
        model.advance(**args)  # type: ignore[arg-type]
    assert np.array_equal(model.temp_c, before)


def test_saturation_matches_fao56() -> None:
    t = np.array([0.0, 20.0, 39.0])
    es = np.asarray(saturation_vapour_pressure(t))
    assert np.allclose(saturation_vapour_density(t), es * 1000.0 / (461.5 * (t + 273.15)))
    assert float(saturation_vapour_density(30.0)) == pytest.approx(0.0304, abs=2e-4)
    assert latent_heat_j_kg(20.0) == pytest.approx(2.454e6, rel=1e-3)  # FAO-56: 2.45 MJ/kg


def test_default_mist_flow_scales_with_area() -> None:
    model = NetHouseClimate([200.0, 500.0])
    assert np.allclose(model.mist_flow_lpm, DEFAULT_MIST_LPM_PER_M2 * np.array([200.0, 500.0]))


# --------------------------------------------------------------------- physics
def test_no_sun_no_mist_relaxes_exponentially_to_outside() -> None:
    model = NetHouseClimate(400.0, ach_calm_per_h=20.0, ach_per_wind=25.0)  # ACH 45 at 1 m/s
    model.reset(35.0, 50.0)
    tau_s = 3600.0 / 45.0
    run(model, tau_s, dt=tau_s / 8, outside_temp_c=28.0, outside_rh_pct=80.0, wind_mps=1.0,
        solar_wm2=0.0)  # fmt: skip
    assert model.temp_c[0] - 28.0 == pytest.approx(7.0 * math.exp(-1.0), rel=1e-9)
    rho_o = 0.8 * float(saturation_vapour_density(28.0))
    rho_0 = 0.5 * float(saturation_vapour_density(35.0))
    expected = rho_o + (rho_0 - rho_o) * math.exp(-1.0)
    assert model.vapour_density_kg_m3[0] == pytest.approx(expected, rel=1e-9)
    run(model, 1800.0, outside_temp_c=28.0, outside_rh_pct=80.0, wind_mps=1.0, solar_wm2=0.0)
    assert model.temp_c[0] == pytest.approx(28.0, abs=1e-6)
    assert model.rh_pct[0] == pytest.approx(80.0, abs=1e-4)
    assert model.transpiration_l[0] == 0.0  # stomata closed in the dark


@pytest.mark.parametrize("wind", [1.0, 2.0, 3.0])
def test_sun_warms_the_house_by_one_to_four_degrees(wind: float) -> None:
    model = NetHouseClimate(500.0)
    model.reset(33.0, 60.0)
    run(model, 1800.0, outside_temp_c=33.0, outside_rh_pct=60.0, wind_mps=wind, solar_wm2=900.0)
    rise = model.temp_c[0] - 33.0
    assert 1.0 <= rise <= 4.0
    assert model.transpiration_l[0] > 0.0


def test_more_wind_means_less_warming_and_more_shade_means_less() -> None:
    model = NetHouseClimate([500.0] * 3, shade_transmittance=[0.5, 0.5, 0.3])
    model.reset(33.0, 60.0)
    run(model, 1800.0, outside_temp_c=33.0, outside_rh_pct=60.0,
        wind_mps=np.array([0.5, 3.0, 3.0]), solar_wm2=900.0)  # fmt: skip
    calm, windy, dark = model.temp_c
    assert calm > windy > dark > 33.0


def test_mist_on_a_laos_wind_afternoon_cools_by_several_degrees() -> None:
    model = NetHouseClimate([500.0, 500.0])
    model.reset(39.0, 40.0)
    run(model, 1800.0, mist=np.array([False, True]), **LAOS)
    dry, misted = model.temp_c
    rh_dry, rh_misted = model.rh_pct
    assert dry - misted >= 2.0
    assert misted < 39.0 - 1.5
    assert rh_misted >= rh_dry + 5.0
    assert rh_misted <= 100.0
    assert model.vpd_kpa[1] < model.vpd_kpa[0] - 0.8
    assert model.mist_water_l[0] == 0.0
    # most of the mist evaporates in such dry air, but not all
    frac = model.mist_evaporated_l[1] / model.mist_water_l[1]
    assert 0.7 < frac < 0.9


def test_mist_in_humid_air_mostly_wets_the_crop() -> None:
    model = NetHouseClimate([500.0, 500.0])
    model.reset(28.0, 95.0)
    run(model, 1800.0, mist=True, outside_temp_c=28.0, outside_rh_pct=[95.0, 50.0],
        wind_mps=1.0, solar_wm2=300.0)  # fmt: skip
    frac = model.mist_evaporated_l / model.mist_water_l
    assert frac[0] < 0.5 * frac[1]
    assert np.all(model.mist_deposited_l > 0.0)


def test_sealed_house_with_mist_saturates_but_never_exceeds_100_pct() -> None:
    model = NetHouseClimate(200.0, ach_calm_per_h=0.0, ach_per_wind=0.0, mist_flow_lpm=5.0)
    model.reset(30.0, 70.0)
    for _ in range(180):
        model.advance(10.0, 30.0, 70.0, 2.0, 0.0, True)
        assert model.rh_pct[0] <= 100.0
        rho_sat = saturation_vapour_density(model.temp_c)[0]
        assert model.vapour_density_kg_m3[0] <= rho_sat * (1 + 1e-12)
    assert model.rh_pct[0] > 99.0
    assert model.temp_c[0] < 30.0 - 2.0
    assert model.mist_deposited_l[0] > 0.9 * model.mist_water_l[0]
    ledger = model.ledger()
    assert ledger.ventilation[0] == 0.0
    assert ledger.stored_change[0] == pytest.approx(ledger.mist_evaporated[0], rel=1e-9)


def test_mixing_with_cold_saturated_air_condenses() -> None:
    """Two saturated air masses mix to a super-saturated one: the excess must condense."""
    model = NetHouseClimate(300.0, lai=0.0)
    model.reset(30.0, 100.0)
    for _ in range(60):
        model.advance(10.0, 20.0, 100.0, 1.0, 0.0, False)
        assert model.rh_pct[0] <= 100.0
        assert model.rh_pct[0] > 99.999
    assert model.condensed_l[0] > 0.0
    assert model.temp_c[0] == pytest.approx(20.0, abs=0.05)
    assert abs(model.ledger().residual_kg()[0]) < 1e-12


def test_sealed_dark_house_with_mist_reaches_the_wet_bulb_temperature() -> None:
    """Adiabatic saturation: no sun, no crop, no exchange; the air ends at its wet-bulb T.

    The model keeps vapour density at constant volume while the psychrometric
    equation conserves the mixing ratio; over a 13 K depression the two differ
    by ~0.4 K, hence the tolerance.
    """
    model = NetHouseClimate(100.0, ach_calm_per_h=0.0, ach_per_wind=0.0, lai=0.0,
                            mist_flow_lpm=2.0)  # fmt: skip
    model.reset(38.0, 35.0)
    run(model, 1800.0, mist=True, outside_temp_c=38.0, outside_rh_pct=35.0, wind_mps=0.0,
        solar_wm2=0.0)  # fmt: skip
    assert model.rh_pct[0] == pytest.approx(100.0, abs=1e-6)
    assert model.temp_c[0] == pytest.approx(wet_bulb_c(38.0, 35.0), abs=0.6)
    # energy: ρa cp ΔT = −λ Δρv (isenthalpic), to within the variation of ρa and λ
    gain = float(saturation_vapour_density(model.temp_c)[0]) - 0.35 * float(
        saturation_vapour_density(38.0)
    )
    rho_cp = 101.3e3 / (287.05 * (273.15 + 30.0)) * 1013.0
    assert rho_cp * (38.0 - model.temp_c[0]) == pytest.approx(2.42e6 * gain, rel=0.03)
    ledger = model.ledger()
    assert ledger.mist_evaporated[0] == pytest.approx(gain * model.volume_m3[0], rel=1e-9)


def test_water_and_vapour_ledgers_close_over_a_day() -> None:
    model = NetHouseClimate([250.0, 600.0, 1100.0], lai=[0.5, 3.0, 4.0])
    model.reset(27.0, 85.0)
    mist_on_s = np.zeros(3)
    for step in range(24 * 12):  # 5-min steps
        hour = step / 12.0
        t_out = 32.0 + 6.0 * math.cos(2 * math.pi * (hour - 14.0) / 24.0)
        rh_out = 62.0 - 20.0 * math.cos(2 * math.pi * (hour - 14.0) / 24.0)
        sun = max(0.0, 950.0 * math.sin(math.pi * (hour - 6.0) / 12.5))
        mist = np.array([step % 2 == 0, step % 3 == 0, 10 <= hour < 16])
        model.advance(300.0, t_out, rh_out, 2.5, sun, mist)
        mist_on_s += 300.0 * mist
    assert np.allclose(model.mist_water_l, model.mist_flow_lpm * mist_on_s / 60.0, rtol=1e-12)
    assert np.allclose(model.mist_water_l, model.mist_evaporated_l + model.mist_deposited_l)
    ledger = model.ledger()
    scale = np.abs(ledger.ventilation) + ledger.transpiration + ledger.mist_evaporated
    assert np.all(np.abs(ledger.residual_kg()) <= 1e-10 * scale)
    assert np.all(ledger.ventilation < 0.0)  # the houses export the vapour they make
    # daily transpiration of a few mm under a 50 % net on a hot day
    mm = model.transpiration_l / model.area_m2
    assert np.all((mm > 0.3) & (mm < 6.0))


def test_one_600_s_step_matches_sixty_10_s_steps() -> None:
    weather = {**LAOS, "wind_mps": 2.0}
    mist = np.array([True, False])
    for sub, tol_t, tol_rh in ((10.0, 1e-9, 1e-8), (60.0, 0.05, 0.3)):
        coarse = NetHouseClimate([300.0, 800.0], max_substep_s=sub)
        fine = NetHouseClimate([300.0, 800.0])
        for model in (coarse, fine):
            model.reset(34.0, 55.0)
        coarse.advance(600.0, mist_on=mist, **weather)
        run(fine, 600.0, mist=mist, **weather)
        assert np.allclose(coarse.temp_c, fine.temp_c, rtol=0.0, atol=tol_t)
        assert np.allclose(coarse.rh_pct, fine.rh_pct, rtol=0.0, atol=tol_rh)
        assert np.allclose(coarse.mist_water_l, fine.mist_water_l, rtol=1e-12)
        assert np.allclose(coarse.mist_evaporated_l, fine.mist_evaporated_l, rtol=0.02)


def test_substep_error_is_small_in_a_violent_transient() -> None:
    """25 °C / 90 % thrown into a misted Laos-wind afternoon: +10 °C within 90 s."""
    ends = {}
    for sub in (1.0, 10.0, 60.0):
        model = NetHouseClimate([300.0, 800.0], max_substep_s=sub)
        model.reset(25.0, 90.0)
        model.advance(90.0, mist_on=np.array([True, False]), **LAOS)
        ends[sub] = model.temp_c
    assert np.all(ends[1.0] > 33.0)
    err10, err60 = np.abs(ends[10.0] - ends[1.0]), np.abs(ends[60.0] - ends[1.0])
    assert np.all(err10 < 0.15)
    assert np.all(err60 < 0.8)
    assert np.all(err10 < err60 / 3)  # first order: error shrinks with the sub-step


def test_a_huge_step_is_stable() -> None:
    model = NetHouseClimate(300.0, ach_calm_per_h=400.0, max_substep_s=600.0)
    model.reset(30.0, 60.0)
    model.advance(600.0, mist_on=True, **LAOS)  # k·h = 67: explicit Euler would explode
    assert 30.0 < model.temp_c[0] < 40.0
    assert 0.0 < model.rh_pct[0] <= 100.0


def test_houses_are_independent() -> None:
    areas, lai, mist = [200.0, 900.0], [1.0, 4.0], np.array([True, False])
    together = NetHouseClimate(areas, lai=lai, height_m=[2.5, 4.0])
    together.reset(36.0, 45.0)
    run(together, 600.0, mist=mist, **LAOS)
    for i in range(2):
        alone = NetHouseClimate(areas[i], lai=lai[i], height_m=[2.5, 4.0][i])
        alone.reset(36.0, 45.0)
        run(alone, 600.0, mist=bool(mist[i]), **LAOS)
        assert alone.temp_c[0] == pytest.approx(together.temp_c[i], rel=1e-12)
        assert alone.rh_pct[0] == pytest.approx(together.rh_pct[i], rel=1e-12)


def test_zero_step_is_a_no_op() -> None:
    model = NetHouseClimate(300.0)
    model.reset(30.0, 60.0)
    model.advance(0.0, mist_on=True, **LAOS)
    assert model.temp_c[0] == 30.0
    assert model.mist_water_l[0] == 0.0


@settings(max_examples=40, deadline=None)
@given(
    t_out=st.floats(5.0, 44.0),
    rh_out=st.floats(5.0, 100.0),
    wind=st.floats(0.0, 8.0),
    sun=st.floats(0.0, 1100.0),
    flow=st.floats(0.0, 20.0),
    ach=st.floats(10.0, 80.0),  # a shade-net house breathes: >= 10 air changes per hour
    dts=st.lists(st.floats(0.0, 600.0), min_size=1, max_size=6),
    mist=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_property_bounded_and_closed(
    t_out: float,
    rh_out: float,
    wind: float,
    sun: float,
    flow: float,
    ach: float,
    dts: list[float],
    mist: list[bool],
) -> None:
    model = NetHouseClimate(300.0, mist_flow_lpm=flow, ach_calm_per_h=ach)
    model.reset(t_out, rh_out)
    for dt, m in zip(dts, mist, strict=False):
        model.advance(dt, t_out, rh_out, wind, sun, m)
        assert 0.0 <= model.rh_pct[0] <= 100.0
        # never colder than the outside wet bulb, never absurdly hot
        assert wet_bulb_c(t_out, rh_out) - 0.5 <= model.temp_c[0] <= t_out + 25.0
    ledger = model.ledger()
    stored = model.vapour_density_kg_m3 * model.volume_m3
    scale = stored + np.abs(ledger.ventilation) + ledger.transpiration + ledger.mist_evaporated
    assert abs(ledger.residual_kg()[0]) <= 1e-12 * scale[0]
    assert 0.0 <= model.mist_evaporated_l[0] <= model.mist_water_l[0] + 1e-12
