"""What every hardware-in-the-loop bridge offers, whatever its protocol (OPC-UA, ZeroMQ).

Two sides meet over a bridge, named as in the field:

- the **field side** (:class:`FieldEndpoint`): the device — a signal cabinet, a
  lighting cabinet, an irrigation gateway, a flood gauge — or the twin's
  simulated plant standing in for it. It publishes sensor samples (INPUT
  points of the controller) and receives actuator values (OUTPUT points).
- the **controller side** (:class:`ControllerLink`): a link through which a
  controller object, unchanged, reads its inputs and writes its outputs. The
  same controller that runs in-process in the kernel runs against the link.

Points keep their process-image names on both sides (``agri/DT-H01-P1/valve_open``);
a bridge maps them to its own addresses (OPC-UA NodeIds, ZeroMQ topics) and
carries each value as a :class:`~controllers.io.Sample` (value, quality,
source timestamp).

Two modes:

- **lock-step** (deterministic, as fast as both sides can go): the field side
  calls :meth:`FieldEndpoint.exchange` with step number ``k``, run time
  ``now`` and the samples of that step; the controller side, in
  :meth:`ControllerLink.wait_step`, receives them, the controller scans at
  ``now``, and :meth:`ControllerLink.finish_step` returns the outputs for step
  ``k``; ``exchange`` returns them. Nothing moves on until both sides are done,
  so the actuator command sequence is the same as in-process, bit for bit.
- **real time**: the field side publishes whenever its values change
  (:meth:`FieldEndpoint.publish`) and applies whatever was written
  (:meth:`FieldEndpoint.take_writes`); the controller side scans on its own
  wall clock with the latest samples (:meth:`ControllerLink.latest`) and
  writes with :meth:`ControllerLink.write`.

Fail-safe: when the link is down or stale, :meth:`ControllerLink.latest`
returns BAD samples (no value, ``Quality.BAD``) for every input, so the
controller falls to its own fail-safe; the field side's device applies its
own fail-safe (e.g. flashing amber, full light, valves closed) when no write
arrives within its watchdog.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from controllers.io import PointSpec, Sample

__all__ = ["ControllerLink", "FieldEndpoint", "LinkStats", "StepFrame"]


class StepFrame(Protocol):
    """One lock-step frame as the controller side sees it (read-only)."""

    @property
    def k(self) -> int:
        """Step number, 0, 1, 2, ..."""
        ...

    @property
    def now(self) -> float:
        """Run time (s) of the step."""
        ...

    @property
    def samples(self) -> Mapping[str, Sample]:
        """Every INPUT point of the controller at ``now``."""
        ...


class LinkStats(Protocol):
    """Counters every bridge keeps (names are the dictionary keys of ``stats``)."""

    stats: dict[str, int]  # at least: sent, received, lost, duplicates, reconnects


@runtime_checkable
class FieldEndpoint(Protocol):
    """The device side of a bridge (see the module docstring)."""

    points: Sequence[PointSpec]

    def start(self) -> None:
        """Open the endpoint (bind, listen); returns when clients can connect."""
        ...

    def stop(self) -> None:
        """Close the endpoint; safe to call twice."""
        ...

    def publish(self, now: float, samples: Mapping[str, Sample]) -> None:
        """Real-time mode: make these sensor samples current."""
        ...

    def take_writes(self) -> dict[str, Any]:
        """Real-time mode: actuator values written since the last call, by point name."""
        ...

    def exchange(
        self, k: int, now: float, samples: Mapping[str, Sample], timeout_s: float
    ) -> dict[str, Any]:
        """Lock-step mode: publish step ``k`` and wait (at most ``timeout_s``) for the
        controller's outputs of step ``k``; TimeoutError names the step on expiry."""
        ...


@runtime_checkable
class ControllerLink(Protocol):
    """The controller side of a bridge (see the module docstring)."""

    def connect(self, timeout_s: float) -> None:
        """Connect to the field endpoint (with retries until ``timeout_s``)."""
        ...

    def close(self) -> None:
        """Disconnect; safe to call twice."""
        ...

    def wait_step(self, timeout_s: float) -> StepFrame | None:
        """Lock-step mode: the next step's frame, or None when the field side ended."""
        ...

    def finish_step(self, k: int, outputs: Mapping[str, Any]) -> None:
        """Lock-step mode: hand the outputs of step ``k`` back to the field side."""
        ...

    def latest(self, now_wall: float) -> dict[str, Sample]:
        """Real-time mode: the newest sample of every input (BAD while the link is down)."""
        ...

    def write(self, outputs: Mapping[str, Any]) -> None:
        """Real-time mode: write actuator values to the field side."""
        ...
