"""The ZeroMQ bridge: the same controllers against a field endpoint over ZeroMQ.

Field side (:class:`ZmqField`, a :class:`hil.bridge.FieldEndpoint`): telemetry
on PUB with a global sequence number, heartbeats, snapshots and validated,
idempotent writes on a ROUTER. Controller side (:class:`ZmqControllerLink`, a
:class:`hil.bridge.ControllerLink`): SUB with a snapshot on join, lost and
duplicate frames counted from ``seq``, Lazy Pirate writes with timeouts and
retries, and a watchdog that makes every input BAD while the link is down.
:func:`run_controller` runs a controller over any link in lock-step or real
time. Wire format: :mod:`hil.zmq.frames`; optional CURVE: :mod:`hil.zmq.curve`.

Of this project, only ``controllers.io`` is imported.
"""

from __future__ import annotations

from hil.runner import RunReport, ScanRecord, run_controller
from hil.zmq.client import LinkDownError, Step, WriteRejected, ZmqControllerLink
from hil.zmq.curve import keypair
from hil.zmq.field import ZmqField
from hil.zmq.frames import FrameError

__all__ = [
    "FrameError",
    "LinkDownError",
    "RunReport",
    "ScanRecord",
    "Step",
    "WriteRejected",
    "ZmqControllerLink",
    "ZmqField",
    "keypair",
    "run_controller",
]
