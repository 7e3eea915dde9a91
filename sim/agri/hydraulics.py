"""A cooperative's shared pump, main line and per-plot drip branches (steady state).

The network, upstream to downstream::

    source ─► pump ─► main line ─► manifold ─┬─ valve ─► drip lateral (plot 1)
                                              ├─ valve ─► drip lateral (plot 2)
                                              └─ ...

Units: flow Q in L/min (emitters in L/h), head h in m of water, pressure in kPa
(``p = ρ g h``, 9.80665 kPa per m), power in kW, energy in kWh, time in s.

- **Pump curve** (quadratic, from two catalogue numbers):
  ``H_p(Q) = H0 (1 − (Q/Qmax)²)`` with shut-off head H0 and the flow Qmax at zero head.
- **System curve** up to the manifold: ``H_s(Q) = z + k Q²`` (static lift z,
  main-line friction k); the pump must also supply the manifold head h, so the
  full system head at flow Q is ``z + k Q² + h(Q)`` with h(Q) the manifold head at
  which the open branches draw Q.
- **Branches**: every open plot draws ``N_eff · q_e(h)`` through its emitters
  (manifold head taken as the emitter head; lateral friction is neglected —
  short laterals), with the emitter law ``q_e = q_n (h/h_n)^x``. x ≈ 0.5 for
  non-compensating drip tape and turbulent drippers, x ≈ 0–0.1 for
  pressure-compensating (PC) drippers above their regulation head h_reg; below
  h_reg a PC dripper behaves as an orifice, ``q_e = q_e(h_reg) (h/h_reg)^0.5``,
  which keeps the law continuous and increasing.
- **Operating point**: the manifold head h* solves
  ``H_p(D(h)) − z − k D(h)² − h = 0`` with ``D(h)`` the total branch draw;
  the left side falls strictly with h, so Brent's method on
  ``[0, H0 − z]`` finds the unique root (residual < 1e-9 m).
- **Power**: electrical ``P = ρ g Q H_p / η`` with a constant wire-to-water
  efficiency η (a simplification: a real pump also draws power when dead-headed,
  which this model puts at zero); energy is ``∫ P dt``, integrated by
  :meth:`IrrigationHydraulics.advance` with the state constant over each step.
- **Faults**: burst lateral (an extra orifice ``Cd A √(2 g h)``, Cd 0.6, on the
  plot's branch: total flow up, manifold pressure down); blocked emitters (a
  fraction of the plot's emitters draws nothing: its flow down, pressure up);
  pump failure (no head: no flow, zero pressure); stuck valve (the valve stays
  open or shut whatever it is commanded).
- **Capacity** (:meth:`IrrigationHydraulics.capacity_lpm`): the largest total
  flow the pump and main line deliver while the manifold keeps a minimum
  working pressure: ``Q = √((H0 − z − h_min)/(H0/Qmax² + k))``. A controller that
  keeps the open plots' nominal draw at h_min within it keeps the pressure up.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import brentq

from sim.agri.sites import Site

__all__ = [
    "KPA_PER_M",
    "Branch",
    "Emitter",
    "IrrigationHydraulics",
    "OperatingPoint",
    "PumpCurve",
    "SystemCurve",
]

G = 9.80665  # m/s²
RHO = 1000.0  # kg/m³
KPA_PER_M = RHO * G / 1000.0  # kPa per m of water head
LPM_PER_M3S = 60_000.0
_OP_CACHE_MAX = 4096
BURST_CD = 0.6  # discharge coefficient of a torn lateral (sharp-edged orifice)


@dataclass(frozen=True)
class PumpCurve:
    """Quadratic pump curve. shutoff_head_m > 0, max_flow_lpm > 0, efficiency in (0, 1]."""

    shutoff_head_m: float
    max_flow_lpm: float
    efficiency: float

    def __post_init__(self) -> None:
        if self.shutoff_head_m <= 0 or self.max_flow_lpm <= 0:
            raise ValueError("pump shutoff_head_m and max_flow_lpm must be > 0")
        if not 0 < self.efficiency <= 1:
            raise ValueError("pump efficiency must be in (0, 1]")

    def head_m(self, q_lpm: float) -> float:
        """Pump head (m) at flow q (L/min); negative beyond max_flow_lpm."""
        return self.shutoff_head_m * (1.0 - (q_lpm / self.max_flow_lpm) ** 2)

    def power_kw(self, q_lpm: float) -> float:
        """Electrical power (kW) at flow q on the curve: ρ g Q H / η."""
        hydraulic_w = RHO * G * (q_lpm / LPM_PER_M3S) * max(self.head_m(q_lpm), 0.0)
        return hydraulic_w / self.efficiency / 1000.0


@dataclass(frozen=True)
class SystemCurve:
    """Source to manifold: static lift (m) plus main-line loss k (m per (L/min)²)."""

    static_head_m: float
    k_m_per_lpm2: float

    def head_m(self, q_lpm: float) -> float:
        """z + k Q² (m)."""
        return self.static_head_m + self.k_m_per_lpm2 * q_lpm**2


@dataclass(frozen=True)
class Emitter:
    """Drip emitter law ``q = q_n (h/h_n)^x`` (L/h), orifice-like below h_regulation_m."""

    q_nominal_lph: float = 1.0
    h_nominal_m: float = 10.0
    exponent: float = 0.5
    h_regulation_m: float = 0.0

    def flow_lph(self, head_m: float | NDArray[np.float64]) -> NDArray[np.float64]:
        """Emitter flow (L/h) at head h (m); 0 for h <= 0."""
        h = np.maximum(np.asarray(head_m, dtype=float), 0.0)
        q = self.q_nominal_lph * (h / self.h_nominal_m) ** self.exponent
        if self.h_regulation_m > 0:
            q_reg = self.q_nominal_lph * (self.h_regulation_m / self.h_nominal_m) ** self.exponent
            low = q_reg * np.sqrt(h / self.h_regulation_m)
            q = np.where(h < self.h_regulation_m, low, q)
        return np.asarray(q, dtype=float)


@dataclass(frozen=True)
class Branch:
    """One plot's valve and drip lateral: ``n_emitters`` emitters."""

    plot_id: str
    n_emitters: int


@dataclass(frozen=True)
class OperatingPoint:
    """Steady state of the network for the actual valve states.

    total_flow_lpm: pump flow. manifold_head_m / manifold_pressure_kpa: at the
    valves. pump_head_m: on the pump curve. power_kw: electrical. flows_lpm:
    (plot id, L/min) for every plot in branch order, 0 when shut.
    open_valves: plot ids whose valve is actually open.
    """

    total_flow_lpm: float
    manifold_head_m: float
    manifold_pressure_kpa: float
    pump_head_m: float
    power_kw: float
    flows_lpm: tuple[tuple[str, float], ...]
    open_valves: tuple[str, ...]

    def flow_lpm(self, plot_id: str) -> float:
        """Flow (L/min) through this plot's valve."""
        for pid, q in self.flows_lpm:
            if pid == plot_id:
                return q
        raise KeyError(f"no plot {plot_id!r}")


class IrrigationHydraulics:
    """Pump, main line and valved drip branches of one site, with faults and meters.

    Commands: :meth:`set_valve`, :meth:`set_pump`. Faults: :meth:`burst_lateral`,
    :meth:`block_emitters`, :meth:`fail_pump`, :meth:`stick_valve`,
    :meth:`clear_faults`. Meters (cumulative): ``energy_kwh``, ``volume_l``
    per plot, ``run_time_s``. All valves start shut, the pump starts on.
    """

    def __init__(
        self,
        pump: PumpCurve,
        system: SystemCurve,
        emitter: Emitter,
        branches: Sequence[Branch],
        *,
        min_pressure_kpa: float = 60.0,
    ) -> None:
        ids = [b.plot_id for b in branches]
        if not ids or len(set(ids)) != len(ids):
            raise ValueError("branches must be non-empty with unique plot ids")
        if any(b.n_emitters < 0 for b in branches):
            raise ValueError("n_emitters must be >= 0")
        self.pump = pump
        self.system = system
        self.emitter = emitter
        self.branches = tuple(branches)
        self.min_pressure_kpa = float(min_pressure_kpa)
        self._index = {pid: i for i, pid in enumerate(ids)}
        n = len(ids)
        self._n_emitters = np.array([b.n_emitters for b in branches], dtype=float)
        self._cmd = np.zeros(n, dtype=bool)
        self._stuck: dict[int, bool] = {}
        self._blocked = np.zeros(n)
        self._burst_m2 = np.zeros(n)
        self.pump_on = True
        self.pump_failed = False
        self.energy_kwh = 0.0
        self.run_time_s = 0.0
        self.volume_l = np.zeros(n)
        self._op_cache: dict[tuple[bytes, bool, bytes, bytes], OperatingPoint] = {}

    @classmethod
    def from_site(cls, site: Site) -> IrrigationHydraulics:
        """Build from a :class:`Site`: one branch per plot, area × emitters_per_m2 emitters."""
        s = site.hydraulics
        return cls(
            PumpCurve(s.pump_shutoff_head_m, s.pump_max_flow_lpm, s.pump_efficiency),
            SystemCurve(s.static_head_m, s.main_loss_m / s.main_loss_ref_lpm**2),
            Emitter(
                s.emitter_q_lph, s.emitter_h_nominal_m, s.emitter_exponent, s.emitter_h_regulation_m
            ),
            [Branch(p.id, round(p.area_m2 * s.emitters_per_m2)) for p in site.plots],
            min_pressure_kpa=s.min_pressure_kpa,
        )

    # ------------------------------------------------------------------ commands, faults

    def _i(self, plot_id: str) -> int:
        try:
            return self._index[plot_id]
        except KeyError:
            raise KeyError(f"no plot {plot_id!r} on this network") from None

    def set_valve(self, plot_id: str, open_: bool) -> None:
        """Command a plot's solenoid valve open (True) or shut."""
        self._cmd[self._i(plot_id)] = bool(open_)

    def set_valves(self, open_ids: Iterable[str]) -> None:
        """Command exactly these valves open and all others shut."""
        self._cmd[:] = False
        for pid in open_ids:
            self._cmd[self._i(pid)] = True

    def set_pump(self, on: bool) -> None:
        """Command the pump on or off."""
        self.pump_on = bool(on)

    def burst_lateral(self, plot_id: str, hole_area_mm2: float = 20.0) -> None:
        """A torn lateral on this plot: an orifice of ``hole_area_mm2`` (mm²) behind the valve."""
        if hole_area_mm2 < 0:
            raise ValueError("hole_area_mm2 must be >= 0")
        self._burst_m2[self._i(plot_id)] = hole_area_mm2 * 1e-6

    def block_emitters(self, plot_id: str, fraction: float) -> None:
        """Clog ``fraction`` (0..1) of this plot's emitters."""
        if not 0 <= fraction <= 1:
            raise ValueError("fraction must be in [0, 1]")
        self._blocked[self._i(plot_id)] = fraction

    def fail_pump(self, failed: bool = True) -> None:
        """Pump failure (motor, power or dry run): no head whatever the command."""
        self.pump_failed = bool(failed)

    def stick_valve(self, plot_id: str, open_: bool | None) -> None:
        """Stick a valve open (True) or shut (False); None frees it."""
        i = self._i(plot_id)
        if open_ is None:
            self._stuck.pop(i, None)
        else:
            self._stuck[i] = bool(open_)

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._stuck.clear()
        self._blocked[:] = 0.0
        self._burst_m2[:] = 0.0
        self.pump_failed = False

    # ------------------------------------------------------------------ physics

    def actual_open(self) -> NDArray[np.bool_]:
        """Valve states after stuck-valve faults, in branch order."""
        state = self._cmd.copy()
        for i, v in self._stuck.items():
            state[i] = v
        return state

    def branch_flows_lpm(
        self, head_m: float, open_mask: NDArray[np.bool_] | None = None
    ) -> NDArray[np.float64]:
        """Flow (L/min) of each branch at manifold head h (m), faults included."""
        mask = self.actual_open() if open_mask is None else open_mask
        h = max(head_m, 0.0)
        emit = self._n_emitters * (1.0 - self._blocked) * float(self.emitter.flow_lph(h)) / 60.0
        burst = BURST_CD * self._burst_m2 * math.sqrt(2.0 * G * h) * LPM_PER_M3S
        return np.where(mask, emit + burst, 0.0)

    def _running(self) -> bool:
        return self.pump_on and not self.pump_failed

    def _solve_head(self, mask: NDArray[np.bool_]) -> float:
        top = self.pump.shutoff_head_m - self.system.static_head_m
        if not self._running() or top <= 0:
            return 0.0

        def f(h: float) -> float:
            q = float(self.branch_flows_lpm(h, mask).sum())
            return self.pump.head_m(q) - self.system.head_m(q) - h

        if f(top) >= 0.0:  # nothing draws water: dead-headed
            return top
        return float(brentq(f, 0.0, top, xtol=1e-13, rtol=1e-15, maxiter=200))

    def operating_point(self) -> OperatingPoint:
        """The steady state for the current commands and faults.

        Memoised on the actual valve states, the pump state and the emitter and
        burst faults (a rotation revisits the same few valve sets many times);
        the cache holds at most :data:`_OP_CACHE_MAX` states.
        """
        mask = self.actual_open()
        key = (mask.tobytes(), self._running(), self._blocked.tobytes(), self._burst_m2.tobytes())
        op = self._op_cache.get(key)
        if op is None:
            if len(self._op_cache) >= _OP_CACHE_MAX:
                self._op_cache.clear()
            op = self._op_cache[key] = self._solve_operating_point(mask)
        return op

    def _solve_operating_point(self, mask: NDArray[np.bool_]) -> OperatingPoint:
        h = self._solve_head(mask)
        flows = self.branch_flows_lpm(h, mask) if self._running() else np.zeros(mask.size)
        q = float(flows.sum())
        running = self._running()
        return OperatingPoint(
            total_flow_lpm=q,
            manifold_head_m=h,
            manifold_pressure_kpa=h * KPA_PER_M,
            pump_head_m=self.pump.head_m(q) if running else 0.0,
            power_kw=self.pump.power_kw(q) if running else 0.0,
            flows_lpm=tuple(
                (b.plot_id, float(f)) for b, f in zip(self.branches, flows, strict=True)
            ),
            open_valves=tuple(b.plot_id for b, m in zip(self.branches, mask, strict=True) if m),
        )

    def system_head_m(self, q_lpm: float) -> float:
        """Full system curve for the actual valves: z + k Q² + h(Q) (m), h(Q) the manifold
        head at which the open branches draw Q; ValueError if they cannot draw Q."""
        mask = self.actual_open()
        hi = self.pump.shutoff_head_m * 10.0
        if q_lpm <= 0:
            return self.system.head_m(0.0)
        if self.branch_flows_lpm(hi, mask).sum() < q_lpm:
            raise ValueError(f"the open branches cannot draw {q_lpm} L/min")
        h = brentq(
            lambda x: float(self.branch_flows_lpm(x, mask).sum()) - q_lpm,
            0.0,
            hi,
            xtol=1e-13,
            rtol=1e-15,
        )
        return self.system.head_m(q_lpm) + float(h)

    def advance(self, dt_s: float) -> OperatingPoint:
        """Run ``dt_s`` seconds at the current state; adds to the meters; returns the state."""
        if dt_s < 0:
            raise ValueError("dt_s must be >= 0")
        op = self.operating_point()
        self.energy_kwh += op.power_kw * dt_s / 3600.0
        self.volume_l += np.array([q for _, q in op.flows_lpm]) * dt_s / 60.0
        if op.power_kw > 0:
            self.run_time_s += dt_s
        return op

    # ------------------------------------------------------------------ design numbers

    def capacity_lpm(self, min_pressure_kpa: float | None = None) -> float:
        """Largest total flow (L/min) with the manifold at >= min pressure (kPa, default the
        site's), from the pump and main-line curves; 0 if the pump cannot reach it."""
        p = self.min_pressure_kpa if min_pressure_kpa is None else min_pressure_kpa
        spare = self.pump.shutoff_head_m - self.system.static_head_m - p / KPA_PER_M
        if spare <= 0:
            return 0.0
        slope = self.pump.shutoff_head_m / self.pump.max_flow_lpm**2 + self.system.k_m_per_lpm2
        return math.sqrt(spare / slope)

    def nominal_flow_lpm(self, plot_id: str, pressure_kpa: float | None = None) -> float:
        """A plot's design draw (L/min) at a manifold pressure (default the minimum), no faults."""
        p = self.min_pressure_kpa if pressure_kpa is None else pressure_kpa
        n = self._n_emitters[self._i(plot_id)]
        return float(n * self.emitter.flow_lph(p / KPA_PER_M) / 60.0)
