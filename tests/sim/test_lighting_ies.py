"""IES LM-63 reading, writing, symmetry unfolding, flux integration and the shipped generic file."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.lighting.ies import (
    GENERIC_FLUX_LM,
    GENERIC_ROAD_LED_FILE,
    IesError,
    Photometry,
    generic_road_luminaire,
    ies_text,
    parse_ies,
    read_ies,
    write_ies,
)

STEP = 5.0
GAMMA = np.arange(0.0, 180.0 + 1e-9, STEP)


def profile(gamma: np.ndarray) -> np.ndarray:
    """An arbitrary smooth, positive vertical profile (cd)."""
    return 1000.0 + 400.0 * np.cos(np.radians(gamma)) + 300.0 * np.sin(np.radians(2 * gamma)) ** 2


# a distribution with each symmetry, as a function of (C, gamma), and the C range it needs
SYMMETRIC = {
    "axial": (lambda c, g: profile(g) + 0 * c, np.array([0.0])),
    "quadrant": (
        lambda c, g: profile(g) * (2.0 + np.cos(np.radians(2 * c))),
        np.arange(0.0, 90.0 + 1e-9, STEP),
    ),
    "bilateral": (
        lambda c, g: profile(g) * (2.0 + np.cos(np.radians(c))),
        np.arange(0.0, 180.0 + 1e-9, STEP),
    ),
    "bilateral_90_270": (
        lambda c, g: profile(g) * (2.0 + np.sin(np.radians(c))),
        np.arange(90.0, 270.0 + 1e-9, STEP),
    ),
}
FULL_C = np.arange(0.0, 360.0 + 1e-9, STEP)
generic = functools.cache(generic_road_luminaire)


def tabulate(function, c_angles: np.ndarray) -> Photometry:
    candela = function(c_angles[:, None], GAMMA[None, :])
    return Photometry(GAMMA, c_angles, candela, lumens_per_lamp=1000.0)


@pytest.mark.parametrize("symmetry", sorted(SYMMETRIC))
def test_each_symmetry_unfolds_like_the_full_table(symmetry: str) -> None:
    function, c_angles = SYMMETRIC[symmetry]
    partial = parse_ies(ies_text(tabulate(function, c_angles)))
    full = tabulate(function, FULL_C)
    assert partial.symmetry == symmetry
    assert full.symmetry == "full"
    rng = np.random.default_rng(5)
    c = rng.uniform(-720.0, 720.0, 2000)
    g = rng.uniform(0.0, 180.0, 2000)
    np.testing.assert_allclose(partial.intensity_cd(c, g), full.intensity_cd(c, g), rtol=1e-12)
    # at the nodes the interpolation returns the function itself, in every quadrant
    cc, gg = np.meshgrid(FULL_C, GAMMA, indexing="ij")
    np.testing.assert_allclose(partial.intensity_cd(cc, gg), function(cc, gg), rtol=1e-12)


def test_full_table_without_360_wraps_to_0() -> None:
    function = lambda c, g: profile(g) * (2.0 + np.cos(np.radians(c)) + 0.5 * np.sin(np.radians(c)))  # noqa: E731
    open_table = tabulate(function, np.arange(0.0, 355.0 + 1e-9, STEP))
    closed = tabulate(function, FULL_C)
    c = np.linspace(350.0, 360.0, 21)
    np.testing.assert_allclose(open_table.intensity_cd(c, 45.0), closed.intensity_cd(c, 45.0))


@settings(max_examples=60, deadline=None)
@given(
    c=st.floats(-1000.0, 1000.0),
    g=st.floats(0.0, 90.0),
    turns=st.integers(-3, 3),
)
def test_intensity_is_periodic_in_c(c: float, g: float, turns: int) -> None:
    p = generic()
    assert p.intensity_cd(c, g) == pytest.approx(
        p.intensity_cd(c + 360.0 * turns, g), rel=1e-9, abs=1e-9
    )


def test_zero_above_the_last_gamma() -> None:
    p = generic()
    assert p.vertical_angles[-1] == 90.0
    assert np.all(p.intensity_cd(np.arange(0.0, 360.0, 7.0), 90.0) == 0.0)
    assert np.all(p.intensity_cd(45.0, np.array([90.5, 120.0, 180.0])) == 0.0)
    assert p.intensity_cd(15.0, 67.5) > 0


def test_interpolation_is_bilinear_between_nodes() -> None:
    p = Photometry(
        np.array([0.0, 90.0]), np.array([0.0, 90.0]), np.array([[100.0, 300.0], [500.0, 700.0]])
    )
    # C 45 is half-way in C, gamma 30 a third of the way in gamma
    expected = 0.5 * (100 + 200 / 3) + 0.5 * (500 + 200 / 3)
    assert p.intensity_cd(45.0, 30.0) == pytest.approx(expected)


def test_flux_of_isotropic_and_lambertian_sources() -> None:
    isotropic = Photometry(GAMMA, np.array([0.0]), np.full((1, len(GAMMA)), 100.0))
    assert isotropic.total_flux_lm() == pytest.approx(4 * math.pi * 100.0, rel=1e-4)
    gamma = np.arange(0.0, 90.0 + 1e-9, 1.0)
    lambertian = Photometry(
        gamma, np.array([0.0, 90.0]), np.tile(250.0 * np.cos(np.radians(gamma)), (2, 1))
    )
    # bilinear on a 1° grid under-reads cos by < 0.01 %
    assert lambertian.total_flux_lm() == pytest.approx(math.pi * 250.0, rel=1e-3)


def test_generic_flux_matches_its_rating() -> None:
    p = read_ies(GENERIC_ROAD_LED_FILE)
    assert p.rated_lumens == pytest.approx(GENERIC_FLUX_LM)
    assert p.total_flux_lm() == pytest.approx(GENERIC_FLUX_LM, rel=0.02)


def test_generic_shape_is_a_cut_off_road_distribution() -> None:
    p = generic()
    k_c, k_g = np.unravel_index(np.argmax(p.candela), p.candela.shape)
    assert 62.5 <= p.vertical_angles[k_g] <= 72.5
    c_peak = p.horizontal_angles[k_c]
    assert c_peak <= 30.0 or 150.0 <= c_peak <= 180.0  # along the road, street side
    assert np.ptp(p.candela[:, 0]) == 0.0  # one nadir
    assert p.intensity_cd(90.0, 60.0) > 2.0 * p.intensity_cd(270.0, 60.0)  # street over house side
    # IES "cutoff": at most 10 % of the lamp lumens (in cd) at 80°, nothing at 90°
    assert p.intensity_cd(np.arange(0.0, 360.0, 1.0), 80.0).max() <= 0.1 * GENERIC_FLUX_LM
    assert np.all(p.candela[:, -1] == 0.0)


def test_shipped_file_is_what_the_function_makes(tmp_path) -> None:
    made = write_ies(generic_road_luminaire(), tmp_path / "made.ies")
    assert made.read_bytes() == GENERIC_ROAD_LED_FILE.read_bytes()


def test_write_read_round_trip(tmp_path) -> None:
    rng = np.random.default_rng(1)
    v = np.array([0.0, 10.0, 22.5, 45.0, 60.0, 75.0, 90.0, 135.0, 180.0])
    h = np.array([0.0, 30.0, 60.0, 90.0, 150.0, 180.0, 270.0, 355.0])
    original = Photometry(
        v,
        h,
        rng.uniform(0.0, 5000.0, (len(h), len(v))),
        lamp_count=2,
        lumens_per_lamp=3300.5,
        multiplier=0.85,
        ballast_factor=0.95,
        ballast_lamp_factor=1.0,
        input_watts=57.3,
        units_type=1,
        width=-0.5,
        length=1.25,
        height=0.1,
        keywords={"TEST": "T-1", "MANUFAC": "ACME", "OTHER": "line one\nline two"},
    )
    back = read_ies(write_ies(original, tmp_path / "x.ies"))
    for name in ("vertical_angles", "horizontal_angles", "candela"):
        np.testing.assert_array_equal(getattr(back, name), getattr(original, name))
    for name in ("lamp_count", "lumens_per_lamp", "multiplier", "ballast_factor", "input_watts"):
        assert getattr(back, name) == getattr(original, name)
    assert (back.units_type, back.width, back.length, back.height) == (1, -0.5, 1.25, 0.1)
    assert back.keywords == original.keywords
    assert back.version == original.version
    assert ies_text(back) == ies_text(original)
    # the intensity applies the multiplier and the ballast factor
    assert back.intensity_cd(0.0, 0.0) == pytest.approx(original.candela[0, 0] * 0.85 * 0.95)


LM63_1995 = """IESNA:LM-63-1995
[TEST] 12345
[MANUFAC] Somebody
[OTHER] first part
[MORE] second part
TILT=INCLUDE
1
3
0, 45, 90
1.0 0.9 0.8
1 10000 1.0 3 1 1 2 0.1 0.2 0.0
1.0 0.9 100
0 45 90
0
800 600 100
"""


def test_reads_1995_with_tilt_include_more_and_commas() -> None:
    p = parse_ies(LM63_1995)
    assert p.version == "IESNA:LM-63-1995"
    assert p.keywords["OTHER"] == "first part\nsecond part"
    assert p.tilt is not None and p.tilt.angles_deg == (0.0, 45.0, 90.0)
    assert p.tilt.factors == (1.0, 0.9, 0.8)
    assert p.symmetry == "axial"
    # LM-63-1995: the third ballast-line number is the ballast-lamp factor, applied
    assert p.intensity_cd(123.0, 45.0) == pytest.approx(600 * 0.9)
    assert parse_ies(ies_text(p)).tilt == p.tilt


def test_reads_2019_and_1986_headers() -> None:
    body = "TILT=NONE\n1 -1 1 3 1 1 2 0 0 0\n1 1.00001 40\n0 45 90\n0\n900 500 0\n"
    p2019 = parse_ies(
        "IES:LM-63-2019\n[TEST] a\n[TESTLAB] b\n[ISSUEDATE] 2020\n[MANUFAC] c\n" + body
    )
    assert p2019.version == "IES:LM-63-2019"
    assert p2019.rated_lumens is None  # absolute photometry
    assert p2019.intensity_cd(0.0, 45.0) == pytest.approx(500.0)  # 1.00001 is not a factor
    p1986 = parse_ies("Old lamp report\nsome text\n" + body)
    assert p1986.version == "LM-63-1986"
    assert p1986.keywords["_TEXT"] == "Old lamp report\nsome text"


GOOD_BODY = [
    "TILT=NONE",  # line 3
    "1 1000 1 3 2 1 2 0 0 0",  # 4
    "1 1 50",  # 5
    "0 45 90",  # 6
    "0 180",  # 7
    "500 400 0",  # 8
    "500 300 0",  # 9
]


def broken(line: int, text: str | None) -> str:
    """The good file with line ``line`` (1-based) replaced, or removed if ``text`` is None."""
    lines = ["IESNA:LM-63-2002", "[TEST] x", *GOOD_BODY]
    if text is None:
        del lines[line - 1]
    else:
        lines[line - 1] = text
    return "\n".join(lines) + "\n"


def test_the_good_file_parses() -> None:
    p = parse_ies(broken(2, "[TEST] x"))
    assert p.symmetry == "bilateral"
    assert p.intensity_cd(270.0, 45.0) == pytest.approx(p.intensity_cd(90.0, 45.0))


@pytest.mark.parametrize(
    ("line", "text", "error_line", "words"),
    [
        (3, None, 8, "no TILT"),
        (3, "TILT=lamp.tlt", 3, "external tilt"),
        (6, "0 90 45", 6, "increase"),
        (7, "180 0", 7, "increase"),
        (9, "500 -300 0", 9, "negative"),
        (8, "500 nan 0", 8, "finite"),
        (8, "500 four 0", 8, "not a number"),
        (9, "500 300", 9, "expected 6 candela"),
        (9, "500 300 0 0", 9, "after the candela table"),
        (4, "1 1000 1 3 2 2 2 0 0 0", 4, "type C"),
        (4, "1 1000 1 3.5 2 1 2 0 0 0", 4, "whole number"),
        (6, "0 45 95", 6, "vertical angles"),
    ],
)
def test_malformed_files_name_the_line(
    line: int, text: str | None, error_line: int, words: str
) -> None:
    with pytest.raises(IesError) as caught:
        parse_ies(broken(line, text), source="bad.ies")
    assert caught.value.line == error_line
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"bad.ies:{error_line}: ")


def test_read_ies_names_the_path(tmp_path) -> None:
    path = tmp_path / "broken.ies"
    path.write_text(broken(9, "500 -1 0"))
    with pytest.raises(IesError, match=r"broken\.ies:9: negative candela"):
        read_ies(path)
