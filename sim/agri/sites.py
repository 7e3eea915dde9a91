"""The two cooperatives of the city's smart-agriculture project, as households and plots.

The city's smart-city plan 2021-2025 (shared/seeds, table of projects) equips:

- **An Lạc** — "Tổ hợp tác Hoa An Lạc", Đông Giang ward: flowers, 2 ha, 17 households;
- **Đông Thanh** — "Hợp tác xã phường Đông Thanh": clean vegetables, 2.03 ha, 26 households.

Nothing finer is published, so the split into plots is drawn once by
:func:`generate_sites_doc` (seeded) and committed as
``scenarios/dongha/agri/sites.yaml``; a test checks that the committed file is
exactly :func:`render_sites_yaml` of :data:`DEFAULT_SEED`. The split:

1. each household gets 1-3 plots (uniform);
2. each household gets a weight ~ Gamma(4) (farm sizes vary about ±50 %), each of
   its plots a share ~ Gamma(3) of that weight;
3. every plot gets :data:`MIN_PLOT_M2` plus its weight's share of the rest, and
   the areas are rounded to whole m² by largest remainder, so they sum *exactly*
   to 20,000 m² and 20,300 m².

Crops: An Lạc grows chrysanthemum (cúc, several varieties) in net houses,
planted in weekly cohorts from 1 Sep so harvests spread over the weeks before
Tết; Đông Thanh grows lettuce, mustard greens (cải) and water spinach (rau
muống) in the open, planted in weekly cohorts from early January (dry season).
Only crops of :data:`sim.agri.crops.CROPS` are allowed, so other cut flowers
need a Crop entry there first.

Units: areas m², coordinates WGS84 lon/lat (degrees), θ m³/m³, heads m,
flows L/min (pump) or L/h (emitters), pressures kPa.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sim.agri.crops import CROPS

__all__ = [
    "DEFAULT_SEED",
    "DEFAULT_SITES_FILE",
    "MIN_PLOT_M2",
    "Household",
    "HydraulicSpec",
    "Plot",
    "Site",
    "SiteConfigError",
    "Soil",
    "generate_sites_doc",
    "load_sites",
    "render_sites_yaml",
    "split_area",
]

DEFAULT_SITES_FILE = (
    Path(__file__).resolve().parents[2] / "scenarios" / "dongha" / "agri" / "sites.yaml"
)
DEFAULT_SEED = 20210601
MIN_PLOT_M2 = 100

_HOUSEHOLD_ID = re.compile(r"^(?P<site>[A-Z]{2})-H(?P<n>\d{2})$")
_PLOT_ID = re.compile(r"^(?P<household>[A-Z]{2}-H\d{2})-P(?P<k>[1-9])$")


class SiteConfigError(ValueError):
    """A bad agri sites file; the message names the file, the entry and the key."""


@dataclass(frozen=True)
class Soil:
    """Root-zone soil of a site. theta_fc, theta_wp: m³/m³, 0 <= θWP < θFC <= 1."""

    texture: str
    theta_fc: float
    theta_wp: float
    source: str


@dataclass(frozen=True)
class HydraulicSpec:
    """The site's pump, main line and drip emitters (read by :mod:`sim.agri.hydraulics`).

    pump_shutoff_head_m: pump head at zero flow (m). pump_max_flow_lpm: flow at
    zero head (L/min). pump_efficiency: wire-to-water efficiency (0..1].
    static_head_m: lift from the water source to the manifold (m).
    main_loss_m, main_loss_ref_lpm: friction loss of the main line (m) at a
    reference flow (L/min), so ``k = main_loss_m / main_loss_ref_lpm²``.
    emitter_q_lph at emitter_h_nominal_m: nominal emitter flow (L/h) and head (m).
    emitter_exponent: x in q ∝ h^x (0.5 drip tape, ~0 pressure-compensating).
    emitter_h_regulation_m: below this head a compensating emitter acts as an
    orifice (0 for non-compensating). emitters_per_m2: drip emitters per m² of
    plot. min_pressure_kpa: minimum working pressure at the manifold (kPa).
    """

    pump_shutoff_head_m: float
    pump_max_flow_lpm: float
    pump_efficiency: float
    static_head_m: float
    main_loss_m: float
    main_loss_ref_lpm: float
    emitter_q_lph: float
    emitter_h_nominal_m: float
    emitter_exponent: float
    emitter_h_regulation_m: float
    emitters_per_m2: float
    min_pressure_kpa: float


@dataclass(frozen=True)
class Plot:
    """One irrigated plot: one solenoid valve, one crop cycle. area_m2: whole m²."""

    id: str
    household_id: str
    area_m2: int
    crop: str
    variety: str
    planted: date
    net_house: bool


@dataclass(frozen=True)
class Household:
    """A member household and its plots (1-3)."""

    id: str
    plots: tuple[Plot, ...]

    @property
    def area_m2(self) -> int:
        """Total plot area of the household (m²)."""
        return sum(p.area_m2 for p in self.plots)


@dataclass(frozen=True)
class Site:
    """A cooperative: its households, soil, position and irrigation hardware.

    id: two capital letters used as the prefix of household and plot ids.
    lon, lat: WGS84 degrees (approximate, see the YAML). total_area_m2: the
    documented cultivated area, equal to the sum of the plot areas.
    """

    id: str
    name: str
    ward: str
    product: str
    lon: float
    lat: float
    total_area_m2: int
    soil: Soil
    hydraulics: HydraulicSpec
    households: tuple[Household, ...]

    @property
    def plots(self) -> tuple[Plot, ...]:
        """All plots, household by household, in file order."""
        return tuple(p for h in self.households for p in h.plots)

    def plot(self, plot_id: str) -> Plot:
        """The plot with this id; KeyError names the site."""
        for p in self.plots:
            if p.id == plot_id:
                return p
        raise KeyError(f"site {self.id} has no plot {plot_id!r}")


# --------------------------------------------------------------------------- generator

_SOURCE_FC_WP = "FAO-56 Table 19, sandy loam θFC 0.18-0.28, θWP 0.06-0.16"

#: Fixed, documented inputs of the generator; the drawn parts are areas, plot
#: counts, varieties, crops and planting cohorts.
_SITE_FACTS: tuple[dict[str, Any], ...] = (
    {
        "id": "AL",
        "name": "Tổ hợp tác Hoa An Lạc",
        "ward": "Đông Giang",
        "product": "flowers",
        "lon": 107.1100,
        "lat": 16.8340,
        "total_area_m2": 20000,
        "n_households": 17,
        "soil": {
            "texture": "sandy loam",
            "theta_fc": 0.23,
            "theta_wp": 0.11,
            "source": f"{_SOURCE_FC_WP}; mid-range values (est.)",
        },
        "hydraulics": {
            "pump_shutoff_head_m": 32.0,
            "pump_max_flow_lpm": 400.0,
            "pump_efficiency": 0.55,
            "static_head_m": 3.0,
            "main_loss_m": 6.0,
            "main_loss_ref_lpm": 300.0,
            "emitter_q_lph": 1.0,
            "emitter_h_nominal_m": 10.0,
            "emitter_exponent": 0.5,
            "emitter_h_regulation_m": 0.0,
            "emitters_per_m2": 6.67,
            "min_pressure_kpa": 60.0,
        },
    },
    {
        "id": "DT",
        "name": "Hợp tác xã phường Đông Thanh (rau sạch)",
        "ward": "Đông Thanh",
        "product": "vegetables",
        "lon": 107.0920,
        "lat": 16.8450,
        "total_area_m2": 20300,
        "n_households": 26,
        "soil": {
            "texture": "sandy loam",
            "theta_fc": 0.25,
            "theta_wp": 0.12,
            "source": f"{_SOURCE_FC_WP}; upper-mid values for manured vegetable beds (est.)",
        },
        "hydraulics": {
            "pump_shutoff_head_m": 32.0,
            "pump_max_flow_lpm": 400.0,
            "pump_efficiency": 0.55,
            "static_head_m": 3.0,
            "main_loss_m": 6.0,
            "main_loss_ref_lpm": 300.0,
            "emitter_q_lph": 1.0,
            "emitter_h_nominal_m": 10.0,
            "emitter_exponent": 0.5,
            "emitter_h_regulation_m": 0.0,
            "emitters_per_m2": 6.67,
            "min_pressure_kpa": 60.0,
        },
    },
)

_FLOWER_VARIETIES = ("cúc vàng", "cúc trắng", "cúc chi", "cúc mâm xôi", "cúc đại đóa")
_VEGETABLES = ("lettuce", "mustard_greens", "water_spinach")
_VEG_VARIETIES = {"lettuce": "xà lách", "mustard_greens": "cải ngọt", "water_spinach": "rau muống"}
_FLOWER_START = date(2024, 9, 1)  # 100-d chrysanthemum; cohorts harvest 10 Dec-28 Jan (Tết 29 Jan)
_FLOWER_COHORTS = 8
_VEG_START = date(2025, 1, 6)  # dry-season leafy vegetables, 30-75-d cycles
_VEG_COHORTS = 5


def split_area(total_m2: int, weights: np.ndarray, min_m2: int = MIN_PLOT_M2) -> list[int]:
    """Whole-m² areas ``>= min_m2`` proportional to ``weights`` that sum exactly to ``total_m2``.

    Each part gets ``min_m2`` plus its share of the remainder; rounding is by
    largest remainder (ties to the lower index).
    """
    w = np.asarray(weights, dtype=float)
    n = w.size
    if n == 0 or (w <= 0).any():
        raise ValueError("weights must be a non-empty array of positive numbers")
    spare = total_m2 - n * min_m2
    if spare < 0:
        raise ValueError(f"{n} plots of at least {min_m2} m² do not fit in {total_m2} m²")
    exact = spare * w / w.sum()
    base = np.floor(exact).astype(int)
    short = spare - int(base.sum())
    order = sorted(range(n), key=lambda i: (-(exact[i] - base[i]), i))
    for i in order[:short]:
        base[i] += 1
    return [int(min_m2 + b) for b in base]


def generate_sites_doc(seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """The sites document (what ``sites.yaml`` holds) drawn from ``seed``."""
    sites = []
    for index, facts in enumerate(_SITE_FACTS):
        rng = np.random.default_rng([seed, index])
        n_hh = int(facts["n_households"])
        n_plots = rng.integers(1, 4, size=n_hh)
        hh_weight = rng.gamma(4.0, size=n_hh)
        weights = np.concatenate(
            [
                hh_weight[h] * (s := rng.gamma(3.0, size=int(k))) / s.sum()
                for h, k in enumerate(n_plots)
            ]
        )
        areas = split_area(int(facts["total_area_m2"]), weights)
        flowers = facts["product"] == "flowers"
        households = []
        i = 0
        for h, k in enumerate(n_plots):
            hid = f"{facts['id']}-H{h + 1:02d}"
            plots = []
            for p in range(int(k)):
                if flowers:
                    crop = "chrysanthemum"
                    variety = str(rng.choice(_FLOWER_VARIETIES))
                    planted = _FLOWER_START + timedelta(days=7 * (i % _FLOWER_COHORTS))
                else:
                    crop = str(rng.choice(_VEGETABLES))
                    variety = _VEG_VARIETIES[crop]
                    planted = _VEG_START + timedelta(days=7 * int(rng.integers(_VEG_COHORTS)))
                plots.append(
                    {
                        "id": f"{hid}-P{p + 1}",
                        "area_m2": areas[i],
                        "crop": crop,
                        "variety": variety,
                        "planted": planted.isoformat(),
                        "net_house": flowers,
                    }
                )
                i += 1
            households.append({"id": hid, "plots": plots})
        site = {k: v for k, v in facts.items() if k != "n_households"}
        site["households"] = households
        sites.append(site)
    return {"version": 1, "seed": seed, "sites": sites}


_HEADER = """\
# The two smart-agriculture cooperatives of Đông Hà (read by sim/agri/sites.py).
# GENERATED by sim.agri.sites.render_sites_yaml(seed) -- do not edit by hand; regenerate with
#   .venv/bin/python -c "from sim.agri.sites import render_sites_yaml as r; print(r(), end='')" \\
#     > scenarios/dongha/agri/sites.yaml
#
# FACTS (shared/seeds/dongha_smart_city_plan_2021_2025.txt): Tổ hợp tác Hoa An Lạc, phường Đông
# Giang: flowers on 2 ha, 17 households; Hợp tác xã phường Đông Thanh: clean vegetables on
# 2.03 ha, 26 households. Everything finer is drawn or estimated:
# - plots: 1-3 per household; areas drawn once (Gamma weights, >= 100 m² each, whole m²,
#   largest-remainder rounding) so they sum EXACTLY to 20,000 m² and 20,300 m².
# - crops: An Lạc chrysanthemum varieties in net houses, weekly planting cohorts from 1 Sep
#   (harvest before Tết); Đông Thanh lettuce / mustard greens / water spinach in the open,
#   weekly cohorts from 6 Jan. Crop names are keys of sim.agri.crops.CROPS.
# - soil: sandy loam of the Hiếu river terraces; θFC/θWP from FAO-56 Table 19 ranges (est.).
# - lon/lat (WGS84, est., +-1 km): the ward centroids of scenarios/dongha/zones.yaml moved a few
#   hundred metres toward the Hiếu river terrace; the real fields are not published.
# - hydraulics (all est.): a 2.2 kW-class centrifugal pump (32 m shut-off, 400 L/min max,
#   55 % wire-to-water), 3 m lift, main line 6 m loss at 300 L/min; drip tape 1.0 L/h at 10 m,
#   exponent 0.5 (non-compensating), lines 0.5 m x emitters 0.3 m = 6.67 per m²; minimum
#   working pressure 60 kPa at the manifold.
"""


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)


def _flow(mapping: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in mapping.items()) + "}"


def render_sites_yaml(seed: int = DEFAULT_SEED) -> str:
    """The text of ``sites.yaml`` for ``seed``: header comment plus :func:`generate_sites_doc`."""
    doc = generate_sites_doc(seed)
    lines = [_HEADER.rstrip("\n"), f"version: {doc['version']}", f"seed: {doc['seed']}", "sites:"]
    for site in doc["sites"]:
        lines.append(f"  - id: {_scalar(site['id'])}")
        for key in ("name", "ward", "product", "lon", "lat", "total_area_m2"):
            lines.append(f"    {key}: {_scalar(site[key])}")
        lines.append(f"    soil: {_flow(site['soil'])}")
        lines.append("    hydraulics:")
        lines.extend(f"      {k}: {_scalar(v)}" for k, v in site["hydraulics"].items())
        lines.append("    households:")
        for hh in site["households"]:
            lines.append(f"      - id: {_scalar(hh['id'])}")
            lines.append("        plots:")
            lines.extend(f"          - {_flow(p)}" for p in hh["plots"])
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- loader


class _Ctx:
    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, msg: str) -> SiteConfigError:
        return SiteConfigError(f"{self.path}: {where}: {msg}")

    def mapping(self, obj: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(obj, Mapping):
            raise self.fail(where, f"expected a mapping, got {type(obj).__name__}")
        return obj

    def get(self, m: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in m:
            raise self.fail(where, f"key {key!r} is missing")
        return m[key]

    def text(self, m: Mapping[str, Any], key: str, where: str) -> str:
        v = self.get(m, key, where)
        if not isinstance(v, str) or not v.strip():
            raise self.fail(where, f"key {key!r} must be a non-empty string, got {v!r}")
        return v

    def number(
        self, m: Mapping[str, Any], key: str, where: str, lo: float, hi: float, *, open_lo: bool
    ) -> float:
        v = self.get(m, key, where)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise self.fail(where, f"key {key!r} must be a number, got {v!r}")
        if not ((v > lo) if open_lo else (v >= lo)) or v > hi:
            bracket = "(" if open_lo else "["
            raise self.fail(where, f"key {key!r} = {v!r} is outside {bracket}{lo}, {hi}]")
        return float(v)

    def integer(self, m: Mapping[str, Any], key: str, where: str, lo: int) -> int:
        v = self.get(m, key, where)
        if isinstance(v, bool) or not isinstance(v, int) or v < lo:
            raise self.fail(where, f"key {key!r} must be an integer >= {lo}, got {v!r}")
        return v


_HYD_RANGES: dict[str, tuple[float, float, bool]] = {
    "pump_shutoff_head_m": (0.0, 200.0, True),
    "pump_max_flow_lpm": (0.0, 1e5, True),
    "pump_efficiency": (0.0, 1.0, True),
    "static_head_m": (0.0, 100.0, False),
    "main_loss_m": (0.0, 100.0, False),
    "main_loss_ref_lpm": (0.0, 1e5, True),
    "emitter_q_lph": (0.0, 100.0, True),
    "emitter_h_nominal_m": (0.0, 100.0, True),
    "emitter_exponent": (0.0, 1.0, False),
    "emitter_h_regulation_m": (0.0, 100.0, False),
    "emitters_per_m2": (0.0, 100.0, True),
    "min_pressure_kpa": (0.0, 1000.0, True),
}


def _plot(ctx: _Ctx, raw: Any, hid: str, where: str) -> Plot:
    m = ctx.mapping(raw, where)
    pid = ctx.text(m, "id", where)
    match = _PLOT_ID.match(pid)
    if not match or match["household"] != hid:
        raise ctx.fail(where, f"key 'id' = {pid!r} must look like '{hid}-P1' (P1..P9)")
    where = f"plot {pid}"
    crop = ctx.text(m, "crop", where)
    if crop not in CROPS:
        raise ctx.fail(where, f"key 'crop' = {crop!r} unknown; known: {', '.join(sorted(CROPS))}")
    planted_raw = ctx.get(m, "planted", where)
    try:
        planted = (
            planted_raw if isinstance(planted_raw, date) else date.fromisoformat(str(planted_raw))
        )
    except ValueError:
        raise ctx.fail(where, f"key 'planted' = {planted_raw!r} is not a YYYY-MM-DD date") from None
    net_house = ctx.get(m, "net_house", where)
    if not isinstance(net_house, bool):
        raise ctx.fail(where, f"key 'net_house' must be true or false, got {net_house!r}")
    return Plot(
        id=pid,
        household_id=hid,
        area_m2=ctx.integer(m, "area_m2", where, 1),
        crop=crop,
        variety=ctx.text(m, "variety", where),
        planted=planted,
        net_house=net_house,
    )


def _site(ctx: _Ctx, raw: Any, index: int) -> Site:
    m = ctx.mapping(raw, f"sites[{index}]")
    sid = ctx.text(m, "id", f"sites[{index}]")
    if not re.fullmatch(r"[A-Z]{2}", sid):
        raise ctx.fail(f"sites[{index}]", f"key 'id' = {sid!r} must be two capital letters")
    where = f"site {sid}"
    soil_m = ctx.mapping(ctx.get(m, "soil", where), f"{where}: soil")
    sw = f"{where}: soil"
    soil = Soil(
        texture=ctx.text(soil_m, "texture", sw),
        theta_fc=ctx.number(soil_m, "theta_fc", sw, 0.0, 1.0, open_lo=True),
        theta_wp=ctx.number(soil_m, "theta_wp", sw, 0.0, 1.0, open_lo=False),
        source=ctx.text(soil_m, "source", sw),
    )
    if soil.theta_wp >= soil.theta_fc:
        raise ctx.fail(sw, "key 'theta_wp' must be below 'theta_fc'")
    hyd_m = ctx.mapping(ctx.get(m, "hydraulics", where), f"{where}: hydraulics")
    hw = f"{where}: hydraulics"
    hyd = HydraulicSpec(
        **{k: ctx.number(hyd_m, k, hw, lo, hi, open_lo=o) for k, (lo, hi, o) in _HYD_RANGES.items()}
    )
    hh_raw = ctx.get(m, "households", where)
    if not isinstance(hh_raw, list) or not hh_raw:
        raise ctx.fail(where, "key 'households' must be a non-empty list")
    households = []
    seen: set[str] = set()
    for j, h_raw in enumerate(hh_raw):
        hw_ = f"{where}: households[{j}]"
        hm = ctx.mapping(h_raw, hw_)
        hid = ctx.text(hm, "id", hw_)
        hmatch = _HOUSEHOLD_ID.match(hid)
        if not hmatch or hmatch["site"] != sid:
            raise ctx.fail(hw_, f"key 'id' = {hid!r} must look like '{sid}-H01'")
        plots_raw = ctx.get(hm, "plots", f"household {hid}")
        if not isinstance(plots_raw, list) or not 1 <= len(plots_raw) <= 3:
            raise ctx.fail(f"household {hid}", "key 'plots' must be a list of 1-3 plots")
        plots = tuple(
            _plot(ctx, p, hid, f"household {hid}: plots[{k}]") for k, p in enumerate(plots_raw)
        )
        for key in (hid, *(p.id for p in plots)):
            if key in seen:
                raise ctx.fail(hw_, f"key 'id' = {key!r} is used twice")
            seen.add(key)
        households.append(Household(id=hid, plots=plots))
    site = Site(
        id=sid,
        name=ctx.text(m, "name", where),
        ward=ctx.text(m, "ward", where),
        product=ctx.text(m, "product", where),
        lon=ctx.number(m, "lon", where, -180.0, 180.0, open_lo=False),
        lat=ctx.number(m, "lat", where, -90.0, 90.0, open_lo=False),
        total_area_m2=ctx.integer(m, "total_area_m2", where, 1),
        soil=soil,
        hydraulics=hyd,
        households=tuple(households),
    )
    plotted = sum(h.area_m2 for h in site.households)
    if plotted != site.total_area_m2:
        raise ctx.fail(
            where,
            f"key 'total_area_m2' = {site.total_area_m2} but the plots sum to {plotted} m²; "
            "regenerate the file with render_sites_yaml()",
        )
    return site


def load_sites(path: Path | str | None = None) -> tuple[Site, ...]:
    """Load and validate the cooperatives (default :data:`DEFAULT_SITES_FILE`).

    Raises :class:`SiteConfigError` naming the file, the site/household/plot and
    the key at fault.
    """
    p = Path(path) if path is not None else DEFAULT_SITES_FILE
    ctx = _Ctx(p)
    try:
        doc = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SiteConfigError(f"{p}: file not found") from None
    except yaml.YAMLError as err:
        raise SiteConfigError(f"{p}: not valid YAML: {err}") from None
    top = ctx.mapping(doc, "top level")
    if top.get("version") != 1:
        raise ctx.fail("top level", f"key 'version' = {top.get('version')!r} unknown; use 1")
    raw = ctx.get(top, "sites", "top level")
    if not isinstance(raw, list) or not raw:
        raise ctx.fail("top level", "key 'sites' must be a non-empty list")
    sites = tuple(_site(ctx, s, i) for i, s in enumerate(raw))
    ids = [s.id for s in sites]
    if len(set(ids)) != len(ids):
        raise ctx.fail("top level", f"key 'sites' repeats a site id: {ids}")
    return sites
