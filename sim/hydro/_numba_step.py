"""The compiled local-inertial step (numba); see :mod:`sim.hydro.kernels` for the scheme.

Kept in its own module so numba can cache the machine code on disk (a
nested function is recompiled in every process: ~13 s per run). Importing
this module imports numba; the compilation happens on the first call.
``numba.prange`` runs as ``range`` in the serial dispatcher and spreads rows
over threads in the parallel one; both give the same numbers.
"""

from __future__ import annotations

import types
from collections.abc import Callable

import numba
import numpy as np
from numpy.typing import NDArray

from sim.hydro.kernels import _face_q

__all__ = ["step_parallel", "step_serial"]

Array = NDArray[np.float64]

face = numba.njit(inline="always", cache=True)(_face_q)


def _step(
    z: Array,
    h: Array,
    qx: Array,
    qy: Array,
    n2: Array,
    dt: float,
    dx: float,
    theta: float,
    h_dry: float,
    fr_max: float,
) -> float:  # pragma: no cover - compiled
    ny, nx = h.shape
    # pass 1: momentum on interior faces from the old discharges; x-faces
    # row by row (the row's previous old value carried in a local), y-faces
    # from a copy of the old north faces
    for i in numba.prange(ny):
        fbuf = np.empty(1)  # per row: rows may run on different threads
        ibuf = fbuf.view(np.int64)
        prev_old = qx[i, 1]
        for j in range(1, nx):
            q = qx[i, j]
            q_prev = prev_old if j > 1 else q
            q_next = qx[i, j + 1] if j < nx - 1 else q
            prev_old = q
            qx[i, j] = face(
                q,
                q_prev,
                q_next,
                z[i, j - 1] + h[i, j - 1],
                z[i, j] + h[i, j],
                z[i, j - 1],
                z[i, j],
                0.5 * (n2[i, j - 1] + n2[i, j]),
                dt,
                dx,
                theta,
                h_dry,
                fr_max,
                fbuf,
                ibuf,
            )
    qy_old = qy.copy()
    for i in numba.prange(1, ny):
        fbuf = np.empty(1)
        ibuf = fbuf.view(np.int64)
        for j in range(nx):
            q = qy_old[i, j]
            q_prev = qy_old[i - 1, j] if i > 1 else q
            q_next = qy_old[i + 1, j] if i < ny - 1 else q
            qy[i, j] = face(
                q,
                q_prev,
                q_next,
                z[i - 1, j] + h[i - 1, j],
                z[i, j] + h[i, j],
                z[i - 1, j],
                z[i, j],
                0.5 * (n2[i - 1, j] + n2[i, j]),
                dt,
                dx,
                theta,
                h_dry,
                fr_max,
                fbuf,
                ibuf,
            )
    # pass 2: positivity limiter factors (1 where the cell holds enough)
    factor = qy_old[:ny, :]  # reuse the buffer: (ny, nx)
    n_limited = 0
    for i in numba.prange(ny):
        for j in range(nx):
            out = (
                max(qx[i, j + 1], 0.0)
                + max(-qx[i, j], 0.0)
                + max(qy[i + 1, j], 0.0)
                + max(-qy[i, j], 0.0)
            )
            drain = out * (dt / dx)
            if drain > h[i, j]:
                factor[i, j] = h[i, j] / drain
                n_limited += 1
            else:
                factor[i, j] = 1.0
    if n_limited > 0:
        for i in numba.prange(ny):
            for j in range(1, nx):
                q = qx[i, j]
                qx[i, j] = q * factor[i, j - 1] if q > 0.0 else q * factor[i, j]
        for i in numba.prange(1, ny):
            for j in range(nx):
                q = qy[i, j]
                qy[i, j] = q * factor[i - 1, j] if q > 0.0 else q * factor[i, j]
    # pass 3: continuity
    c = dt / dx
    row_max = np.zeros(ny)
    for i in numba.prange(ny):
        m = 0.0
        for j in range(nx):
            hn = h[i, j] + c * ((qx[i, j] - qx[i, j + 1]) + (qy[i, j] - qy[i + 1, j]))
            if hn < 0.0:
                hn = 0.0
            h[i, j] = hn
            if hn > m:
                m = hn
        row_max[i] = m
    return row_max.max() if ny > 0 else 0.0


def _renamed(fn: Callable[..., float], name: str) -> types.FunctionType:
    """A copy of ``fn`` under another name, so each dispatcher has its own cache entry."""
    assert isinstance(fn, types.FunctionType)
    copy = types.FunctionType(fn.__code__, fn.__globals__, name, fn.__defaults__, fn.__closure__)
    copy.__qualname__ = name
    return copy


step_serial = numba.njit(cache=True)(_step)
step_parallel = numba.njit(cache=True, parallel=True)(_renamed(_step, "_step_parallel"))
