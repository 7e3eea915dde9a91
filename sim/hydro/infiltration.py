"""Infiltration: water the ground takes from the surface depth each step.

Two documented models, both per cell and both limited by the water present:

* :class:`GreenAmpt` — infiltration capacity ``f = Ks (1 + ψ Δθ / F)`` (m/s),
  with ``F`` the cumulative infiltrated depth (m) per cell, Ks the saturated
  hydraulic conductivity (m/s), ψ the wetting-front suction head (m) and Δθ
  the moisture deficit (-). ``F`` starts at a small positive value so the
  first step is finite. Rawls et al. (1983) give typical soil values: sandy
  loam Ks ≈ 1.09 cm/h, ψ ≈ 0.11 m; clay loam Ks ≈ 0.1 cm/h, ψ ≈ 0.21 m.
  The update is explicit in ``F`` (the capacity is evaluated at the start of
  the step), which is accurate when ``Δt`` is small against ``F / f``, as it
  is with the solver's CFL steps of about a second.
* :class:`CurveNumber` — the SCS (NRCS) curve number method turned into a
  rate: with cumulative rain ``P`` (m), potential retention
  ``S = 0.0254 (1000/CN - 10)`` m and initial abstraction ``Ia = λ S`` (λ = 0.2),
  the cumulative loss is ``F(P) = P - (P - Ia)² / (P - Ia + S)`` for ``P > Ia``
  and ``P`` below. Each step removes ``F(P_new) - F(P_old)`` from the surface,
  so the event runoff equals the SCS runoff when the water stays put. It is
  an event model: ``P`` counts rain since the run start.

Both return the depth (m) each cell lost in the step and keep their own state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

__all__ = ["CurveNumber", "GreenAmpt", "Infiltration"]

Array = NDArray[np.float64]


class Infiltration:
    """Base class: a per-cell sink of surface water."""

    def take(self, h: Array, rain_depth: Array | float, dt: float) -> Array:
        """Remove infiltration from ``h`` in place over ``dt`` s; return the depths (m) taken.

        ``rain_depth`` is the rain (m) that fell on each cell in this step.
        """
        raise NotImplementedError

    def snapshot(self) -> dict[str, Array]:
        """State as arrays (for restore)."""
        return {}

    def restore(self, state: dict[str, Array]) -> None:
        """Restore a :meth:`snapshot`."""


def _as_field(value: float | Array, shape: tuple[int, int], name: str) -> Array:
    arr = np.broadcast_to(np.asarray(value, dtype=np.float64), shape).copy()
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must be finite and >= 0 everywhere")
    return arr


@dataclass
class GreenAmpt(Infiltration):
    """Green–Ampt infiltration (see the module docstring).

    Args:
        shape: grid shape ``(ny, nx)``.
        ks_m_s: saturated conductivity (m/s), scalar or per cell; 0 = sealed.
        suction_m: wetting-front suction head ψ (m), 0.05..0.35 typical.
        deficit: moisture deficit Δθ (-), 0..0.5.
        initial_m: cumulative infiltration at the start (m) > 0; 1 mm default.
    """

    shape: tuple[int, int]
    ks_m_s: float | Array
    suction_m: float | Array = 0.11
    deficit: float | Array = 0.3
    initial_m: float = 1e-3
    _ks: Array = field(init=False, repr=False)
    _psi_dtheta: Array = field(init=False, repr=False)
    cumulative_m: Array = field(init=False)

    def __post_init__(self) -> None:
        if self.initial_m <= 0:
            raise ValueError("GreenAmpt initial_m must be > 0 (m); 1e-3 is typical")
        self._ks = _as_field(self.ks_m_s, self.shape, "GreenAmpt ks_m_s")
        psi = _as_field(self.suction_m, self.shape, "GreenAmpt suction_m")
        dtheta = _as_field(self.deficit, self.shape, "GreenAmpt deficit")
        if np.any(dtheta > 1):
            raise ValueError("GreenAmpt deficit is a volume fraction: 0..1")
        self._psi_dtheta = psi * dtheta
        self.cumulative_m = np.full(self.shape, self.initial_m)

    def take(self, h: Array, rain_depth: Array | float, dt: float) -> Array:
        capacity = self._ks * (1.0 + self._psi_dtheta / self.cumulative_m) * dt
        taken = np.minimum(capacity, h)
        h -= taken
        self.cumulative_m += taken
        return taken

    def snapshot(self) -> dict[str, Array]:
        return {"cumulative_m": self.cumulative_m.copy()}

    def restore(self, state: dict[str, Array]) -> None:
        self.cumulative_m = state["cumulative_m"].copy()


@dataclass
class CurveNumber(Infiltration):
    """SCS curve-number losses as a rate (see the module docstring).

    Args:
        shape: grid shape ``(ny, nx)``.
        cn: curve number 30..100 (100 = impervious), scalar or per cell.
        ia_ratio: initial abstraction ratio λ, 0.05..0.2.
    """

    shape: tuple[int, int]
    cn: float | Array
    ia_ratio: float = 0.2
    _s: Array = field(init=False, repr=False)
    rain_m: Array = field(init=False)

    def __post_init__(self) -> None:
        cn = _as_field(self.cn, self.shape, "CurveNumber cn")
        if np.any(cn < 30) or np.any(cn > 100):
            raise ValueError("CurveNumber cn must be within 30..100")
        if not 0 <= self.ia_ratio <= 0.3:
            raise ValueError("CurveNumber ia_ratio (λ) must be within 0..0.3; 0.2 is standard")
        self._s = 0.0254 * (1000.0 / cn - 10.0)
        self.rain_m = np.zeros(self.shape)

    def _loss(self, p: Array) -> Array:
        ia = self.ia_ratio * self._s
        excess = np.maximum(p - ia, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            runoff = np.where(excess > 0, excess * excess / (excess + self._s), 0.0)
        return p - runoff

    def take(self, h: Array, rain_depth: Array | float, dt: float) -> Array:
        before = self._loss(self.rain_m)
        self.rain_m = self.rain_m + rain_depth
        wanted = self._loss(self.rain_m) - before
        taken = np.minimum(np.maximum(wanted, 0.0), h)
        h -= taken
        return taken

    def snapshot(self) -> dict[str, Array]:
        return {"rain_m": self.rain_m.copy()}

    def restore(self, state: dict[str, Array]) -> None:
        self.rain_m = state["rain_m"].copy()
