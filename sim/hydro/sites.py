"""The 12 flood-warning points of Đông Hà as field devices: load and validate their YAML.

``scenarios/dongha/flood_points.yaml`` lists each warning point (``P01`` ..
``P12``): where it is (WGS84 lon/lat, projected here to UTM zone 48N,
EPSG:32648), what it measures (``river`` gauge or ``street`` hotspot), how
its ultrasonic sensor is mounted, whether it has a rain gauge, its
neighbours for voting, its reporting period and its LoRaWAN identity
(DevEUI, ChirpStack application). A ``chirpstack`` block gives the
network-server identity shared by all points (tenant, application name,
device profile, region, gateways).

Level frames (what a site's ``level_m`` means):

- ``river`` (``datum_ref: national``): water stage in m above the national
  height datum, as the Đông Hà station's alert levels (2.0 / 3.0 / 4.0 m) are
  given. ``gauge_datum_m`` is the height of the gauge zero above that datum.
- ``street`` (``datum_ref: road``): water depth in m above the road surface
  at the sensor (road elevations are unknown here). ``gauge_datum_m`` is the
  gauge zero relative to the road surface (0 = the road surface).

``mount_height_m`` is the height of the sensor face above the gauge zero:
the sensor looks down and measures ``distance = mount_height_m - (level -
gauge_datum_m)``.

:func:`load_warning_sites` fails loud with :class:`SiteConfigError`, whose
message names the file, the site and the key, and says how to fix it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_SITES_FILE",
    "OSM_CLIP_BOX",
    "ChirpStackNetwork",
    "Gateway",
    "SiteConfigError",
    "SiteKind",
    "WarningSite",
    "WarningSiteCatalog",
    "load_warning_sites",
    "sim_dev_eui",
]

DEFAULT_SITES_FILE = (
    Path(__file__).resolve().parents[2] / "scenarios" / "dongha" / "flood_points.yaml"
)
"""The committed Đông Hà warning points (``scenarios/dongha/flood_points.yaml``)."""

OSM_CLIP_BOX = (107.02, 16.74, 107.17, 16.88)
"""(lon min, lat min, lon max, lat max), degrees: the OSM extract's box; sites must lie in it."""

_WGS84 = "EPSG:4326"
_UTM48N = "EPSG:32648"
_SITE_ID = re.compile(r"^P\d{2}$")
_HEX16 = re.compile(r"^[0-9A-Fa-f]{16}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_MAX_NEIGHBOURS = 3


class SiteConfigError(ValueError):
    """A bad flood-points file; the message names file, site and key, and gives a fix hint."""


class SiteKind(StrEnum):
    """What a warning point measures."""

    RIVER = "river"  # a river gauge: stage above the national datum (m)
    STREET = "street"  # a street hotspot: water depth over the road (m)

    @property
    def datum_ref(self) -> str:
        """The reference of the site's level: ``national`` (river) or ``road`` (street)."""
        return "national" if self is SiteKind.RIVER else "road"


@dataclass(frozen=True)
class WarningSite:
    """One flood-warning point.

    Attributes:
        id: ``P01`` .. ``P99``; point names are ``flood/<id>/...``.
        name: Vietnamese name of the place.
        kind: river gauge or street hotspot (see the module docstring).
        ward: the ward the point lies in (an estimate; used as a device tag).
        lon, lat: WGS84 position (degrees), inside :data:`OSM_CLIP_BOX`.
        x_m, y_m: the same position in UTM zone 48N, EPSG:32648 (m).
        mount_height_m: sensor face above the gauge zero (m, 0.3 .. 15).
        gauge_datum_m: gauge zero above the national datum (river) or relative
            to the road surface (street) (m, -5 .. 15).
        datum_ref: ``national`` (river) or ``road`` (street).
        rain_gauge: True when the point has a tipping-bucket rain gauge.
        neighbours: 1 to 3 ids of nearby points of the same kind, nearest
            first (for sensor voting).
        period_s: reporting period (s, 10 .. 86400).
        dev_eui: LoRaWAN DevEUI, 16 upper-case hex digits.
        application_id: ChirpStack application id (UUID, lower case).
        spreading_factor: LoRa spreading factor of the uplink (7 .. 12).
        placement: how the position was chosen (sources, approximations).
    """

    id: str
    name: str
    kind: SiteKind
    ward: str
    lon: float
    lat: float
    x_m: float
    y_m: float
    mount_height_m: float
    gauge_datum_m: float
    datum_ref: str
    rain_gauge: bool
    neighbours: tuple[str, ...]
    period_s: float
    dev_eui: str
    application_id: str
    spreading_factor: int
    placement: str

    def point(self, field: str) -> str:
        """The process-image point name ``flood/<id>/<field>`` (e.g. ``level_m``)."""
        return f"flood/{self.id}/{field}"


@dataclass(frozen=True)
class Gateway:
    """A LoRaWAN gateway: id (EUI-64, 16 lower-case hex), name, WGS84 and UTM 48N position."""

    id: str
    name: str
    lon: float
    lat: float
    x_m: float
    y_m: float


@dataclass(frozen=True)
class ChirpStackNetwork:
    """Network-server identity shared by the warning points (ChirpStack v4 names).

    Attributes:
        tenant_id, tenant_name: ChirpStack tenant (UUID, name).
        application_name: name of the application the points belong to.
        device_profile_id, device_profile_name: device profile (UUID, name).
        region_config_id: ChirpStack region configuration id (e.g. ``as923_2``).
        f_port: LoRaWAN FPort of the measurement uplink (1 .. 223).
        gateways: the gateways that hear the points (at least one).
    """

    tenant_id: str
    tenant_name: str
    application_name: str
    device_profile_id: str
    device_profile_name: str
    region_config_id: str
    f_port: int
    gateways: tuple[Gateway, ...]


@dataclass(frozen=True)
class WarningSiteCatalog:
    """The warning points of a file, in file order, and their network."""

    sites: tuple[WarningSite, ...]
    network: ChirpStackNetwork
    path: Path

    def site(self, site_id: str) -> WarningSite:
        """The site with id ``site_id``; KeyError names the known ids."""
        for s in self.sites:
            if s.id == site_id:
                return s
        raise KeyError(f"no warning site {site_id!r}; known: {', '.join(self.ids)}")

    @property
    def ids(self) -> tuple[str, ...]:
        """Site ids in file order."""
        return tuple(s.id for s in self.sites)


def sim_dev_eui(site_id: str) -> str:
    """The DevEUI the twin gives a simulated site: ``024448 0000 F1 00nn`` (16 hex digits).

    A locally administered EUI-64 (first octet 0x02: not an IEEE-assigned
    vendor block), ``4448`` = ASCII "DH" (Đông Hà), ``F1`` = flood, ``nn`` =
    the two decimal digits of the site id (``P10`` -> ``...F10010``). Real
    devices keep their vendor DevEUI: write it in the YAML instead.
    """
    if not _SITE_ID.match(site_id):
        raise ValueError(f"site id {site_id!r} is not of the form Pnn (e.g. P03)")
    return f"0244480000F100{site_id[1:]}"


def load_warning_sites(path: Path | str | None = None) -> WarningSiteCatalog:
    """Read and validate a flood-points YAML file (default :data:`DEFAULT_SITES_FILE`).

    Raises:
        SiteConfigError: unreadable file, missing or unknown key, wrong type or
            range, duplicate id or DevEUI, bad neighbour; the message names
            the file, the site and the key.
    """
    import yaml

    path = Path(DEFAULT_SITES_FILE if path is None else path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise SiteConfigError(
            f"{path}: cannot read the flood-points file ({err}). "
            f"Hint: the committed one is {DEFAULT_SITES_FILE}"
        ) from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise SiteConfigError(f"{path}: not valid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise SiteConfigError(
            f"{path}: expected a mapping with keys 'chirpstack' and 'sites' at top level"
        )
    _no_unknown(doc, {"version", "chirpstack", "sites"}, path, "top level")
    if doc.get("version", 1) != 1:
        raise SiteConfigError(f"{path}: version {doc.get('version')!r} unknown. Hint: version: 1")
    raw_network = doc.get("chirpstack")
    if not isinstance(raw_network, dict):
        raise SiteConfigError(f"{path}: key 'chirpstack' missing or not a mapping")
    raw_sites = doc.get("sites")
    if not isinstance(raw_sites, list) or not raw_sites:
        raise SiteConfigError(f"{path}: key 'sites' missing or not a non-empty list")
    network, default_sf = _network(raw_network, path)
    parsed = [_site(raw, i, path, default_sf) for i, raw in enumerate(raw_sites)]
    _check_unique(parsed, path)
    _check_neighbours(parsed, path)
    xs, ys = _to_utm([s["lon"] for s in parsed], [s["lat"] for s in parsed])
    sites = tuple(
        WarningSite(x_m=x, y_m=y, **fields) for fields, x, y in zip(parsed, xs, ys, strict=True)
    )
    return WarningSiteCatalog(sites=sites, network=network, path=path)


# ---------------------------------------------------------------- parsing


_SITE_KEYS = {
    "id",
    "name",
    "kind",
    "ward",
    "lon",
    "lat",
    "mount_height_m",
    "gauge_datum_m",
    "datum_ref",
    "rain_gauge",
    "neighbours",
    "period_s",
    "dev_eui",
    "application_id",
    "spreading_factor",
    "placement",
}
_OPTIONAL_SITE_KEYS = {"spreading_factor", "placement", "ward"}
_NETWORK_KEYS = {
    "tenant_id",
    "tenant_name",
    "application_name",
    "device_profile_id",
    "device_profile_name",
    "region_config_id",
    "f_port",
    "default_spreading_factor",
    "gateways",
}


def _no_unknown(raw: Mapping[str, Any], known: set[str], path: Path, where: str) -> None:
    unknown = sorted(set(raw) - known)
    if unknown:
        raise SiteConfigError(
            f"{path}: {where}: unknown key(s) {', '.join(map(repr, unknown))}. "
            f"Hint: known keys are {', '.join(sorted(known))}"
        )


def _need(raw: Mapping[str, Any], key: str, path: Path, where: str, hint: str) -> Any:
    if key not in raw or raw[key] is None:
        raise SiteConfigError(f"{path}: {where}: key {key!r} is missing. Hint: {hint}")
    return raw[key]


def _number(
    value: Any, key: str, path: Path, where: str, low: float, high: float, unit: str
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SiteConfigError(
            f"{path}: {where}: key {key!r} = {value!r} is not a number. "
            f"Hint: a plain number in {unit}"
        )
    x = float(value)
    if not (math.isfinite(x) and low <= x <= high):
        raise SiteConfigError(
            f"{path}: {where}: key {key!r} = {value!r} is out of range. "
            f"Hint: {low:g} .. {high:g} {unit}"
        )
    return x


def _text(value: Any, key: str, path: Path, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SiteConfigError(f"{path}: {where}: key {key!r} must be a non-empty string")
    return value.strip()


def _uuid(value: Any, key: str, path: Path, where: str) -> str:
    text = _text(value, key, path, where).lower()
    if not _UUID.match(text):
        raise SiteConfigError(
            f"{path}: {where}: key {key!r} = {value!r} is not a UUID. "
            "Hint: 8-4-4-4-12 hex digits, as ChirpStack shows it"
        )
    return text


def _spreading_factor(value: Any, key: str, path: Path, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 7 <= value <= 12:
        raise SiteConfigError(
            f"{path}: {where}: key {key!r} = {value!r} is not a LoRa spreading factor. "
            "Hint: an integer 7 .. 12"
        )
    return value


def _network(raw: Mapping[str, Any], path: Path) -> tuple[ChirpStackNetwork, int]:
    where = "chirpstack"
    _no_unknown(raw, _NETWORK_KEYS, path, where)
    hint = "see scenarios/dongha/flood_points.yaml"
    f_port = _need(raw, "f_port", path, where, "the uplink FPort, 1 .. 223")
    if isinstance(f_port, bool) or not isinstance(f_port, int) or not 1 <= f_port <= 223:
        raise SiteConfigError(
            f"{path}: {where}: key 'f_port' = {f_port!r} is not an application FPort. "
            "Hint: an integer 1 .. 223"
        )
    raw_gateways = _need(raw, "gateways", path, where, "a list of {id, name, lon, lat}")
    if not isinstance(raw_gateways, list) or not raw_gateways:
        raise SiteConfigError(f"{path}: {where}: key 'gateways' must be a non-empty list")
    gateways: list[Gateway] = []
    for i, g in enumerate(raw_gateways):
        gw_where = f"chirpstack.gateways[{i}]"
        if not isinstance(g, dict):
            raise SiteConfigError(f"{path}: {gw_where}: expected a mapping {{id, name, lon, lat}}")
        _no_unknown(g, {"id", "name", "lon", "lat"}, path, gw_where)
        gw_id = _text(_need(g, "id", path, gw_where, "16 hex digits"), "id", path, gw_where)
        if not _HEX16.match(gw_id):
            raise SiteConfigError(
                f"{path}: {gw_where}: key 'id' = {gw_id!r} is not a gateway EUI. "
                "Hint: 16 hex digits"
            )
        lon, lat = _lonlat(g, path, gw_where)
        name = _text(_need(g, "name", path, gw_where, "a name"), "name", path, gw_where)
        gateways.append(Gateway(gw_id.lower(), name, lon, lat, 0.0, 0.0))
    gx, gy = _to_utm([g.lon for g in gateways], [g.lat for g in gateways])
    gateways = [
        Gateway(g.id, g.name, g.lon, g.lat, x, y) for g, x, y in zip(gateways, gx, gy, strict=True)
    ]
    default_sf = _spreading_factor(
        raw.get("default_spreading_factor", 9), "default_spreading_factor", path, where
    )
    network = ChirpStackNetwork(
        tenant_id=_uuid(_need(raw, "tenant_id", path, where, hint), "tenant_id", path, where),
        tenant_name=_text(_need(raw, "tenant_name", path, where, hint), "tenant_name", path, where),
        application_name=_text(
            _need(raw, "application_name", path, where, hint), "application_name", path, where
        ),
        device_profile_id=_uuid(
            _need(raw, "device_profile_id", path, where, hint), "device_profile_id", path, where
        ),
        device_profile_name=_text(
            _need(raw, "device_profile_name", path, where, hint),
            "device_profile_name",
            path,
            where,
        ),
        region_config_id=_text(
            _need(raw, "region_config_id", path, where, "e.g. as923_2"),
            "region_config_id",
            path,
            where,
        ),
        f_port=f_port,
        gateways=tuple(gateways),
    )
    return network, default_sf


def _lonlat(raw: Mapping[str, Any], path: Path, where: str) -> tuple[float, float]:
    lon = _number(
        _need(raw, "lon", path, where, "WGS84 longitude in degrees"),
        "lon",
        path,
        where,
        OSM_CLIP_BOX[0],
        OSM_CLIP_BOX[2],
        "degrees E (the OSM extract's box; lon and lat swapped?)",
    )
    lat = _number(
        _need(raw, "lat", path, where, "WGS84 latitude in degrees"),
        "lat",
        path,
        where,
        OSM_CLIP_BOX[1],
        OSM_CLIP_BOX[3],
        "degrees N (the OSM extract's box; lon and lat swapped?)",
    )
    return lon, lat


def _site(raw: Any, index: int, path: Path, default_sf: int) -> dict[str, Any]:
    where = f"sites[{index}]"
    if not isinstance(raw, dict):
        raise SiteConfigError(f"{path}: {where}: expected a mapping of site keys")
    site_id = raw.get("id")
    if not isinstance(site_id, str) or not _SITE_ID.match(site_id):
        raise SiteConfigError(
            f"{path}: {where}: key 'id' = {site_id!r} is missing or not of the form Pnn. "
            "Hint: P01 .. P99"
        )
    where = f"site {site_id}"
    _no_unknown(raw, _SITE_KEYS, path, where)
    for key in sorted(_SITE_KEYS - _OPTIONAL_SITE_KEYS):
        _need(raw, key, path, where, f"every site needs {key!r}; see the file's header comment")
    kind_raw = raw["kind"]
    try:
        kind = SiteKind(kind_raw)
    except ValueError:
        raise SiteConfigError(
            f"{path}: {where}: key 'kind' = {kind_raw!r} is unknown. Hint: 'river' or 'street'"
        ) from None
    datum_ref = _text(raw["datum_ref"], "datum_ref", path, where)
    if datum_ref != kind.datum_ref:
        raise SiteConfigError(
            f"{path}: {where}: key 'datum_ref' = {datum_ref!r} does not fit kind {kind.value!r}. "
            f"Hint: a {kind.value} site uses datum_ref: {kind.datum_ref}"
        )
    lon, lat = _lonlat(raw, path, where)
    dev_eui = raw["dev_eui"]
    if not isinstance(dev_eui, str) or not _HEX16.match(dev_eui):
        raise SiteConfigError(
            f"{path}: {where}: key 'dev_eui' = {dev_eui!r} is not a DevEUI. "
            f"Hint: 16 hex digits (quote it in YAML), e.g. {sim_dev_eui(site_id)!r}"
        )
    rain = raw["rain_gauge"]
    if not isinstance(rain, bool):
        raise SiteConfigError(
            f"{path}: {where}: key 'rain_gauge' = {rain!r} is not a boolean. Hint: true or false"
        )
    neighbours = raw["neighbours"]
    if (
        not isinstance(neighbours, list)
        or not 1 <= len(neighbours) <= _MAX_NEIGHBOURS
        or not all(isinstance(n, str) for n in neighbours)
    ):
        raise SiteConfigError(
            f"{path}: {where}: key 'neighbours' = {neighbours!r} must list 1 to "
            f"{_MAX_NEIGHBOURS} site ids. Hint: the 2-3 nearest sites of the same kind"
        )
    return {
        "id": site_id,
        "name": _text(raw["name"], "name", path, where),
        "kind": kind,
        "ward": _text(raw.get("ward", "?"), "ward", path, where),
        "lon": lon,
        "lat": lat,
        "mount_height_m": _number(
            raw["mount_height_m"], "mount_height_m", path, where, 0.3, 15, "m"
        ),
        "gauge_datum_m": _number(raw["gauge_datum_m"], "gauge_datum_m", path, where, -5, 15, "m"),
        "datum_ref": datum_ref,
        "rain_gauge": rain,
        "neighbours": tuple(neighbours),
        "period_s": _number(raw["period_s"], "period_s", path, where, 10, 86400, "s"),
        "dev_eui": dev_eui.upper(),
        "application_id": _uuid(raw["application_id"], "application_id", path, where),
        "spreading_factor": _spreading_factor(
            raw.get("spreading_factor", default_sf), "spreading_factor", path, where
        ),
        "placement": str(raw.get("placement", "")).strip(),
    }


def _check_unique(sites: Sequence[Mapping[str, Any]], path: Path) -> None:
    seen: dict[str, str] = {}
    for s in sites:
        if s["id"] in seen:
            raise SiteConfigError(
                f"{path}: site {s['id']}: key 'id' is a duplicate. Hint: ids must be unique"
            )
        seen[s["id"]] = s["id"]
    eui_owner: dict[str, str] = {}
    for s in sites:
        other = eui_owner.setdefault(s["dev_eui"], s["id"])
        if other != s["id"]:
            raise SiteConfigError(
                f"{path}: site {s['id']}: key 'dev_eui' = {s['dev_eui']} is already used by "
                f"site {other}. Hint: every device has its own DevEUI"
            )


def _check_neighbours(sites: Sequence[Mapping[str, Any]], path: Path) -> None:
    kinds = {s["id"]: s["kind"] for s in sites}
    for s in sites:
        where = f"site {s['id']}"
        if len(set(s["neighbours"])) != len(s["neighbours"]):
            raise SiteConfigError(f"{path}: {where}: key 'neighbours' repeats an id")
        for n in s["neighbours"]:
            if n == s["id"]:
                raise SiteConfigError(
                    f"{path}: {where}: key 'neighbours' lists the site itself. "
                    "Hint: list other sites"
                )
            if n not in kinds:
                raise SiteConfigError(
                    f"{path}: {where}: key 'neighbours' names unknown site {n!r}. "
                    f"Hint: known ids are {', '.join(kinds)}"
                )
            if kinds[n] is not s["kind"]:
                raise SiteConfigError(
                    f"{path}: {where}: key 'neighbours': {n} is a {kinds[n].value} site, "
                    f"not {s['kind'].value}. Hint: vote only with sites of the same kind"
                )


def _to_utm(lons: Sequence[float], lats: Sequence[float]) -> tuple[list[float], list[float]]:
    """Project WGS84 lon/lat (degrees) to UTM zone 48N, EPSG:32648 (m)."""
    from pyproj import Transformer

    transformer = Transformer.from_crs(_WGS84, _UTM48N, always_xy=True)
    xs, ys = transformer.transform(list(lons), list(lats))
    return [float(x) for x in xs], [float(y) for y in ys]
