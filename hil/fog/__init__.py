"""The fog node: controllers on a gateway box, a durable outbox, and an MQTT uplink.

The node (:class:`FogNode`) runs its controllers, writes every scan's
telemetry, alarms and controller snapshots to a SQLite store
(:class:`FogStore`) in one transaction, and sends the outbox in order over
MQTT (:class:`MqttUplink`) whenever the link is up. The centre side
(:class:`CentreReceiver`) stores batches in order, drops duplicates, acks,
and sends commands with ids so replays are harmless. Wire format:
:mod:`hil.fog.protocol`.

Of this project, only ``controllers.io`` is imported: the package runs on a
gateway that has the controllers and this bridge only.
"""

from __future__ import annotations

from hil.fog.centre import CentreReceiver, CommandStatus
from hil.fog.db import StoreError
from hil.fog.node import CommandHandler, CommandOutcome, FogNode
from hil.fog.protocol import (
    Ack,
    Batch,
    Command,
    CommandResult,
    ProtocolError,
    Record,
    Topics,
    topics,
)
from hil.fog.store import AckError, FogStore, NewRecord, SavedState
from hil.fog.uplink import LinkEvent, MqttUplink, RecordSource, Uplink

__all__ = [
    "Ack",
    "AckError",
    "Batch",
    "CentreReceiver",
    "Command",
    "CommandHandler",
    "CommandOutcome",
    "CommandResult",
    "CommandStatus",
    "FogNode",
    "FogStore",
    "LinkEvent",
    "MqttUplink",
    "NewRecord",
    "ProtocolError",
    "Record",
    "RecordSource",
    "SavedState",
    "StoreError",
    "Topics",
    "Uplink",
    "topics",
]
