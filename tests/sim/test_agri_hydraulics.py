"""Pump, main line and drip branches: operating point, meters, faults, capacity."""

from __future__ import annotations

import itertools

import pytest

from sim.agri.hydraulics import (
    KPA_PER_M,
    Branch,
    Emitter,
    IrrigationHydraulics,
    PumpCurve,
    SystemCurve,
)
from sim.agri.sites import load_sites


@pytest.fixture
def net() -> IrrigationHydraulics:
    return IrrigationHydraulics.from_site(next(s for s in load_sites() if s.id == "DT"))


def _ids(net: IrrigationHydraulics, n: int) -> list[str]:
    return [b.plot_id for b in net.branches[:n]]


@pytest.mark.parametrize("n_open", [1, 3, 8, 20])
def test_operating_point_on_both_curves(net: IrrigationHydraulics, n_open: int) -> None:
    net.set_valves(_ids(net, n_open))
    op = net.operating_point()
    assert abs(op.pump_head_m - net.pump.head_m(op.total_flow_lpm)) < 1e-9
    residual = net.system_head_m(op.total_flow_lpm) - op.pump_head_m
    assert abs(residual) < 1e-6
    assert op.total_flow_lpm == pytest.approx(sum(q for _, q in op.flows_lpm))
    assert op.manifold_pressure_kpa == pytest.approx(op.manifold_head_m * KPA_PER_M)
    assert len(op.open_valves) == n_open


def test_dead_headed_pump_holds_shutoff_head(net: IrrigationHydraulics) -> None:
    op = net.operating_point()
    assert op.total_flow_lpm == 0.0
    assert op.manifold_head_m == pytest.approx(net.pump.shutoff_head_m - net.system.static_head_m)


def test_more_valves_lower_pressure_raise_flow_sublinearly(net: IrrigationHydraulics) -> None:
    ops = []
    for n in (1, 2, 4, 8, 16):
        net.set_valves(_ids(net, n))
        ops.append(net.operating_point())
    for a, b in itertools.pairwise(ops):
        assert b.manifold_pressure_kpa < a.manifold_pressure_kpa
        assert b.total_flow_lpm > a.total_flow_lpm
    # same plots' draw per emitter falls: flow grows less than the open emitter count
    net.set_valves(_ids(net, 1))
    one = net.operating_point().flow_lpm(_ids(net, 1)[0])
    net.set_valves(_ids(net, 16))
    assert net.operating_point().flow_lpm(_ids(net, 1)[0]) < one
    n_em = [b.n_emitters for b in net.branches]
    ratio_flow = ops[-1].total_flow_lpm / ops[0].total_flow_lpm
    assert ratio_flow < sum(n_em[:16]) / n_em[0]


def test_energy_is_integral_of_power(net: IrrigationHydraulics) -> None:
    expected = 0.0
    for n, dt in ((2, 600.0), (5, 1200.0), (0, 300.0), (9, 900.0)):
        net.set_valves(_ids(net, n))
        op = net.advance(dt)
        expected += op.power_kw * dt / 3600.0
        assert (op.power_kw > 0) == (n > 0)  # dead-headed pump: modelled as 0 kW
    assert net.energy_kwh == pytest.approx(expected, rel=1e-12)
    net.set_pump(False)
    before = net.energy_kwh
    assert net.advance(3600.0).power_kw == 0.0
    assert net.energy_kwh == before
    # water metered per plot = flow x time
    net.set_pump(True)
    net.volume_l[:] = 0.0
    pid = _ids(net, 1)[0]
    net.set_valves([pid])
    op = net.advance(60.0)
    assert net.volume_l[0] == pytest.approx(op.flow_lpm(pid))


def test_faults_move_flow_and_pressure_the_stated_way(net: IrrigationHydraulics) -> None:
    ids = _ids(net, 4)
    net.set_valves(ids)
    base = net.operating_point()

    net.burst_lateral(ids[0], 30.0)
    burst = net.operating_point()
    assert burst.flow_lpm(ids[0]) > base.flow_lpm(ids[0])
    assert burst.total_flow_lpm > base.total_flow_lpm
    assert burst.manifold_pressure_kpa < base.manifold_pressure_kpa
    net.clear_faults()

    net.block_emitters(ids[1], 0.6)
    blocked = net.operating_point()
    assert blocked.flow_lpm(ids[1]) < base.flow_lpm(ids[1])
    assert blocked.total_flow_lpm < base.total_flow_lpm
    assert blocked.manifold_pressure_kpa > base.manifold_pressure_kpa
    net.clear_faults()

    net.fail_pump()
    dead = net.operating_point()
    assert dead.total_flow_lpm == 0.0 and dead.manifold_pressure_kpa == 0.0
    assert dead.power_kw == 0.0
    net.clear_faults()

    net.stick_valve(ids[2], False)  # stuck shut: commanded open, no flow
    stuck = net.operating_point()
    assert stuck.flow_lpm(ids[2]) == 0.0 and ids[2] not in stuck.open_valves
    net.stick_valve(ids[2], None)
    extra = net.branches[10].plot_id
    net.stick_valve(extra, True)  # stuck open: commanded shut, still flows
    stuck_open = net.operating_point()
    assert stuck_open.flow_lpm(extra) > 0.0
    assert stuck_open.manifold_pressure_kpa < base.manifold_pressure_kpa
    net.clear_faults()
    assert net.operating_point() == base


def test_capacity_matches_solver() -> None:
    pump = PumpCurve(32.0, 400.0, 0.55)
    system = SystemCurve(3.0, 6.0 / 300.0**2)
    emitter = Emitter(1.0, 10.0, 0.5)
    probe = IrrigationHydraulics(pump, system, emitter, [Branch("X", 1)], min_pressure_kpa=60.0)
    cap = probe.capacity_lpm()
    h_min = 60.0 / KPA_PER_M
    # emitter count that draws exactly the capacity at the minimum head
    per_emitter = float(emitter.flow_lph(h_min)) / 60.0
    n = cap / per_emitter
    half = IrrigationHydraulics(
        pump, system, emitter, [Branch("A", round(n / 2)), Branch("B", round(n) - round(n / 2))]
    )
    half.set_valves(["A", "B"])
    op = half.operating_point()
    assert op.manifold_pressure_kpa == pytest.approx(60.0, abs=0.2)
    assert op.total_flow_lpm == pytest.approx(cap, rel=2e-3)
    # below capacity the pressure stays above the minimum, above it drops below
    half.set_valves(["A"])
    assert half.operating_point().manifold_pressure_kpa > 60.0
    assert half.nominal_flow_lpm("A") + half.nominal_flow_lpm("B") == pytest.approx(cap, rel=2e-3)
    assert probe.capacity_lpm(400.0) == 0.0


def test_site_capacity_and_pressure_compensating(net: IrrigationHydraulics) -> None:
    cap = net.capacity_lpm()
    assert 250.0 < cap < 350.0
    # open plots greedily while their nominal draw fits: pressure stays >= minimum
    chosen, total = [], 0.0
    for b in net.branches:
        q = net.nominal_flow_lpm(b.plot_id)
        if total + q <= cap:
            chosen.append(b.plot_id)
            total += q
    net.set_valves(chosen)
    assert net.operating_point().manifold_pressure_kpa >= net.min_pressure_kpa - 1e-9
    pc = IrrigationHydraulics(
        net.pump,
        net.system,
        Emitter(1.6, 10.0, 0.0, h_regulation_m=5.0),
        [Branch("A", 2000), Branch("B", 2000)],
    )
    pc.set_valves(["A"])
    one = pc.operating_point()
    pc.set_valves(["A", "B"])
    two = pc.operating_point()
    assert one.flow_lpm("A") == pytest.approx(2000 * 1.6 / 60.0)
    assert two.flow_lpm("A") == pytest.approx(one.flow_lpm("A"))  # compensated
    assert two.manifold_pressure_kpa < one.manifold_pressure_kpa
