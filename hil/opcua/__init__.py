"""OPC-UA bridge: a device's process image as an OPC-UA server, and a controller link to it.

- :class:`OpcUaField` (:mod:`hil.opcua.server`): the field side
  (``hil.bridge.FieldEndpoint``) — an asyncua server in a background thread,
  one folder per domain and device under ``Objects/DongHa``, variables with
  engineering units, EURange, quality as StatusCode and run time as
  SourceTimestamp; validated actuator writes; a lock-step clock.
- :class:`OpcUaControllerLink` (:mod:`hil.opcua.client`): the controller side
  (``hil.bridge.ControllerLink``) — subscriptions, auto-reconnect, a full
  re-read after reconnect, BAD inputs while the link is down.
- Address space layout and sample conversion: :mod:`hil.opcua.address_space`;
  units: :mod:`hil.opcua.units`; mapping files (point name ↔ NodeId):
  :mod:`hil.opcua.mapping`; users, roles and endpoints:
  :mod:`hil.opcua.security`; certificates: :mod:`hil.opcua.certs`
  (``python -m hil.opcua.certs FOLDER --hostname HOST``).

Of this project, only ``controllers.io`` is imported: the bridge runs on a box
that has the controllers and this package only.
"""

from __future__ import annotations

from hil.opcua.address_space import NAMESPACE_URI, RunClock
from hil.opcua.certs import CertificatePaths, generate_certificates
from hil.opcua.client import ClientSecurity, OpcUaControllerLink, StepFrame
from hil.opcua.mapping import MappingError, read_mapping, write_mapping
from hil.opcua.security import OpcUaUser, Role, Security, hash_password
from hil.opcua.server import OpcUaField

__all__ = [
    "NAMESPACE_URI",
    "CertificatePaths",
    "ClientSecurity",
    "MappingError",
    "OpcUaControllerLink",
    "OpcUaField",
    "OpcUaUser",
    "Role",
    "RunClock",
    "Security",
    "StepFrame",
    "generate_certificates",
    "hash_password",
    "read_mapping",
    "write_mapping",
]
