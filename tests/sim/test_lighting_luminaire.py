"""Luminaire models: driver curve, dimming clamps, depreciation, HPS on/off."""

from __future__ import annotations

import numpy as np
import pytest

from sim.lighting.luminaire import LuminaireError, hps_250w, led_100w, luminaire_by_name


def test_led_power_follows_the_driver_curve():
    m = led_100w()
    levels = np.array([0.1, 0.25, 0.5, 0.75, 1.0])
    p = m.power_w(m.clamp_level(levels))
    np.testing.assert_allclose(p, m.rated_power_w * (m.power_a + m.power_b * levels))
    assert m.power_w(1.0) == pytest.approx(m.rated_power_w)
    assert m.power_w(0.0) == pytest.approx(m.standby_w)
    assert 0.3 <= m.standby_w <= 1.0
    assert np.all(np.diff(p) > 0)


def test_min_dim_clamp_and_off():
    m = led_100w(min_level=0.15)
    np.testing.assert_allclose(
        m.clamp_level([0.0, 0.01, 0.1, 0.15, 0.4, 1.0]), [0, 0.15, 0.15, 0.15, 0.4, 1.0]
    )
    with pytest.raises(LuminaireError, match=r"outside 0..1"):
        m.clamp_level([0.5, 1.2])
    with pytest.raises(LuminaireError):
        m.clamp_level(float("nan"))


def test_depreciation_is_monotone_and_hits_the_rated_point():
    m = led_100w()
    h = np.linspace(0, 200_000, 50)
    lm = m.maintenance(h)
    assert lm[0] == 1.0
    assert np.all(np.diff(lm) < 0)
    assert m.maintenance(m.maintenance_hours) == pytest.approx(m.maintenance_fraction)
    assert m.hours_to(0.9) == pytest.approx(100_000.0)
    assert m.hours_to(0.7) > m.hours_to(0.8) > m.hours_to(0.9)
    assert np.all(np.diff(m.light_fraction(1.0, h)) < 0)
    hps = hps_250w()
    assert hps.maintenance(16_000) == pytest.approx(0.9)


def test_constant_light_output_keeps_light_and_raises_power():
    m = led_100w(clo=True)
    plain = led_100w()
    h = 60_000.0
    assert m.light_fraction(0.5, h) == pytest.approx(0.5)
    assert plain.light_fraction(0.5, h) < 0.5
    assert m.power_w(0.5, h) > plain.power_w(0.5, h)
    assert m.light_fraction(1.0, h) == pytest.approx(plain.light_fraction(1.0, h))  # capped


def test_hps_ignores_dimming():
    m = luminaire_by_name("hps_fixed")
    assert not m.dimmable
    np.testing.assert_array_equal(m.clamp_level([0.0, 0.1, 0.5, 1.0]), [0, 1, 1, 1])
    np.testing.assert_allclose(m.power_w(m.clamp_level([0.2, 0.9])), [m.rated_power_w] * 2)
    assert m.power_w(0.0) == m.standby_w


def test_documented_numbers():
    hps, led = hps_250w(), led_100w()
    assert 275 <= hps.rated_power_w <= 280
    assert 90 <= led.rated_power_w <= 120
    assert 130 <= led.efficacy_lm_w <= 150
    assert 0.10 <= led.min_level <= 0.20
    assert hps_250w(delivered_efficacy_lm_w=10.0).efficacy_lm_w == pytest.approx(10.0)
    assert led.source and hps.source


def test_bad_model_parameters_are_rejected():
    with pytest.raises(LuminaireError, match=r"power_a \+ power_b"):
        led_100w().with_(power_a=0.2)
    with pytest.raises(LuminaireError, match="unknown luminaire"):
        luminaire_by_name("sodium")
