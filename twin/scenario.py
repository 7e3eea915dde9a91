"""Scenarios: YAML files validated by a schema whose errors name the file, the key and a fix.

A scenario names its start time (Asia/Ho_Chi_Minh), duration, seed, which
plant models are on with their data, which controllers run, timed events and
outputs. A variant names a ``base`` scenario and overrides some of its keys
(deep merge: mappings merge, everything else replaces). Paths are relative to
the file that names them.

``load_scenario(path)`` returns a validated :class:`Scenario` or raises
:class:`ScenarioError`, whose ``lines`` each read
``FILE: KEY: what is wrong; what would be valid``.
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

__all__ = [
    "CITY_TZ",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "parse_duration",
    "scenario_paths",
]

CITY_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

_DURATION_RE = re.compile(
    r"^\s*(?:(\d+(?:\.\d+)?)\s*d)?\s*(?:(\d+(?:\.\d+)?)\s*h)?\s*"
    r"(?:(\d+(?:\.\d+)?)\s*(?:m|min))?\s*(?:(\d+(?:\.\d+)?)\s*s)?\s*$"
)


def parse_duration(value: Any) -> float:
    """Seconds from a number (s), ``"2h30m"``, ``"90min"``, ``"45 s"``, ``"30d"`` or ``"02:30:00"``.

    Raises ValueError for text it cannot read, and for non-positive or non-finite values.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or text like '2h30m'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"\d+(\.\d+)?", text):  # plain seconds, as a command line gives them
            seconds = float(text)
        elif re.fullmatch(r"\d{1,3}:\d{2}(:\d{2})?", text):
            parts = [int(p) for p in text.split(":")] + [0]
            seconds = parts[0] * 3600 + parts[1] * 60 + parts[2]
        else:
            match = _DURATION_RE.match(text)
            if not text or not match or not any(match.groups()):
                raise ValueError(
                    f"cannot read duration {value!r}; write e.g. 9000, '2h30m' or '02:30:00'"
                )
            d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
            seconds = d * 86400 + h * 3600 + m * 60 + s
    else:
        raise ValueError(f"a duration is a number of seconds or text like '2h30m', not {value!r}")
    if not (seconds > 0 and seconds < float("inf")):
        raise ValueError(f"duration must be positive, got {value!r}")
    return seconds


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemandConfig(_Strict):
    """Weekday mixed-traffic demand, generated from the seed (no hand-written routes)."""

    zones: Path
    vtypes: Path
    profile: Path
    scale: float = Field(1.0, gt=0, le=10, description="multiplier on the daily trip total")
    daily_trips: float | None = Field(None, gt=0, description="trips per weekday before scale")


class MeasurementConfig(_Strict):
    """How controllers see the lanes: SUMO's detectors as they are, or camera estimates."""

    kind: Literal["detectors", "camera"] = "detectors"
    bias: float = Field(-0.05, gt=-1, le=1, description="camera: relative count bias")
    noise_sd: float = Field(0.16, ge=0, le=1, description="camera: relative noise sd")
    miss_rate: float = Field(0.05, ge=0, lt=1, description="camera: share of vehicles missed")
    dropout_rate_per_h: float = Field(0.25, ge=0, le=60, description="camera outages per lane-h")
    dropout_mean_s: float = Field(90.0, gt=0, le=86400)
    freeze_rate_per_h: float = Field(0.1, ge=0, le=60, description="frozen images per lane-h")
    freeze_mean_s: float = Field(300.0, gt=0, le=86400)


class TrafficConfig(_Strict):
    """The SUMO traffic plant."""

    network: Path
    signals: Path
    demand: DemandConfig
    mode: Literal["micro", "meso"] = "micro"
    backend: Literal["libsumo", "traci"] = "libsumo"
    gui: bool = False
    remote: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9.\-]+:\d{1,5}$",
        description="host:port of a listening SUMO (needs backend traci)",
    )
    step_s: float = Field(1.0, gt=0, le=5, description="SUMO step length, s")
    lateral_resolution_m: float | None = Field(
        0.8, gt=0, le=3.5, description="sublane width, m; null turns the sublane model off"
    )
    detector_length_m: float = Field(
        150.0,
        gt=5,
        le=500,
        description="lane-area detector length, m (queues beyond it are unseen)",
    )
    measurement: MeasurementConfig = Field(
        default_factory=MeasurementConfig,
        description="detectors, or camera estimates (defaults: the city's ~85 % cameras)",
    )


class WeatherConfig(_Strict):
    """The shared weather driver: synthetic from the climate normals, or a measured CSV."""

    source: Literal["climate", "csv"] = "climate"
    csv: Path | None = None
    step_s: float = Field(300.0, gt=0, le=3600)


class FloodConfig(_Strict):
    """The flood plant: a 2-D local-inertial solver on a DEM, rain, the Hiếu, 12 warning points."""

    dem: Path | None = Field(
        None, description="GeoTIFF DEM in any CRS; null: the synthetic Đông Hà DEM"
    )
    cell_m: float = Field(
        40.0, ge=5, le=500, description="grid cell, m (40 m runs 48 h in minutes; 10 m for detail)"
    )
    manning_n: float = Field(0.05, gt=0, le=0.3, description="floodplain Manning's n, s/m^(1/3)")
    theta: float = Field(0.8, ge=0.5, le=1.0)
    alpha: float = Field(0.6, gt=0, le=0.707, description="CFL coefficient, <= sqrt(theta/2)")
    rain_csv: Path = Field(description="CSV of time and rain_mm_h (interval starts)")
    stage_csv: Path = Field(description="CSV of time and stage_m of the Hiếu at Đông Hà station")
    sites: Path = Field(description="YAML of the warning points (flood_points.yaml)")
    curve_number: float | None = Field(90.0, ge=30, le=100, description="null: no infiltration")
    drainage_mm_h: float = Field(10.0, ge=0, le=200, description="urban drain capacity, mm/h")
    step_s: float = Field(60.0, gt=0, le=3600, description="exchange interval with the kernel, s")


class LightingFaultConfig(_Strict):
    """A fault injected into the lighting plant (``sim.lighting.faults``)."""

    kind: Literal["lamp_failure", "driver_failure", "stuck_on", "link_down", "supply_loss"]
    target: str = Field(min_length=1, description="pole id (HV-E12) or, for supply_loss, cabinet")
    at: float | str = Field(
        description="seconds after start, or clock time 'HH:MM' on the start day"
    )
    until: float | str | None = Field(None, description="when it ends; null: to the end of the run")
    level: float = Field(1.0, ge=0, le=1, description="driver_failure: the stuck light level")


class LightingConfig(_Strict):
    """The Hùng Vương street-lighting pilot (``sim.lighting``) and how it is lit."""

    configuration: Literal["sodium_fixed", "led_fixed", "led_adaptive"] = Field(
        "led_adaptive", description="existing sodium, LED on a schedule, or LED adaptive"
    )
    traffic: Literal["observed", "synthetic"] = Field(
        "observed",
        description="observed: SUMO's vehicles and pedestrians (needs plants.traffic and "
        "couplings.traffic_to_lighting); synthetic: the plant's own traffic model",
    )
    step_s: float = Field(1.0, gt=0, le=300, description="exchange interval with the kernel, s")
    link_loss_prob: float = Field(0.001, ge=0, le=1, description="per pole and step")
    cloud_cover: float = Field(0.3, ge=0, le=1)
    rain_mm_h: float = Field(0.0, ge=0, le=500)
    record_period_s: float = Field(60.0, gt=0, le=3600, description="history period, s")
    faults: list[LightingFaultConfig] = Field(default_factory=list)


class AgriFaultConfig(_Strict):
    """A fault injected into a cooperative's field hardware (``sim.agri``)."""

    kind: Literal[
        "probe_dead", "probe_stuck", "pump_failure", "burst_lateral", "blocked_emitters",
        "valve_stuck_open", "valve_stuck_shut",
    ]  # fmt: skip
    target: str = Field(min_length=1, description="plot id (AL-H03-P1) or, for pump_failure, site")
    at: float | str = Field(
        description="seconds after start, or clock time 'HH:MM' on the start day"
    )
    until: float | str | None = Field(None, description="when it ends; null: to the end of the run")
    value: float = Field(
        0.5, ge=0, description="blocked_emitters: fraction 0..1; burst_lateral: hole area, mm²"
    )


class AgriConfig(_Strict):
    """The An Lạc and Đông Thanh cooperatives (``sim.agri``): soil, crops, drip, sensors."""

    sites: list[Literal["AL", "DT"]] = Field(
        default=["AL", "DT"], min_length=1, description="AL: An Lạc, DT: Đông Thanh"
    )
    sites_file: Path | None = Field(None, description="null: scenarios/dongha/agri/sites.yaml")
    step_s: float = Field(
        60.0, gt=0, le=600, description="plant step, s (10 when misting or fertigation run)"
    )
    repeat_gap_d: float | None = Field(
        7.0, ge=0, description="days fallow before a plot is replanted; null: one cycle only"
    )
    initial_depletion_fraction: float = Field(0.0, ge=0, le=1, description="share of TAW")
    net_house_climate: bool = Field(True, description="simulate the net houses' air and mist")
    fertigation: bool = Field(True, description="simulate the nutrient tank")
    faults: list[AgriFaultConfig] = Field(default_factory=list)


class PlantsConfig(_Strict):
    """Which plant models are on, with their data."""

    traffic: TrafficConfig | None = None
    weather: WeatherConfig | None = None
    flood: FloodConfig | None = None
    lighting: LightingConfig | None = None
    agri: AgriConfig | None = None


class SignalControllerConfig(_Strict):
    """Signal controllers at every signalised junction of the network."""

    kind: Literal["fixed_time", "maxpressure", "adaptive"] = Field(
        "fixed_time",
        description="fixed_time (Webster plans), maxpressure (reference) or adaptive "
        "(coordinated); the adaptive kinds fall back to the Webster plan on bad input",
    )
    scan_period_s: float = Field(
        1.0, gt=0, le=2.5, description="s; at most half the cabinet watchdog (5 s)"
    )
    min_green_s: float = Field(7.0, ge=3, le=60)
    amber_s: float = Field(3.0, ge=2, le=6)
    all_red_s: float = Field(2.0, gt=0, le=6)
    saturation_pcu_h_per_lane: float = Field(1800.0, ge=600, le=2500)
    min_cycle_s: float = Field(40.0, ge=20, le=240)
    max_cycle_s: float = Field(120.0, ge=30, le=300)
    max_green_s: float = Field(60.0, ge=10, le=180, description="adaptive kinds, s")
    max_red_s: float = Field(
        120.0, ge=30, le=300, description="adaptive kinds: starvation guard, s"
    )
    pcu_per_vehicle: float | None = Field(
        None, gt=0, le=5, description="null: the traffic-mix average of the vehicle-type table"
    )
    corridors: Path | None = Field(
        None, description="YAML of coordinated corridors (lists of signal ids)"
    )
    coordination: bool = Field(True, description="adaptive: predict platoons from upstream signals")
    fallback_failed_fraction: float = Field(
        0.25, ge=0, le=1, description="share of failed lanes above which the fixed plan runs"
    )
    recover_after_s: float = Field(10.0, ge=0, le=600)

    @model_validator(mode="after")
    def _cycle_bounds(self) -> SignalControllerConfig:
        if self.min_cycle_s > self.max_cycle_s:
            raise ValueError(
                f"min_cycle_s ({self.min_cycle_s:g}) is above max_cycle_s ({self.max_cycle_s:g})"
            )
        if self.max_green_s <= self.min_green_s:
            raise ValueError(
                f"max_green_s ({self.max_green_s:g}) must exceed min_green_s ({self.min_green_s:g})"
            )
        return self


class FloodWarningConfig(_Strict):
    """The warning controller on each warning point and the city aggregate."""

    scan_period_s: float = Field(60.0, gt=0, le=3600, description="s")
    street_thresholds_m: tuple[float, float, float] = Field(
        (0.10, 0.30, 0.50), description="street depth for alerts I/II/III, m"
    )
    river_thresholds_m: tuple[float, float, float] = Field(
        (2.0, 3.0, 4.0), description="Đông Hà station stage for alerts I/II/III, m"
    )

    @model_validator(mode="after")
    def _increasing(self) -> FloodWarningConfig:
        for name in ("street_thresholds_m", "river_thresholds_m"):
            a, b, c = getattr(self, name)
            if not a < b < c:
                raise ValueError(f"{name} must increase (I < II < III), got {(a, b, c)}")
        return self


class LightingControllerSchema(_Strict):
    """The lighting controller (``controllers.lighting``); its kind follows the configuration."""

    scan_period_s: float = Field(1.0, gt=0, le=300, description="s")
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="keys of controllers.lighting.config replacing the twin's defaults "
        "(e.g. boost: {hold_s: 90})",
    )


class FogNodeSchema(_Strict):
    """Run a site's controllers on a fog node (``hil.fog``): a durable outbox of telemetry."""

    uplink: str | None = Field(
        None, description="mqtt://host:port of the centre's broker; null: buffer on disk only"
    )


class IrrigationControllerSchema(_Strict):
    """The cooperatives' controllers (``controllers.irrigation``), one set per site."""

    kind: Literal["smart", "fixed"] = Field(
        "smart",
        description="smart: probe + ET checkbook + forecast, misting, fertigation; "
        "fixed: the farmers' daily schedule (with fertigation when the tank is on)",
    )
    compare_with_fixed: bool = Field(
        True, description="also run the fixed schedule on the same weather and seed and report both"
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="keys of controllers.irrigation.config replacing the twin's defaults",
    )
    fog_node: FogNodeSchema | None = Field(None, description="null: the kernel scans them directly")


class ControllersConfig(_Strict):
    """Which controllers run."""

    signals: SignalControllerConfig | None = None
    flood: FloodWarningConfig | None = None
    lighting: LightingControllerSchema | None = None
    irrigation: IrrigationControllerSchema | None = None


class FloodTrafficCouplingConfig(_Strict):
    """Flood depth on road edges slows and closes them in SUMO (needs both plants)."""

    period_s: float = Field(60.0, gt=0, le=3600, description="s")
    reopen_band_m: float = Field(0.05, ge=0, lt=0.1, description="m below a threshold to lift it")


class CouplingsConfig(_Strict):
    """Declared links between domains."""

    flood_to_traffic: FloodTrafficCouplingConfig | None = None
    traffic_to_lighting: bool = Field(
        False, description="SUMO vehicles and pedestrians trigger the poles' motion sensors"
    )
    flood_to_lighting: bool = Field(
        False, description="flood water above a cabinet's plinth trips its supply"
    )


class _EventBase(_Strict):
    at: float | str = Field(
        description="seconds after start, or clock time 'HH:MM' on the start day"
    )


class SensorFaultEvent(_EventBase):
    """Points matching ``points`` (glob, e.g. ``tls/LeDuan_*/det/*``) read BAD from ``at``."""

    kind: Literal["sensor_fault"]
    points: str


class SensorRestoreEvent(_EventBase):
    """Clears a sensor fault on points matching ``points``."""

    kind: Literal["sensor_restore"]
    points: str


class ControllerFailEvent(_EventBase):
    """The named controller stops (a cabinet CPU fault); the cabinet watchdog flashes amber."""

    kind: Literal["controller_fail"]
    controller: str


Event = Annotated[
    Union[SensorFaultEvent, SensorRestoreEvent, ControllerFailEvent],  # noqa: UP007
    Field(discriminator="kind"),
]


class OutputsConfig(_Strict):
    """What a run writes besides the manifest, scenario, KPIs and events."""

    record_period_s: float = Field(10.0, gt=0, le=3600)
    report: bool = True


class Scenario(_Strict):
    """A validated scenario. Times: ``start`` is aware (Asia/Ho_Chi_Minh); durations in s."""

    name: str = Field(min_length=1)
    description: str = ""
    start: datetime
    duration: float = Field(description="seconds, or text like '2h30m'")
    seed: int = Field(ge=0, lt=2**63)
    plants: PlantsConfig
    controllers: ControllersConfig = Field(default_factory=ControllersConfig)
    couplings: CouplingsConfig = Field(default_factory=CouplingsConfig)
    events: list[Event] = Field(default_factory=list)
    outputs: OutputsConfig = Field(default_factory=OutputsConfig)

    @field_validator("start", mode="after")
    @classmethod
    def _city_time(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=CITY_TZ) if value.tzinfo is None else value

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> float:
        return parse_duration(value)

    def event_time_s(self, at: float | str) -> float:
        """Seconds after start for an event's ``at`` (number of s, or 'HH:MM' on the start day)."""
        if isinstance(at, int | float):
            return float(at)
        clock = time.fromisoformat(at)
        local_start = self.start.astimezone(CITY_TZ)
        when = datetime.combine(local_start.date(), clock, tzinfo=CITY_TZ)
        return (when - local_start) / timedelta(seconds=1)

    def day_offset_s(self) -> float:
        """Seconds from local midnight to the start (for daily demand profiles)."""
        local = self.start.astimezone(CITY_TZ)
        return local.hour * 3600 + local.minute * 60 + local.second


class ScenarioError(ValueError):
    """A scenario is invalid; ``lines`` each name the file, the key and what would be valid."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


# -- loading -------------------------------------------------------------------
def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read_yaml(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a scenario file, resolving ``base`` and making relative paths absolute."""
    if not path.is_file():
        where = f"{chain[-1]}: base: " if chain else ""
        raise ScenarioError([f"{where}{path}: scenario file not found"])
    if path in chain:
        raise ScenarioError([f"{path}: base: scenarios include each other in a loop"])
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"line {mark.line + 1}: " if mark else ""
        raise ScenarioError(
            [f"{path}: {line}not valid YAML ({getattr(err, 'problem', err)})"]
        ) from None
    if not isinstance(data, dict):
        raise ScenarioError([f"{path}: a scenario is a mapping of keys (name, start, ...)"])
    data = _absolute_paths(data, path.parent)
    base = data.pop("base", None)
    if base is not None:
        if not isinstance(base, str):
            raise ScenarioError([f"{path}: base: give the path of the base scenario as text"])
        data = _deep_merge(_read_yaml((path.parent / base).resolve(), (*chain, path)), data)
    return data


_PATH_KEYS = {
    "network",
    "signals",
    "zones",
    "vtypes",
    "profile",
    "csv",
    "corridors",
    "dem",
    "rain_csv",
    "stage_csv",
    "sites",
}


def _absolute_paths(data: Any, folder: Path) -> Any:
    if isinstance(data, dict):
        return {
            k: (
                str((folder / v).resolve())
                if k in _PATH_KEYS and isinstance(v, str)
                else _absolute_paths(v, folder)
            )
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_absolute_paths(v, folder) for v in data]
    return data


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that holds the key at ``loc`` (for 'valid keys' hints)."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            # a discriminated-union tag (e.g. 'sensor_fault') names the member model
            members = [m for m in _members(model) if part in _kinds(m)]
            model = members[0] if members else None
            continue
        model = _unwrap(fields[part].annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _members(annotation: Any) -> list[Any]:
    return [a for a in typing.get_args(annotation) if isinstance(a, type)]


def _kinds(model: Any) -> tuple[str, ...]:
    field = getattr(model, "model_fields", {}).get("kind")
    return typing.get_args(field.annotation) if field else ()


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is list:
        return _unwrap(typing.get_args(annotation)[0])
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _unwrap(args[0])
        return Union[tuple(args)]  # noqa: UP007
    return annotation


_EVENT_KINDS = {kind for m in _members(_unwrap(Event)) for kind in _kinds(m)}


def _shown_loc(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """``loc`` without discriminator tags pydantic inserts (``events.0.sensor_fault.x``)."""
    return tuple(
        p
        for i, p in enumerate(loc)
        if not (p in _EVENT_KINDS and i > 0 and isinstance(loc[i - 1], int))
    )


def _describe(path: Path, err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    key = ".".join(str(p) for p in _shown_loc(loc)) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        model = _model_at(loc)
        valid = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{path}: {key}: unknown key{hint}; valid keys here: {', '.join(valid)}"
    if kind == "missing":
        return f"{path}: {key}: required key is missing"
    given = err.get("input")
    shown = repr(given) if not isinstance(given, dict | list) else type(given).__name__
    msg = err["msg"]
    if kind == "union_tag_invalid":
        msg = f"unknown event kind; {err['ctx'].get('expected_tags', '')}"
    return f"{path}: {key}: {msg} (got {shown})"


def _without_typo_echoes(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop 'missing key' errors that a misspelt key next to them already explains."""
    typos = {
        (tuple(e["loc"][:-1]), str(e["loc"][-1])) for e in errors if e["type"] == "extra_forbidden"
    }
    kept = []
    for e in errors:
        parent, name = tuple(e["loc"][:-1]), str(e["loc"][-1])
        if e["type"] == "missing" and any(
            p == parent and difflib.get_close_matches(name, [t], n=1) for p, t in typos
        ):
            continue
        kept.append(e)
    return kept


def load_scenario(path: Path | str, overrides: dict[str, Any] | None = None) -> Scenario:
    """Read, merge and validate a scenario; check every data file it names exists.

    Args:
        path: the YAML file.
        overrides: keys to override (deep merge), e.g. ``{"seed": 7}`` from the command line.
    """
    path = Path(path).resolve()
    data = _read_yaml(path)
    if overrides:
        data = _deep_merge(data, overrides)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(
            [_describe(path, e) for e in _without_typo_echoes([dict(e) for e in err.errors()])]
        ) from None
    missing = [
        f"{path}: {key}: data file not found: {value} (paths are relative to the scenario file)"
        for key, value in _paths(scenario)
        if not value.exists()
    ]
    for i, event in enumerate(scenario.events):
        try:
            at = scenario.event_time_s(event.at)
        except ValueError:
            missing.append(
                f"{path}: events.{i}.at: cannot read {event.at!r}; give seconds "
                "after start or a clock time 'HH:MM'"
            )
            continue
        if not 0 <= at <= scenario.duration:
            missing.append(
                f"{path}: events.{i}.at: {event.at!r} is outside the run "
                f"(0 to {scenario.duration:g} s after the start)"
            )
    if missing:
        raise ScenarioError(missing)
    return scenario


def scenario_paths(scenario: Scenario) -> list[tuple[str, Path]]:
    """(dotted key, path) of every data file a scenario names, in schema order."""
    return _paths(scenario)


def _paths(model: BaseModel, prefix: str = "") -> list[tuple[str, Path]]:
    found: list[tuple[str, Path]] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        key = f"{prefix}{name}"
        if isinstance(value, Path):
            found.append((key, value))
        elif isinstance(value, BaseModel):
            found.extend(_paths(value, key + "."))
    return found
