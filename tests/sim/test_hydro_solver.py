"""Verification of the local-inertial flood solver against known solutions.

The field's habits (Bates et al. 2010, de Almeida et al. 2012, Neal et al.
2012): a moving front with an analytical solution, water at rest staying at
rest, rain into a closed box, Thacker's oscillation in a bowl, a dam break as
a robustness check. Each test states its tolerance and why.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.hydro.forcing import Hydrograph, RainSeries, mm_per_hour
from sim.hydro.infiltration import CurveNumber, GreenAmpt
from sim.hydro.kernels import GRAVITY, pow_7_3
from sim.hydro.solver import FloodSolver

BACKENDS = ["numba", "numpy"]


def moving_front_depth(x: np.ndarray, t: float, u: float, n: float) -> np.ndarray:
    """Analytical depth (m) of a front advancing at ``u`` m/s over a flat, rough bed.

    Hunter et al. (2005): ``h = [7/3 n² u² (u t - x)]^(3/7)`` behind the front
    (``C = 0``), dry ahead of it.
    """
    arg = 7.0 / 3.0 * n**2 * u**2 * (u * t - x)
    return np.where(arg > 0, np.maximum(arg, 0.0) ** (3.0 / 7.0), 0.0)


@pytest.mark.parametrize("backend", BACKENDS)
def test_moving_front_matches_the_analytical_solution(backend):
    """1 h of a 0.5 m/s front (n = 0.03) on 10 m cells.

    Tolerance: depth RMSE behind the front < 2 % of the inflow depth and the
    front (first cell under 1 cm) within two cells of ``u t``. The scheme is
    first order in space, and the front cell's depth depends on how the
    wet/dry face opens, so a cell's worth of front error is expected.
    """
    u, n, dx, t_end = 0.5, 0.03, 10.0, 3600.0
    nx = 260
    x = np.arange(nx) * dx
    solver = FloodSolver(np.zeros((1, nx)), dx, n, theta=0.7, backend=backend)
    times = np.arange(0.0, t_end + 10.0, 10.0)
    inflow_depth = moving_front_depth(np.zeros(1), times, u, n)  # type: ignore[arg-type]
    solver.add_stage_boundary(np.array([[0, 0]]), Hydrograph(times, inflow_depth, "inflow"))
    solver.advance_to(t_end)
    exact = moving_front_depth(x, t_end, u, n)
    behind = x < u * t_end
    rmse = float(np.sqrt(np.mean((solver.depth[0] - exact)[behind] ** 2)))
    assert rmse < 0.02 * exact[0]
    front = x[solver.depth[0] > 0.01].max()
    assert abs(front - u * t_end) <= 2 * dx


@pytest.mark.parametrize("backend", BACKENDS)
def test_water_at_rest_over_rough_terrain_stays_at_rest(backend):
    """A lake at 0.6 m over random terrain (0..1 m, islands stick out) for 30 min.

    Tolerance: 1e-12 m of depth and 1e-12 m²/s of discharge: at rest the
    surface gradient is exactly 0 on every wet face and dry faces carry
    nothing, so anything above round-off would be a spurious current.
    """
    rng = np.random.default_rng(7)
    z = rng.uniform(0.0, 1.0, (40, 50))
    h0 = np.maximum(0.6 - z, 0.0)
    solver = FloodSolver(z, 5.0, 0.04, initial_depth_m=h0, backend=backend)
    solver.advance_to(1800.0)
    assert np.abs(solver.depth - h0).max() < 1e-12
    assert np.abs(solver.qx).max() < 1e-12 and np.abs(solver.qy).max() < 1e-12
    assert solver.steps > 100  # it really stepped


@pytest.mark.parametrize("backend", BACKENDS)
def test_rain_into_a_closed_box_stores_rain_times_area_times_time(backend):
    """50 mm/h for 40 min then 20 min dry on a rough slope in a closed box.

    Tolerance: relative 1e-12 (round-off of ~1e5 steps of sums): every
    drop that falls must be on the grid, none created by the limiter.
    """
    rng = np.random.default_rng(3)
    z = rng.uniform(0.0, 0.02, (30, 40)) + np.linspace(0, 3, 40)[None, :]
    solver = FloodSolver(z, 10.0, 0.05, backend=backend)
    solver.set_rain(RainSeries.uniform_mm_h([0.0, 2400.0], [50.0, 0.0]))
    solver.advance_to(3600.0)
    expected = mm_per_hour(50.0) * 2400.0 * z.size * 100.0
    stored = solver.depth.sum() * 100.0
    assert stored == pytest.approx(expected, rel=1e-12)
    assert solver.ledger.rain_m3 == pytest.approx(expected, rel=1e-12)
    assert abs(solver.ledger.residual_m3) < 1e-9 * expected
    assert solver.depth.min() >= 0.0
    # and the water ran downhill: the low (west) side holds more than the high side
    assert solver.depth[:, :10].sum() > 2 * solver.depth[:, -10:].sum()


def test_thackers_oscillation_in_a_parabolic_bowl():
    """A planar surface sloshing in a 1-D parabolic bowl (Thacker 1981), 1 period.

    Bowl ``z = h0 (x²/a² - 1)``, a = 2 km, h0 = 2 m, nearly frictionless.
    Exact: the surface stays planar with slope ``S cos(ωt)``, ω = √(2 g h0)/a.
    The local-inertial equations drop advection (here ``u h_t / h``) and
    θ < 1 damps, so the tolerance is loose: the fitted surface slope within
    0.35 S of the exact one at each eighth of the first period, the sign
    right, and the half-period slope at least 85 % of S. Mass to 1e-12 and
    no negative depth are strict.
    """
    a, h0, dx = 2000.0, 2.0, 10.0
    length = 2 * a + 1000.0
    x = np.arange(0.0, length, dx) + dx / 2 - length / 2
    z = h0 * (x**2 / a**2 - 1.0)
    slope0 = 0.5 * h0 / a
    omega = np.sqrt(2 * GRAVITY * h0) / a
    period = 2 * np.pi / omega
    h_init = np.maximum(slope0 * x - z, 0.0)
    solver = FloodSolver(z[None, :], dx, 0.001, theta=0.8, initial_depth_m=h_init[None, :])
    volume0 = solver.depth.sum()
    for t in np.linspace(period / 8, period, 8):
        solver.advance_to(float(t))
        wet = solver.depth[0] > 0.1
        slope = np.polyfit(x[wet], solver.eta[0][wet], 1)[0] / slope0
        exact = np.cos(omega * t)
        assert abs(slope - exact) < 0.35, t / period
        if abs(exact) > 0.5:
            assert np.sign(slope) == np.sign(exact)
        if abs(t - period / 2) < 1e-6:
            assert slope < -0.85
        assert solver.depth.min() >= 0.0
    assert solver.depth.sum() == pytest.approx(volume0, rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dam_break_stays_positive_and_no_faster_than_the_ritter_front(backend):
    """1 m of water released onto a dry, flat, smooth bed (robustness only).

    Local-inertial does not reproduce the dam-break bore (Froude > 1); what
    must hold is: no negative depth, mass conserved (1e-12), and the front
    no further than the Ritter wet front ``2 √(g h0) t`` plus one cell.
    """
    dx, h0 = 5.0, 1.0
    nx = 400
    h = np.zeros((3, nx))
    h[:, : nx // 2] = h0
    solver = FloodSolver(np.zeros((3, nx)), dx, 0.01, initial_depth_m=h, backend=backend)
    for t in (5.0, 20.0, 40.0):
        solver.advance_to(t)
        assert solver.depth.min() >= 0.0
        wet = np.nonzero(solver.depth[1] > 1e-4)[0]
        front = (wet.max() + 1) * dx - (nx // 2) * dx
        assert front <= 2 * np.sqrt(GRAVITY * h0) * t + dx
        assert front > 0  # and it did move
    assert solver.depth.sum() == pytest.approx(h.sum(), rel=1e-12)


@pytest.mark.parametrize("theta", [0.7, 0.8, 1.0])
def test_deep_smooth_water_stays_stable_at_the_largest_allowed_step(theta):
    """A 4 m deep, nearly frictionless basin with 1 µm of noise, 10 min at α = sqrt(θ/2).

    At the von Neumann bound the checkerboard mode is neutral, so the noise
    must not grow past 1e-5 m; 10 % above the bound it grows to decimetres
    (checked by hand; the solver refuses such α).
    """
    rng = np.random.default_rng(0)
    h = 4.0 + 1e-6 * rng.standard_normal((40, 40))
    alpha = float(np.sqrt(theta / 2)) * 0.98
    solver = FloodSolver(
        np.zeros((40, 40)), 10.0, 0.01, theta=theta, alpha=alpha, initial_depth_m=h
    )
    solver.advance_to(600.0)
    assert np.abs(solver.depth - solver.depth.mean()).max() < 1e-5


def test_numba_and_numpy_paths_agree_with_every_source_on():
    """Rain, inflow, withdrawal, infiltration, drainage zones, stage and outlet cells.

    Tolerance 1e-12 m: both paths do the same operations in the same order.
    """
    rng = np.random.default_rng(11)
    z = rng.uniform(0.0, 1.5, (25, 30)) + np.linspace(2, 0, 30)[None, :]
    results = []
    for backend in ("numba", "numba-parallel", "numpy"):
        solver = FloodSolver(z, 10.0, 0.04, theta=0.75, backend=backend)
        _all_sources(solver, z.shape)
        solver.advance_to(1200.0)
        results.append(solver)
    for other in results[1:]:
        assert np.abs(other.depth - results[0].depth).max() < 1e-12
        assert np.abs(other.qx - results[0].qx).max() < 1e-12
        assert other.steps == results[0].steps


def _all_sources(solver: FloodSolver, shape: tuple[int, int]) -> None:
    solver.set_rain(RainSeries.uniform_mm_h([0.0, 600.0], [80.0, 10.0]))
    solver.add_inflow(np.array([[5, 5]]), Hydrograph.from_points([(0, 0.0), (600, 2.0)]), "pipe")
    solver.add_inflow(
        np.array([[20, 3], [21, 3], [22, 3]]), Hydrograph.constant(-0.05, "pump"), "pump"
    )
    solver.set_infiltration(GreenAmpt(shape, ks_m_s=mm_per_hour(5.0), suction_m=0.11))
    zones = np.full(shape, -1)
    zones[10:15, 10:20] = 1
    solver.set_drainage(mm_per_hour(2.0), zones=zones, zone_capacity_m3_s={1: 0.02})
    solver.add_stage_boundary(np.array([[0, 29], [1, 29]]), Hydrograph.constant(1.0, "sea"))
    solver.add_outlet(np.array([[24, 0], [24, 1]]))


def test_the_ledger_closes_with_every_term():
    """Storage change equals the sum of the booked fluxes to 1e-9 of the volumes."""
    rng = np.random.default_rng(5)
    z = rng.uniform(0.0, 1.5, (25, 30)) + np.linspace(2, 0, 30)[None, :]
    solver = FloodSolver(z, 10.0, 0.04)
    _all_sources(solver, z.shape)
    solver.advance_to(1800.0)
    led = solver.ledger
    for term in ("rain_m3", "inflow_m3", "outflow_m3", "infiltration_m3", "drainage_m3"):
        assert getattr(led, term) > 0, term
    assert led.boundary_in_m3 > 0 or led.boundary_out_m3 > 0
    assert abs(led.residual_m3) < 1e-9 * (led.rain_m3 + led.inflow_m3 + led.boundary_in_m3)
    assert led.storage_m3 == pytest.approx(solver.depth.sum() * 100.0, rel=1e-12)


def test_green_ampt_under_ponding_follows_the_implicit_solution():
    """Ponded Green–Ampt: ``t = (F - ψΔθ ln(1 + F/ψΔθ)) / Ks`` (F from F(0) = 0).

    A flat box with 0.5 m of water over sandy loam for 2 h. The model starts
    at F0 = 1 mm and updates F explicitly each step; tolerance 3 % on F.
    """
    ks, psi, dtheta = mm_per_hour(10.9), 0.11, 0.3
    solver = FloodSolver(np.zeros((4, 4)), 10.0, 0.05, initial_depth_m=0.5)
    model = GreenAmpt((4, 4), ks_m_s=ks, suction_m=psi, deficit=dtheta)
    solver.set_infiltration(model)
    t_end = 7200.0
    solver.advance_to(t_end)
    f_model = float(model.cumulative_m.mean() - model.initial_m)
    # solve the implicit equation for F(t_end) by bisection
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        t_mid = (mid - psi * dtheta * np.log1p(mid / (psi * dtheta))) / ks
        lo, hi = (mid, hi) if t_mid < t_end else (lo, mid)
    assert f_model == pytest.approx(lo, rel=0.03)
    assert solver.ledger.infiltration_m3 == pytest.approx(f_model * 16 * 100.0, rel=1e-9)


def test_curve_number_runoff_equals_the_scs_equation():
    """60 mm of rain on CN 80 ground, water held in a flat box: the water left
    standing equals SCS runoff ``(P - 0.2S)² / (P + 0.8S)`` to 1e-9."""
    solver = FloodSolver(np.zeros((5, 5)), 10.0, 0.05)
    solver.set_infiltration(CurveNumber((5, 5), cn=80.0))
    solver.set_rain(RainSeries.uniform_mm_h([0.0, 3600.0], [60.0, 0.0]))
    solver.advance_to(4000.0)
    p = 0.060
    s = 0.0254 * (1000 / 80 - 10)
    runoff = (p - 0.2 * s) ** 2 / (p + 0.8 * s)
    assert solver.depth.mean() == pytest.approx(runoff, rel=1e-9)


def test_stage_boundary_fills_a_channel_and_books_the_water():
    """A river stage rising from 0.5 to 2 m fills a flat 1 m-deep channel to the stage."""
    z = np.full((5, 40), 1.0)
    z[2, :] = -1.0  # channel along row 2
    solver = FloodSolver(z, 10.0, 0.03)
    stage = Hydrograph.from_points([(0.0, 0.5), (1800.0, 2.0)], "Hiếu")
    solver.add_stage_boundary(np.array([[2, 0]]), stage)
    solver.advance_to(7200.0)
    assert solver.eta[2, -1] == pytest.approx(2.0, abs=0.02)
    assert solver.eta[0, -1] == pytest.approx(2.0, abs=0.02)  # overtopped the banks
    net_in = solver.ledger.boundary_in_m3 - solver.ledger.boundary_out_m3
    assert net_in == pytest.approx(solver.depth.sum() * 100.0, rel=1e-9)


def test_max_depth_and_arrival_maps():
    solver = FloodSolver(np.zeros((1, 100)), 10.0, 0.03, arrival_depth_m=0.1)
    solver.add_stage_boundary(np.array([[0, 0]]), Hydrograph.constant(0.5))
    solver.advance_to(600.0)
    reached = ~np.isnan(solver.arrival_s[0])
    assert reached[:3].all() and not reached[-1]
    times = solver.arrival_s[0][reached]
    assert np.all(np.diff(times) >= 0)  # the water arrives later further away
    assert np.all(solver.max_depth_m >= solver.depth)


def test_snapshot_and_restore_repeat_the_same_future():
    rng = np.random.default_rng(2)
    z = rng.uniform(0.0, 1.0, (20, 20))
    solver = FloodSolver(z, 10.0, 0.04)
    solver.set_rain(RainSeries.uniform_mm_h([0.0], [40.0]))
    solver.advance_to(300.0)
    snap = solver.snapshot()
    solver.advance_to(900.0)
    first = solver.depth.copy()
    solver.restore(snap)
    solver.advance_to(900.0)
    assert np.array_equal(solver.depth, first)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"dem_m": [[0.0, np.nan]]}, "NaN"),
        ({"cell_m": 0.0}, "cell_m"),
        ({"manning_n": -0.1}, "manning_n"),
        ({"theta": 0.3}, "theta"),
        ({"alpha": 0.9}, "alpha"),
        ({"alpha": 0.7, "theta": 0.8}, "unstable"),
        ({"initial_depth_m": -1.0}, "initial_depth_m"),
        ({"backend": "fortran"}, "backend"),
    ],
)
def test_bad_set_up_is_refused_with_the_reason(kwargs, message):
    args = {"dem_m": np.zeros((3, 3)), "cell_m": 10.0, **kwargs}
    with pytest.raises(ValueError, match=message):
        FloodSolver(**args)


def test_bad_forcing_is_refused_with_the_reason():
    solver = FloodSolver(np.zeros((3, 3)), 10.0)
    with pytest.raises(ValueError, match="increase strictly"):
        RainSeries.uniform_mm_h([0.0, 0.0], [1.0, 2.0])
    with pytest.raises(ValueError, match=">= 0"):
        RainSeries.uniform_mm_h([0.0], [-5.0])
    with pytest.raises(ValueError, match="shape"):
        solver.set_rain(RainSeries(np.array([0.0]), np.zeros((1, 4, 4))))
    with pytest.raises(ValueError, match="outside"):
        solver.add_outlet(np.array([[3, 0]]))
    with pytest.raises(ValueError, match="NaN"):
        Hydrograph.from_points([(0.0, 1.0), (10.0, float("nan"))])
    with pytest.raises(ValueError, match="go back"):
        solver.advance_to(10.0)
        solver.advance_to(5.0)


def test_the_fast_power_matches_pow_over_every_depth_the_solver_meets():
    """``h^(7/3)`` by exponent bits + two Halley steps: relative error < 1e-13 from 1 µm to 1 km."""
    h = np.logspace(-6, 3, 100_001)
    assert np.max(np.abs(pow_7_3(h) / h ** (7.0 / 3.0) - 1.0)) < 1e-13
