"""The two cooperatives: the committed YAML, its totals and the loader's errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from sim.agri.crops import CROPS
from sim.agri.sites import (
    DEFAULT_SEED,
    DEFAULT_SITES_FILE,
    MIN_PLOT_M2,
    Site,
    SiteConfigError,
    generate_sites_doc,
    load_sites,
    render_sites_yaml,
    split_area,
)


@pytest.fixture(scope="module")
def sites() -> dict[str, Site]:
    return {s.id: s for s in load_sites()}


def test_shipped_yaml_is_the_generator_output() -> None:
    assert DEFAULT_SITES_FILE.read_text(encoding="utf-8") == render_sites_yaml(DEFAULT_SEED)


def test_totals_and_household_counts(sites: dict[str, Site]) -> None:
    al, dt = sites["AL"], sites["DT"]
    assert sum(p.area_m2 for p in al.plots) == al.total_area_m2 == 20_000
    assert sum(p.area_m2 for p in dt.plots) == dt.total_area_m2 == 20_300
    assert len(al.households) == 17
    assert len(dt.households) == 26
    assert al.ward == "Đông Giang" and dt.ward == "Đông Thanh"


def test_plots_ids_crops_and_areas(sites: dict[str, Site]) -> None:
    for site in sites.values():
        for h in site.households:
            assert re.fullmatch(rf"{site.id}-H\d{{2}}", h.id)
            assert 1 <= len(h.plots) <= 3
            for k, p in enumerate(h.plots, start=1):
                assert p.id == f"{h.id}-P{k}"
                assert re.fullmatch(r"(AL|DT)-H\d{2}-P[1-3]", p.id)
                assert p.area_m2 >= MIN_PLOT_M2
                assert p.crop in CROPS
    assert {p.crop for p in sites["AL"].plots} == {"chrysanthemum"}
    assert all(p.net_house for p in sites["AL"].plots)
    assert {p.crop for p in sites["DT"].plots} == {"lettuce", "mustard_greens", "water_spinach"}
    for site in sites.values():  # staggered planting
        assert len({p.planted for p in site.plots}) >= 4
    assert sites["AL"].plot("AL-H03-P1").household_id == "AL-H03"


def test_soil_and_position(sites: dict[str, Site]) -> None:
    for s in sites.values():
        assert 0 < s.soil.theta_wp < s.soil.theta_fc < 0.4
        assert 107.05 < s.lon < 107.14 and 16.77 < s.lat < 16.86


def test_generator_is_seeded_and_exact_for_other_seeds() -> None:
    assert generate_sites_doc(1) == generate_sites_doc(1)
    assert generate_sites_doc(1) != generate_sites_doc(2)
    for seed in range(5):
        for site in generate_sites_doc(seed)["sites"]:
            total = sum(p["area_m2"] for h in site["households"] for p in h["plots"])
            assert total == site["total_area_m2"]


def test_split_area_exact() -> None:
    parts = split_area(1001, np.array([1.0, 1.0, 1.0]), min_m2=10)
    assert sum(parts) == 1001 and min(parts) >= 10
    with pytest.raises(ValueError):
        split_area(100, np.ones(3), min_m2=50)


def _write(tmp_path: Path, doc: object) -> Path:
    p = tmp_path / "sites.yaml"
    p.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return p


def _doc() -> dict:
    return yaml.safe_load(render_sites_yaml())


@pytest.mark.parametrize(
    ("mutate", "needle"),
    [
        (lambda d: d["sites"][0].pop("total_area_m2"), "'total_area_m2' is missing"),
        (lambda d: d["sites"][0].update(total_area_m2=19_999), "'total_area_m2' = 19999"),
        (lambda d: d["sites"][0]["soil"].update(theta_wp=0.5), "'theta_wp' must be below"),
        (lambda d: d["sites"][1]["hydraulics"].update(pump_efficiency=1.5), "'pump_efficiency'"),
        (
            lambda d: d["sites"][1]["households"][0]["plots"][0].update(crop="rice"),
            "plot DT-H01-P1: key 'crop' = 'rice' unknown",
        ),
        (
            lambda d: d["sites"][0]["households"][2]["plots"][0].update(id="AL-H04-P1"),
            "key 'id' = 'AL-H04-P1' must look like 'AL-H03-P1'",
        ),
        (
            lambda d: d["sites"][0]["households"][0]["plots"][0].update(planted="1 Sep"),
            "key 'planted'",
        ),
        (lambda d: d.update(version=2), "key 'version'"),
    ],
)
def test_loader_errors_name_the_key(tmp_path: Path, mutate, needle: str) -> None:
    doc = _doc()
    mutate(doc)
    with pytest.raises(SiteConfigError, match=re.escape(needle)):
        load_sites(_write(tmp_path, doc))


def test_loader_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SiteConfigError, match="not found"):
        load_sites(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites: [", encoding="utf-8")
    with pytest.raises(SiteConfigError, match="not valid YAML"):
        load_sites(bad)
