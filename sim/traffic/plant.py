"""The SUMO traffic plant: libsumo (or TraCI) behind the plant-model protocol.

Sensor points (INPUT), for every controlled incoming lane ``L`` of every
traffic light ``J`` (ids made point-safe by :func:`point_segment`):

- ``tls/J/det/L/queue_m``       jam length on the lane-area detector (m)
- ``tls/J/det/L/occupancy_pct`` lane-area detector occupancy (%)
- ``tls/J/det/L/vehicles``      vehicles on the lane-area detector (veh)
- ``tls/J/det/L/speed_mps``     their mean speed (m/s); the lane's limit when empty
- ``tls/J/det/L/count``         vehicles that crossed the stop-line loop since start (veh)

for every signalised pedestrian crossing ``C`` (its crossing lane id):

- ``tls/J/ped/C/waiting``        persons standing at the kerb (on a walking area,
  speed < 0.1 m/s) whose next step is this crossing (persons)

and per traffic light ``tls/J/state_actual`` (the state SUMO shows, read
back for the conflict monitor) and ``tls/J/flashing`` (the cabinet watchdog
has put the junction on flashing amber). City-wide: ``traffic/city/running``,
``traffic/city/arrived``, ``traffic/city/teleports``.

Actuator points (OUTPUT): ``tls/J/state``, one SUMO state character per
link. The controller owns the signal state: SUMO's own programs never run
under it. Like a real cabinet, the plant keeps the last state it was given
and, if no valid command arrives for ``watchdog_s``, flashes amber ('o').

In micro mode the detectors are SUMO induction loops (E1, 3 m before the stop
line) and lane-area detectors (E2, the last ``detector_length_m`` of the
lane). SUMO's mesoscopic model has no lane-area detectors, so in meso mode
the same points come from edge variables shared among the edge's controlled
lanes: vehicles per lane, mean speed, and a queue estimate (all vehicles × 7.5 m
when the edge runs below 30 % of its limit, else halting vehicles × 7.5 m); no
stop-line counts (no ``count`` points). That is coarser; say so when comparing.

A detector (or signal read-back) that gives no reading publishes BAD samples
with no value, never invented zeros.

Flooded roads (called by a flood-to-traffic coupling, not through points):
``set_edge_flood`` slows or closes an edge and reroutes the vehicles that would
enter it, ``flood_stats`` and ``flood_series`` report closures, reroutes and
stranded vehicles; :mod:`sim.traffic.flooding` says how, in micro and meso.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
from numpy.typing import NDArray

from controllers.io import Direction, PointSpec, Quality, Sample, ValueType
from sim.traffic.flooding import FloodedRoads, FloodSeriesRow, RoadFloodState
from sim.traffic.kpis import vehicle_classes
from sim.traffic.layout import SignalLayout, point_segment

__all__ = ["SIGNAL_CHARS", "TrafficPlant", "TrafficPlantConfig"]

SIGNAL_CHARS = "rRyYgGsuoO"
_LANE_POINTS = ("queue_m", "occupancy_pct", "vehicles", "speed_mps", "count")
_HALTED_MPS = 0.1  # SUMO's halting threshold (m/s)
_JAM_SPACING_M = 7.5  # meso queue estimate: metres of queue per queued vehicle
_MESO_SLOW_FRACTION = 0.3  # meso: an edge below this share of its limit counts as queued


@dataclass
class TrafficPlantConfig:
    """How to run SUMO.

    Attributes:
        net_file: the SUMO network.
        route_files: demand (routes or trips).
        additional_files: vehicle types and other additionals.
        run_dir: folder for SUMO's outputs (tripinfo, summary, edge data, log).
        duration_s: run length (s).
        begin_s: SUMO time (s) of the run's start: run time t is SUMO time
            ``begin_s + t`` (0 for the twin's own scenarios; a benchmark of
            someone else's configuration may start later).
        step_s: SUMO step length (s).
        seed: SUMO's random seed.
        mode: 'micro' or 'meso'.
        lateral_resolution_m: sublane width (m); None = no sublane model.
        backend: 'libsumo' (fast, one per process) or 'traci' (GUI or remote SUMO).
        gui: run sumo-gui (needs backend 'traci' and a display).
        remote: ``host:port`` of a SUMO already listening (``sumo --remote-port``),
            driven over TraCI; it is reloaded with this run's files, so it must
            see the same paths. None starts SUMO here.
        detector_length_m: lane-area detector length (m), clipped to the lane.
        watchdog_s: seconds without a valid command before a junction flashes.
        class_queue_period_s: how often (s) halted vehicles are counted by class.
        time_to_teleport_s: SUMO's grid-lock resolution (s); <= 0 disables teleports.
        detector_events: micro mode only: also put an instantaneous induction loop at
            each stop-line loop; SUMO writes every vehicle's enter/leave time (s, sub-step)
            to ``run_dir/detector_events.xml``, the input of ``sim.traffic.hires_log``.
    """

    net_file: Path
    route_files: Sequence[Path]
    run_dir: Path
    duration_s: float
    additional_files: Sequence[Path] = ()
    step_s: float = 1.0
    seed: int = 42
    mode: str = "micro"
    lateral_resolution_m: float | None = 0.8
    backend: str = "libsumo"
    gui: bool = False
    remote: str | None = None
    detector_length_m: float = 150.0
    watchdog_s: float = 5.0
    class_queue_period_s: float = 10.0
    time_to_teleport_s: float = 300.0
    begin_s: float = 0.0
    detector_events: bool = True
    extra_args: Sequence[str] = field(default_factory=tuple)


class TrafficPlant:
    """SUMO behind the plant protocol (see module docstring for its points)."""

    name = "traffic"

    def __init__(self, config: TrafficPlantConfig, layouts: Mapping[str, SignalLayout]) -> None:
        if config.mode not in ("micro", "meso"):
            raise ValueError(f"traffic mode must be 'micro' or 'meso', not {config.mode!r}")
        if config.backend not in ("libsumo", "traci"):
            raise ValueError(f"backend must be 'libsumo' or 'traci', not {config.backend!r}")
        if config.gui and config.backend != "traci":
            raise ValueError("the SUMO GUI needs backend 'traci' (libsumo has no GUI)")
        if config.remote is not None:
            if config.backend != "traci":
                raise ValueError("a remote SUMO needs backend 'traci' (libsumo runs in-process)")
            _host_port(config.remote)
        self.config = config
        self.step_s = float(config.step_s)
        self.layouts = dict(sorted(layouts.items()))
        self._api: Any = None
        self._flood: FloodedRoads | None = None  # created by the first set_edge_flood of a run
        self._t = 0.0
        self._samples: dict[str, Sample] = {}
        self._last_cmd_t: dict[str, float] = {}
        self._shown: dict[str, str] = {}
        self._flashing: dict[str, bool] = dict.fromkeys(self.layouts, False)
        self._latest: dict[str, Sample] = {}
        # every state put on the signal heads: (time s, tls, state); from ``time`` on
        self.signal_log: list[tuple[float, str, str]] = []
        self._lane_values: dict[str, tuple[Any, ...]] = {}
        self._raw_e2: dict[str, Any] = {}  # last lane-area reading per lane (hot-path skip)
        self._arrived = 0
        self._teleports = 0
        self.max_queue_m: dict[str, float] = dict.fromkeys(self.layouts, 0.0)
        # most vehicles of each class seen halted at once on a junction's detectors
        # (sampled every ``class_queue_period_s``; micro mode only)
        self.max_queued_by_class: dict[str, dict[str, int]] = {t: {} for t in self.layouts}
        self._vtype_class: dict[str, str] = {}
        self._next_class_sample = 0.0
        self._lane_of: dict[str, tuple[str, str]] = {}  # detector lane -> (tls, point prefix)
        for tls_id, layout in self.layouts.items():
            for lane in layout.lanes:
                prefix = f"tls/{point_segment(tls_id)}/det/{point_segment(lane)}"
                self._lane_of.setdefault(lane, (tls_id, prefix))
        self._lanes_per_edge: dict[str, int] = {}
        for lane in self._lane_of:
            edge = _edge_of(lane)
            self._lanes_per_edge[edge] = self._lanes_per_edge.get(edge, 0) + 1
        self._counts: dict[str, int] = dict.fromkeys(self._lane_of, 0)
        # pedestrian crossing edge -> its waiting-persons point
        self._crossing_points: dict[str, str] = {
            layout.link_edges[i][1]: (
                f"tls/{point_segment(tls_id)}/ped/{point_segment(layout.link_lanes[i])}/waiting"
            )
            for tls_id, layout in self.layouts.items()
            for i in layout.pedestrian_links
        }
        # point names computed once: the sensor read runs every step
        self._tls_keys = [
            (
                tls_id,
                f"tls/{point_segment(tls_id)}/state_actual",
                f"tls/{point_segment(tls_id)}/flashing",
            )
            for tls_id in self.layouts
        ]
        self._command_points = {f"tls/{point_segment(t)}/state": t for t in self.layouts}
        # meso has no stop-line loops: its lanes have no count point
        self._lane_points = _LANE_POINTS if config.mode == "micro" else _LANE_POINTS[:4]
        self._lane_keys = [
            (
                lane,
                tls_id,
                "e2_" + _det_id(lane),
                "e1_" + _det_id(lane),
                tuple(f"{prefix}/{what}" for what in self._lane_points),
                self.layouts[tls_id].lane_speeds_mps[lane],
                self.layouts[tls_id].lane_lengths_m[lane],
            )
            for lane, (tls_id, prefix) in self._lane_of.items()
        ]

    # -- points ------------------------------------------------------------
    def points(self) -> list[PointSpec]:
        """Sensor and actuator points (see module docstring)."""
        stale, bad = 3 * self.step_s, 10 * self.step_s  # s: a plant that stops stepping ages

        def sensor(
            name: str,
            unit: str,
            value_type: ValueType = ValueType.FLOAT,
            low: float | None = None,
            high: float | None = None,
            **text: str,
        ) -> PointSpec:
            return PointSpec(
                name,
                Direction.INPUT,
                unit,
                value_type,
                low,
                high,
                stale,
                bad,
                text.get("choices"),
                text.get("description", ""),
            )

        count, flag, state = ValueType.INT, ValueType.BOOL, ValueType.STR
        specs: list[PointSpec] = []
        for tls_id in self.layouts:
            seg = point_segment(tls_id)
            specs += [
                PointSpec(
                    f"tls/{seg}/state",
                    Direction.OUTPUT,
                    "",
                    state,
                    choices=SIGNAL_CHARS,
                    description="signal state, one char per link",
                ),
                sensor(
                    f"tls/{seg}/state_actual",
                    "",
                    state,
                    choices=SIGNAL_CHARS,
                    description="state shown in SUMO",
                ),
                sensor(f"tls/{seg}/flashing", "", flag, description="cabinet flashing amber"),
            ]
        for lane, (tls_id, prefix) in self._lane_of.items():
            length = self.layouts[tls_id].lane_lengths_m[lane]
            specs += [
                sensor(f"{prefix}/queue_m", "m", low=0, high=max(length, 1e4)),
                sensor(f"{prefix}/occupancy_pct", "%", low=0, high=100),
                sensor(f"{prefix}/vehicles", "1", count, low=0),
                sensor(f"{prefix}/speed_mps", "m/s", low=0, high=70),
            ]
            if "count" in self._lane_points:
                specs.append(sensor(f"{prefix}/count", "1", count, low=0))
        specs += [
            sensor(point, "1", count, low=0, description="persons waiting to cross")
            for point in self._crossing_points.values()
        ]
        specs += [
            sensor(f"traffic/city/{what}", "1", count, low=0)
            for what in ("running", "arrived", "teleports")
        ]
        return specs

    # -- lifecycle ---------------------------------------------------------
    def sumo_command(self) -> list[str]:
        """The SUMO command line this plant runs (also written to the run folder)."""
        c = self.config
        run = c.run_dir
        binary = "sumo-gui" if c.gui else "sumo"
        found = shutil.which(binary) or _sumo_binary(binary)
        additionals = [
            *map(str, c.additional_files),
            str(run / "detectors.add.xml"),
            str(run / "edgedata.add.xml"),
        ]
        cmd = [
            found,
            "-n",
            str(c.net_file),
            "-r",
            ",".join(map(str, c.route_files)),
            "--additional-files",
            ",".join(additionals),
            "--begin",
            f"{c.begin_s:g}",
            "--end",
            f"{c.begin_s + c.duration_s:g}",
            "--step-length",
            f"{c.step_s:g}",
            "--seed",
            str(c.seed),
            "--time-to-teleport",
            f"{c.time_to_teleport_s:g}" if c.time_to_teleport_s > 0 else "-1",
            "--tripinfo-output",
            str(run / "tripinfo.xml"),
            "--tripinfo-output.write-unfinished",
            "true",
            "--tripinfo-output.write-undeparted",
            "true",
            "--summary-output",
            str(run / "summary.xml"),
            "--log",
            str(run / "sumo.log"),
            "--no-step-log",
            "true",
            "--duration-log.disable",
            "true",
            "--collision.action",
            "warn",
            # many warnings of one kind (emergency braking, teleports) are summarised
            # as a count in sumo.log instead of flooding the console
            "--aggregate-warnings",
            "5",
        ]
        if c.mode == "meso":
            cmd += ["--mesosim", "true", "--meso-junction-control", "true"]
        elif c.lateral_resolution_m is not None:
            cmd += ["--lateral-resolution", f"{c.lateral_resolution_m:g}"]
        return [*cmd, *c.extra_args]

    def start(self, t0: float) -> None:
        """Write detector files and start SUMO at time 0 (``t0`` must be 0)."""
        if t0 != 0:
            raise ValueError("the traffic plant runs on SUMO time: start the kernel at t0 = 0")
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        self._write_detectors()
        self._write_edgedata()
        cmd = self.sumo_command()
        (self.config.run_dir / "sumo_command.txt").write_text(" ".join(cmd) + "\n")
        if self.config.backend == "libsumo":
            import libsumo as api
        else:
            import traci as api
        self._api = api
        if self.config.remote is None:
            api.start(cmd)
        else:
            host, port = _host_port(self.config.remote)
            api.init(port=port, host=host, label=f"remote:{self.config.remote}")
            api.load(cmd[1:])  # the remote SUMO reloads with this run's network and demand
        # A cabinet powers up flashing amber and leaves flash on its first valid command;
        # SUMO's own program never shows a light.
        for tls_id, layout in self.layouts.items():
            self._show(tls_id, "o" * layout.n_links)
            self._shown[tls_id] = "o" * layout.n_links
            self._flashing[tls_id] = True
        self._subscribe()
        self._t = 0.0
        self._flood = None
        self._latest.clear()
        self._lane_values.clear()
        self._raw_e2.clear()
        self._vtype_class = vehicle_classes(
            [*self.config.additional_files, *self.config.route_files]
        )
        self._next_class_sample = 0.0
        self._read_sensors()

    def close(self) -> None:
        """Close SUMO (writes its output files) and write ``signal_log.csv``; safe twice."""
        if self._api is not None:
            api, self._api = self._api, None
            # SUMO may already be gone after its own error: then there is nothing to close
            with contextlib.suppress(Exception):
                api.close()
            with (self.config.run_dir / "signal_log.csv").open("w", encoding="utf-8") as out:
                out.write("time_s,tls,state\n")
                out.writelines(f"{t:g},{tls},{state}\n" for t, tls, state in self.signal_log)

    def _show(self, tls_id: str, state: str) -> None:
        """Put ``state`` on the signal heads from now on (and log the change)."""
        self._api.trafficlight.setRedYellowGreenState(tls_id, state)
        self.signal_log.append((self._t, tls_id, state))

    # -- exchange ----------------------------------------------------------
    def actuate(self, values: Mapping[str, Any]) -> None:
        """Apply signal states; a state of the wrong length is ignored (the watchdog decides)."""
        for point, tls_id in self._command_points.items():
            state = values.get(point)
            if state is None:
                continue
            if len(state) != self.layouts[tls_id].n_links:
                continue  # a malformed command is not a command: the watchdog decides
            self._last_cmd_t[tls_id] = self._t
            if self._flashing[tls_id]:
                self._flashing[tls_id] = False
            if self._shown.get(tls_id) != state:
                self._show(tls_id, state)
                self._shown[tls_id] = state

    def advance(self, t: float) -> None:
        """Step SUMO to time ``t`` (s)."""
        api = self._api
        self._watchdog()
        flood = self._flood
        if flood is not None:
            flood.before_step(self._t)  # reroute around edges closed since the last step
        api.simulationStep(self.config.begin_s + t)
        self._t = t
        self._arrived += api.simulation.getArrivedNumber()
        self._teleports += api.simulation.getStartingTeleportNumber()
        if flood is not None:
            flood.after_step(t)
        self._read_sensors()
        if self.config.mode == "micro" and t >= self._next_class_sample:
            self._sample_queued_classes()
            self._next_class_sample = t + self.config.class_queue_period_s

    def _sample_queued_classes(self) -> None:
        """Halted vehicles by class on each junction's detectors; keep the maxima."""
        api = self._api
        for tls_id, layout in self.layouts.items():
            counts: dict[str, int] = {}
            for lane in layout.lanes:
                values = self._lane_values.get(lane)
                if not values or not values[0]:  # no queue on this lane: nothing halted
                    continue
                for vid in api.lanearea.getLastStepVehicleIDs("e2_" + _det_id(lane)):
                    if api.vehicle.getSpeed(vid) < _HALTED_MPS:
                        group = self._vtype_class.get(api.vehicle.getTypeID(vid), "other")
                        counts[group] = counts.get(group, 0) + 1
            best = self.max_queued_by_class[tls_id]
            for group, n in counts.items():
                if n > best.get(group, 0):
                    best[group] = n

    def sensors(self) -> Mapping[str, Sample]:
        """Sensor samples that changed at the last step (report by exception).

        Unchanged points are confirmed by the step itself: the kernel treats
        every sensor point of this plant as current after each ``advance``.
        """
        return self._samples

    def latest(self) -> Mapping[str, Sample]:
        """The latest sample of every sensor point."""
        return self._latest

    @property
    def teleports(self) -> int:
        """Vehicles SUMO teleported so far (grid-lock resolution)."""
        return self._teleports

    # -- flooded roads -------------------------------------------------------
    def road_users_on(
        self, edges: Sequence[str]
    ) -> tuple[list[str], NDArray[np.float64], NDArray[np.float64]]:
        """Vehicles and pedestrians on ``edges`` now: ids and network x, y (m).

        Network coordinates are SUMO's (the net's ``netOffset`` added to its
        projection); unknown edge ids raise SUMO's error. For the lighting plant's
        motion sensors: ask only for the edges near the poles, it costs one call per
        user.
        """
        api = self._api
        if api is None:
            raise RuntimeError("TrafficPlant.road_users_on: call start() first")
        ids: list[str] = []
        xs: list[float] = []
        ys: list[float] = []
        for edge in edges:
            for vid in api.edge.getLastStepVehicleIDs(edge):
                x, y = api.vehicle.getPosition(vid)
                ids.append(vid)
                xs.append(x)
                ys.append(y)
            for pid in api.edge.getLastStepPersonIDs(edge):
                x, y = api.person.getPosition(pid)
                ids.append(pid)
                xs.append(x)
                ys.append(y)
        return ids, np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)

    def set_edge_flood(
        self, edge_id: str, state: RoadFloodState, speed_limit_m_s: float | None = None
    ) -> None:
        """Open, slow or close the road edge ``edge_id`` from now on (idempotent).

        SLOWED sets the lanes' max speed to min(original, ``speed_limit_m_s``)
        (m/s, > 0, required). CLOSED keeps vehicles out: from the next
        ``advance`` every vehicle whose remaining route enters the edge is
        rerouted, and one that cannot avoid it is stranded (it drives to the
        water's edge and is removed there); vehicles on the edge may leave it.
        A limit given with CLOSED slows those leaving. OPEN (no limit) restores
        the original speeds and routing. Mechanism: :mod:`sim.traffic.flooding`;
        ``flood_state(depth_m)`` gives the state and limit for a water depth.

        Raises RuntimeError before ``start``, ValueError for an unknown or
        internal edge (naming it) or a bad limit.
        """
        if self._api is None:
            raise RuntimeError(
                f"set_edge_flood({edge_id!r}): SUMO is not running; call start(0) first"
            )
        if self._flood is None:
            self._flood = FloodedRoads(self._api, self.step_s, meso=self.config.mode == "meso")
        self._flood.set_edge(edge_id, state, speed_limit_m_s, self._t)

    def flood_stats(self) -> dict[str, float | int]:
        """Flooded roads now, and counters since ``start``.

        Keys: ``edges_closed``, ``edges_slowed``, ``km_closed``, ``km_slowed``
        (current; km of edge length), ``vehicles_rerouted`` (distinct vehicles
        whose route a closure changed), ``vehicles_stranded`` (distinct vehicles
        that found no route around the closures), ``vehicles_stranded_driving``
        (stranded, still driving to the water), ``vehicles_removed_at_water``
        (stranded vehicles removed at the water's edge), ``reroute_calls``.
        Reroutes of a change are counted at the next ``advance``.
        """
        return self._flood.stats() if self._flood is not None else FloodedRoads.no_stats()

    def flood_series(self) -> list[FloodSeriesRow]:
        """Rows (t s, km closed, km slowed, rerouted total, stranded total), one per change."""
        return list(self._flood.series) if self._flood is not None else []

    # -- internals ---------------------------------------------------------
    def _watchdog(self) -> None:
        for tls_id, layout in self.layouts.items():
            last = self._last_cmd_t.get(tls_id)
            if last is None or self._flashing[tls_id]:
                continue
            if self._t - last >= self.config.watchdog_s:
                state = "o" * layout.n_links
                self._show(tls_id, state)
                self._shown[tls_id] = state
                self._flashing[tls_id] = True

    def _subscribe(self) -> None:
        api = self._api
        tc = api.constants
        self._e2_vars = [
            tc.JAM_LENGTH_METERS,
            tc.LAST_STEP_OCCUPANCY,
            tc.LAST_STEP_VEHICLE_NUMBER,
            tc.LAST_STEP_MEAN_SPEED,
        ]
        for tls_id in self.layouts:
            api.trafficlight.subscribe(tls_id, [tc.TL_RED_YELLOW_GREEN_STATE])
        for lane in self._lane_of:
            det = _det_id(lane)
            if self.config.mode == "micro":
                api.lanearea.subscribe("e2_" + det, self._e2_vars)
                api.inductionloop.subscribe("e1_" + det, [tc.VAR_LAST_INTERVAL_NUMBER])
        if self.config.mode == "meso":
            edge_vars = [
                tc.LAST_STEP_VEHICLE_HALTING_NUMBER,
                tc.LAST_STEP_OCCUPANCY,
                tc.LAST_STEP_VEHICLE_NUMBER,
                tc.LAST_STEP_MEAN_SPEED,
            ]
            for edge in sorted(self._lanes_per_edge):
                api.edge.subscribe(edge, edge_vars)

    def _read_sensors(self) -> None:
        """Read subscriptions; keep changed samples for ``sensors()`` (report by exception).

        This runs every step for hundreds of points, so it compares each lane's
        five values as one tuple and builds samples only for values that changed.
        """
        api = self._api
        tc = api.constants
        t = self._t
        good = Quality.GOOD
        latest = self._latest
        changed: dict[str, Sample] = {}

        def put(key: str, value: Any) -> None:
            """Publish ``value`` if it changed; None (no reading) publishes a BAD sample."""
            old = latest.get(key)
            if old is None or old.value != value or type(old.value) is not type(value):
                quality = good if value is not None else Quality.BAD
                latest[key] = changed[key] = Sample(value, quality, t)

        tls_res = api.trafficlight.getAllSubscriptionResults()
        for tls_id, state_key, flash_key in self._tls_keys:
            put(state_key, tls_res.get(tls_id, {}).get(tc.TL_RED_YELLOW_GREEN_STATE))
            put(flash_key, self._flashing[tls_id])
        micro = self.config.mode == "micro"
        if micro:
            e2 = api.lanearea.getAllSubscriptionResults()
            e1 = api.inductionloop.getAllSubscriptionResults()
            jam, occ, num = (
                tc.JAM_LENGTH_METERS,
                tc.LAST_STEP_OCCUPANCY,
                tc.LAST_STEP_VEHICLE_NUMBER,
            )
            mean_speed, passed_var = tc.LAST_STEP_MEAN_SPEED, tc.VAR_LAST_INTERVAL_NUMBER
        else:
            edges = api.edge.getAllSubscriptionResults()
        max_queue = self.max_queue_m
        counts = self._counts
        last_values = self._lane_values
        raw_previous = self._raw_e2
        for lane, tls_id, e2_id, e1_id, keys, limit, length in self._lane_keys:
            values: tuple[Any, ...]
            if micro:
                r, loop = e2.get(e2_id), e1.get(e1_id)
                if r and loop and not loop[passed_var] and r == raw_previous.get(lane):
                    continue  # same reading as last step and nobody passed: nothing to publish
                raw_previous[lane] = r
                if not r or not loop:  # the detector gave no reading: its points go BAD
                    values = (None,) * len(keys)
                else:
                    queue, occupancy, vehicles = r[jam], r[occ], r[num]
                    speed = _plausible_speed(r[mean_speed], limit)
                    counts[lane] += loop[passed_var]
                    occupancy = min(100.0, max(0.0, occupancy))
                    values = (queue, occupancy, vehicles, speed, counts[lane])
            else:  # meso: no stop-line loops, so no counts
                queue, occupancy, vehicles, speed = self._meso_lane(edges, lane, limit, length)
                values = (queue, occupancy, vehicles, _plausible_speed(speed, limit))
            if values[0] is not None and values[0] > max_queue[tls_id]:
                max_queue[tls_id] = values[0]
            previous = last_values.get(lane)
            if values == previous:
                continue
            last_values[lane] = values
            for i, key in enumerate(keys):
                if previous is None or values[i] != previous[i]:
                    value = values[i]
                    quality = good if value is not None else Quality.BAD
                    latest[key] = changed[key] = Sample(value, quality, t)
        if self._crossing_points:
            self._read_crossings(put)
        put("traffic/city/running", api.vehicle.getIDCount())
        put("traffic/city/arrived", self._arrived)
        put("traffic/city/teleports", self._teleports)
        self._samples = changed

    def _read_crossings(self, put: Any) -> None:
        """Persons waiting at the kerb of each signalised crossing."""
        person = self._api.person
        waiting = dict.fromkeys(self._crossing_points.values(), 0)
        for pid in person.getIDList():
            road = person.getRoadID(pid)
            if not road.startswith(":") or person.getSpeed(pid) >= _HALTED_MPS:
                continue
            point = self._crossing_points.get(person.getNextEdge(pid))
            if point is not None:
                waiting[point] += 1
        for point, n in waiting.items():
            put(point, n)

    def _meso_lane(
        self, edges: Mapping[str, Any], lane: str, limit: float, length: float
    ) -> tuple[float, float, int, float]:
        """Queue (m), occupancy (%), vehicles and mean speed (m/s) of a lane from edge data."""
        tc = self._api.constants
        edge = _edge_of(lane)
        r = edges.get(edge, {})
        n_lanes = self._lanes_per_edge[edge]
        vehicles = round(int(r.get(tc.LAST_STEP_VEHICLE_NUMBER, 0)) / n_lanes)
        speed = float(r.get(tc.LAST_STEP_MEAN_SPEED, -1.0))
        occupancy = float(r.get(tc.LAST_STEP_OCCUPANCY, 0.0))
        halting = int(r.get(tc.LAST_STEP_VEHICLE_HALTING_NUMBER, 0)) / n_lanes
        slow = 0 <= speed < _MESO_SLOW_FRACTION * limit
        queue = min((vehicles if slow else halting) * _JAM_SPACING_M, length)
        return queue, occupancy, vehicles, speed

    def _write_detectors(self) -> None:
        from sim.traffic.hires_log import DETECTOR_EVENTS_FILE, instant_loop_id

        c = self.config
        # instant loops write one line per vehicle enter/leave, all into one file
        events_file = quoteattr(str((c.run_dir / DETECTOR_EVENTS_FILE).resolve()))
        lines = ["<additional>"]
        for lane, (tls_id, _prefix) in self._lane_of.items():
            length = self.layouts[tls_id].lane_lengths_m[lane]
            det = _det_id(lane)
            e2_len = min(c.detector_length_m, max(length - 0.2, 0.5))
            loop_pos = f"{max(0.1, length - 3.0):.2f}"
            lines.append(
                f"  <laneAreaDetector id={quoteattr('e2_' + det)} lane={quoteattr(lane)} "
                f'pos="{max(0.0, length - 0.1 - e2_len):.2f}" length="{e2_len:.2f}" '
                f'period="3600" file="NUL" friendlyPos="true"/>'
            )
            lines.append(
                f"  <inductionLoop id={quoteattr('e1_' + det)} lane={quoteattr(lane)} "
                f'pos="{loop_pos}" period="{c.step_s:g}" file="NUL" '
                'friendlyPos="true"/>'
            )
            if c.detector_events:
                lines.append(
                    f"  <instantInductionLoop id={quoteattr(instant_loop_id(lane))} "
                    f'lane={quoteattr(lane)} pos="{loop_pos}" file={events_file} '
                    'friendlyPos="true"/>'
                )
        lines.append("</additional>")
        text = "\n".join(lines) + "\n" if c.mode == "micro" else "<additional/>\n"
        (c.run_dir / "detectors.add.xml").write_text(text, encoding="utf-8")

    def _write_edgedata(self) -> None:
        out = self.config.run_dir / "edgedata.xml"
        (self.config.run_dir / "edgedata.add.xml").write_text(
            f'<additional>\n  <edgeData id="whole_run" file={quoteattr(str(out))} '
            f'excludeEmpty="true"/>\n</additional>\n',
            encoding="utf-8",
        )


def _plausible_speed(speed: float, limit: float) -> float:
    """A detector's mean speed (m/s): the lane limit when empty (SUMO gives -1), at most 70."""
    if 0.0 <= speed < 70.0:
        return speed
    return limit if speed < 0 or speed != speed else 70.0


def _host_port(address: str) -> tuple[str, int]:
    """('host', port) from 'host:port', or ValueError with an example."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"remote SUMO address {address!r}: write host:port, e.g. localhost:8813")
    return host, int(port)


def _edge_of(lane: str) -> str:
    """The edge id of a SUMO lane id (``edge_index``)."""
    return lane.rsplit("_", 1)[0]


def _det_id(lane: str) -> str:
    return lane.replace(" ", "_")


def _sumo_binary(name: str) -> str:
    """Path of a SUMO binary from the eclipse-sumo package, with a hint if it is missing."""
    try:
        import sumo
    except ImportError as err:
        raise FileNotFoundError(
            f"{name} not found: install the 'eclipse-sumo' package (pip install eclipse-sumo)"
        ) from err
    path = Path(sumo.SUMO_HOME) / "bin" / name
    if not path.exists():
        raise FileNotFoundError(f"{name} not found at {path}: reinstall eclipse-sumo")
    return str(path)
