"""The twin's side of a lock-step hardware-in-the-loop session, and its in-process twin.

:func:`serve_lockstep` advances a plant and exchanges every step with a remote
controller through any :class:`hil.bridge.FieldEndpoint` (OPC-UA, ZeroMQ);
:func:`run_inprocess` runs the same loop with the controller object in this
process. Both return the actuator command sequence — one entry per step:
``(k, ((point, value), ...))`` sorted by point name — so the equivalence of
the bridges can be checked bit for bit: the same scenario, controller and seed
must give the same sequence in-process, over OPC-UA and over ZeroMQ.

The loop, at step ``k`` with ``now = t0 + k × step_s``: the controller scans the
plant's samples at ``now`` (each confirmed at ``now``, as the kernel does); its
outputs are applied; the plant advances to ``now + step_s``. This is the kernel's
order (:mod:`twin.kernel`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from controllers.io import Controller, Direction, Sample
from hil.bridge import ControllerLink, FieldEndpoint
from hil.runner import run_controller
from twin.plant import PlantModel

__all__ = [
    "CommandSequence",
    "confirmed",
    "run_inprocess",
    "run_over_link",
    "serve_lockstep",
]

CommandSequence = list[tuple[int, tuple[tuple[str, Any], ...]]]


def confirmed(samples: Mapping[str, Sample], now: float) -> dict[str, Sample]:
    """Every sample as current at ``now`` (s): the plant's keep-alive.

    Plants report by exception; once a plant has advanced to ``now`` every one of
    its points is confirmed at ``now``, as the kernel's process image reads them
    (:meth:`twin.process_image.ProcessImage.read`). Quality and value are kept."""
    return {
        name: s if s.source_time >= now else Sample(s.value, s.quality, now)
        for name, s in samples.items()
    }


def _inputs_of(plant: PlantModel) -> set[str]:
    return {p.name for p in plant.points() if p.direction is Direction.INPUT}


def _step(
    plant: PlantModel,
    k: int,
    now: float,
    outputs: Mapping[str, Any],
    samples: dict[str, Sample],
    sequence: CommandSequence,
) -> None:
    sequence.append((k, tuple(sorted(outputs.items()))))
    if outputs:
        plant.actuate(dict(outputs))
    plant.advance(now + plant.step_s)
    samples.update(plant.sensors())


def run_inprocess(
    plant: PlantModel, controller: Controller, steps: int, t0: float = 0.0
) -> CommandSequence:
    """``steps`` lock-steps of ``plant`` with ``controller`` scanned in this process.

    The controller's scan period must equal the plant's step (one scan per step).
    """
    if abs(controller.scan_period_s - plant.step_s) > 1e-9:
        raise ValueError(
            f"{controller.name} scans every {controller.scan_period_s:g} s but the plant "
            f"steps {plant.step_s:g} s; lock-step needs one scan per step"
        )
    sequence: CommandSequence = []
    plant.start(t0)
    try:
        samples: dict[str, Sample] = dict(plant.sensors())
        for k in range(steps):
            now = t0 + k * plant.step_s
            outputs = controller.scan(now, confirmed(samples, now))
            _step(plant, k, now, outputs, samples, sequence)
    finally:
        plant.close()
    return sequence


def serve_lockstep(
    plant: PlantModel,
    endpoint: FieldEndpoint,
    steps: int,
    *,
    t0: float = 0.0,
    timeout_s: float = 10.0,
) -> CommandSequence:
    """``steps`` lock-steps of ``plant`` with a remote controller behind ``endpoint``.

    The endpoint must be started and the controller connected; each step waits
    at most ``timeout_s`` for the controller (TimeoutError names the step).
    """
    wanted = _inputs_of(plant)
    sequence: CommandSequence = []
    plant.start(t0)
    try:
        samples: dict[str, Sample] = dict(plant.sensors())
        for k in range(steps):
            now = t0 + k * plant.step_s
            current = confirmed({name: s for name, s in samples.items() if name in wanted}, now)
            outputs = endpoint.exchange(k, now, current, timeout_s)
            _step(plant, k, now, outputs, samples, sequence)
    finally:
        plant.close()
    return sequence


def run_over_link(
    plant: PlantModel,
    endpoint: FieldEndpoint,
    link: ControllerLink,
    controller: Controller,
    steps: int,
    *,
    timeout_s: float = 30.0,
) -> CommandSequence:
    """One lock-step session in this process: ``controller`` on ``link`` (connected) in a
    thread, ``plant`` served behind ``endpoint`` (started) here, for ``steps`` steps.

    Ends the session on both sides and closes ``endpoint`` and ``link``; an error of the
    controller side is raised here (RuntimeError naming it), as is a side that hangs."""
    errors: list[BaseException] = []

    def controller_side() -> None:
        try:
            run_controller(link, controller, "lockstep", step_timeout_s=timeout_s)
        except BaseException as err:  # raised below, in the caller's thread
            errors.append(err)

    worker = threading.Thread(target=controller_side, name=f"hil-{controller.name}")
    worker.start()
    sequence: CommandSequence = []
    try:
        sequence = serve_lockstep(plant, endpoint, steps, timeout_s=timeout_s)
    finally:
        end = getattr(endpoint, "end", None)
        if callable(end):  # OPC-UA: say the run is over and let the controller see it
            end()
            worker.join(timeout_s)
        endpoint.stop()  # ZeroMQ: stopping announces the end
        worker.join(timeout_s)
        link.close()
    if worker.is_alive():
        raise RuntimeError(f"{controller.name}: the controller side did not end")
    if errors:
        raise RuntimeError(f"{controller.name}: the controller side failed: {errors[0]!r}")
    return sequence
