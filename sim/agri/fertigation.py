"""Fertigation hardware of one cooperative site: mixing tank, dosing pumps, EC and pH probes.

The plant, upstream to downstream::

    source water ─► float valve ─►┌──────────────┐
    nutrient stock ─► dosing pump ─►│ mixing tank  │─► drip main (draw given by the caller)
    acid stock ─────► dosing pump ─►└──────────────┘
                                     EC probe, pH probe (in the well-mixed bulk)

Units: volume L, flow L/min, time s, fertiliser salts g (concentrations g/L),
EC mS/cm at 25 °C, alkalinity meq/L (eq/L internally) or mg/L as CaCO3
(50.04 mg CaCO3 per meq), dissolved inorganic carbon (DIC) mol/L.

Model
-----
- **Volume**: the float valve refills with source water whenever the level is
  below ``capacity_l``, at most ``refill_lpm``; the caller's draw (L per
  step, spread evenly over the step) leaves from the mixed bulk. A draw the
  tank cannot meet (empty) is cut and counted in :attr:`FertigationTank.shortfall_l`.
  Dosed stock adds its own volume (the tank has freeboard above the float level).
- **Mixing**: a dose first enters an unmixed pool (near the injection point)
  that joins the bulk with a first-order time constant ``mix_tau_s``. The
  probes and the outlet see the bulk only, so a pulse shows up at the probe
  as ``1 − exp(−t/τ)``. Substeps are at most ``min(mix_tau_s/4, 5 s)`` long.
- **EC** (linear in the dilute range, where fertigation works)::

      EC = EC_source + k_EC · C,    C = bulk fertiliser mass / volume (g/L)

  with ``k_EC`` = ``ec_per_g_l`` (1.2 mS/cm per g/L *(est.)*; complete
  fertilisers give about 1.0–1.5). The EC added by the acid's anion (nitrate
  replacing bicarbonate, ~0.03 mS/cm per meq/L) is neglected.
- **pH** from the carbonate system with two conservative quantities mixed
  like any solute: total alkalinity ``Alk`` (eq/L) and DIC ``C_T`` (mol/L).
  pH solves the charge balance (25 °C, pK1 6.35, pK2 10.33, pKw 14.0;
  Stumm & Morgan, *Aquatic Chemistry*)::

      Alk = C_T (α1 + 2 α2) + Kw/[H⁺] − [H⁺]

  which in the pH 4.5–8 range is Henderson–Hasselbalch,
  ``pH ≈ pK1 + log10([HCO3⁻]/[CO2*])``. Acid (a strong acid stock, nitric by
  default, ``normality_eq_l``) removes alkalinity one for one, turning
  bicarbonate into dissolved CO2; the fertiliser removes
  ``acidity_meq_per_g`` (ammonium and phosphate salts make complete
  fertilisers slightly acidic). The source water brings its own alkalinity and
  DIC (from its pH and alkalinity), so more alkaline water buffers more and needs
  more acid to reach the same pH.
  CO2 exchange: **closed system on dosing time scales**, with slow first-order
  exchange of dissolved CO2 with the air (``co2_tau_s``, 6 h *(est.)*; ``inf``
  makes the tank fully closed) towards Henry's law at ``pco2_atm``
  (pKH 1.47). Well water supersaturated with CO2 therefore drifts up in pH
  while it stands, as real tanks do. DIC exchange is applied once per
  :meth:`FertigationTank.advance` call from the pH at its start.
- **Probes**: reading = truth + drift offset + N(0, noise_sd), clipped to the
  probe's range and rounded to its resolution. Drift accumulates linearly at
  ``drift_per_day`` from the start. Faults (:data:`PROBE_FAULTS`):
  ``stuck`` (repeats its last reading: the insidious one), ``drift`` (extra
  drift of ``fault_drift_per_h``), ``dead`` (no reading: BAD quality),
  ``fouled`` (coated sensor: follows the truth with a ``fouled_tau_s`` lag
  and a gain ``fouled_gain`` — an EC cell reads low), ``none`` (healthy).
- **Pump faults** (:data:`PUMP_FAULTS`): ``stuck_on``, ``stuck_off``, ``none``.

Ledger: ``initial_fertiliser_g + fertiliser_g = fertiliser_in_tank_g +
nutrient_supplied_g`` to round-off.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from controllers.io import Quality, Sample

__all__ = [
    "EC_PROBE",
    "PH_PROBE",
    "PROBE_FAULTS",
    "PUMP_FAULTS",
    "AcidStock",
    "FertigationTank",
    "NutrientStock",
    "ProbeSpec",
    "SourceWater",
    "TankSpec",
    "carbonate_ph",
    "dic_from_ph",
]

PK1, PK2, PKW, PKH = 6.35, 10.33, 14.0, 1.47  # 25 °C (Stumm & Morgan)
K1, K2, KW, KH = 10.0**-PK1, 10.0**-PK2, 10.0**-PKW, 10.0**-PKH
MG_CACO3_PER_MEQ = 50.04
PROBE_FAULTS = ("none", "stuck", "drift", "dead", "fouled")
PUMP_FAULTS = ("none", "stuck_on", "stuck_off")
_PROBES = ("ec", "ph")
_PUMPS = ("nutrient", "acid")
_MAX_SUBSTEP_S = 5.0


def _check_fields(obj: object, rules: dict[str, tuple[float, float, bool]]) -> None:
    """Raise ValueError naming the field if a value is not a finite number in its range.

    ``rules`` maps field name -> (low, high, low_open). Infinity is accepted only
    for time constants (names ending in ``tau_s``), where it means "never".
    """
    for name, (low, high, low_open) in rules.items():
        value = getattr(obj, name)
        ok_type = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok_type or math.isnan(value):
            raise ValueError(f"{type(obj).__name__}.{name} must be a number, got {value!r}")
        if math.isinf(value) and not (name.endswith("tau_s") and value > 0):
            raise ValueError(f"{type(obj).__name__}.{name} must be finite, got {value!r}")
        if value < low or value > high or (low_open and value == low):
            lo = "(" if low_open else "["
            raise ValueError(f"{type(obj).__name__}.{name} = {value} outside {lo}{low}, {high}]")


@dataclass(frozen=True, slots=True)
class SourceWater:
    """Water the float valve refills with.

    Attributes:
        ec_ms_cm: EC (mS/cm, 0..5); 0.25 *(est.)* for fresh well or canal water.
        alkalinity_mg_l_caco3: bicarbonate alkalinity (mg/L as CaCO3, 0..1000);
            100 *(est.)*, moderate groundwater.
        ph: pH (4..10); 7.5 *(est.)*.
    """

    ec_ms_cm: float = 0.25
    alkalinity_mg_l_caco3: float = 100.0
    ph: float = 7.5

    def __post_init__(self) -> None:
        _check_fields(
            self,
            {
                "ec_ms_cm": (0.0, 5.0, False),
                "alkalinity_mg_l_caco3": (0.0, 1000.0, False),
                "ph": (4.0, 10.0, False),
            },
        )

    @property
    def alkalinity_eq_l(self) -> float:
        """Alkalinity (eq/L)."""
        return self.alkalinity_mg_l_caco3 / MG_CACO3_PER_MEQ / 1000.0

    @property
    def dic_mol_l(self) -> float:
        """Dissolved inorganic carbon (mol/L) consistent with the pH and alkalinity."""
        return dic_from_ph(self.alkalinity_eq_l, self.ph)


@dataclass(frozen=True, slots=True)
class NutrientStock:
    """Concentrated nutrient stock (A+B complete fertiliser dosed by one twin-head pump).

    Attributes:
        concentration_g_l: fertiliser salts in the stock (g/L, (0, 600]); 250
            *(est.)*: a 1:200 stock for ~1.25 g/L in the tank.
        ec_per_g_l: EC per g/L of salts in the tank (mS/cm per g/L, (0, 3]);
            1.2 *(est.)*, typical complete fertilisers give 1.0–1.5.
        acidity_meq_per_g: alkalinity consumed per g of salts (meq/g, 0..5);
            0.1 *(est.)* (ammonium and phosphate salts).
    """

    concentration_g_l: float = 250.0
    ec_per_g_l: float = 1.2
    acidity_meq_per_g: float = 0.1

    def __post_init__(self) -> None:
        _check_fields(
            self,
            {
                "concentration_g_l": (0.0, 600.0, True),
                "ec_per_g_l": (0.0, 3.0, True),
                "acidity_meq_per_g": (0.0, 5.0, False),
            },
        )


@dataclass(frozen=True, slots=True)
class AcidStock:
    """Acid stock for pH down, treated as a strong monoprotic acid.

    Attributes:
        normality_eq_l: acid equivalents per litre of stock (eq/L, (0, 20]);
            2.0 *(est.)*: nitric acid of ~12 % w/w (63 g HNO3 per eq). Phosphoric
            acid in the pH 4–7 range acts as ~1 eq/mol (its first proton).
    """

    normality_eq_l: float = 2.0

    def __post_init__(self) -> None:
        _check_fields(self, {"normality_eq_l": (0.0, 20.0, True)})


@dataclass(frozen=True, slots=True)
class TankSpec:
    """Tank, float valve and dosing pumps.

    Attributes:
        capacity_l: float-valve level (L, > 0); 5000 *(est.)*, a common 5 m³ tank.
        refill_lpm: float-valve maximum inflow (L/min, >= 0); 300 *(est.)*.
        nutrient_pump_lpm: nutrient dosing pump flow (L/min, > 0); 6 *(est.)*.
        acid_pump_lpm: acid dosing pump flow (L/min, > 0); 1.5 *(est.)*.
        mix_tau_s: mixing time constant (s, > 0); 60 *(est.)*, with recirculation.
        co2_tau_s: CO2 air exchange time constant (s, > 0, ``inf`` = closed);
            21600 *(est.)*.
        pco2_atm: CO2 partial pressure of the air (atm, 0..0.01); 4.2e-4 (~420 ppm, 2023).
    """

    capacity_l: float = 5000.0
    refill_lpm: float = 300.0
    nutrient_pump_lpm: float = 6.0
    acid_pump_lpm: float = 1.5
    mix_tau_s: float = 60.0
    co2_tau_s: float = 21600.0
    pco2_atm: float = 4.2e-4

    def __post_init__(self) -> None:
        _check_fields(
            self,
            {
                "capacity_l": (0.0, 1e6, True),
                "refill_lpm": (0.0, 1e5, False),
                "nutrient_pump_lpm": (0.0, 1000.0, True),
                "acid_pump_lpm": (0.0, 1000.0, True),
                "mix_tau_s": (0.0, 1e5, True),
                "co2_tau_s": (0.0, math.inf, True),
                "pco2_atm": (0.0, 0.01, False),
            },
        )


@dataclass(frozen=True, slots=True)
class ProbeSpec:
    """An EC or pH probe.

    Attributes:
        noise_sd: reading noise, standard deviation (probe units, >= 0).
        drift_per_day: normal calibration drift (probe units per day, any sign).
        resolution: reading step (> 0).
        low, high: measuring range; readings are clipped to it.
        fouled_tau_s: response lag of a fouled probe (s, > 0).
        fouled_gain: gain of a fouled probe (reading = gain × lagged truth, (0, 1]).
        fault_drift_per_h: drift added by the ``drift`` fault (units per hour).
    """

    noise_sd: float
    drift_per_day: float
    resolution: float
    low: float
    high: float
    fouled_tau_s: float = 1800.0
    fouled_gain: float = 1.0
    fault_drift_per_h: float = 0.1

    def __post_init__(self) -> None:
        _check_fields(
            self,
            {
                "noise_sd": (0.0, 10.0, False),
                "drift_per_day": (-10.0, 10.0, False),
                "resolution": (0.0, 1.0, True),
                "low": (-100.0, 100.0, False),
                "high": (-100.0, 100.0, False),
                "fouled_tau_s": (0.0, 1e6, True),
                "fouled_gain": (0.0, 1.0, True),
                "fault_drift_per_h": (-10.0, 10.0, False),
            },
        )
        if self.low >= self.high:
            raise ValueError(f"ProbeSpec.low ({self.low}) must be below high ({self.high})")


EC_PROBE = ProbeSpec(0.01, 0.002, 0.01, 0.0, 20.0, fouled_gain=0.8, fault_drift_per_h=0.1)
"""Default EC probe: ±0.01 mS/cm noise, 0.002 mS/cm/day drift, fouled reads 80 % (est.)."""
PH_PROBE = ProbeSpec(0.02, 0.005, 0.01, 0.0, 14.0, fouled_gain=1.0, fault_drift_per_h=0.2)
"""Default pH probe: ±0.02 noise, 0.005 pH/day drift (est.), fouled is sluggish only."""


# ------------------------------------------------------------------ chemistry
def _alk_of(h: float, dic: float) -> float:
    """Carbonate alkalinity + water (eq/L) at [H⁺] = ``h`` (mol/L) and DIC (mol/L)."""
    denom = h * h + K1 * h + K1 * K2
    return dic * (K1 * h + 2.0 * K1 * K2) / denom + KW / h - h


def carbonate_ph(alkalinity_eq_l: float, dic_mol_l: float) -> float:
    """pH (clamped to 0..14) of water with this alkalinity (eq/L) and DIC (mol/L, >= 0).

    Solves ``Alk = C_T (α1 + 2 α2) + Kw/[H⁺] − [H⁺]`` by bisection on pH
    (the right side rises strictly with pH), to ~1e-10 pH.
    """
    if not (math.isfinite(alkalinity_eq_l) and math.isfinite(dic_mol_l)) or dic_mol_l < 0:
        raise ValueError(
            f"alkalinity_eq_l and dic_mol_l must be finite (dic >= 0), got "
            f"{alkalinity_eq_l!r}, {dic_mol_l!r}"
        )
    lo, hi = 0.0, 14.0
    if _alk_of(10.0**-lo, dic_mol_l) >= alkalinity_eq_l:
        return lo
    if _alk_of(10.0**-hi, dic_mol_l) <= alkalinity_eq_l:
        return hi
    for _ in range(48):
        mid = 0.5 * (lo + hi)
        if _alk_of(10.0**-mid, dic_mol_l) < alkalinity_eq_l:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def dic_from_ph(alkalinity_eq_l: float, ph: float) -> float:
    """DIC (mol/L) of water with this alkalinity (eq/L) at this pH (the inverse of carbonate_ph).

    Raises ValueError when no non-negative DIC fits (alkalinity below the
    water's own ``Kw/[H⁺] − [H⁺]``).
    """
    h = 10.0**-ph
    water = KW / h - h
    carb = (K1 * h + 2.0 * K1 * K2) / (h * h + K1 * h + K1 * K2)
    dic = (alkalinity_eq_l - water) / carb
    if dic < 0:
        raise ValueError(
            f"alkalinity {alkalinity_eq_l} eq/L is too low for pH {ph}: no carbonate fits"
        )
    return dic


def _co2_fraction(ph: float) -> float:
    """α0: the fraction of DIC present as dissolved CO2 (H2CO3*) at this pH."""
    h = 10.0**-ph
    return h * h / (h * h + K1 * h + K1 * K2)


# ---------------------------------------------------------------------- probes
class _Probe:
    """State of one probe: drift offset, lagged truth (fouling), fault, last reading."""

    def __init__(self, spec: ProbeSpec, truth: float) -> None:
        self.spec = spec
        self.offset = 0.0
        self.lagged = truth
        self.mode = "none"
        self.last: float | None = None

    def advance(self, dt_s: float, truth: float) -> None:
        self.offset += self.spec.drift_per_day * dt_s / 86400.0
        if self.mode == "drift":
            self.offset += self.spec.fault_drift_per_h * dt_s / 3600.0
        if self.mode == "fouled":
            self.lagged += (truth - self.lagged) * (1.0 - math.exp(-dt_s / self.spec.fouled_tau_s))
        else:
            self.lagged = truth

    def read(self, truth: float, rng: np.random.Generator) -> float | None:
        spec = self.spec
        if self.mode == "dead":
            return None
        if self.mode == "stuck" and self.last is not None:
            return self.last
        base = spec.fouled_gain * self.lagged if self.mode == "fouled" else truth
        value = (
            base + self.offset + (float(rng.normal(0.0, spec.noise_sd)) if spec.noise_sd else 0.0)
        )
        value = min(max(value, spec.low), spec.high)
        value = round(round(value / spec.resolution) * spec.resolution, 10)
        self.last = value
        return value


# ------------------------------------------------------------------------ tank
def _number(name: str, value: object, low: float = -math.inf, low_open: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or (low_open and value == low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low}, got {value!r}")
    return float(value)


def _flag(name: str, value: object) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be a bool, got {value!r}")
    return bool(value)


class FertigationTank:
    """The nutrient mixing tank of one site with its dosing pumps and probes (see module doc).

    Args:
        rng: the run's random generator (probe noise only).
        tank, water, nutrient, acid: hardware and stocks (defaults are estimates).
        ec_probe, ph_probe: probe models (:data:`EC_PROBE`, :data:`PH_PROBE`).
        initial_fertiliser_g_l: fertiliser salts already in the tank (g/L, >= 0).
        initial_acid_meq_l: acid already mixed into the initial water (meq/L, >= 0).
        start_s: run time of the initial state (s); readings are stamped with
            ``start_s`` + the advanced time.
    """

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        tank: TankSpec | None = None,
        water: SourceWater | None = None,
        nutrient: NutrientStock | None = None,
        acid: AcidStock | None = None,
        ec_probe: ProbeSpec = EC_PROBE,
        ph_probe: ProbeSpec = PH_PROBE,
        initial_fertiliser_g_l: float = 0.0,
        initial_acid_meq_l: float = 0.0,
        start_s: float = 0.0,
    ) -> None:
        if not isinstance(rng, np.random.Generator):
            raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        for arg, value, kind in (
            ("tank", tank, TankSpec),
            ("water", water, SourceWater),
            ("nutrient", nutrient, NutrientStock),
            ("acid", acid, AcidStock),
            ("ec_probe", ec_probe, ProbeSpec),
            ("ph_probe", ph_probe, ProbeSpec),
        ):
            if value is not None and not isinstance(value, kind):
                raise ValueError(f"{arg} must be a {kind.__name__}, got {type(value).__name__}")
        self.rng = rng
        self.tank = tank or TankSpec()
        self.water = water or SourceWater()
        self.nutrient = nutrient or NutrientStock()
        self.acid = acid or AcidStock()
        c0 = _number("initial_fertiliser_g_l", initial_fertiliser_g_l, 0.0)
        a0 = _number("initial_acid_meq_l", initial_acid_meq_l, 0.0) / 1000.0
        self._time_s = _number("start_s", start_s)
        v = self.tank.capacity_l
        self._volume_l = v
        self._fert_bulk_g = c0 * v
        self._fert_pool_g = 0.0
        self._alk_bulk_eq = (
            self.water.alkalinity_eq_l - a0 - c0 * self.nutrient.acidity_meq_per_g / 1000.0
        ) * v
        self._alk_pool_eq = 0.0
        self._src_alk_eq_l = self.water.alkalinity_eq_l
        self._src_dic_mol_l = self.water.dic_mol_l
        self._dic_bulk_mol = self._src_dic_mol_l * v
        self._initial_g = c0 * v
        self._fertiliser_g = 0.0
        self._acid_ml = 0.0
        self._supplied_g = 0.0
        self._drawn_l = 0.0
        self._refilled_l = 0.0
        self._shortfall_l = 0.0
        self._ph_cache: float | None = None
        self._pump_fault = {p: "none" for p in _PUMPS}
        self._pump_state = {p: False for p in _PUMPS}
        self._probes = {"ec": _Probe(ec_probe, self.ec_ms_cm), "ph": _Probe(ph_probe, self.ph)}

    # ---------------------------------------------------------------- state
    @property
    def time_s(self) -> float:
        """Run time of the current state (s)."""
        return self._time_s

    @property
    def volume_l(self) -> float:
        """Solution in the tank (L)."""
        return self._volume_l

    @property
    def ec_ms_cm(self) -> float:
        """True EC of the mixed bulk (mS/cm): source EC + k_EC × bulk g/L."""
        conc = self._fert_bulk_g / self._volume_l if self._volume_l > 0 else 0.0
        return self.water.ec_ms_cm + self.nutrient.ec_per_g_l * conc

    @property
    def fertiliser_g_l(self) -> float:
        """Fertiliser salts in the mixed bulk (g/L)."""
        return self._fert_bulk_g / self._volume_l if self._volume_l > 0 else 0.0

    @property
    def alkalinity_meq_l(self) -> float:
        """Total alkalinity of the mixed bulk (meq/L; negative = free strong acid)."""
        return 1000.0 * self._alk_bulk_eq / self._volume_l if self._volume_l > 0 else 0.0

    @property
    def dic_mmol_l(self) -> float:
        """Dissolved inorganic carbon of the mixed bulk (mmol/L)."""
        return 1000.0 * self._dic_bulk_mol / self._volume_l if self._volume_l > 0 else 0.0

    @property
    def ph(self) -> float:
        """True pH of the mixed bulk (carbonate system, 25 °C); the source pH when empty."""
        if self._ph_cache is None:
            if self._volume_l <= 0:
                self._ph_cache = self.water.ph
            else:
                self._ph_cache = carbonate_ph(
                    self._alk_bulk_eq / self._volume_l, self._dic_bulk_mol / self._volume_l
                )
        return self._ph_cache

    @property
    def fertiliser_g(self) -> float:
        """Cumulative fertiliser salts dosed (g)."""
        return self._fertiliser_g

    @property
    def acid_ml(self) -> float:
        """Cumulative acid stock dosed (mL)."""
        return self._acid_ml

    @property
    def nutrient_supplied_g(self) -> float:
        """Cumulative fertiliser salts that left with the irrigation water (g)."""
        return self._supplied_g

    @property
    def initial_fertiliser_g(self) -> float:
        """Fertiliser salts in the tank at the start (g)."""
        return self._initial_g

    @property
    def fertiliser_in_tank_g(self) -> float:
        """Fertiliser salts now in the tank, mixed and not yet mixed (g)."""
        return self._fert_bulk_g + self._fert_pool_g

    @property
    def drawn_l(self) -> float:
        """Cumulative solution delivered to the drip main (L)."""
        return self._drawn_l

    @property
    def refilled_l(self) -> float:
        """Cumulative source water let in by the float valve (L)."""
        return self._refilled_l

    @property
    def shortfall_l(self) -> float:
        """Cumulative draw the tank could not supply (L, tank empty)."""
        return self._shortfall_l

    def pump_running(self, pump: str) -> bool:
        """Whether ``pump`` ('nutrient' | 'acid') ran during the last step (faults included)."""
        if pump not in _PUMPS:
            raise ValueError(f"pump must be one of {_PUMPS}, got {pump!r}")
        return self._pump_state[pump]

    # --------------------------------------------------------------- faults
    def fail_probe(self, probe: str, mode: str) -> None:
        """Inject a fault into probe 'ec' or 'ph'; mode in :data:`PROBE_FAULTS` ('none' repairs)."""
        if probe not in _PROBES:
            raise ValueError(f"probe must be one of {_PROBES}, got {probe!r}")
        if mode not in PROBE_FAULTS:
            raise ValueError(f"mode must be one of {PROBE_FAULTS}, got {mode!r}")
        p = self._probes[probe]
        if mode == "none":
            p.offset = 0.0  # repaired = cleaned and recalibrated
        p.mode = mode
        p.lagged = self.ec_ms_cm if probe == "ec" else self.ph

    def fail_pump(self, pump: str, mode: str) -> None:
        """Inject a pump fault: pump 'nutrient' | 'acid', mode in :data:`PUMP_FAULTS`."""
        if pump not in _PUMPS:
            raise ValueError(f"pump must be one of {_PUMPS}, got {pump!r}")
        if mode not in PUMP_FAULTS:
            raise ValueError(f"mode must be one of {PUMP_FAULTS}, got {mode!r}")
        self._pump_fault[pump] = mode

    def _effective(self, pump: str, commanded: bool) -> bool:
        fault = self._pump_fault[pump]
        return fault == "stuck_on" or (commanded and fault != "stuck_off")

    # -------------------------------------------------------------- readings
    def read_ec(self) -> float | None:
        """An EC probe reading (mS/cm), or None from a dead probe."""
        return self._probes["ec"].read(self.ec_ms_cm, self.rng)

    def read_ph(self) -> float | None:
        """A pH probe reading, or None from a dead probe."""
        return self._probes["ph"].read(self.ph, self.rng)

    def samples(self, site: str) -> dict[str, Sample]:
        """Probe samples as process-image points ``agri/<site>/tank_ec_ms_cm`` and ``tank_ph``.

        A dead probe gives a BAD sample with no value; times are :attr:`time_s`.
        """
        out: dict[str, Sample] = {}
        for leaf, value in (("tank_ec_ms_cm", self.read_ec()), ("tank_ph", self.read_ph())):
            quality = Quality.GOOD if value is not None else Quality.BAD
            out[f"agri/{site}/{leaf}"] = Sample(value, quality, self._time_s)
        return out

    # --------------------------------------------------------------- advance
    def advance(
        self, dt_s: float, draw_l: float, nutrient_pump_on: bool, acid_pump_on: bool
    ) -> None:
        """Advance ``dt_s`` seconds (> 0) with ``draw_l`` litres (>= 0) drawn by the drip main.

        The pump flags are the commands; a stuck pump overrides them. The draw
        is spread evenly over the step; what an empty tank cannot give is
        counted in :attr:`shortfall_l`.
        """
        dt = _number("dt_s", dt_s, 0.0, low_open=True)
        draw = _number("draw_l", draw_l, 0.0)
        nut = self._effective("nutrient", _flag("nutrient_pump_on", nutrient_pump_on))
        acd = self._effective("acid", _flag("acid_pump_on", acid_pump_on))
        self._pump_state = {"nutrient": nut, "acid": acd}
        self._exchange_co2(dt)
        n = max(1, math.ceil(dt / min(self.tank.mix_tau_s / 4.0, _MAX_SUBSTEP_S)))
        h = dt / n
        for _ in range(n):
            self._substep(h, draw / n, nut, acd)
        self._time_s += dt
        self._ph_cache = None
        self._probes["ec"].advance(dt, self.ec_ms_cm)
        self._probes["ph"].advance(dt, self.ph)

    def _exchange_co2(self, dt: float) -> None:
        """Move the bulk's dissolved CO2 towards Henry's-law equilibrium with the air."""
        if math.isinf(self.tank.co2_tau_s) or self._volume_l <= 0:
            return
        co2 = self._dic_bulk_mol / self._volume_l * _co2_fraction(self.ph)
        excess = co2 - KH * self.tank.pco2_atm
        loss = excess * (1.0 - math.exp(-dt / self.tank.co2_tau_s)) * self._volume_l
        self._dic_bulk_mol = max(self._dic_bulk_mol - loss, 0.0)
        self._ph_cache = None

    def _substep(self, h: float, draw: float, nut: bool, acd: bool) -> None:
        tank = self.tank
        # dosing: stock volume into the tank, solutes into the unmixed pool
        if nut:
            stock_l = tank.nutrient_pump_lpm * h / 60.0
            grams = stock_l * self.nutrient.concentration_g_l
            self._volume_l += stock_l
            self._fert_pool_g += grams
            self._alk_pool_eq -= grams * self.nutrient.acidity_meq_per_g / 1000.0
            self._fertiliser_g += grams
        if acd:
            stock_l = tank.acid_pump_lpm * h / 60.0
            self._volume_l += stock_l
            self._alk_pool_eq -= stock_l * self.acid.normality_eq_l
            self._acid_ml += stock_l * 1000.0
        # mixing: the pool joins the bulk with time constant mix_tau_s
        f = 1.0 - math.exp(-h / tank.mix_tau_s)
        moved_g, moved_eq = self._fert_pool_g * f, self._alk_pool_eq * f
        self._fert_pool_g -= moved_g
        self._fert_bulk_g += moved_g
        self._alk_pool_eq -= moved_eq
        self._alk_bulk_eq += moved_eq
        # draw from the mixed bulk
        if draw > 0:
            taken = min(draw, self._volume_l)
            self._shortfall_l += draw - taken
            if taken > 0:
                share = taken / self._volume_l
                left_g = self._fert_bulk_g * share
                self._fert_bulk_g -= left_g
                self._supplied_g += left_g
                self._alk_bulk_eq -= self._alk_bulk_eq * share
                self._dic_bulk_mol -= self._dic_bulk_mol * share
                self._volume_l -= taken
                self._drawn_l += taken
        # float valve: source water up to the float level
        refill = min(tank.refill_lpm * h / 60.0, max(tank.capacity_l - self._volume_l, 0.0))
        if refill > 0:
            self._volume_l += refill
            self._alk_bulk_eq += self._src_alk_eq_l * refill
            self._dic_bulk_mol += self._src_dic_mol_l * refill
            self._refilled_l += refill
        if self._volume_l <= 1e-12:
            self._volume_l = 0.0
