"""The co-simulation kernel: one simpy Environment as the master clock (s).

Each plant is a simpy process that advances by its own ``step_s``; each
controller scans at its ``scan_period_s`` (controllers sharing a period are scanned by
one process, in registration order); scenario events
are timed simpy events. At any instant the order is fixed: plants and
scenario events first (simpy URGENT priority), then controllers (NORMAL),
then couplings between plants and the recorder (lower still); ties within
a priority keep simpy's
deterministic scheduling order. So
a controller at time t sees sensors of time t, and its outputs reach the
plant when the plant next advances (from t to t + step): one scan of latency,
as on a real cabinet.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast, runtime_checkable

import simpy
from simpy.core import NORMAL, URGENT
from simpy.events import Event

from controllers.io import Controller, Direction, Quality, Sample
from twin.eventlog import EventLog
from twin.plant import PlantModel
from twin.process_image import ProcessImage
from twin.recorder import Recorder

__all__ = ["Coupling", "Kernel", "KernelStats", "ScheduledAction"]


_LATE = NORMAL + 1  # after every controller scan of the same instant


class _PriorityTimeout(Event):
    """A timeout with an explicit simpy priority (URGENT fires before NORMAL at one instant)."""

    def __init__(self, env: simpy.Environment, delay: float, priority: int) -> None:
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, cast(Any, priority), delay)


@dataclass(frozen=True)
class ScheduledAction:
    """A scenario event: at ``at_s`` (s, run clock) call ``action(kernel)``."""

    at_s: float
    kind: str
    action: Callable[[Kernel], None]
    details: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Coupling(Protocol):
    """A declared link between domains (flood depth closes roads, traffic lights poles...).

    Called every ``period_s`` after the plants have advanced and the
    controllers have scanned at that instant, so it sees both; what it
    changes in a plant takes effect when that plant next advances.
    """

    name: str
    period_s: float

    def step(self, now: float, kernel: Kernel) -> None:
        """Apply the coupling at ``now`` (s, run clock)."""
        ...


@dataclass
class KernelStats:
    """Counters and wall-clock timings of one run (s)."""

    plant_steps: dict[str, int] = field(default_factory=dict)
    plant_wall_s: dict[str, float] = field(default_factory=dict)
    controller_scans: dict[str, int] = field(default_factory=dict)
    controller_wall_s: dict[str, float] = field(default_factory=dict)
    controller_errors: dict[str, int] = field(default_factory=dict)
    coupling_wall_s: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    loop_s: float = 0.0  # the stepping loop alone: without plant start-up and close


class Kernel:
    """Couples plants and controllers through a process image on one simpy clock.

    Args:
        t0: start time (s, run clock); the run ends at ``t0 + duration``.
        log: event log for rejections, controller errors and scenario events.
        recorder: optional recorder, sampled every ``recorder.period_s``.
    """

    def __init__(
        self, t0: float = 0.0, log: EventLog | None = None, recorder: Recorder | None = None
    ) -> None:
        self.env = simpy.Environment(initial_time=t0)
        self.t0 = t0
        self.image = ProcessImage()
        self.log = log or EventLog()
        self.recorder = recorder
        self.stats = KernelStats()
        self._plants: list[PlantModel] = []
        self._controllers: list[Controller] = []
        self._inputs: dict[str, list[str]] = {}
        self._outputs: dict[str, set[str]] = {}
        self._actuator_owner: dict[str, PlantModel] = {}
        self._output_owner: dict[str, str] = {}
        self._pending: dict[str, dict[str, Any]] = {}
        self._failed: set[str] = set()
        self._actions: list[ScheduledAction] = []
        self._couplings: list[Coupling] = []
        self._rejections_logged = 0

    # -- wiring ------------------------------------------------------------
    def add_plant(self, plant: PlantModel) -> None:
        """Register a plant and its points."""
        if not plant.step_s > 0:
            raise ValueError(f"plant {plant.name}: step_s must be > 0, got {plant.step_s}")
        for spec in plant.points():
            self.image.declare(spec, plant.name)
            if spec.direction is Direction.OUTPUT:
                self._actuator_owner[spec.name] = plant
        self._plants.append(plant)
        self._pending[plant.name] = {}

    def add_controller(self, controller: Controller) -> None:
        """Register a controller; its input points must be declared by a plant already."""
        if not controller.scan_period_s > 0:
            raise ValueError(f"controller {controller.name}: scan period must be > 0")
        if controller.name in self._inputs:
            raise ValueError(f"two controllers are named {controller.name!r}")
        inputs: list[str] = []
        outputs: set[str] = set()
        for spec in controller.points():
            if spec.direction is Direction.OUTPUT and spec.name in self._output_owner:
                raise ValueError(
                    f"controllers {self._output_owner[spec.name]!r} and {controller.name!r} both "
                    f"write {spec.name}; an actuator point has exactly one controller"
                )
            self.image.declare(spec, controller.name)
            if spec.direction is Direction.INPUT:
                inputs.append(spec.name)
            else:
                outputs.add(spec.name)
        for name in outputs:
            self._output_owner[name] = controller.name
        self._inputs[controller.name] = inputs
        self._outputs[controller.name] = outputs
        self._controllers.append(controller)

    def add_coupling(self, coupling: Coupling) -> None:
        """Register a coupling between plants (see :class:`Coupling`)."""
        if not coupling.period_s > 0:
            raise ValueError(f"coupling {coupling.name}: period_s must be > 0")
        if any(c.name == coupling.name for c in self._couplings):
            raise ValueError(f"two couplings are named {coupling.name!r}")
        self._couplings.append(coupling)

    @property
    def couplings(self) -> list[Coupling]:
        """Registered couplings, in order."""
        return list(self._couplings)

    def plant(self, name: str) -> PlantModel:
        """The registered plant called ``name`` (KeyError naming the known plants)."""
        for plant in self._plants:
            if plant.name == name:
                return plant
        raise KeyError(f"no plant {name!r}; plants: {[p.name for p in self._plants]}")

    def schedule(self, action: ScheduledAction) -> None:
        """Schedule a scenario event."""
        self._actions.append(action)

    @property
    def plants(self) -> list[PlantModel]:
        """Registered plants, in order."""
        return list(self._plants)

    @property
    def controllers(self) -> list[Controller]:
        """Registered controllers, in order."""
        return list(self._controllers)

    def fail_controller(self, name: str, reason: str) -> None:
        """Stop scanning controller ``name``; its outputs become BAD from now on."""
        if name in self._failed:
            return
        self._failed.add(name)
        now = self.env.now
        for point in sorted(self._outputs.get(name, ())):
            self.image.write(point, None, now, writer=name)
        self.log.emit(now, "controller_failed", controller=name, reason=reason)

    # -- processes ---------------------------------------------------------
    def _plant_process(self, plant: PlantModel, t_end: float):
        env = self.env
        steps = 0
        wall = 0.0
        pending = self._pending[plant.name]
        while env.now + plant.step_s <= t_end + 1e-9:
            yield _PriorityTimeout(env, plant.step_s, URGENT)
            tick = time.perf_counter()
            if pending:
                plant.actuate(dict(pending))
                pending.clear()
            plant.advance(env.now)
            self.image.publish(plant.sensors(), env.now, writer=plant.name)
            self.image.confirm(plant.name, env.now)
            wall += time.perf_counter() - tick
            steps += 1
            self.stats.plant_steps[plant.name] = steps
            self.stats.plant_wall_s[plant.name] = wall
            self._log_rejections()

    def _scan_group_process(self, group: list[Controller], period: float, t_end: float):
        """Scan every controller of ``group`` (same scan period), in registration order."""
        env = self.env
        while env.now <= t_end + 1e-9:
            now = env.now
            for controller in group:
                if controller.name not in self._failed:
                    self._scan(controller, now)
            self._log_rejections()
            yield env.timeout(period)

    def _scan(self, controller: Controller, now: float) -> None:
        """One scan: inputs from the image, outputs checked into it and queued for plants."""
        name = controller.name
        stats = self.stats
        tick = time.perf_counter()
        try:
            result = controller.scan(now, self.image.read_many(self._inputs[name], now))
        except Exception as err:  # a controller bug must not stop the city
            stats.controller_errors[name] = stats.controller_errors.get(name, 0) + 1
            self.fail_controller(name, f"{type(err).__name__}: {err}")
            return
        outputs = self._outputs[name]
        for point, value in result.items():
            if point not in outputs:
                self.fail_controller(name, f"wrote undeclared output point {point!r}")
                return
            sample = self.image.write(point, value, now, writer=name)
            owner = self._actuator_owner.get(point)
            if owner is not None and sample.quality is Quality.GOOD:
                self._pending[owner.name][point] = sample.value
        stats.controller_scans[name] = stats.controller_scans.get(name, 0) + 1
        stats.controller_wall_s[name] = (
            stats.controller_wall_s.get(name, 0.0) + time.perf_counter() - tick
        )

    def _action_process(self, action: ScheduledAction):
        yield _PriorityTimeout(self.env, max(0.0, action.at_s - self.env.now), URGENT)
        self.log.emit(self.env.now, action.kind, **dict(action.details))
        action.action(self)

    def _coupling_process(self, coupling: Coupling, t_end: float):
        stats = self.stats
        yield _PriorityTimeout(self.env, coupling.period_s, _LATE)
        while self.env.now <= t_end + 1e-9:
            tick = time.perf_counter()
            coupling.step(self.env.now, self)
            stats.coupling_wall_s[coupling.name] = (
                stats.coupling_wall_s.get(coupling.name, 0.0) + time.perf_counter() - tick
            )
            yield _PriorityTimeout(self.env, coupling.period_s, _LATE)

    def _recorder_process(self, recorder: Recorder, t_end: float):
        while self.env.now <= t_end + 1e-9:
            now = self.env.now
            # what a reader sees now: quality aged and forced faults applied
            recorder.snapshot(now, self.image.read_many(self.image.names(), now))
            yield _PriorityTimeout(self.env, recorder.period_s, _LATE)

    def _log_rejections(self) -> None:
        rejections = self.image.rejections
        while self._rejections_logged < len(rejections):
            r = rejections[self._rejections_logged]
            self.log.emit(r.time, "value_rejected", point=r.point, writer=r.writer, reason=r.reason)
            self._rejections_logged += 1

    # -- running -----------------------------------------------------------
    def run(
        self,
        duration_s: float,
        progress: Callable[[float], None] | None = None,
        progress_every_s: float = 60.0,
    ) -> KernelStats:
        """Run from ``t0`` for ``duration_s`` seconds; plants are started and always closed."""
        if not (duration_s > 0 and math.isfinite(duration_s)):
            raise ValueError(f"duration must be a positive number of seconds, got {duration_s}")
        t_end = self.t0 + duration_s
        wall_start = time.perf_counter()
        try:
            for plant in self._plants:
                plant.start(self.t0)
                self.image.publish(plant.sensors(), self.t0, writer=plant.name)
                self.image.confirm(plant.name, self.t0)
            for plant in self._plants:
                self.env.process(self._plant_process(plant, t_end))
            for action in sorted(self._actions, key=lambda a: a.at_s):
                if action.at_s <= self.t0:  # due at the start: before the first scan
                    self.log.emit(self.t0, action.kind, **dict(action.details))
                    action.action(self)
                elif action.at_s <= t_end:
                    self.env.process(self._action_process(action))
            groups: dict[float, list[Controller]] = {}
            for controller in self._controllers:
                groups.setdefault(float(controller.scan_period_s), []).append(controller)
            for period, group in groups.items():  # one process per scan period, fewer events
                self.env.process(self._scan_group_process(group, period, t_end))
            for coupling in self._couplings:
                self.env.process(self._coupling_process(coupling, t_end))
            if self.recorder is not None:
                self.env.process(self._recorder_process(self.recorder, t_end))
            if progress is not None:
                self.env.process(self._progress_process(progress, progress_every_s, t_end))
            loop_start = time.perf_counter()
            self.env.run(until=t_end + 1e-6)
            self.stats.loop_s = time.perf_counter() - loop_start
        finally:
            for plant in self._plants:
                plant.close()
            if self.recorder is not None:
                self.recorder.close()
            self.stats.wall_s = time.perf_counter() - wall_start
        return self.stats

    def _progress_process(self, progress: Callable[[float], None], every: float, t_end: float):
        while self.env.now < t_end:
            yield self.env.timeout(min(every, t_end - self.env.now))
            progress(self.env.now)

    def read(self, name: str) -> Sample:
        """The current sample of a point (aged to now)."""
        return self.image.read(name, self.env.now)
