"""The ``twin`` command line: the composition root (it may import anything; nothing imports it).

Commands:
    twin run SCENARIO.yaml [--duration D] [--seed N] [--out DIR]
    twin validate SCENARIO.yaml
    twin network build [--out DIR]
    twin signals bench --sumocfg PATH [--controllers LIST] [--seeds N] [--begin S --end S]

Exit codes: 0 done, 1 the run failed (the run folder keeps what was recorded),
2 bad input (scenario, data files, options).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Đông Hà Twin: run, validate and build the city's digital twin.",
)
network_app = typer.Typer(no_args_is_help=True, help="Build the Đông Hà SUMO network from OSM.")
app.add_typer(network_app, name="network")
signals_app = typer.Typer(no_args_is_help=True, help="Signal control tools.")
app.add_typer(signals_app, name="signals")
lighting_app = typer.Typer(no_args_is_help=True, help="Street lighting (Hùng Vương pilot) tools.")
app.add_typer(lighting_app, name="lighting")
hil_app = typer.Typer(
    no_args_is_help=True,
    help="Hardware in the loop: serve a simulated device, or run a controller against one.",
)
app.add_typer(hil_app, name="hil")

_err = Console(stderr=True, highlight=False)
_out = Console(highlight=False)
_REPO = Path(__file__).resolve().parent.parent


def _bad_input(lines: list[str]) -> typer.Exit:
    for line in lines:
        _err.print(f"[red]error:[/red] {line}", markup=True, soft_wrap=True)
    return typer.Exit(code=2)


def _load(scenario_file: Path, overrides: dict[str, Any]):
    from twin.scenario import ScenarioError, load_scenario

    try:
        return load_scenario(scenario_file, overrides)
    except ScenarioError as err:
        raise _bad_input(err.lines) from None


@app.command()
def validate(scenario_file: Annotated[Path, typer.Argument(help="scenario YAML")]) -> None:
    """Check a scenario and its data files without running it."""
    scenario = _load(scenario_file, {})
    _out.print(
        f"{scenario_file}: valid ({scenario.name}, {scenario.duration:g} s, seed {scenario.seed})"
    )


@app.command()
def run(
    scenario_file: Annotated[Path, typer.Argument(help="scenario YAML")],
    duration: Annotated[str | None, typer.Option(help="override: seconds or e.g. '30m'")] = None,
    seed: Annotated[int | None, typer.Option(help="override the scenario's seed")] = None,
    out: Annotated[Path | None, typer.Option(help="run folder (default runs/NAME-TIME)")] = None,
    report: Annotated[bool, typer.Option(help="draw report.png")] = True,
) -> None:
    """Run a scenario; write the run folder and print the KPI table."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from twin.run import RunFailedError, run_scenario

    overrides: dict[str, Any] = {}
    if duration is not None:
        overrides["duration"] = duration
    if seed is not None:
        overrides["seed"] = seed
    scenario = _load(scenario_file, overrides)
    if out is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        out = Path("runs") / f"{scenario.name}-{stamp}"
    if out.exists() and any(out.iterdir()):
        raise _bad_input([f"--out {out}: folder is not empty; choose a new one or empty it"])
    _out.print(
        f"[bold]{scenario.name}[/bold]: {scenario.start:%Y-%m-%d %H:%M} "
        f"+{scenario.duration / 60:.0f} min, seed {scenario.seed} → {out}"
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[clock]}"),
        TimeElapsedColumn(),
        console=_out,
        transient=False,
    ) as bar:
        task = bar.add_task("simulating", total=scenario.duration, clock="")

        def progress(now: float) -> None:
            clock = scenario.start.timestamp() + now
            local = datetime.fromtimestamp(clock, tz=scenario.start.tzinfo)
            bar.update(task, completed=now, clock=f"{local:%H:%M}")

        try:
            result = run_scenario(scenario, out, scenario_file=scenario_file, progress=progress)
        except RunFailedError as err:
            _err.print(
                f"[red]run failed:[/red] {err}\n"
                f"recorded data, events and the manifest are kept in {err.run_dir}",
                markup=True,
            )
            raise typer.Exit(code=1) from None
        except (FileNotFoundError, FileExistsError, ValueError) as err:
            # raised while setting the run up (demand, network, signals): bad input data
            raise _bad_input([f"{scenario_file}: {err}"]) from None
    if report and scenario.outputs.report and scenario.plants.traffic is not None:
        from viz.report import make_report

        make_report(result.run_dir)
    if report and scenario.outputs.report and scenario.plants.flood is not None:
        from viz.flood_report import make_flood_report

        make_flood_report(result.run_dir)
    if report and scenario.outputs.report and scenario.plants.lighting is not None:
        from viz.lighting_report import make_lighting_report

        make_lighting_report(result.run_dir)
    if report and scenario.outputs.report and scenario.plants.agri is not None:
        from viz.agri_report import make_agri_report

        make_agri_report(result.run_dir)
    _print_kpis(result.kpis)
    _out.print(f"run folder: {result.run_dir}  ({result.wall_s:.0f} s wall)")
    violations = result.kpis.get("interlock_violations", 0)
    if violations:
        _err.print(
            f"[red]interlock violations: {violations}[/red] — the signals showed unsafe states; "
            f"see 'interlock_violation' in {result.run_dir / 'events.jsonl'}",
            markup=True,
        )
        raise typer.Exit(code=1)


def _print_agri(agri: dict[str, Any]) -> None:
    table = Table(title="Agriculture", show_lines=False)
    for column in ("site", "controller", "water m³", "pump kWh", "stress days", "yield loss"):
        table.add_column(column, justify="left" if column in ("site", "controller") else "right")
    for site, block in agri.items():
        if not isinstance(block, dict) or "kpis" not in block:
            continue
        runs = [(block["controller"], block["kpis"])]
        if "fixed_kpis" in block:
            runs.append(("fixed", block["fixed_kpis"]))
        for kind, k in runs:
            table.add_row(
                site,
                kind,
                f"{k['water_m3']:.0f}",
                f"{k['pump_energy_kwh']:.0f}",
                f"{k['stress_days']:g}",
                f"{100 * k['yield_loss_proxy']:.2f} %",
            )
    _out.print(table)
    for site, block in agri.items():
        comp = block.get("comparison") if isinstance(block, dict) else None
        if comp:
            _out.print(
                f"{site}: smart uses {100 * comp['water_saving']:.1f} % less water than the "
                f"farmers' fixed schedule (stress days {comp['stress_days']['smart']:g} vs "
                f"{comp['stress_days']['fixed']:g})"
            )
        elif isinstance(block, dict) and "error" in block:
            _err.print(f"agri KPIs failed: {block['error']}")


def _print_kpis(kpis: dict[str, Any]) -> None:
    if "agri" in kpis:
        _print_agri(kpis["agri"])
    table = Table(title="KPIs", show_lines=False)
    for column in ("class", "completed", "mean delay (s)", "mean travel time (s)", "mean stops"):
        table.add_column(column, justify="right" if column != "class" else "left")
    rows = [("all", kpis), *kpis.get("by_class", {}).items()]
    for name, k in rows:
        if "vehicles_completed" not in k:
            continue
        table.add_row(
            name,
            str(k["vehicles_completed"]),
            f"{k['mean_delay_s']:.1f}",
            f"{k['mean_travel_time_s']:.1f}",
            f"{k['mean_stops']:.2f}",
        )
    if "vehicles_completed" in kpis:  # traffic was simulated
        _out.print(table)
    queues = kpis.get("max_queue_m", {})
    if queues:
        worst = sorted(queues.items(), key=lambda kv: -kv[1])[:5]
        _out.print("longest queues (m): " + ", ".join(f"{k} {v:.0f}" for k, v in worst))
    summary = {
        k: kpis[k]
        for k in (
            "vehicles_unfinished",
            "teleports",
            "interlock_violations",
            "controller_errors",
            "rejected_values",
        )
        if k in kpis
    }
    _out.print(json.dumps(summary))
    lighting = kpis.get("lighting")
    if lighting:
        _out.print(
            json.dumps(
                {k: v for k, v in lighting.items() if k != "energy_kwh_by_cabinet"},
                ensure_ascii=False,
            ),
            soft_wrap=True,
        )
    flood = kpis.get("flood")
    if flood:
        ledger = flood.get("ledger", {})
        closures = kpis.get("road_closures", {})
        warnings = kpis.get("flood_warnings", {})
        _out.print(
            json.dumps(
                {
                    "max_depth_m": flood.get("max_depth_m"),
                    "max_depth_land_m": flood.get("max_depth_land_m"),
                    "flooded_area_km2": flood.get("flooded_area_km2"),
                    "mass_balance_relative_error": ledger.get("relative_error"),
                    "max_km_closed": closures.get("max_km_closed"),
                    "vehicles_rerouted": closures.get("vehicles_rerouted"),
                    "vehicles_stranded": closures.get("vehicles_stranded"),
                    "flood_wall_s": flood.get("wall_s"),
                    "warning_delay_s": warnings.get("warning_delay_s"),
                    "closure_lead_time_s": warnings.get("closure_lead_time_s"),
                    "missed_warnings": warnings.get("missed_warnings"),
                },
                ensure_ascii=False,
            )
        )


@network_app.command("build")
def network_build(
    out: Annotated[Path, typer.Option(help="output folder")] = _REPO / "scenarios/dongha/net",
) -> None:
    """Rebuild the Đông Hà SUMO network from the OSM extract in scenarios/dongha/osm."""
    from sim.traffic.netbuild import build_network, default_inputs

    try:
        inputs = default_inputs(_REPO)
        report = build_network(
            out,
            roads_geojson=inputs["roads_geojson"],
            road_classes_csv=inputs["road_classes_csv"],
            signals_yaml=inputs["signals_yaml"],
            oneway_overrides_csv=inputs.get("oneway_overrides_csv"),
        )
    except (FileNotFoundError, ValueError) as err:
        raise _bad_input([str(err)]) from None
    _out.print(
        json.dumps(
            {k: v for k, v in report.items() if not isinstance(v, dict | list)}, ensure_ascii=False
        )
    )
    _out.print(f"network written to {out}")


@signals_app.command("bench")
def signals_bench(
    sumocfg: Annotated[Path, typer.Option(help="SUMO configuration (.sumocfg) to run")],
    controllers: Annotated[
        str,
        typer.Option(
            help="comma-separated: fixed, actuated, delay_based, maxpressure, "
            "adaptive (ours also as NAME+camera)"
        ),
    ] = "fixed,actuated,delay_based,maxpressure,adaptive",
    seeds: Annotated[int, typer.Option(min=1, help="number of seeds (1..N)")] = 5,
    first_seed: Annotated[int, typer.Option(help="first seed")] = 1,
    begin: Annotated[float | None, typer.Option(help="SUMO begin time, s")] = None,
    end: Annotated[float | None, typer.Option(help="SUMO end time, s")] = None,
    jobs: Annotated[int | None, typer.Option(help="parallel runs (default: cores)")] = None,
    out: Annotated[Path, typer.Option(help="folder for the runs' SUMO outputs")] = Path(
        "runs/signals-bench"
    ),
    corridors: Annotated[
        Path | None, typer.Option(help="corridors YAML for the adaptive controller")
    ] = None,
    pcu_per_vehicle: Annotated[
        float, typer.Option(min=0.01, max=5.0, help="mix-average PCU per vehicle")
    ] = 1.0,
    all_red: Annotated[float, typer.Option(min=0.1, max=6.0, help="all-red after amber, s")] = 2.0,
) -> None:
    """Compare signal controllers on any SUMO configuration: one JSON line per run."""
    from twin.signals_bench import BenchSettings, run_bench, write_line

    settings = BenchSettings(
        all_red_s=all_red, corridors=corridors, pcu_per_vehicle=pcu_per_vehicle
    )
    names = [c.strip() for c in controllers.split(",") if c.strip()]
    try:
        for record in run_bench(
            sumocfg,
            names,
            list(range(first_seed, first_seed + seeds)),
            out,
            begin_s=begin,
            end_s=end,
            jobs=jobs,
            settings=settings,
        ):
            _out.print(write_line(record), soft_wrap=True, highlight=False, markup=False)
    except ValueError as err:
        raise _bad_input([str(err)]) from None


@lighting_app.command("year")
def lighting_year(
    configurations: Annotated[
        str, typer.Option(help="comma-separated: sodium_fixed, led_fixed, led_adaptive")
    ] = "sodium_fixed,led_fixed,led_adaptive",
    year: Annotated[int, typer.Option(min=1900, max=2200, help="calendar year")] = 2026,
    nights: Annotated[int, typer.Option(min=1, max=366, help="sampled nights")] = 26,
    step: Annotated[float, typer.Option(min=1.0, max=300.0, help="exchange step, s")] = 30.0,
    seed: Annotated[int, typer.Option(help="seed of the synthetic traffic")] = 1,
) -> None:
    """A sampled year of the Hùng Vương pilot per configuration: one JSON line each."""
    from twin.lighting_year import compare_configurations

    names = [c.strip() for c in configurations.split(",") if c.strip()]
    try:
        summaries = compare_configurations(names, year=year, nights=nights, seed=seed, step_s=step)
    except ValueError as err:
        _err.print(f"[red]error:[/red] {err}")
        raise typer.Exit(2) from err
    for summary in summaries:
        typer.echo(json.dumps(summary, ensure_ascii=False))


@hil_app.command("certs")
def hil_certs(
    folder: Annotated[Path, typer.Argument(help="where to write the certificates")],
    hostname: Annotated[str, typer.Option(help="the server's host name or IP as clients dial it")],
    days: Annotated[int, typer.Option(min=1, help="validity, days")] = 365,
    overwrite: Annotated[bool, typer.Option(help="replace existing files")] = False,
) -> None:
    """Generate the OPC-UA server and client certificates (self-signed) for a secure session."""
    from hil.opcua import generate_certificates

    try:
        paths = generate_certificates(folder, hostname, days=days, overwrite=overwrite)
    except (FileExistsError, ValueError) as err:
        raise _bad_input([str(err)]) from None
    from dataclasses import asdict

    typer.echo(json.dumps({k: str(v) for k, v in asdict(paths).items()}))


@hil_app.command("serve")
def hil_serve(
    scenario_file: Annotated[Path, typer.Argument(help="scenario YAML (agri or traffic)")],
    device: Annotated[
        str,
        typer.Option(
            help="auto, irrigation (plants.agri), lighting (TALQ-style cabinets), flood "
            "(warning points with sirens) or signals (NTCIP cabinets)"
        ),
    ] = "auto",
    site: Annotated[str, typer.Option(help="irrigation: the cooperative, AL or DT")] = "DT",
    protocol: Annotated[str, typer.Option(help="zmq or opcua")] = "zmq",
    mode: Annotated[str, typer.Option(help="lockstep or realtime")] = "lockstep",
    duration: Annotated[str | None, typer.Option(help="override: plant time, e.g. '2h'")] = None,
    speed: Annotated[float, typer.Option(help="realtime: × wall clock")] = 1.0,
    pub: Annotated[str, typer.Option(help="zmq: telemetry endpoint")] = "tcp://127.0.0.1:5556",
    rep: Annotated[str, typer.Option(help="zmq: request endpoint")] = "tcp://127.0.0.1:5557",
    url: Annotated[str, typer.Option(help="opcua: endpoint")] = "opc.tcp://127.0.0.1:4840/dongha",
    user: Annotated[str | None, typer.Option(help="opcua: operator user (may write)")] = None,
    password: Annotated[str | None, typer.Option(help="opcua: operator password")] = None,
    anonymous_read: Annotated[
        bool, typer.Option(help="opcua: anonymous read-only on loopback")
    ] = False,
    map_out: Annotated[Path | None, typer.Option("--map", help="opcua: write the mapping")] = None,
    certs: Annotated[
        Path | None, typer.Option(help="opcua: `twin hil certs` folder → SignAndEncrypt only")
    ] = None,
    timeout: Annotated[float, typer.Option(help="lockstep: wait per step, s")] = 60.0,
    out: Annotated[
        Path | None, typer.Option(help="signals: SUMO's run folder (default runs/hil-NAME-TIME)")
    ] = None,
    backup: Annotated[float, typer.Option(help="signals: cabinet backup time, s")] = 10.0,
) -> None:
    """Expose the simulated plant as the field device: a cooperative's irrigation gateway,
    the lighting pilot's cabinets (TALQ-style names), or virtual NTCIP signal cabinets in
    front of SUMO."""
    from twin.hil_devices import (
        build_site_plant,
        device_failsafe,
        serve_lockstep_report,
        serve_realtime,
    )
    from twin.hil_lighting import build_lighting_field, controller_mapping, lighting_failsafe
    from twin.hil_signals import build_cabinet_field, serves_signals

    wrong = [
        text
        for bad, text in (
            (mode not in ("lockstep", "realtime"), f"--mode {mode!r}: use lockstep or realtime"),
            (protocol not in ("zmq", "opcua"), f"--protocol {protocol!r}: use zmq or opcua"),
            (not speed > 0, f"--speed {speed!r}: must be > 0"),
            (not timeout > 0, f"--timeout {timeout!r}: must be > 0 s"),
        )
        if bad
    ]
    if wrong:
        raise _bad_input(wrong)
    overrides: dict[str, Any] = {} if duration is None else {"duration": duration}
    scenario = _load(scenario_file, overrides)
    if device == "auto":
        alone = scenario.plants.traffic is None
        device = (
            "irrigation"
            if scenario.plants.agri is not None
            else "lighting"
            if scenario.plants.lighting is not None and alone
            else "flood"
            if scenario.plants.flood is not None and alone
            else "signals"
        )
    plant: Any
    try:
        if device == "irrigation":
            plant = build_site_plant(scenario, site)
            failsafe: dict[str, Any] | None = device_failsafe(plant)
        elif device == "lighting":
            plant = build_lighting_field(scenario)
            failsafe = lighting_failsafe(plant)
        elif device in ("signals", "flood"):
            if device == "signals" and not serves_signals(scenario):
                raise ValueError("--device signals needs plants.traffic and controllers.signals")
            run_dir = out or Path("runs") / f"hil-{scenario.name}-{time.strftime('%Y%m%d-%H%M%S')}"
            if run_dir.exists() and any(run_dir.iterdir()):
                raise ValueError(f"{run_dir} is not empty; pick another --out")
            run_dir.mkdir(parents=True, exist_ok=True)
            failsafe = None  # cabinets back up to their plans; flood boxes hold their warning
            if device == "signals":
                plant = build_cabinet_field(scenario, run_dir, backup_s=backup)
            else:
                from twin.hil_flood import build_gauge_field

                plant = build_gauge_field(scenario, run_dir)
        else:
            raise ValueError(
                f"--device {device!r}: use auto, irrigation, lighting, flood or signals"
            )
    except (ValueError, OSError) as err:
        raise _bad_input([f"{scenario_file}: {err}"]) from None
    points = list(plant.points())
    endpoint: Any
    if protocol == "zmq":
        from hil.zmq import ZmqField

        endpoint = ZmqField(points, pub=pub, rep=rep)
    elif protocol == "opcua":
        from hil.opcua import OpcUaField, OpcUaUser, Security, write_mapping

        users = [] if user is None else [OpcUaUser.with_password(user, password or "", "operator")]
        try:
            endpoint = OpcUaField(
                points,
                url,
                run_start_utc_s=scenario.start.timestamp(),
                security=Security.NONE if certs is None else Security.SIGN_ENCRYPT,
                cert_dir=certs,
                users=users,
                allow_anonymous_loopback=anonymous_read,
            )
        except ValueError as err:  # e.g. off loopback without SignAndEncrypt and users
            raise _bad_input([str(err)]) from None
    else:
        raise _bad_input([f"--protocol {protocol!r}: use zmq or opcua"])
    endpoint.start()
    try:
        where = (
            f"{endpoint.pub_endpoint} (telemetry), {endpoint.rep_endpoint} (requests)"
            if protocol == "zmq"
            else endpoint.url
        )
        _out.print(f"{device}: {plant.name} ({len(points)} points, {mode}) on {where}")
        if protocol == "opcua" and map_out is not None:
            # lighting: the controller's own names → the TALQ-named nodes
            served = endpoint.mapping()
            write_mapping(map_out, controller_mapping(served) if device == "lighting" else served)
            _out.print(f"mapping written to {map_out}")
        if mode == "lockstep":
            steps = round(scenario.duration / plant.step_s)
            try:
                report = serve_lockstep_report(plant, endpoint, steps, timeout)
            except TimeoutError as err:
                raise _bad_input(
                    [f"{err}; is `twin hil run-controller` running against this endpoint?"]
                ) from None
        elif mode == "realtime":
            import signal
            import threading

            stop = threading.Event()
            for signum in (signal.SIGINT, signal.SIGTERM):  # end early, still report
                signal.signal(signum, lambda *_: stop.set())
            report = serve_realtime(
                plant, endpoint, scenario.duration, speed=speed, failsafe=failsafe, stop=stop
            )
        else:
            raise _bad_input([f"--mode {mode!r}: use lockstep or realtime"])
    finally:
        if hasattr(endpoint, "end"):  # OPC-UA: the controller learns the end by subscription
            endpoint.end()
            time.sleep(1.0)  # many publishing intervals; then the server may go
        endpoint.stop()
    if device == "signals":
        from controllers.signals.ntcip import UnitControlStatus

        kpis: dict[str, Any] = {
            "mmu_violations": plant.mmu_violations,
            "backups": {c.spec.tls_id: c.backups for c in plant.cabinets if c.backups},
            "bad_commands": sum(c.bad_commands for c in plant.cabinets),
            "under_central_control_at_end": sum(
                c.control_status == UnitControlStatus.SYSTEM_CONTROL for c in plant.cabinets
            ),
            "arrived": plant.plant.latest().get("traffic/city/arrived", (None,))[0],
        }
    elif device == "flood":
        levels = [v for n, v in plant.shown.items() if n.endswith("/warning_level")]
        kpis = {
            "highest_warning": max(levels, default=0),
            "siren_s": {n.split("/")[1]: s for n, s in sorted(plant.siren_s().items())},
        }
    else:
        source = plant.plant if device == "lighting" else plant
        kpis = {k: v for k, v in source.kpis().items() if not isinstance(v, (dict, list))}
    typer.echo(json.dumps({"device": device, "steps": report.steps,
                           "wall_s": round(report.wall_s, 3),
                           "max_drift_s": round(report.max_drift_s, 4),
                           "mean_drift_s": round(report.mean_drift_s, 4),
                           "failsafe_trips": report.failsafe_trips,
                           "kpis": kpis}))  # fmt: skip


@hil_app.command("run-controller")
def hil_run_controller(
    scenario_file: Annotated[Path, typer.Argument(help="scenario YAML with the controller")],
    controller: Annotated[
        str,
        typer.Argument(
            help="e.g. irrigation/DT, fertigation/AL, lighting, flood, flood/P03, signals/J07, "
            "signals (all)"
        ),
    ],
    zmq: Annotated[str | None, typer.Option(help="PUB_URL,REP_URL of a ZeroMQ field")] = None,
    opcua: Annotated[str | None, typer.Option(help="URL of an OPC-UA server")] = None,
    map_file: Annotated[Path | None, typer.Option("--map", help="opcua: point ↔ NodeId")] = None,
    user: Annotated[str | None, typer.Option(help="opcua user")] = None,
    password: Annotated[str | None, typer.Option(help="opcua password")] = None,
    mode: Annotated[str, typer.Option(help="lockstep or realtime")] = "lockstep",
    duration: Annotated[float | None, typer.Option(help="realtime: wall seconds")] = None,
    speed: Annotated[
        float, typer.Option(help="realtime: run time per wall second, as the field's --speed")
    ] = 1.0,
    plant_duration: Annotated[
        str | None,
        typer.Option(
            help="the serve's --duration, if it gave one (signals: the plans come from the "
            "run's demand, so both sides must build the same run)"
        ),
    ] = None,
    certs: Annotated[
        Path | None, typer.Option(help="opcua: `twin hil certs` folder → SignAndEncrypt")
    ] = None,
    connect_timeout: Annotated[float, typer.Option(help="s")] = 30.0,
) -> None:
    """Run one of the scenario's controllers, unchanged, against a (simulated or real) device."""
    import tempfile

    from hil.runner import run_controller
    from twin.hil_devices import build_site_controller, open_link
    from twin.hil_signals import build_signal_central

    if mode not in ("lockstep", "realtime"):
        raise _bad_input([f"--mode {mode!r}: use lockstep or realtime"])
    if not speed > 0:
        raise _bad_input([f"--speed {speed!r}: must be > 0"])
    scenario = _load(scenario_file, {} if plant_duration is None else {"duration": plant_duration})
    try:
        ctrl: Any
        if controller == "lighting":
            from twin.hil_lighting import build_lighting_controller_for_hil

            if opcua is not None and map_file is None:
                raise ValueError(
                    "lighting over OPC-UA needs --map: the file `twin hil serve --map` wrote "
                    "(its points are TALQ-named)"
                )
            ctrl = build_lighting_controller_for_hil(scenario, talq_names=zmq is not None)
        elif controller == "flood" or controller.startswith("flood/"):
            from twin.hil_flood import build_flood_controller_for_hil

            ctrl = build_flood_controller_for_hil(scenario, controller)
        elif controller == "signals" or controller.startswith("signals/"):
            with tempfile.TemporaryDirectory(prefix="twin-central-") as work:
                ctrl = build_signal_central(scenario, controller, Path(work))
        else:
            ctrl = build_site_controller(scenario, controller)
        urls = None if zmq is None else tuple(zmq.split(",", 1))
        if urls is not None and len(urls) != 2:
            raise ValueError("--zmq needs PUB_URL,REP_URL")
        link = open_link(
            ctrl,
            zmq=urls,
            opcua=opcua,
            mapping=map_file,
            user=user,
            password=password,
            certs=certs,
        )
    except ValueError as err:
        raise _bad_input([str(err)]) from None
    link.connect(connect_timeout)
    try:
        report = run_controller(
            link,
            ctrl,
            mode,
            duration_s=duration,
            keep_records=False,
            speed=speed,
            follow_field_time=True,
        )
    finally:
        link.close()
    summary: dict[str, Any] = {"controller": ctrl.name, "scans": report.scans,
                               "ended_by": report.ended_by,
                               "write_failures": report.write_failures}  # fmt: skip
    members = getattr(ctrl, "members", [ctrl])
    if any(hasattr(m, "plan_mismatches") for m in members):
        summary["plan_mismatches"] = sum(getattr(m, "plan_mismatches", 0) for m in members)
        summary["disagreements"] = sum(getattr(m, "disagreements", 0) for m in members)
    typer.echo(json.dumps(summary))


if __name__ == "__main__":  # pragma: no cover
    app()
