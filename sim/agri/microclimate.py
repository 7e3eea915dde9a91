"""Air temperature and humidity inside shade-net houses (An Lạc chrysanthemum), with misting.

Vectorised over ``n`` houses: every parameter may be a scalar or an array of
shape ``(n,)``, and every state and property is a float64 array of shape
``(n,)``. One house is one well-mixed air volume ``V = area × height`` over a
transpiring crop, under a ~50 % black shade net that is porous enough to be
ventilated passively by the wind.

State: air temperature ``T`` (°C) and vapour density (absolute humidity)
``ρv`` (kg/m³). Using ``ρv`` keeps the vapour mass in a house exactly
``ρv·V``, so the water ledger closes to round-off.

Balances (per house; sign + = into the air)
-------------------------------------------
Heat, ``ρa cp V dT/dt``::

    ρa cp Q (To − T)                         ventilation, Q = ACH·V/3600 (m³/s)
  + A [(1 − f_store) a_cf τ S − λE_tr]       sensible heat from crop and floor
  + A f_in α_net S                           heat the sun-warmed net gives the inside air
  − λ E_mist                                 latent cooling by evaporating mist

Vapour, ``V dρv/dt``::

    Q (ρv,o − ρv) + E_tr + E_mist

with (A floor area m², S outside global radiation W/m², τ the net's
transmittance, λ latent heat J/kg):

* **Ventilation** ``ACH = a + b·u`` (air changes per hour, ``u`` outside wind
  m/s): the usual linear wind law for naturally ventilated houses; ``a`` stands
  for the buoyancy-driven exchange through the porous net in calm air.
* **Transpiration** (stated, a simple radiation + VPD form after Baille et al.
  1994, *Sci. Hortic.* 59: 217–232, for greenhouse ornamentals)::

      λE_tr = A_rad (1 − exp(−k·LAI)) τS + B_vpd · LAI · D · τS/(τS + R_half)

  (W/m² floor), D the inside vapour pressure deficit (kPa). The light factor
  ``τS/(τS + R_half)`` closes the stomata at night, so an unlit house has no
  transpiration. The crop's latent heat comes out of the energy it absorbs, so
  when λE_tr exceeds it (hot dry wind) the crop cools the air (H < 0).
* **Mist**: the nozzles deliver ``m = F/60`` kg/s (F L/min, 1 L = 1 kg). The
  fraction that evaporates in the air is
  ``η = η_max (1 − exp(−D/D_mist))``: droplets evaporate faster in drier air,
  and none evaporate in saturated air. The rest wets the crop and floor
  (``mist_deposited_l``; its later evaporation from wet leaves is not modelled).
* **Saturation**: the air can never exceed 100 % RH. Whenever a step would
  super-saturate a house, the excess vapour ``δ`` is removed along the
  isenthalpic line (``ρa cp ΔT = λ δ``, solved by Newton's method): first by
  evaporating less mist (that water is deposited instead), then by condensing
  on crop, net and frame (``condensed_l``).

Integration
-----------
:meth:`NetHouseClimate.advance` splits ``dt`` into equal sub-steps of at most
``max_substep_s`` (default 10 s). In each sub-step the sources are frozen and
``T`` and ``ρv`` relax exactly (exponentially) towards their equilibrium with
the outside air, ``x ← x + (k (x_o − x) + s)(1 − e^{−kh})/k`` with
``k = ACH/3600``. That is unconditionally stable, so any ``dt`` is safe: a
600 s step is sixty 10 s sub-steps. The frozen sources make the scheme first
order in the sub-step: in an extreme transient (a house at 25 °C / 90 % thrown
into 39 °C / 40 % with mist on, +10 °C in 90 s) the error against 1 s
sub-steps is ~0.07 °C with 10 s sub-steps and ~0.5 °C with 60 s sub-steps.

Parameters and their defaults (per house; "(est.)" marks an estimate, not a measurement)
----------------------------------------------------------------------------------------
* ``area_m2`` (m², > 0): required; the plot's net-house floor (``sites.yaml``: 180–1,140 m²).
* ``height_m`` (m, 1–10) = 3.0: (est.) typical gutter height of bamboo/steel net houses.
* ``shade_transmittance`` τ (–, (0, 1]) = 0.5: a nominal "50 %" shade net.
* ``net_absorptance`` α (–, 0 ≤ α ≤ 1 − τ) = 0.40: (est.) a black HDPE net absorbs what it
  neither transmits nor reflects (reflectance ~0.1).
* ``net_heat_inside`` f_in (–, 0–1) = 0.3: (est.) share of the net's absorbed solar heat its
  inner face gives to the inside air.
* ``ach_calm_per_h`` a (h⁻¹, ≥ 0) = 20: (est.) exchange through the porous roof in calm air.
* ``ach_per_wind`` b (h⁻¹ per m/s, ≥ 0) = 25: (est.) chosen so a 3 m high house runs
  1–4 °C above outside at midday with 1–3 m/s of wind, as reported for net houses in the
  humid tropics (Harmanto, Tantau & Salokhe: +1–3 °C with finer insect nets) and in the
  review of Tanny (2013, *Biosyst. Eng.* 114: 26–43).
* ``crop_absorptance`` a_cf (–, 0–1) = 0.77: 1 − 0.23, FAO-56's reference albedo.
* ``storage_fraction`` f_store (–, 0–1) = 0.2: (est.) absorbed radiation lost to soil heat
  flux and net long-wave (FAO-56 hourly G = 0.1 Rn by day, eq. 45, plus long-wave).
* ``lai`` (m²/m², 0–10) = 3.0: (est.) chrysanthemum canopy at mid-season.
* ``transp_a`` A_rad (–, 0–1) = 0.5: (est.) radiation coefficient of the Baille et al. form.
* ``extinction_k`` k (–, 0–2) = 0.64: (est.) canopy extinction of global radiation.
* ``transp_b_w_m2_kpa`` B_vpd (W m⁻² kPa⁻¹ per unit LAI, 0–200) = 12: (est.) VPD
  coefficient of the Baille et al. form.
* ``light_half_w_m2`` R_half (W/m², > 0) = 50: (est.) inside radiation at half stomatal
  opening.
* ``mist_flow_lpm`` F (L/min, ≥ 0) = 0.008 × area: (est.) one ~4 L/h fog nozzle per 8 m²
  (0.48 L m⁻² h⁻¹).
* ``mist_efficiency_max`` η_max (–, 0–1) = 0.9: (est.) fine fog (≲ 20 µm droplets);
  low-pressure mist evaporates far less (high- vs low-pressure fogging trials, *Biosyst.
  Eng.* 2008, report ≥ 64 % higher evaporation efficiency for high pressure).
* ``mist_vpd_scale_kpa`` D_mist (kPa, > 0) = 0.8: (est.) deficit at which 63 % of η_max
  evaporates.
* ``pressure_kpa`` (kPa, 50–110) = 101.3: FAO-56 eq. 7 near sea level (Đông Hà ~10 m).
* ``max_substep_s`` (s, > 0) = 10: keeps the frozen-source error small against the
  ~40 s ventilation time constant of a windy day (and equals the misting scan).

With these defaults a 500 m² house at 33 °C, 60 % RH, 900 W/m² runs ~2 °C
above outside at 1.5 m/s wind (~3.6 °C at 0.5 m/s, ~1.3 °C at 3 m/s); on a
Laos-wind afternoon (39 °C, 40 % RH, 800 W/m², 3 m/s) continuous mist cools it
by ~2.7 °C and raises RH by ~9 points. Fog cooling trials with 20–75 s bursts every
~160 s report up to 6 °C below outside (*Environ. Control Biol.* 43(1)).

Constants: cp = 1013 J kg⁻¹ K⁻¹ and λ = 2.501 − 0.002361·T MJ/kg (FAO-56,
Annex 3), e°(T) = 0.6108 exp(17.27 T/(T + 237.3)) kPa (FAO-56 eq. 11),
Rd = 287.05 and Rv = 461.5 J kg⁻¹ K⁻¹.

Not modelled: thermal mass of crop, soil and frame (the air alone responds
in ~1 min); night-time long-wave cooling below outside temperature; leaf
wetness and its evaporation; wind direction and the house's shape; the net's
own temperature as a state; CO₂. The air is a fixed volume at constant
pressure, so cooling keeps the vapour density rather than the mixing ratio:
adiabatic saturation from 38 °C / 35 % ends ~0.4 K below the psychrometric
wet bulb.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "CP_AIR_J_KG_K",
    "DEFAULT_MIST_LPM_PER_M2",
    "NetHouseClimate",
    "VapourLedger",
    "latent_heat_j_kg",
    "saturation_vapour_density",
]

FloatArray = NDArray[np.float64]

#: Specific heat of moist air at constant pressure (J kg⁻¹ K⁻¹), FAO-56.
CP_AIR_J_KG_K = 1013.0
#: Gas constants of dry air and water vapour (J kg⁻¹ K⁻¹).
R_DRY = 287.05
R_VAPOUR = 461.5
#: Default mist nozzle flow per floor area (L min⁻¹ m⁻²), (est.): one 4 L/h nozzle per 8 m².
DEFAULT_MIST_LPM_PER_M2 = 0.008

_OUTSIDE_T_RANGE_C = (-20.0, 60.0)
_NEWTON_ITERATIONS = 6


# ------------------------------------------------------------------ physics helpers
def _es_kpa(t_c: FloatArray) -> FloatArray:
    """Saturation vapour pressure (kPa) at ``t_c`` (°C), FAO-56 eq. 11 (unchecked)."""
    return np.asarray(0.6108 * np.exp(17.27 * t_c / (t_c + 237.3)), dtype=np.float64)


def _rho_sat(t_c: FloatArray) -> FloatArray:
    """Saturation vapour density (kg/m³) at ``t_c`` (°C) (unchecked)."""
    return _es_kpa(t_c) * 1000.0 / (R_VAPOUR * (t_c + 273.15))


def _drho_sat_dt(t_c: FloatArray, rho_s: FloatArray) -> FloatArray:
    """d(ρ_sat)/dT (kg m⁻³ K⁻¹) given ``rho_s`` = ρ_sat(t_c)."""
    return rho_s * (17.27 * 237.3 / (t_c + 237.3) ** 2 - 1.0 / (t_c + 273.15))


def _lambda(t_c: FloatArray) -> FloatArray:
    return (2.501 - 2.361e-3 * t_c) * 1e6


def latent_heat_j_kg(t_c: ArrayLike) -> FloatArray:
    """Latent heat of vaporisation λ (J/kg) at ``t_c`` (°C): (2.501 − 0.002361 T)·10⁶, FAO-56."""
    return _lambda(_finite("t_c", t_c))


def saturation_vapour_density(t_c: ArrayLike) -> FloatArray:
    """Saturation vapour density ρ_sat (kg/m³) at air temperature ``t_c`` (°C, −20…60)."""
    return _rho_sat(_finite("t_c", t_c, *_OUTSIDE_T_RANGE_C))


# ------------------------------------------------------------------ input checks
def _finite(name: str, value: ArrayLike, lo: float = -math.inf, hi: float = math.inf) -> FloatArray:
    """``value`` as a float64 array, finite and within [lo, hi]; errors name ``name``."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number or an array of numbers, got {value!r}") from None
    if arr.ndim == 0:
        x = float(arr)
        if not math.isfinite(x):
            raise ValueError(f"{name} must be finite, got {x!r}")
        if not lo <= x <= hi:
            raise ValueError(f"{name} = {x:g} is outside [{lo:g}, {hi:g}]")
        return arr
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite, got {arr[~np.isfinite(arr)].flat[0]!r}")
    bad = (arr < lo) | (arr > hi)
    if bad.any():
        raise ValueError(f"{name} = {arr[bad].flat[0]:g} is outside [{lo:g}, {hi:g}]")
    return arr


def _per_house(
    name: str,
    value: ArrayLike,
    n: int,
    lo: float = -math.inf,
    hi: float = math.inf,
    *,
    lo_open: bool = False,
) -> FloatArray:
    """``value`` checked and broadcast to a new array of shape (n,); errors name ``name``."""
    arr = _finite(name, value, lo, hi)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, n)):
        raise ValueError(
            f"{name} has shape {arr.shape}; give a scalar or an array of shape ({n},), "
            "one value per house"
        )
    if lo_open and (arr <= lo).any():
        raise ValueError(f"{name} must be > {lo:g}, got {float(arr.min()):g}")
    if arr.shape == (n,):
        return arr.copy()
    return np.full(n, float(arr.reshape(())) if arr.ndim == 0 else float(arr[0]))


def _mist_flags(value: Any, n: int) -> FloatArray:
    """``mist_on`` (bool scalar or (n,) array, or 0/1) as a 0.0/1.0 float array."""
    if value is True or value is False:
        return np.full(n, float(value))
    arr = np.asarray(value)
    if arr.dtype != np.bool_ and (arr.dtype.kind not in "iuf" or not np.isin(arr, (0, 1)).all()):
        raise ValueError(f"mist_on must be booleans (or 0/1), got {value!r}")
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] not in (1, n)):
        raise ValueError(f"mist_on has shape {arr.shape}; give a bool or an array of shape ({n},)")
    return np.array(np.broadcast_to(arr.astype(np.float64), (n,)))


# ------------------------------------------------------------------ ledger
@dataclass(frozen=True)
class VapourLedger:
    """Cumulative vapour budget per house since the last reset (kg, arrays of shape (n,)).

    Closes to round-off: ``stored_change = ventilation + transpiration +
    mist_evaporated − condensed`` (see :meth:`residual_kg`).

    Attributes:
        stored_change: change of the vapour held in the air, ``ΔρV·V``.
        ventilation: vapour brought in by ventilation (negative = exported).
        transpiration: crop transpiration.
        mist_evaporated: mist that evaporated in the air.
        condensed: vapour condensed on crop, net and frame at saturation.
    """

    stored_change: FloatArray
    ventilation: FloatArray
    transpiration: FloatArray
    mist_evaporated: FloatArray
    condensed: FloatArray

    def residual_kg(self) -> FloatArray:
        """stored_change − (ventilation + transpiration + mist_evaporated − condensed) (kg)."""
        sources = self.ventilation + self.transpiration + self.mist_evaporated - self.condensed
        return self.stored_change - sources


# ------------------------------------------------------------------ the model
class NetHouseClimate:
    """Passively ventilated shade-net houses with crop transpiration and mist (see module doc).

    Args:
        area_m2: floor area per house (m², > 0); its length sets ``n``.
        height_m: mean air height (m, 1–10); volume = area × height.
        shade_transmittance: solar transmittance τ of the net (–, (0, 1]).
        net_absorptance: solar absorptance of the net (–, 0 ≤ α ≤ 1 − τ).
        net_heat_inside: share of the net's absorbed heat given to the inside air (–, 0–1).
        ach_calm_per_h: air changes per hour in calm air (h⁻¹, ≥ 0).
        ach_per_wind: extra air changes per hour per m/s of outside wind (h⁻¹ s/m, ≥ 0).
        crop_absorptance: solar absorptance of crop and floor, 1 − albedo (–, 0–1).
        storage_fraction: share of the absorbed radiation going to soil heat
            flux and net long-wave loss instead of crop energy (–, 0–1).
        lai: leaf area index (m²/m², 0–10; 0 = no crop).
        transp_a: radiation coefficient ``A_rad`` of the transpiration form (–, 0–1).
        extinction_k: canopy extinction coefficient k (–, 0–2).
        transp_b_w_m2_kpa: VPD coefficient ``B_vpd`` (W m⁻² kPa⁻¹ per unit LAI, 0–200).
        light_half_w_m2: inside radiation at half stomatal opening (W/m², > 0).
        mist_flow_lpm: nozzle flow per house while misting (L/min, ≥ 0); None =
            :data:`DEFAULT_MIST_LPM_PER_M2` × area.
        mist_efficiency_max: evaporated share of the mist in very dry air (–, 0–1).
        mist_vpd_scale_kpa: deficit scale D_mist of mist evaporation (kPa, > 0).
        pressure_kpa: atmospheric pressure (kPa, 50–110).
        max_substep_s: longest internal sub-step (s, > 0).

    The initial state is 25 °C and 70 % RH in every house; call :meth:`reset`
    to start from the outside air.

    Raises:
        ValueError: a NaN, infinite, out-of-range or wrongly shaped argument,
            named in the message.
    """

    def __init__(
        self,
        area_m2: ArrayLike,
        *,
        height_m: ArrayLike = 3.0,
        shade_transmittance: ArrayLike = 0.5,
        net_absorptance: ArrayLike = 0.40,
        net_heat_inside: ArrayLike = 0.3,
        ach_calm_per_h: ArrayLike = 20.0,
        ach_per_wind: ArrayLike = 25.0,
        crop_absorptance: ArrayLike = 0.77,
        storage_fraction: ArrayLike = 0.2,
        lai: ArrayLike = 3.0,
        transp_a: ArrayLike = 0.5,
        extinction_k: ArrayLike = 0.64,
        transp_b_w_m2_kpa: ArrayLike = 12.0,
        light_half_w_m2: ArrayLike = 50.0,
        mist_flow_lpm: ArrayLike | None = None,
        mist_efficiency_max: ArrayLike = 0.9,
        mist_vpd_scale_kpa: ArrayLike = 0.8,
        pressure_kpa: ArrayLike = 101.3,
        max_substep_s: float = 10.0,
    ) -> None:
        area = _finite("area_m2", area_m2)
        if area.ndim > 1:
            raise ValueError(f"area_m2 must be a scalar or a 1-D array, got shape {area.shape}")
        area = np.atleast_1d(area).astype(np.float64)
        if area.size == 0:
            raise ValueError("area_m2 is empty; give at least one house")
        if (area <= 0).any():
            raise ValueError(f"area_m2 must be > 0 m², got {float(area.min()):g}")
        n = self.n = int(area.size)
        self.area_m2 = area
        self.height_m = _per_house("height_m", height_m, n, 1.0, 10.0)
        self.volume_m3 = area * self.height_m
        tau = self.shade_transmittance = _per_house(
            "shade_transmittance", shade_transmittance, n, 0.0, 1.0, lo_open=True
        )
        alpha = self.net_absorptance = _per_house("net_absorptance", net_absorptance, n, 0.0, 1.0)
        if (alpha > 1.0 - tau + 1e-12).any():
            raise ValueError(
                "net_absorptance + shade_transmittance must be <= 1 (the net cannot absorb "
                "light it transmits)"
            )
        self.net_heat_inside = _per_house("net_heat_inside", net_heat_inside, n, 0.0, 1.0)
        self.ach_calm_per_h = _per_house("ach_calm_per_h", ach_calm_per_h, n, 0.0, 1000.0)
        self.ach_per_wind = _per_house("ach_per_wind", ach_per_wind, n, 0.0, 1000.0)
        self.crop_absorptance = _per_house("crop_absorptance", crop_absorptance, n, 0.0, 1.0)
        self.storage_fraction = _per_house("storage_fraction", storage_fraction, n, 0.0, 1.0)
        self.lai = _per_house("lai", lai, n, 0.0, 10.0)
        self.transp_a = _per_house("transp_a", transp_a, n, 0.0, 1.0)
        self.extinction_k = _per_house("extinction_k", extinction_k, n, 0.0, 2.0)
        self.transp_b_w_m2_kpa = _per_house("transp_b_w_m2_kpa", transp_b_w_m2_kpa, n, 0.0, 200.0)
        self.light_half_w_m2 = _per_house(
            "light_half_w_m2", light_half_w_m2, n, 0.0, 2000.0, lo_open=True
        )
        flow = DEFAULT_MIST_LPM_PER_M2 * area if mist_flow_lpm is None else mist_flow_lpm
        self.mist_flow_lpm = _per_house("mist_flow_lpm", flow, n, 0.0, 1000.0)
        self.mist_efficiency_max = _per_house(
            "mist_efficiency_max", mist_efficiency_max, n, 0.0, 1.0
        )
        self.mist_vpd_scale_kpa = _per_house(
            "mist_vpd_scale_kpa", mist_vpd_scale_kpa, n, 0.0, 20.0, lo_open=True
        )
        self.pressure_kpa = _per_house("pressure_kpa", pressure_kpa, n, 50.0, 110.0)
        step = _finite("max_substep_s", max_substep_s)
        if step.ndim != 0 or float(step) <= 0.0:
            raise ValueError(f"max_substep_s must be one number > 0 s, got {max_substep_s!r}")
        self.max_substep_s = float(step)
        # derived per-house constants
        self._sensible_crop = (1.0 - self.storage_fraction) * self.crop_absorptance * tau
        self._net_gain = self.net_heat_inside * alpha
        self._transp_rad = self.transp_a * (1.0 - np.exp(-self.extinction_k * self.lai)) * tau
        self._transp_vpd = self.transp_b_w_m2_kpa * self.lai
        self._mist_kg_s = self.mist_flow_lpm / 60.0
        self._t = np.full(n, 25.0)
        self._rho = 0.7 * _rho_sat(self._t)
        self._zero_ledger()

    # ------------------------------------------------------------ state access
    def _zero_ledger(self) -> None:
        n = self.n
        self._rho_start = self._rho.copy()
        self._vent_kg = np.zeros(n)
        self._transp_kg = np.zeros(n)
        self._mist_kg = np.zeros(n)
        self._mist_evap_kg = np.zeros(n)
        self._cond_kg = np.zeros(n)

    def reset(self, outside_temp_c: ArrayLike, outside_rh_pct: ArrayLike) -> None:
        """Set every house to the outside air and zero the counters and the ledger.

        Args:
            outside_temp_c: outside air temperature (°C, −20…60), scalar or (n,).
            outside_rh_pct: outside relative humidity (%, 0…100), scalar or (n,).
        """
        t = _per_house("outside_temp_c", outside_temp_c, self.n, *_OUTSIDE_T_RANGE_C)
        rh = _per_house("outside_rh_pct", outside_rh_pct, self.n, 0.0, 100.0)
        self._t = t
        self._rho = rh / 100.0 * _rho_sat(t)
        self._zero_ledger()

    @property
    def temp_c(self) -> FloatArray:
        """Inside air temperature (°C), shape (n,)."""
        return self._t.copy()

    @property
    def vapour_density_kg_m3(self) -> FloatArray:
        """Inside absolute humidity ρv (kg/m³), shape (n,)."""
        return self._rho.copy()

    @property
    def vapour_pressure_kpa(self) -> FloatArray:
        """Inside actual vapour pressure e (kPa), shape (n,)."""
        return self._rho * R_VAPOUR * (self._t + 273.15) / 1000.0

    @property
    def rh_pct(self) -> FloatArray:
        """Inside relative humidity (%, 0…100), shape (n,)."""
        return np.minimum(100.0 * self._rho / _rho_sat(self._t), 100.0)

    @property
    def vpd_kpa(self) -> FloatArray:
        """Inside vapour pressure deficit e°(T) − e (kPa, ≥ 0), shape (n,)."""
        return np.maximum(_es_kpa(self._t) - self.vapour_pressure_kpa, 0.0)

    @property
    def mist_water_l(self) -> FloatArray:
        """Mist water delivered by the nozzles since the last reset (L per house)."""
        return self._mist_kg.copy()

    @property
    def mist_evaporated_l(self) -> FloatArray:
        """Share of the mist water that evaporated in the air (L per house)."""
        return self._mist_evap_kg.copy()

    @property
    def mist_deposited_l(self) -> FloatArray:
        """Mist water that did not evaporate and wetted crop and floor (L per house)."""
        return self._mist_kg - self._mist_evap_kg

    @property
    def transpiration_l(self) -> FloatArray:
        """Crop transpiration since the last reset (L per house; mm = L / area)."""
        return self._transp_kg.copy()

    @property
    def condensed_l(self) -> FloatArray:
        """Vapour condensed at saturation since the last reset (L per house)."""
        return self._cond_kg.copy()

    def ledger(self) -> VapourLedger:
        """The vapour budget since the last reset (kg per house)."""
        return VapourLedger(
            stored_change=(self._rho - self._rho_start) * self.volume_m3,
            ventilation=self._vent_kg.copy(),
            transpiration=self._transp_kg.copy(),
            mist_evaporated=self._mist_evap_kg.copy(),
            condensed=self._cond_kg.copy(),
        )

    def air_changes_per_h(self, wind_mps: ArrayLike) -> FloatArray:
        """Ventilation ACH = a + b·u (h⁻¹) at outside wind ``wind_mps`` (m/s, 0…60)."""
        u = _per_house("wind_mps", wind_mps, self.n, 0.0, 60.0)
        return self.ach_calm_per_h + self.ach_per_wind * u

    # ------------------------------------------------------------ integration
    def advance(
        self,
        dt_s: float,
        outside_temp_c: ArrayLike,
        outside_rh_pct: ArrayLike,
        wind_mps: ArrayLike,
        solar_wm2: ArrayLike,
        mist_on: Any,
    ) -> None:
        """Advance every house by ``dt_s`` with the given outside weather and mist commands.

        Args:
            dt_s: step (s, ≥ 0, finite); split into sub-steps of at most ``max_substep_s``.
            outside_temp_c: outside air temperature (°C, −20…60).
            outside_rh_pct: outside relative humidity (%, 0…100).
            wind_mps: outside wind speed at ~2 m (m/s, 0…60).
            solar_wm2: global horizontal radiation outside the net (W/m², 0…1500).
            mist_on: nozzles open (bool, or 0/1) per house; held for the whole step.

        Weather arguments are scalars or arrays of shape (n,), held constant
        over the step.
        """
        dt = _finite("dt_s", dt_s, 0.0)
        if dt.ndim != 0:
            raise ValueError(f"dt_s must be one number of seconds, got shape {dt.shape}")
        n = self.n
        t_o = _per_house("outside_temp_c", outside_temp_c, n, *_OUTSIDE_T_RANGE_C)
        rh_o = _per_house("outside_rh_pct", outside_rh_pct, n, 0.0, 100.0)
        k = self.air_changes_per_h(wind_mps) / 3600.0
        solar = _per_house("solar_wm2", solar_wm2, n, 0.0, 1500.0)
        mist = _mist_flags(mist_on, n)
        total = float(dt)
        if total == 0.0:
            return
        steps = max(1, math.ceil(total / self.max_substep_s - 1e-9))
        h = total / steps
        rho_o = rh_o / 100.0 * _rho_sat(t_o)
        phi = np.where(k > 0.0, -np.expm1(-k * h) / np.where(k > 0.0, k, 1.0), h)
        r_in = self.shade_transmittance * solar
        light = r_in / (r_in + self.light_half_w_m2)
        sensible_w_m2 = self._sensible_crop * solar + self._net_gain * solar
        transp_rad_w_m2 = self._transp_rad * solar
        transp_vpd_w_m2_kpa = self._transp_vpd * light
        mist_kg_s = self._mist_kg_s * mist
        for _ in range(steps):
            self._substep(
                h,
                phi,
                k,
                t_o,
                rho_o,
                sensible_w_m2,
                transp_rad_w_m2,
                transp_vpd_w_m2_kpa,
                mist_kg_s,
            )

    def _substep(
        self,
        h: float,
        phi: FloatArray,
        k: FloatArray,
        t_o: FloatArray,
        rho_o: FloatArray,
        sensible_w_m2: FloatArray,
        transp_rad_w_m2: FloatArray,
        transp_vpd_w_m2_kpa: FloatArray,
        mist_kg_s: FloatArray,
    ) -> None:
        """One sub-step of ``h`` s with sources frozen at the start (exponential relaxation)."""
        t, rho, vol, area = self._t, self._rho, self.volume_m3, self.area_m2
        t_k = t + 273.15
        vpd = np.maximum(_es_kpa(t) - rho * R_VAPOUR * t_k / 1000.0, 0.0)
        lam = _lambda(t)
        c_v = self.pressure_kpa * 1000.0 / (R_DRY * t_k) * CP_AIR_J_KG_K  # ρa cp, J m⁻³ K⁻¹
        le_tr = transp_rad_w_m2 + transp_vpd_w_m2_kpa * vpd  # W/m² floor
        e_tr = le_tr * area / lam  # kg/s
        eta = self.mist_efficiency_max * -np.expm1(-vpd / self.mist_vpd_scale_kpa)
        e_mist = eta * mist_kg_s  # kg/s
        heat_w = (sensible_w_m2 - le_tr) * area - lam * e_mist
        s_t = heat_w / (c_v * vol)  # K/s
        s_rho = (e_tr + e_mist) / vol  # kg m⁻³ s⁻¹
        t_new = t + (k * (t_o - t) + s_t) * phi
        rho_new = rho + (k * (rho_o - rho) + s_rho) * phi
        vent = vol * (k * (rho_o - rho) * phi + s_rho * (phi - h))
        mist_evap = e_mist * h
        # saturation: remove the excess along the isenthalpic line ρa cp ΔT = λ δ
        rho_s = _rho_sat(t_new)
        if (rho_new > rho_s).any():
            delta = self._excess(t_new, rho_new, lam / c_v)
            mist_back = np.minimum(delta * vol, mist_evap)
            self._cond_kg += delta * vol - mist_back
            mist_evap = mist_evap - mist_back
            t_new = t_new + lam / c_v * delta
            rho_new = rho_new - delta
        self._t, self._rho = t_new, rho_new
        self._vent_kg += vent
        self._transp_kg += e_tr * h
        self._mist_kg += mist_kg_s * h
        self._mist_evap_kg += mist_evap

    @staticmethod
    def _excess(t: FloatArray, rho: FloatArray, gain: FloatArray) -> FloatArray:
        """Vapour δ ≥ 0 (kg/m³) to remove so that ρ − δ = ρ_sat(T + gain·δ); 0 if unsaturated."""
        delta = np.zeros_like(t)
        for _ in range(_NEWTON_ITERATIONS):
            t_d = t + gain * delta
            rho_s = _rho_sat(t_d)
            f = rho - delta - rho_s
            slope = 1.0 + _drho_sat_dt(t_d, rho_s) * gain
            delta = np.maximum(delta + f / slope, 0.0)
        return delta
