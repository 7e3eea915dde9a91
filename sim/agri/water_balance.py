"""Daily root-zone water balance per plot (FAO-56 chapter 8, single Kc).

Vectorised over plots: every state and every record field is a numpy array of
shape ``(n_plots,)``. One call of :meth:`RootZoneBalance.advance_day` is one
day; all depths are mm of water over the plot, soil water contents θ are
m³/m³, root depths m.

The day, in order (Allen et al. 1998, FAO-56):

1. Root depth ``Zr`` for the day from the crop (:func:`sim.agri.crops.root_depth_curve`).
   Root growth brings a new soil layer of ``ΔZr`` into the root zone; that
   layer holds water at ``theta_subsoil`` (default θFC, the FAO-56 / pyfao56
   assumption that the soil below the roots is at field capacity), so the
   depletion grows by ``1000 (θFC − θsub) ΔZr`` and the root zone gains
   ``1000 (θsub − θWP) ΔZr`` mm of available water. That gain appears in the
   ledger as ``root_growth``.
2. ``TAW = 1000 (θFC − θWP) Zr`` (eq. 82), ``Kc`` from the crop curve,
   ``ETc = Kc ET0`` (eq. 56), ``p = p_table + 0.04 (5 − ETc)`` clamped
   0.1..0.8 (p. 162), ``RAW = p TAW`` (eq. 83).
3. ``Ks = (TAW − Dr) / ((1 − p) TAW)`` if ``Dr > RAW`` else 1 (eq. 84), with
   ``Dr`` the depletion at the end of the previous day; ``ETc,adj = Ks ETc``
   (eq. 80 in the single-coefficient form). ETa is additionally capped at the
   water that exists (``TAW − Dr + P − RO + I``) so the bucket never goes
   below wilting point; FAO-56 instead clips Dr at TAW, which loses mass. The
   cap binds only when ETc exceeds ``(1 − p) TAW`` (very shallow roots on a
   Laos-wind day).
4. Runoff RO by the SCS curve-number method when a curve number is given
   (AMC II, ``S = 25400/CN − 254`` mm, ``Ia = 0.2 S``,
   ``RO = (P − Ia)² / (P + 0.8 S)`` for ``P > Ia``); without one RO = 0 (net
   houses and raised beds: rain that does not infiltrate the root zone leaves as
   deep percolation). Irrigation (drip) never runs off.
5. Deep percolation ``DP = max(0, P − RO + I − ETa − Dr_prev)`` (eq. 88), i.e.
   only the water that would push the root zone above field capacity.
6. ``Dr = Dr_prev − (P − RO) − I − CR + ETa + DP`` (eq. 85), ``0 ≤ Dr ≤ TAW``
   (eq. 86). Capillary rise CR is taken as 0 (groundwater more than ~1 m
   below the root zone, FAO-56 p. 170).

The season ledger closes: with storage ``S = TAW − Dr`` (root-zone water above
wilting point, mm)::

    rain + irrigation − runoff − ETa − DP + root_growth = S_now − S_start

to round-off (``root_growth`` is 0 once the roots stop growing).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from sim.agri.crops import Crop, adjusted_depletion_fraction, kc_curve, root_depth_curve

__all__ = ["DayRecord", "Ledger", "RootZoneBalance", "scs_runoff_mm"]

FloatArray = NDArray[np.float64]


def _as_plot_array(
    name: str, value: ArrayLike, n: int, *, allow_negative: bool = False
) -> FloatArray:
    """``value`` broadcast to shape (n,) as float; errors name ``name``."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number or an array of numbers, got {value!r}") from exc
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, n)):
        raise ValueError(
            f"{name} has shape {arr.shape}; give a scalar or an array of shape ({n},), "
            "one value per plot"
        )
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN; give a value for every plot")
    if np.isinf(arr).any():
        raise ValueError(f"{name} contains an infinite value")
    if not allow_negative and (arr < 0).any():
        raise ValueError(f"{name} must be >= 0, got min {float(arr.min())}")
    return np.array(np.broadcast_to(arr, (n,)), dtype=float)


def scs_runoff_mm(rain_mm: ArrayLike, curve_number: ArrayLike) -> FloatArray:
    """Daily surface runoff (mm) from the SCS curve-number method, AMC II.

    ``S = 25400/CN − 254`` mm, initial abstraction ``Ia = 0.2 S``,
    ``RO = (P − Ia)² / (P + 0.8 S)`` when ``P > Ia`` else 0. CN in (0, 100].
    """
    p = np.asarray(rain_mm, dtype=float)
    cn = np.asarray(curve_number, dtype=float)
    if (cn <= 0).any() or (cn > 100).any():
        raise ValueError(f"curve_number must be in (0, 100], got {cn}")
    s = 25400.0 / cn - 254.0
    ia = 0.2 * s
    with np.errstate(divide="ignore", invalid="ignore"):
        ro = np.where(p > ia, (p - ia) ** 2 / np.where(p + 0.8 * s > 0, p + 0.8 * s, 1.0), 0.0)
    return np.asarray(np.minimum(ro, p), dtype=float)


@dataclass(frozen=True)
class DayRecord:
    """One day of the balance, one value per plot (all arrays shape (n_plots,)).

    day: days after planting on this day. kc: crop coefficient (-). zr: root
    depth (m). p: adjusted depletion fraction (-). dr: root-zone depletion at
    the end of the day (mm). ks: water-stress coefficient (-). etc: crop ET
    without stress, Kc·ET0 (mm). eta: actual ET, Ks·Kc·ET0 (mm). dp: deep
    percolation (mm). ro: surface runoff (mm). taw, raw: total and readily
    available water (mm). root_growth: available water gained by root growth (mm).
    """

    day: FloatArray
    kc: FloatArray
    zr: FloatArray
    p: FloatArray
    dr: FloatArray
    ks: FloatArray
    etc: FloatArray
    eta: FloatArray
    dp: FloatArray
    ro: FloatArray
    taw: FloatArray
    raw: FloatArray
    root_growth: FloatArray


@dataclass(frozen=True)
class Ledger:
    """Season totals per plot since the balance was built (mm, shape (n_plots,)).

    storage_start / storage_now: root-zone water above wilting point, TAW − Dr.
    ``residual`` is inflow − outflow − Δstorage and is 0 to round-off.
    """

    days: float
    rain: FloatArray
    irrigation: FloatArray
    runoff: FloatArray
    eta: FloatArray
    dp: FloatArray
    root_growth: FloatArray
    storage_start: FloatArray
    storage_now: FloatArray

    @property
    def residual(self) -> FloatArray:
        """rain + irrigation − runoff − ETa − DP + root_growth − Δstorage (mm)."""
        inflow = self.rain + self.irrigation + self.root_growth
        outflow = self.runoff + self.eta + self.dp
        return np.asarray(inflow - outflow - (self.storage_now - self.storage_start), dtype=float)


class RootZoneBalance:
    """FAO-56 root-zone water balance for ``n_plots`` plots, one day per step.

    crops: one :class:`Crop` for every plot, or a sequence with one per plot.
    theta_fc, theta_wp: field capacity and wilting point (m³/m³), scalar or per
    plot, ``0 <= θWP < θFC <= 1``. n_plots: needed only when ``crops`` is a
    single crop and no other argument is per plot. days_after_planting: crop
    age on the first simulated day (days, default 0). theta_initial: root-zone
    water content on the first day (m³/m³, default θFC; FAO-56 eq. 87 gives the
    initial depletion). theta_subsoil: water content of the soil the roots grow
    into (default θFC). curve_number: SCS CN per plot for runoff, or None for
    no runoff.
    """

    def __init__(
        self,
        crops: Crop | Sequence[Crop],
        theta_fc: ArrayLike,
        theta_wp: ArrayLike,
        *,
        n_plots: int | None = None,
        days_after_planting: ArrayLike = 0.0,
        theta_initial: ArrayLike | None = None,
        theta_subsoil: ArrayLike | None = None,
        curve_number: ArrayLike | None = None,
    ) -> None:
        crop_list = [crops] if isinstance(crops, Crop) else list(crops)
        if not crop_list or not all(isinstance(c, Crop) for c in crop_list):
            raise TypeError("crops must be a Crop or a non-empty sequence of Crop objects")
        n = self._resolve_n(
            crop_list, n_plots, theta_fc, theta_wp, days_after_planting, theta_initial
        )
        if len(crop_list) == 1:
            crop_list = crop_list * n
        elif len(crop_list) != n:
            raise ValueError(f"crops has {len(crop_list)} entries but there are {n} plots")
        self._n = n
        self.crops: tuple[Crop, ...] = tuple(crop_list)

        self._fc = _as_plot_array("theta_fc", theta_fc, n)
        self._wp = _as_plot_array("theta_wp", theta_wp, n)
        if (self._fc > 1).any():
            raise ValueError("theta_fc must be <= 1 m³/m³")
        if (self._wp >= self._fc).any():
            raise ValueError("theta_wp must be < theta_fc on every plot")
        theta0 = (
            self._fc if theta_initial is None else _as_plot_array("theta_initial", theta_initial, n)
        )
        sub = (
            self._fc if theta_subsoil is None else _as_plot_array("theta_subsoil", theta_subsoil, n)
        )
        for name, arr in (("theta_initial", theta0), ("theta_subsoil", sub)):
            if ((arr < self._wp - 1e-12) | (arr > self._fc + 1e-12)).any():
                raise ValueError(f"{name} must lie between theta_wp and theta_fc on every plot")
        self._sub = np.array(np.clip(sub, self._wp, self._fc))
        self._day = _as_plot_array("days_after_planting", days_after_planting, n)
        if curve_number is None:
            self._cn: FloatArray | None = None
        else:
            cn = _as_plot_array("curve_number", curve_number, n)
            if (cn <= 0).any() or (cn > 100).any():
                raise ValueError("curve_number must be in (0, 100] on every plot")
            self._cn = cn

        def col(attr: str) -> FloatArray:
            return np.array([float(getattr(c, attr)) for c in self.crops])

        self._l_ini, self._l_dev = col("l_ini"), col("l_dev")
        self._l_mid, self._l_late = col("l_mid"), col("l_late")
        self._kc_ini, self._kc_mid, self._kc_end = col("kc_ini"), col("kc_mid"), col("kc_end")
        self._zr_min, self._zr_max, self._p_table = col("zr_min"), col("zr_max"), col("p")

        self._zr = root_depth_curve(self._day, self._l_ini, self._l_dev, self._zr_min, self._zr_max)
        theta0 = np.clip(theta0, self._wp, self._fc)
        self._dr = 1000.0 * (self._fc - theta0) * self._zr  # FAO-56 eq. 87
        self._days = 0.0
        zeros = np.zeros(n)
        self._sum = {k: zeros.copy() for k in ("rain", "irr", "ro", "eta", "dp", "growth")}
        self._storage_start = self.taw_mm - self._dr

    @staticmethod
    def _resolve_n(crops: list[Crop], n_plots: int | None, *arrays: ArrayLike | None) -> int:
        sizes = {len(crops)} if len(crops) > 1 else set()
        for a in arrays:
            if a is not None and np.ndim(a) == 1 and np.shape(a)[0] > 1:
                sizes.add(int(np.shape(a)[0]))
        if n_plots is not None:
            if isinstance(n_plots, bool) or not isinstance(n_plots, int) or n_plots < 1:
                raise ValueError(f"n_plots must be a positive integer, got {n_plots!r}")
            sizes.add(n_plots)
        if len(sizes) > 1:
            raise ValueError(f"inconsistent numbers of plots in the arguments: {sorted(sizes)}")
        return sizes.pop() if sizes else 1

    # --- state ---------------------------------------------------------
    @property
    def n_plots(self) -> int:
        return self._n

    @property
    def days_after_planting(self) -> FloatArray:
        """Crop age (days) on the next day to be simulated."""
        return self._day.copy()

    @property
    def root_depth_m(self) -> FloatArray:
        """Current root depth Zr (m)."""
        return self._zr.copy()

    @property
    def taw_mm(self) -> FloatArray:
        """Current total available water, 1000 (θFC − θWP) Zr (mm)."""
        return np.asarray(1000.0 * (self._fc - self._wp) * self._zr, dtype=float)

    @property
    def depletion_mm(self) -> FloatArray:
        """Current root-zone depletion Dr below field capacity (mm)."""
        return self._dr.copy()

    def soil_moisture_vwc(self) -> FloatArray:
        """Mean volumetric water content θ of the root zone (m³/m³), what a
        probe spanning the root zone reads: θFC − Dr / (1000 Zr)."""
        return np.asarray(self._fc - self._dr / (1000.0 * self._zr), dtype=float)

    def ledger(self) -> Ledger:
        """Season totals since construction (copies)."""
        s = self._sum
        return Ledger(
            days=self._days,
            rain=s["rain"].copy(),
            irrigation=s["irr"].copy(),
            runoff=s["ro"].copy(),
            eta=s["eta"].copy(),
            dp=s["dp"].copy(),
            root_growth=s["growth"].copy(),
            storage_start=self._storage_start.copy(),
            storage_now=self.taw_mm - self._dr,
        )

    # --- replanting --------------------------------------------------------
    def replant(self, plots: ArrayLike) -> None:
        """Plant a new crop on the plots where ``plots`` (bool, shape (n,)) is True.

        Their crop age returns to 0 and the root zone to ``Zr min``; the soil
        keeps its water content θ, so the depletion becomes ``1000 (θFC − θ)
        Zr min``. The water left below the new root zone leaves the balance:
        the ledger books that change of storage under ``root_growth`` (negative),
        so it still closes.
        """
        mask = np.asarray(plots, dtype=bool)
        if mask.shape != (self._n,):
            raise ValueError(f"plots must be a bool array of shape ({self._n},), got {mask.shape}")
        if not mask.any():
            return
        before = self.taw_mm - self._dr
        theta = self.soil_moisture_vwc()
        zr_new = np.where(mask, self._zr_min, self._zr)
        self._dr = np.where(mask, 1000.0 * (self._fc - theta) * zr_new, self._dr)
        self._zr = np.asarray(zr_new, dtype=float)
        self._day = np.where(mask, 0.0, self._day)
        self._sum["growth"] += (self.taw_mm - self._dr) - before

    # --- the day ---------------------------------------------------------
    def advance_day(
        self, et0_mm: ArrayLike, rain_mm: ArrayLike, irrigation_mm: ArrayLike = 0.0
    ) -> DayRecord:
        """Advance one day. et0_mm: reference ET0 (mm/d); rain_mm: rain (mm);
        irrigation_mm: net irrigation reaching the root zone (mm). Each is a
        scalar or one value per plot, finite and >= 0."""
        return self.advance(1.0, et0_mm, rain_mm, irrigation_mm)

    def advance(
        self,
        dt_days: float,
        et0_mm: ArrayLike,
        rain_mm: ArrayLike,
        irrigation_mm: ArrayLike = 0.0,
        *,
        et0_day_mm: ArrayLike | None = None,
    ) -> DayRecord:
        """Advance ``dt_days`` (0 < dt <= 1) with the amounts of that interval.

        et0_mm, rain_mm, irrigation_mm: ET0, rain and net irrigation over the
        interval (mm). et0_day_mm: the day's ET0 (mm/d) for the FAO-56 p
        adjustment (default ``et0_mm / dt_days``). The equations are those of a
        day with the crop age advancing by ``dt_days``; Ks uses the depletion at
        the start of the interval, so short steps follow the stress as it
        develops within a day. The SCS runoff is a daily method: with a curve
        number only whole days are allowed.
        """
        dt = float(dt_days)
        if not (math.isfinite(dt) and 0.0 < dt <= 1.0):
            raise ValueError(f"dt_days must be in (0, 1], got {dt_days!r}")
        if self._cn is not None and dt != 1.0:
            raise ValueError("a balance with a curve number advances whole days only")
        n = self._n
        et0 = _as_plot_array("et0_mm", et0_mm, n)
        rain = _as_plot_array("rain_mm", rain_mm, n)
        irr = _as_plot_array("irrigation_mm", irrigation_mm, n)
        et0_day = et0 / dt if et0_day_mm is None else _as_plot_array("et0_day_mm", et0_day_mm, n)
        day = self._day

        # 1. root growth; the new layer enters at theta_subsoil
        zr = np.maximum(
            root_depth_curve(day, self._l_ini, self._l_dev, self._zr_min, self._zr_max), self._zr
        )
        dz = zr - self._zr
        dr_prev = self._dr + 1000.0 * (self._fc - self._sub) * dz
        growth = 1000.0 * (self._sub - self._wp) * dz
        self._zr = zr

        # 2. TAW, Kc, ETc, p, RAW
        taw = 1000.0 * (self._fc - self._wp) * zr
        kc = kc_curve(
            day,
            self._l_ini,
            self._l_dev,
            self._l_mid,
            self._l_late,
            self._kc_ini,
            self._kc_mid,
            self._kc_end,
        )
        etc = kc * et0
        p = adjusted_depletion_fraction(self._p_table, kc * et0_day)
        raw = p * taw

        # 3. stress (eq. 84) from yesterday's depletion
        ks = np.where(dr_prev > raw, (taw - dr_prev) / ((1.0 - p) * taw), 1.0)
        ks = np.clip(ks, 0.0, 1.0)

        # 4. runoff
        ro = np.zeros(n) if self._cn is None else scs_runoff_mm(rain, self._cn)
        water_in = rain - ro + irr

        # 3b. ETa, capped at the water there is
        eta = np.minimum(ks * etc, np.maximum(taw - dr_prev + water_in, 0.0))

        # 5./6. deep percolation (eq. 88) and depletion (eq. 85, 86)
        unbounded = dr_prev - water_in + eta
        dp = np.maximum(-unbounded, 0.0)
        dr = np.clip(unbounded, 0.0, taw)

        self._dr = dr
        self._day = day + dt
        self._days += dt
        s = self._sum
        s["rain"] += rain
        s["irr"] += irr
        s["ro"] += ro
        s["eta"] += eta
        s["dp"] += dp
        s["growth"] += growth
        return DayRecord(
            day=day.copy(),
            kc=kc,
            zr=zr.copy(),
            p=p,
            dr=dr.copy(),
            ks=ks,
            etc=etc,
            eta=eta,
            dp=dp,
            ro=ro,
            taw=taw,
            raw=raw,
            root_growth=growth,
        )
