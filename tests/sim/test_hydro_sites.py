"""The 12 flood-warning points: the committed YAML, its geometry and the loader's errors."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.hydro.dongha_dem import HOTSPOTS
from sim.hydro.sites import (
    DEFAULT_SITES_FILE,
    SiteConfigError,
    SiteKind,
    WarningSiteCatalog,
    load_warning_sites,
    sim_dev_eui,
)

REPO = Path(__file__).resolve().parents[2]
OSM = REPO / "scenarios" / "dongha" / "osm"
CITY_BOX = (107.05, 16.77, 107.14, 16.85)  # lon min, lat min, lon max, lat max

Line = list[tuple[float, float]]


@pytest.fixture(scope="module")
def catalog() -> WarningSiteCatalog:
    return load_warning_sites()


def _utm(points: list[list[float]]) -> Line:
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    return [tuple(t.transform(lon, lat)) for lon, lat in points]


def _lines(geometry: dict[str, Any]) -> list[list[list[float]]]:
    if geometry["type"] == "LineString":
        return [geometry["coordinates"]]
    if geometry["type"] == "MultiLineString":
        return list(geometry["coordinates"])
    return []


def _distance_to_line(x: float, y: float, line: Line) -> float:
    best = math.inf
    for (ax, ay), (bx, by) in itertools.pairwise(line):
        dx, dy = bx - ax, by - ay
        length2 = dx * dx + dy * dy
        t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / length2))
        best = min(best, math.hypot(x - (ax + t * dx), y - (ay + t * dy)))
    return best


def _osm_lines(file: str, name: str | None = None) -> list[Line]:
    doc = json.loads((OSM / file).read_text(encoding="utf-8"))
    return [
        _utm(part)
        for feature in doc["features"]
        if name is None or feature["properties"].get("name") == name
        for part in _lines(feature["geometry"])
    ]


# ---------------------------------------------------------------- the committed file


def test_committed_file_has_twelve_unique_sites(catalog: WarningSiteCatalog) -> None:
    assert catalog.path == DEFAULT_SITES_FILE
    assert catalog.ids == tuple(f"P{i:02d}" for i in range(1, 13))
    kinds = [s.kind for s in catalog.sites]
    assert kinds.count(SiteKind.RIVER) == 3 and kinds.count(SiteKind.STREET) == 9
    assert len({s.name for s in catalog.sites}) == 12
    for s in catalog.sites:
        assert s.datum_ref == ("national" if s.kind is SiteKind.RIVER else "road")
        assert s.placement, s.id
        assert s.period_s == 300
        assert s.point("level_m") == f"flood/{s.id}/level_m"
    assert catalog.site("P01").name.startswith("Trạm thủy văn Đông Hà")
    with pytest.raises(KeyError, match="P13"):
        catalog.site("P13")


def test_sites_lie_in_the_city(catalog: WarningSiteCatalog) -> None:
    lon0, lat0, lon1, lat1 = CITY_BOX
    for s in catalog.sites:
        assert lon0 <= s.lon <= lon1 and lat0 <= s.lat <= lat1, (s.id, s.lon, s.lat)
    # P04 watches the flood model's Trường Chinh hotspot (not in the OSM extract)
    (spot,) = (h for h in HOTSPOTS if h.key == "truong_chinh")
    p04 = catalog.site("P04")
    assert math.hypot(p04.x_m - spot.xy[0], p04.y_m - spot.xy[1]) < 50


def test_river_gauges_lie_on_the_hieu_centreline(catalog: WarningSiteCatalog) -> None:
    (hieu,) = _osm_lines("dongha_water_osm.geojson", "Sông Hiếu")
    rivers = [s for s in catalog.sites if s.kind is SiteKind.RIVER]
    for s in rivers:
        assert _distance_to_line(s.x_m, s.y_m, hieu) < 60.0, s.id
    # P01 is the Đông Hà station by Cầu Đông Hà; P02 upstream (west), P03 downstream (east)
    station, up, down = (catalog.site(i) for i in ("P01", "P02", "P03"))
    bridge = _osm_lines("dongha_roads_osm.geojson", "Cầu Đông Hà")
    assert min(_distance_to_line(station.x_m, station.y_m, b) for b in bridge) < 150.0
    assert up.x_m < station.x_m < down.x_m


def test_street_points_lie_on_osm_roads(catalog: WarningSiteCatalog) -> None:
    roads = _osm_lines("dongha_roads_osm.geojson")
    for s in catalog.sites:
        if s.kind is SiteKind.STREET and s.id != "P04":  # P04: street not in the extract
            assert min(_distance_to_line(s.x_m, s.y_m, r) for r in roads) < 5.0, s.id


def test_positions_are_projected_to_utm_48n(catalog: WarningSiteCatalog) -> None:
    for s in catalog.sites:
        ((x, y),) = _utm([[s.lon, s.lat]])
        assert s.x_m == pytest.approx(x, abs=1e-6) and s.y_m == pytest.approx(y, abs=1e-6)
        assert 715_000 < s.x_m < 735_000 and 1_850_000 < s.y_m < 1_870_000
    (gateway,) = catalog.network.gateways
    assert 715_000 < gateway.x_m < 735_000


def test_neighbours_are_the_nearest_of_the_same_kind(catalog: WarningSiteCatalog) -> None:
    for s in catalog.sites:
        same = sorted(
            (math.hypot(o.x_m - s.x_m, o.y_m - s.y_m), o.id)
            for o in catalog.sites
            if o.kind is s.kind and o.id != s.id
        )
        assert 2 <= len(s.neighbours) <= 3
        assert list(s.neighbours) == [i for _d, i in same[: len(s.neighbours)]], s.id


def test_lorawan_identity(catalog: WarningSiteCatalog) -> None:
    euis = [s.dev_eui for s in catalog.sites]
    assert len(set(euis)) == 12
    for s in catalog.sites:
        assert re.fullmatch(r"[0-9A-F]{16}", s.dev_eui)
        assert s.dev_eui == sim_dev_eui(s.id)  # deterministic
        assert 7 <= s.spreading_factor <= 12
    assert len({s.application_id for s in catalog.sites}) == 1
    assert catalog.network.region_config_id == "as923_2"
    assert catalog.network.f_port == 10


def test_rain_gauges_are_a_spread_subset(catalog: WarningSiteCatalog) -> None:
    gauged = [s for s in catalog.sites if s.rain_gauge]
    assert 3 <= len(gauged) <= 8
    assert catalog.site("P01").rain_gauge  # the hydrological station
    assert {s.kind for s in gauged} == {SiteKind.RIVER, SiteKind.STREET}


def test_sim_dev_eui_rejects_bad_ids() -> None:
    assert sim_dev_eui("P07") == "0244480000F10007"
    with pytest.raises(ValueError, match="Pnn"):
        sim_dev_eui("X7")


# ---------------------------------------------------------------- bad files


def _committed() -> dict[str, Any]:
    doc = yaml.safe_load(DEFAULT_SITES_FILE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _site(doc: dict[str, Any], site_id: str) -> dict[str, Any]:
    (site,) = (s for s in doc["sites"] if s["id"] == site_id)
    return site


def _load(tmp_path: Path, doc: dict[str, Any]) -> WarningSiteCatalog:
    path = tmp_path / "flood_points.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_warning_sites(path)


def test_round_trip_of_the_committed_file(tmp_path: Path) -> None:
    assert _load(tmp_path, _committed()).sites == load_warning_sites().sites


def test_missing_key_names_site_and_key(tmp_path: Path) -> None:
    doc = _committed()
    del _site(doc, "P03")["mount_height_m"]
    with pytest.raises(SiteConfigError, match=r"site P03: key 'mount_height_m' is missing"):
        _load(tmp_path, doc)


def test_duplicate_id_names_site_and_key(tmp_path: Path) -> None:
    doc = _committed()
    _site(doc, "P05")["id"] = "P04"
    with pytest.raises(SiteConfigError, match=r"site P04: key 'id' is a duplicate"):
        _load(tmp_path, doc)


@pytest.mark.parametrize("bad", ["0244480000F1000", "0244480000F1000G", 244480000, None])
def test_bad_dev_eui_names_site_and_key(tmp_path: Path, bad: object) -> None:
    doc = _committed()
    _site(doc, "P07")["dev_eui"] = bad
    with pytest.raises(SiteConfigError, match=r"site P07: key 'dev_eui'") as err:
        _load(tmp_path, doc)
    assert "Hint" in str(err.value)


def test_duplicate_dev_eui_is_rejected(tmp_path: Path) -> None:
    doc = _committed()
    _site(doc, "P09")["dev_eui"] = _site(doc, "P08")["dev_eui"]
    with pytest.raises(SiteConfigError, match=r"site P09: key 'dev_eui' .* used by site P08"):
        _load(tmp_path, doc)


@pytest.mark.parametrize(
    ("site_id", "key", "value", "message"),
    [
        ("P02", "kind", "lake", r"site P02: key 'kind' = 'lake' is unknown"),
        ("P02", "datum_ref", "road", r"site P02: key 'datum_ref' = 'road' does not fit"),
        ("P06", "lon", 16.818, r"site P06: key 'lon' = 16.818 is out of range"),
        ("P06", "lat", "north", r"site P06: key 'lat' = 'north' is not a number"),
        ("P08", "rain_gauge", "yes", r"site P08: key 'rain_gauge' = 'yes' is not a boolean"),
        ("P08", "period_s", 0, r"site P08: key 'period_s' = 0 is out of range"),
        ("P10", "neighbours", ["P01"], r"site P10: key 'neighbours': P01 is a river site"),
        ("P10", "neighbours", ["P99"], r"site P10: key 'neighbours' names unknown site 'P99'"),
        ("P10", "neighbours", ["P10"], r"site P10: key 'neighbours' lists the site itself"),
        ("P11", "application_id", "app-1", r"site P11: key 'application_id' .* not a UUID"),
        ("P12", "spreading_factor", 13, r"site P12: key 'spreading_factor' = 13"),
        ("P12", "mount_height", 3.0, r"site P12: unknown key\(s\) 'mount_height'"),
    ],
)
def test_bad_values_name_site_and_key(
    tmp_path: Path, site_id: str, key: str, value: object, message: str
) -> None:
    doc = _committed()
    _site(doc, site_id)[key] = value
    with pytest.raises(SiteConfigError, match=message):
        _load(tmp_path, doc)


def test_bad_id_and_bad_network_and_bad_file(tmp_path: Path) -> None:
    doc = _committed()
    doc["sites"][2]["id"] = "3"
    with pytest.raises(SiteConfigError, match=r"sites\[2\]: key 'id' = '3'"):
        _load(tmp_path, doc)
    doc = _committed()
    doc["chirpstack"]["gateways"][0]["id"] = "gw1"
    with pytest.raises(SiteConfigError, match=r"chirpstack.gateways\[0\]: key 'id'"):
        _load(tmp_path, doc)
    doc = _committed()
    del doc["chirpstack"]["tenant_id"]
    with pytest.raises(SiteConfigError, match=r"chirpstack: key 'tenant_id' is missing"):
        _load(tmp_path, doc)
    with pytest.raises(SiteConfigError, match="cannot read"):
        load_warning_sites(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites: [\n", encoding="utf-8")
    with pytest.raises(SiteConfigError, match="not valid YAML"):
        load_warning_sites(bad)
