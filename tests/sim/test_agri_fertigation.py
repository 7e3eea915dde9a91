"""FertigationTank: mass balance, EC, carbonate pH, CO2 exchange, volume, probes, faults."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from controllers.io import Quality
from sim.agri.fertigation import (
    PK1,
    AcidStock,
    FertigationTank,
    NutrientStock,
    ProbeSpec,
    SourceWater,
    TankSpec,
    carbonate_ph,
    dic_from_ph,
)

CLOSED = TankSpec(co2_tau_s=math.inf)


def tank(seed: int = 0, **kw: object) -> FertigationTank:
    return FertigationTank(np.random.default_rng(seed), **kw)  # type: ignore[arg-type]


def mix(t: FertigationTank, seconds: float = 1200.0) -> None:
    """Let the tank stand (no draw, no dosing) so the unmixed pool joins the bulk."""
    for _ in range(int(seconds // 10)):
        t.advance(10.0, 0.0, False, False)


# ------------------------------------------------------------------ mass balance
@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0.5, 60.0),  # dt_s
            st.floats(0.0, 200.0),  # draw L/min
            st.booleans(),
            st.booleans(),
        ),
        min_size=1,
        max_size=60,
    ),
    st.floats(0.0, 2.0),
)
def test_fertiliser_mass_balance_closes(
    steps: list[tuple[float, float, bool, bool]], c0: float
) -> None:
    t = tank(initial_fertiliser_g_l=c0, tank=TankSpec(capacity_l=800.0, refill_lpm=100.0))
    on_nut = on_acid = 0.0
    for dt, lpm, nut, acid in steps:
        t.advance(dt, lpm * dt / 60.0, nut, acid)
        on_nut += dt * nut
        on_acid += dt * acid
    lhs = t.initial_fertiliser_g + t.fertiliser_g
    rhs = t.fertiliser_in_tank_g + t.nutrient_supplied_g
    assert rhs == pytest.approx(lhs, rel=1e-9, abs=1e-9)
    assert t.fertiliser_g == pytest.approx(6.0 / 60.0 * on_nut * 250.0, rel=1e-9)
    assert t.acid_ml == pytest.approx(1.5 / 60.0 * on_acid * 1000.0, rel=1e-9)
    assert t.volume_l >= 0.0
    assert t.ph == pytest.approx(t.ph) and 0.0 <= t.ph <= 14.0


def test_water_balance_and_refill_limit() -> None:
    t = tank(tank=TankSpec(capacity_l=1000.0, refill_lpm=60.0))
    for _ in range(60):  # 10 min drawing 120 L/min with 60 L/min refill
        t.advance(10.0, 20.0, False, False)
    assert t.volume_l == pytest.approx(1000.0 - 600.0, rel=1e-9)
    assert t.drawn_l == pytest.approx(1200.0) and t.refilled_l == pytest.approx(600.0)
    for _ in range(60):  # the tank runs dry: the rest is shortfall
        t.advance(10.0, 20.0, False, False)
    # empty: the float valve's inflow (≤ 5 L per 5 s substep) passes straight through
    assert t.volume_l <= 5.0 + 1e-9
    assert t.refilled_l == pytest.approx(1200.0)
    assert t.drawn_l + t.volume_l == pytest.approx(t.refilled_l + 1000.0)
    assert t.drawn_l + t.shortfall_l == pytest.approx(2400.0)
    assert t.shortfall_l > 150.0


# ---------------------------------------------------------------------------- EC
def test_ec_is_source_plus_linear_in_concentration() -> None:
    t1, t2 = tank(), tank()
    t1.advance(10.0, 0.0, True, False)
    t2.advance(20.0, 0.0, True, False)
    mix(t1)
    mix(t2)
    rise1, rise2 = t1.ec_ms_cm - 0.25, t2.ec_ms_cm - 0.25
    assert t1.fertiliser_g == pytest.approx(250.0)  # 6 L/min × 10 s × 250 g/L
    assert rise1 == pytest.approx(1.2 * 250.0 / t1.volume_l, rel=1e-6)
    assert rise2 / rise1 == pytest.approx(2.0 * 5001.0 / 5002.0, rel=1e-6)


def test_ec_dilution_follows_stirred_tank_law() -> None:
    t = tank(initial_fertiliser_g_l=1.0)
    ec0 = t.ec_ms_cm
    for _ in range(360):  # 1 h at 100 L/min: 6000 L through a 5000 L tank
        t.advance(10.0, 100.0 / 6.0, False, False)
    expected = 0.25 + (ec0 - 0.25) * math.exp(-6000.0 / 5000.0)
    assert t.volume_l == pytest.approx(5000.0)
    assert t.ec_ms_cm == pytest.approx(expected, rel=2e-3)
    assert t.nutrient_supplied_g == pytest.approx(5000.0 * (1 - math.exp(-1.2)), rel=2e-3)


def test_mixing_lag_first_order() -> None:
    t = tank()
    t.advance(10.0, 0.0, True, False)
    final = 0.25 + 1.2 * 250.0 / 5001.0
    seen = []
    for _ in range(6):
        t.advance(10.0, 0.0, False, False)
        seen.append(t.ec_ms_cm)
    assert all(b > a for a, b in itertools.pairwise(seen))
    assert seen[-1] < final
    # after 60 s more than ~50 % and less than ~80 % of the pulse has mixed (τ = 60 s)
    assert 0.5 < (seen[-1] - 0.25) / (final - 0.25) < 0.8
    mix(t, 1200.0)
    assert t.ec_ms_cm == pytest.approx(final, rel=1e-6)


# ---------------------------------------------------------------------------- pH
def test_carbonate_ph_matches_henderson_hasselbalch_and_inverts() -> None:
    for alk_meq, ph in ((2.0, 7.5), (1.0, 6.5), (0.5, 6.0), (3.0, 7.0)):
        dic = dic_from_ph(alk_meq / 1000, ph)
        assert carbonate_ph(alk_meq / 1000, dic) == pytest.approx(ph, abs=1e-8)
        hh = PK1 + math.log10(alk_meq / 1000 / (dic - alk_meq / 1000))
        assert carbonate_ph(alk_meq / 1000, dic) == pytest.approx(hh, abs=0.02)
    assert carbonate_ph(-1e-3, 1e-3) == pytest.approx(3.0, abs=0.01)  # free strong acid
    with pytest.raises(ValueError, match="alkalinity_eq_l"):
        carbonate_ph(math.nan, 1e-3)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.05, 10.0), st.floats(4.5, 9.5))
def test_dic_from_ph_round_trip(alk_meq: float, ph: float) -> None:
    dic = dic_from_ph(alk_meq / 1000.0, ph)
    assert carbonate_ph(alk_meq / 1000.0, dic) == pytest.approx(ph, abs=1e-7)


def test_acid_lowers_ph_monotonically() -> None:
    t = tank(tank=CLOSED)
    phs = [t.ph]
    for _ in range(40):
        t.advance(10.0, 0.0, False, True)
        phs.append(t.ph)
    assert all(b <= a + 1e-12 for a, b in itertools.pairwise(phs))
    mix(t)
    assert t.ph < 6.5 < phs[0]


def acid_ml_to_reach(ph: float, alkalinity: float) -> float:
    t = tank(tank=CLOSED, water=SourceWater(alkalinity_mg_l_caco3=alkalinity))
    while True:
        t.advance(2.0, 0.0, False, True)
        mix(t, 600.0)
        if t.ph <= ph:
            return t.acid_ml


def test_more_alkalinity_needs_more_acid() -> None:
    need = [acid_ml_to_reach(6.0, alk) for alk in (50.0, 100.0, 200.0)]
    assert need[0] < need[1] < need[2]
    # closed system at pH 6 keeps α1 ≈ 0.31 of DIC as bicarbonate, so ≈ 0.69 × alkalinity
    # must go: 200 mg/L = 4 meq/L × 0.69 × 5000 L / 2 eq/L ≈ 6.9 L of stock
    assert need[2] == pytest.approx(6900.0, rel=0.05)
    assert need[2] / need[0] == pytest.approx(4.0, rel=0.1)


def test_fertiliser_is_slightly_acidic_and_neutral_stock_is_not() -> None:
    acidic, neutral = (
        tank(tank=CLOSED),
        tank(tank=CLOSED, nutrient=NutrientStock(acidity_meq_per_g=0.0)),
    )
    for t in (acidic, neutral):
        t.advance(60.0, 0.0, True, False)
        mix(t)
    assert acidic.ph < neutral.ph
    assert neutral.ph == pytest.approx(7.5, abs=1e-3)  # dilution by 6 L of stock only


def test_co2_exchange_raises_ph_of_acidified_water_closed_tank_does_not() -> None:
    open_t = tank(initial_acid_meq_l=1.3)
    closed = tank(initial_acid_meq_l=1.3, tank=CLOSED)
    ph0 = open_t.ph
    assert closed.ph == pytest.approx(ph0)
    for t in (open_t, closed):
        for _ in range(8):
            t.advance(3600.0, 0.0, False, False)
    assert closed.ph == pytest.approx(ph0, abs=1e-9)
    assert open_t.ph > ph0 + 0.3
    assert open_t.alkalinity_meq_l == pytest.approx(closed.alkalinity_meq_l)
    assert open_t.dic_mmol_l < closed.dic_mmol_l


# --------------------------------------------------------------------- probes
def test_probe_noise_is_seeded_and_centred() -> None:
    a, b = tank(seed=7, initial_fertiliser_g_l=1.0), tank(seed=7, initial_fertiliser_g_l=1.0)
    ra = [a.read_ec() for _ in range(400)]
    rb = [b.read_ec() for _ in range(400)]
    assert ra == rb
    values = np.array(ra, dtype=float)
    assert values.mean() == pytest.approx(a.ec_ms_cm, abs=0.003)
    assert 0.006 < values.std() < 0.014
    samples = a.samples("an_lac")
    assert set(samples) == {"agri/an_lac/tank_ec_ms_cm", "agri/an_lac/tank_ph"}
    assert all(s.quality is Quality.GOOD and s.source_time == 0.0 for s in samples.values())


def test_probe_faults() -> None:
    t = tank(initial_fertiliser_g_l=1.0, ph_probe=ProbeSpec(0.0, 0.0, 0.01, 0.0, 14.0))
    t.fail_probe("ec", "stuck")
    first = t.read_ec()
    t.advance(60.0, 0.0, True, False)
    mix(t, 300.0)
    assert t.read_ec() == first and t.ec_ms_cm > (first or 0) + 0.1
    t.fail_probe("ec", "dead")
    assert t.read_ec() is None
    s = t.samples("an_lac")["agri/an_lac/tank_ec_ms_cm"]
    assert s.quality is Quality.BAD and s.value is None
    t.fail_probe("ph", "drift")
    mix(t, 3600.0)
    assert (t.read_ph() or 0) - t.ph == pytest.approx(0.1, abs=0.006)  # 0.1 pH/h
    t.fail_probe("ph", "none")  # repaired and recalibrated
    assert t.read_ph() == pytest.approx(t.ph, abs=0.006)
    t.fail_probe("ec", "fouled")  # sluggish and low
    true0 = t.ec_ms_cm
    t.advance(60.0, 0.0, True, False)
    mix(t, 600.0)
    reading = t.read_ec()
    assert reading is not None and reading < true0
    assert t.ec_ms_cm - true0 > 0.3


def test_pump_faults_override_commands() -> None:
    t = tank()
    t.fail_pump("nutrient", "stuck_on")
    t.fail_pump("acid", "stuck_off")
    t.advance(60.0, 0.0, False, True)
    assert t.pump_running("nutrient") and not t.pump_running("acid")
    assert t.fertiliser_g == pytest.approx(1500.0) and t.acid_ml == 0.0
    t.fail_pump("nutrient", "none")
    t.advance(60.0, 0.0, False, False)
    assert t.fertiliser_g == pytest.approx(1500.0)


# ----------------------------------------------------------------- validation
@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((0.0, 0.0, False, False), "dt_s"),
        ((math.nan, 0.0, False, False), "dt_s"),
        ((10.0, -1.0, False, False), "draw_l"),
        ((10.0, math.inf, False, False), "draw_l"),
        ((10.0, 0.0, 1, False), "nutrient_pump_on"),
        ((10.0, 0.0, False, "yes"), "acid_pump_on"),
    ],
)
def test_advance_rejects_bad_arguments(args: tuple[object, ...], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        tank().advance(*args)  # type: ignore[arg-type]


def test_constructor_and_fault_validation_names_the_argument() -> None:
    with pytest.raises(ValueError, match="capacity_l"):
        TankSpec(capacity_l=0.0)
    with pytest.raises(ValueError, match="alkalinity_mg_l_caco3"):
        SourceWater(alkalinity_mg_l_caco3=-5.0)
    with pytest.raises(ValueError, match="ec_per_g_l"):
        NutrientStock(ec_per_g_l=math.nan)
    with pytest.raises(ValueError, match="normality_eq_l"):
        AcidStock(normality_eq_l=0.0)
    with pytest.raises(ValueError, match="initial_fertiliser_g_l"):
        tank(initial_fertiliser_g_l=-1.0)
    with pytest.raises(ValueError, match="rng"):
        FertigationTank(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="probe"):
        tank().fail_probe("orp", "dead")
    with pytest.raises(ValueError, match="mode"):
        tank().fail_probe("ec", "melted")
    with pytest.raises(ValueError, match="pump"):
        tank().fail_pump("base", "stuck_on")
