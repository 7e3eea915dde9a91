"""Road photometry (EN 13201-3 grids, illuminance, luminance, TI) and the EN 13201-2 classes.

The reference for illuminance is the point-source law ``E = I(C, γ) cos³γ / h²``
with C and γ from plain trigonometry, asked to agree within 1 % (the issue's
tolerance; the code agrees to rounding).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.lighting.ies import Photometry, generic_road_luminaire
from sim.lighting.photometry import (
    R3_Q0,
    CalculationField,
    DiffuseSurface,
    Lane,
    Luminaire,
    Observer,
    RoadQuality,
    RTable,
    build_road_matrices,
    contribution_matrix,
    illuminance_grid,
    longitudinal_count,
    luminaire_angles,
    luminance_grid,
    luminance_matrix,
    observers,
    read_r_table_csv,
    threshold_observers,
    veiling_matrix,
)
from sim.lighting.road_classes import CLASSES, lighting_class, lowest_dim_meeting, meets

generic = functools.cache(generic_road_luminaire)
GAMMA = np.arange(0.0, 180.0 + 1e-9, 2.5)


def isotropic(intensity_cd: float = 1000.0) -> Photometry:
    return Photometry(GAMMA, np.array([0.0]), np.full((1, len(GAMMA)), intensity_cd))


def ring(peak_gamma_deg: float, width_deg: float = 4.0) -> Photometry:
    """Axially symmetric, sharply peaked at ``peak_gamma_deg``."""
    gamma = np.arange(0.0, 180.0 + 1e-9, 0.5)
    values = 100.0 + 1e4 * np.exp(-0.5 * ((gamma - peak_gamma_deg) / width_deg) ** 2)
    return Photometry(gamma, np.array([0.0]), values[None, :])


def road_points(n: int = 400, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.column_stack([rng.uniform(-60.0, 60.0, n), rng.uniform(-20.0, 30.0, n)])


TWO_LANES = CalculationField(0.0, 35.0, (Lane(0.0, 3.5), Lane(3.5, 3.5)))


# --------------------------------------------------------------------------- illuminance


def test_isotropic_source_follows_the_inverse_square_cosine_law() -> None:
    h = 9.0
    lum = Luminaire(3.0, -1.0, h, isotropic(1500.0))
    pts = road_points()
    d = np.sqrt((pts[:, 0] - 3.0) ** 2 + (pts[:, 1] + 1.0) ** 2 + h**2)
    expected = 1500.0 * (h / d) ** 3 / h**2
    np.testing.assert_allclose(contribution_matrix([lum], pts)[:, 0], expected, rtol=0.01)


def test_generic_luminaire_follows_the_point_source_law() -> None:
    h, x0, y0 = 10.0, 5.0, -1.5
    photometry = generic()
    lum = Luminaire(x0, y0, h, photometry)
    pts = road_points(seed=1)
    dx, dy = pts[:, 0] - x0, pts[:, 1] - y0
    gamma = np.degrees(np.arctan(np.hypot(dx, dy) / h))
    c = np.degrees(np.arctan2(dy, dx))
    expected = photometry.intensity_cd(c, gamma) * np.cos(np.radians(gamma)) ** 3 / h**2
    got = contribution_matrix([lum], pts)[:, 0]
    np.testing.assert_allclose(got, expected, rtol=0.01, atol=1e-9)
    assert got.max() > 10.0  # the comparison is not between zeros


def test_flux_scale_and_several_luminaires_add() -> None:
    pts = road_points(50)
    a = Luminaire(0.0, 0.0, 8.0, generic())
    b = Luminaire(30.0, 7.0, 10.0, generic(), azimuth_deg=180.0)
    both = contribution_matrix([a, b], pts)
    half_a = contribution_matrix([Luminaire(0.0, 0.0, 8.0, generic(), flux_scale=0.5)], pts)
    np.testing.assert_allclose(half_a[:, 0], 0.5 * both[:, 0])
    assert both.shape == (50, 2)


@settings(max_examples=40, deadline=None)
@given(azimuth=st.floats(-720.0, 720.0), tilt=st.floats(-20.0, 20.0))
def test_a_full_turn_changes_nothing(azimuth: float, tilt: float) -> None:
    pts = road_points(60, seed=2)
    one = Luminaire(0.0, 0.0, 10.0, generic(), azimuth_deg=azimuth, tilt_deg=tilt)
    turned = Luminaire(0.0, 0.0, 10.0, generic(), azimuth_deg=azimuth + 360.0, tilt_deg=tilt)
    np.testing.assert_allclose(
        contribution_matrix([one], pts), contribution_matrix([turned], pts), rtol=1e-9, atol=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(azimuth=st.floats(0.0, 360.0), tilt=st.floats(-15.0, 15.0))
def test_rotating_the_luminaire_rotates_its_field(azimuth: float, tilt: float) -> None:
    pts = road_points(60, seed=3)
    psi = math.radians(azimuth)
    rotated_pts = np.column_stack(
        [
            math.cos(psi) * pts[:, 0] - math.sin(psi) * pts[:, 1],
            math.sin(psi) * pts[:, 0] + math.cos(psi) * pts[:, 1],
        ]
    )
    base = Luminaire(0.0, 0.0, 10.0, generic(), tilt_deg=tilt)
    rotated = Luminaire(0.0, 0.0, 10.0, generic(), azimuth_deg=azimuth, tilt_deg=tilt)
    np.testing.assert_allclose(
        contribution_matrix([rotated], rotated_pts),
        contribution_matrix([base], pts),
        rtol=1e-7,
        atol=1e-9,
    )


def peak_gamma_in_plane(lum: Luminaire, plane_azimuth_deg: float) -> float:
    """Road-frame gamma (deg) of the brightest direction in a vertical half-plane."""
    gamma = np.arange(0.0, 89.0, 0.05)
    a = math.radians(plane_azimuth_deg)
    targets = lum.position + np.column_stack(
        [
            np.sin(np.radians(gamma)) * math.cos(a),
            np.sin(np.radians(gamma)) * math.sin(a),
            -np.cos(np.radians(gamma)),
        ]
    )
    c, g, _ = luminaire_angles(lum, targets)
    return float(gamma[np.argmax(lum.photometry.intensity_cd(c, g))])


@pytest.mark.parametrize("tilt", [5.0, 10.0, 15.0])
def test_tilt_lifts_the_c90_side(tilt: float) -> None:
    flat = Luminaire(0.0, 0.0, 10.0, ring(40.0))
    tilted = Luminaire(0.0, 0.0, 10.0, ring(40.0), tilt_deg=tilt)
    assert peak_gamma_in_plane(flat, 90.0) == pytest.approx(40.0, abs=0.1)
    assert peak_gamma_in_plane(tilted, 90.0) == pytest.approx(40.0 + tilt, abs=0.1)  # towards C 90
    assert peak_gamma_in_plane(tilted, 270.0) == pytest.approx(40.0 - tilt, abs=0.1)
    assert peak_gamma_in_plane(tilted, 0.0) < 40.0  # along C 0 the ring leans towards C 90
    # turned to azimuth 90 the C 90 side faces road -x
    turned = Luminaire(0.0, 0.0, 10.0, ring(40.0), azimuth_deg=90.0, tilt_deg=tilt)
    assert peak_gamma_in_plane(turned, 180.0) == pytest.approx(40.0 + tilt, abs=0.1)


def test_tilt_moves_the_light_across_the_road() -> None:
    pts = np.column_stack([np.zeros(81), np.linspace(-20.0, 20.0, 81)])
    flat = contribution_matrix([Luminaire(0.0, 0.0, 10.0, generic())], pts)[:, 0]
    tilted = contribution_matrix([Luminaire(0.0, 0.0, 10.0, generic(), tilt_deg=15.0)], pts)[:, 0]
    centroid = lambda e: float(np.sum(e * pts[:, 1]) / np.sum(e))  # noqa: E731
    assert centroid(tilted) > centroid(flat) + 0.5
    house_side = 10  # y = -15 m
    assert tilted[house_side] < 0.8 * flat[house_side]


# --------------------------------------------------------------------------- grids


def test_longitudinal_counts() -> None:
    assert [longitudinal_count(s) for s in (12.0, 30.0, 30.5, 35.0, 36.0, 50.0)] == [
        10,
        10,
        11,
        12,
        12,
        17,
    ]


def test_luminance_grid_of_the_documented_example() -> None:
    """S = 35 m, two 3.5 m lanes: N = 12 (D = 2.917 m, first at D/2), 3 per lane at centre ± W/3."""
    grid = luminance_grid(TWO_LANES)
    assert grid.points.shape == (72, 2)
    assert grid.n_along == 12
    xs = np.unique(grid.points[:, 0])
    np.testing.assert_allclose(xs, 35.0 / 12.0 * (np.arange(12) + 0.5))
    ys = np.unique(grid.points[:, 1])
    np.testing.assert_allclose(
        ys, [3.5 / 6, 1.75, 3.5 * 5 / 6, 3.5 + 3.5 / 6, 5.25, 3.5 + 3.5 * 5 / 6]
    )
    assert np.count_nonzero(grid.centre_line) == 24
    np.testing.assert_allclose(np.unique(grid.points[grid.centre_line, 1]), [1.75, 5.25])
    assert np.array_equal(np.bincount(grid.lane), [36, 36])


def test_illuminance_grid_of_the_documented_example() -> None:
    grid = illuminance_grid(TWO_LANES)
    assert grid.points.shape == (60, 2)  # 12 along, ceil(7 / 1.5) = 5 across
    np.testing.assert_allclose(np.unique(grid.points[:, 1]), [0.7, 2.1, 3.5, 4.9, 6.3])
    narrow = illuminance_grid(CalculationField(0.0, 20.0, (Lane(0.0, 2.0),)))
    assert np.unique(narrow.points[:, 1]).size == 3  # at least 3 across


def test_observers_stand_60_m_before_the_field_in_each_lane() -> None:
    field = CalculationField(10.0, 35.0, (Lane(0.0, 3.5, 1), Lane(3.5, 3.5, -1)))
    first, second = observers(field)
    assert (first.x_m, first.y_m, first.z_m, first.direction) == (-50.0, 1.75, 1.5, 1)
    assert (second.x_m, second.y_m, second.direction) == (105.0, 5.25, -1)
    ti = threshold_observers(field, mounting_height_m=10.0)
    assert len(ti) == 24
    back = 8.5 / math.tan(math.radians(20.0))
    assert ti[0].x_m == pytest.approx(10.0 - back)
    assert ti[1].x_m - ti[0].x_m == pytest.approx(35.0 / 12)
    assert ti[12].x_m == pytest.approx(45.0 + back)


# --------------------------------------------------------------------------- luminance


def test_diffuse_luminance_is_q0_times_illuminance() -> None:
    lums = [Luminaire(x, -1.0, 10.0, generic(), tilt_deg=5.0) for x in (-35.0, 0.0, 35.0, 70.0)]
    pts = luminance_grid(TWO_LANES).points
    eye = observers(TWO_LANES)[0]
    np.testing.assert_allclose(
        luminance_matrix(lums, pts, eye, DiffuseSurface()),
        R3_Q0 * contribution_matrix(lums, pts),
        rtol=1e-9,
    )


def test_r_table_angle_beta_follows_the_observer() -> None:
    """r = 1 + β/180 (independent of tan γ): β is 0 behind the point, 180 in front, 90 aside."""
    beta = np.array([0.0, 90.0, 180.0])
    table = RTable(
        "beta-only", 0.07, beta, np.array([0.0, 12.0]), np.tile(1.0 + beta / 180.0, (2, 1))
    )
    eye = Observer(-60.0, 0.0, 1.5, 1, 0)
    point = np.array([[0.0, 0.0]])
    h = 10.0
    lum = isotropic(1000.0)
    beyond = luminance_matrix([Luminaire(10.0, 0.0, h, lum)], point, eye, table)[0, 0]
    before = luminance_matrix([Luminaire(-10.0, 0.0, h, lum)], point, eye, table)[0, 0]
    aside = luminance_matrix([Luminaire(0.0, 10.0, h, lum)], point, eye, table)[0, 0]
    assert beyond == pytest.approx(1.0 * 1000.0 / h**2)
    assert before == pytest.approx(2.0 * 1000.0 / h**2)
    assert aside == pytest.approx(1.5 * 1000.0 / h**2)
    far = luminance_matrix([Luminaire(0.0, 130.0, h, lum)], point, eye, table)[0, 0]
    assert far == 0.0  # tan γ = 13 is beyond the table


def test_r_table_csv_is_read_in_units_of_1e_4(tmp_path) -> None:
    path = tmp_path / "toy.csv"
    path.write_text("# toy table, values x 10^4\ntan_gamma,0,90,180\n0,300,300,300\n2,400,100,50\n")
    table = read_r_table_csv(path, q0=0.07)
    assert (table.name, table.q0) == ("toy", 0.07)
    assert table.r(np.array([90.0]), np.array([1.0]))[0] == pytest.approx(0.5 * (300 + 100) * 1e-4)
    assert table.r(np.array([270.0]), np.array([2.0]))[0] == pytest.approx(100e-4)  # β folds to 90
    assert table.r(np.array([0.0]), np.array([2.5]))[0] == 0.0


# --------------------------------------------------------------------------- veiling luminance


def test_veiling_luminance_of_one_luminaire_by_hand() -> None:
    eye = Observer(0.0, 1.75, 1.5, 1, 0)
    lum = Luminaire(40.0, -1.0, 10.0, isotropic(2000.0))
    v = lum.position - eye.position
    sight = np.array([math.cos(math.radians(1.0)), 0.0, -math.sin(math.radians(1.0))])
    d = float(np.linalg.norm(v))
    theta = math.degrees(math.acos(float(v @ sight) / d))
    expected = 10.0 * 2000.0 * math.cos(math.radians(theta)) / d**2 / theta**2
    assert veiling_matrix([lum], [eye])[0, 0] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("x", "why"),
    [(-40.0, "behind the eye"), (15.0, "above the 20° roof cut-off"), (520.0, "beyond 500 m")],
)
def test_luminaires_that_do_not_glare(x: float, why: str) -> None:
    eye = Observer(0.0, 1.75, 1.5, 1, 0)
    lum = Luminaire(x, -1.0, 10.0, isotropic(2000.0))
    assert veiling_matrix([lum], [eye])[0, 0] == 0.0, why
    looking_back = Observer(0.0, 1.75, 1.5, -1, 0)
    if x < 0:
        assert veiling_matrix([lum], [looking_back])[0, 0] > 0.0


# --------------------------------------------------------------------------- quality and linearity


@functools.cache
def single_sided_row() -> tuple[Luminaire, ...]:
    """12 klm generic luminaires, 10 m high, 35 m apart, 1 m behind the kerb, tilted 5°."""
    return tuple(
        Luminaire(x, -1.0, 10.0, generic(), tilt_deg=5.0, flux_scale=0.8, name=f"E{k:02d}")
        for k, x in enumerate(np.arange(-12 * 35.0, 16 * 35.0, 35.0))
    )


@functools.cache
def matrices():
    return build_road_matrices(single_sided_row(), TWO_LANES)


def test_field_is_linear_in_flux() -> None:
    m = matrices()
    full, half = m.quality(1.0), m.quality(0.5)
    assert half.e_avg_lx == pytest.approx(0.5 * full.e_avg_lx)
    assert half.e_min_lx == pytest.approx(0.5 * full.e_min_lx)
    assert half.l_avg_cd_m2 == pytest.approx(0.5 * full.l_avg_cd_m2)
    assert (half.u0, half.ul) == pytest.approx((full.u0, full.ul))
    assert half.ti_pct == pytest.approx(full.ti_pct * 0.5**0.2)
    f = np.random.default_rng(4).uniform(0.0, 1.0, len(m.luminaires))
    e = contribution_matrix(m.luminaires, m.illuminance_grid.points)
    np.testing.assert_allclose(m.illuminance @ f, e @ f)
    np.testing.assert_allclose(m.illuminance @ np.full(len(f), 0.5), 0.5 * e.sum(axis=1))


def test_quality_figures_match_their_definitions() -> None:
    m = matrices()
    q = m.quality(1.0)
    e = contribution_matrix(m.luminaires, m.illuminance_grid.points).sum(axis=1)
    assert q.e_avg_lx == pytest.approx(e.mean())
    assert q.e_min_lx == pytest.approx(e.min())
    lum = R3_Q0 * contribution_matrix(m.luminaires, m.luminance_grid.points).sum(axis=1)
    assert q.l_avg_cd_m2 == pytest.approx(lum.mean())
    assert q.u0 == pytest.approx(lum.min() / lum.mean())
    lanes = m.luminance_grid.lane
    centre = m.luminance_grid.centre_line
    ul = min(lum[centre & (lanes == k)].min() / lum[centre & (lanes == k)].max() for k in (0, 1))
    assert q.ul == pytest.approx(ul)
    assert 0 < q.ti_pct < 30
    one_off = np.ones(len(m.luminaires))
    one_off[12] = 0.0  # the field's first luminaire fails
    assert m.quality(one_off).e_min_lx < 0.6 * q.e_min_lx


def test_dark_road() -> None:
    q = matrices().quality(0.0)
    assert (q.l_avg_cd_m2, q.u0, q.ul, q.ti_pct, q.e_avg_lx, q.e_u0) == (
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
        0.0,
    )


# --------------------------------------------------------------------------- classes


def test_class_table_holds_en_13201_2() -> None:
    m = {n: (c.l_avg_cd_m2, c.u0, c.ul, c.ti_max_pct) for n, c in CLASSES.items() if c.kind == "M"}
    assert m == {
        "M1": (2.0, 0.40, 0.70, 10.0),
        "M2": (1.5, 0.40, 0.70, 10.0),
        "M3": (1.0, 0.40, 0.60, 15.0),
        "M4": (0.75, 0.40, 0.60, 15.0),
        "M5": (0.5, 0.35, 0.40, 15.0),
        "M6": (0.3, 0.35, 0.40, 20.0),
    }
    c = {n: (k.e_avg_lx, k.e_u0) for n, k in CLASSES.items() if k.kind == "C"}
    assert c == {
        "C0": (50, 0.4),
        "C1": (30, 0.4),
        "C2": (20, 0.4),
        "C3": (15, 0.4),
        "C4": (10, 0.4),
        "C5": (7.5, 0.4),
    }
    p = {n: (k.e_avg_lx, k.e_min_lx) for n, k in CLASSES.items() if k.kind == "P"}
    assert p == {
        "P1": (15, 3),
        "P2": (10, 2),
        "P3": (7.5, 1.5),
        "P4": (5, 1),
        "P5": (3, 0.6),
        "P6": (2, 0.4),
    }
    assert lighting_class("m3") is CLASSES["M3"]
    with pytest.raises(KeyError, match="known: M1"):
        lighting_class("M7")


def quality(**overrides: float) -> RoadQuality:
    base = dict(l_avg_cd_m2=1.2, u0=0.5, ul=0.7, ti_pct=9.0, e_avg_lx=20.0, e_min_lx=9.0, e_u0=0.45)
    base.update(overrides)
    return RoadQuality(**base)


def test_meets_lists_each_failing_criterion() -> None:
    assert meets("M3", quality()) == (True, [])
    ok, failing = meets("M3", quality(l_avg_cd_m2=0.9, ul=0.5, ti_pct=16.0))
    assert not ok
    assert [f.split(":")[0] for f in failing] == ["l_avg_cd_m2", "ul", "ti_pct"]
    assert meets("M2", quality())[1][0].startswith("l_avg_cd_m2")
    assert meets("C2", quality()) == (True, [])
    assert meets("C2", quality(e_u0=0.3))[1][0].startswith("e_u0")
    assert meets("P1", quality()) == (True, [])
    assert meets("P1", quality(e_avg_lx=14.0))[1] == ["e_avg_lx: 14 lx < 15 required"]
    assert meets("P2", quality(e_min_lx=1.9))[1] == ["e_min_lx: 1.9 lx < 2 required"]
    assert meets("M6", quality(l_avg_cd_m2=float("nan")))[0] is False


@pytest.mark.parametrize("name", ["M5", "M6", "C4", "C5", "P2", "P3"])
def test_lowest_dim_meeting_is_the_lowest_level_that_meets(name: str) -> None:
    m = matrices()
    tolerance = 1e-3
    level = lowest_dim_meeting(name, m.quality, min_dim=0.05, tolerance=tolerance)
    assert level is not None and 0.05 < level < 1.0
    assert meets(name, m.quality(level))[0]
    assert not meets(name, m.quality(level - tolerance))[0]


def test_lowest_dim_meeting_when_nothing_or_everything_meets() -> None:
    m = matrices()
    assert lowest_dim_meeting("M1", m.quality) is None  # 0.9 cd/m² cannot reach 2
    assert lowest_dim_meeting("M4", m.quality) is None  # Ul 0.59 < 0.60 at any level
    assert lowest_dim_meeting("P6", m.quality, min_dim=0.2) == 0.2  # met at the driver's floor


def test_lowest_dim_meeting_handles_ti_honestly() -> None:
    """TI ∝ d^0.2 improves with dimming: failing TI at full power is no reason to give up."""

    def evaluate(ti_full: float):
        return lambda d: quality(l_avg_cd_m2=2.0 * d, ti_pct=ti_full * d**0.2)

    assert not meets("M3", evaluate(16.0)(1.0))[0]  # glare at 100 %
    level = lowest_dim_meeting("M3", evaluate(16.0), tolerance=1e-4)
    assert level == pytest.approx(0.5, abs=1e-4)  # L_avg = 1.0, TI = 13.9 %
    assert lowest_dim_meeting("M3", evaluate(20.0)) is None  # TI 17.4 % already at L_avg = 1.0
