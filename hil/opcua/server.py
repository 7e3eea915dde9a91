"""The field side over OPC-UA: a device's process image served as an address space.

:class:`OpcUaField` implements :class:`hil.bridge.FieldEndpoint`. It runs an
asyncua ``Server`` in a background thread with its own event loop and offers
a blocking facade to the (synchronous) plant or kernel:

- :meth:`~OpcUaField.publish` makes sensor samples current (value, quality as
  StatusCode, run time as SourceTimestamp): the DataValues are made on the
  caller's thread and written to the address space in one hand-over to the
  loop; they are never changed afterwards, so asyncua's monitored items keep
  them without a deep copy (:class:`~hil.opcua._ua.SharedDataValue`);
- clients write actuator variables; each write is validated against the
  point (type, range, finite, Good status) and either applied and queued for
  :meth:`~OpcUaField.take_writes`, or answered with a Bad status
  (``BadTypeMismatch``, ``BadOutOfRange``, ``BadWriteNotSupported``,
  ``BadUserAccessDenied``) and not applied;
- lock-step: :meth:`~OpcUaField.exchange` writes the step's samples, then
  ``twin/clock/now_s`` and ``twin/clock/step``, waits for a client to write
  ``twin/clock/ack_step = k`` and returns the actuator writes of the step.

Layout of the address space: :mod:`hil.opcua.address_space`. Security
(endpoints, users, roles, anonymous on loopback): :mod:`hil.opcua.security`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import socket
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

from asyncua import Server, ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import AddressSpace, AttributeService

from controllers.io import Direction, PointSpec, PointValueError, Sample, ValueType
from hil.opcua._loop import LoopThread
from hil.opcua._ua import data_value, status
from hil.opcua.address_space import (
    CLOCK_ACK_STEP,
    CLOCK_ENDED,
    CLOCK_NOW_S,
    CLOCK_STEP,
    NAMESPACE_URI,
    RunClock,
    address_space_items,
    check_point_set,
    coerce_value,
    datavalue_to_sample,
    initial_datavalue,
    mapping_for,
    point_node_id,
    sample_to_datavalue,
    variant_type,
)
from hil.opcua.certs import SERVER_APP_URI, CertificatePaths, trusted_client_certificates
from hil.opcua.security import (
    OpcUaUser,
    PinnedCertificates,
    RolePermissions,
    Security,
    TwinUserManager,
    check_exposure,
    user_can_write,
)

__all__ = ["OpcUaField"]

log = logging.getLogger(__name__)

_START_TIMEOUT_S = 60.0
_CALL_TIMEOUT_S = 30.0
_STAT_KEYS = ("sent", "received", "lost", "duplicates", "reconnects", "rejected")
_Values = tuple[list[ua.NodeId], list[ua.DataValue]]  # NodeIds and their DataValues, in order


async def _shutdown(server: Server) -> None:
    """``server.stop()``, closing connections that slip in while it runs.

    A client with auto-reconnect can connect again between asyncua closing the
    open connections and closing the listening socket; ``stop()`` would then
    wait for that connection forever.
    """
    stopping = asyncio.ensure_future(server.stop())
    while not stopping.done():
        await asyncio.wait({stopping}, timeout=0.1)
        for transport in list(server.iserver.asyncio_transports):
            transport.close()
    await stopping


_ADMIN = User(role=UserRole.Admin)  # asyncua's default: the server's own session


class _GuardedAttributeService(AttributeService):
    """asyncua's attribute service with this bridge's write checks in front.

    Writes from the wire to actuator variables and to ``ack_step`` are checked
    by :meth:`OpcUaField._check_write` first; a rejected item gets its Bad
    status and is not applied, the others go on to asyncua (which applies
    AccessLevel) one by one, so results keep the request's order.
    """

    def __init__(self, aspace: AddressSpace, field: OpcUaField) -> None:
        super().__init__(aspace)
        self._field = field

    async def write(self, params: ua.WriteParameters, user: User = _ADMIN) -> list[ua.StatusCode]:
        results: list[ua.StatusCode] = []
        for item in params.NodesToWrite:
            rejected, accepted = self._field._check_write(item, user)
            if rejected is not None:
                results.append(rejected)
                continue
            one = ua.WriteParameters()
            one.NodesToWrite = [item if accepted is None else accepted[0]]
            result = (await super().write(one, user))[0]
            results.append(result)
            if accepted is not None and result.is_good():
                self._field._accept_write(accepted[1], accepted[2])
        return results


class OpcUaField:
    """A device's process image as an OPC-UA server (implements ``FieldEndpoint``).

    Args:
        points: the device's points; INPUT points (sensors) are published by
            the field side and read-only for clients, OUTPUT points (actuators)
            are written by clients.
        url: ``opc.tcp://host:port/path``; port 0 picks a free port (see
            :attr:`url` after :meth:`start`). Host ``0.0.0.0`` binds all
            interfaces and advertises this machine's host name.
        run_start_utc_s: UTC instant of run time 0 (s since 1970-01-01 UTC);
            SourceTimestamps are run start + run time.
        security: endpoints offered (:class:`~hil.opcua.security.Security`);
            off loopback only ``SIGN_ENCRYPT`` is allowed.
        users: :class:`~hil.opcua.security.OpcUaUser` accounts (operator:
            read + write, viewer: read). Required off loopback.
        allow_anonymous_loopback: accept anonymous, read-only sessions; only
            allowed when the URL host is loopback.
        cert_dir: folder from :func:`~hil.opcua.certs.generate_certificates`
            (server certificate and key; trusted client certificates).
            Required unless ``security`` is ``NONE``.
        server_name: application name shown to clients.
    """

    def __init__(
        self,
        points: Sequence[PointSpec],
        url: str = "opc.tcp://127.0.0.1:0/dongha",
        *,
        run_start_utc_s: float,
        security: Security | str = Security.SIGN_ENCRYPT,
        users: Iterable[OpcUaUser] = (),
        allow_anonymous_loopback: bool = False,
        cert_dir: str | Path | None = None,
        server_name: str = "Đông Hà twin field",
    ) -> None:
        self.points: tuple[PointSpec, ...] = tuple(points)
        self._by_name = check_point_set(self.points)
        self._inputs = {n: s for n, s in self._by_name.items() if s.direction is Direction.INPUT}
        self._outputs = {n: s for n, s in self._by_name.items() if s.direction is Direction.OUTPUT}
        self._clock = RunClock(run_start_utc_s)
        self.security = Security(security)
        self._users = tuple(users)
        parsed = urlparse(url)
        if parsed.scheme != "opc.tcp" or not parsed.hostname:
            raise ValueError(f"url must look like 'opc.tcp://127.0.0.1:4840/dongha', got {url!r}")
        try:
            port = parsed.port if parsed.port is not None else 4840
        except ValueError as err:
            raise ValueError(f"url {url!r}: bad port ({err})") from None
        self._host, self._port, self._path = parsed.hostname, port, parsed.path or "/"
        self.loopback = check_exposure(url, self.security, self._users, allow_anonymous_loopback)
        self.allow_anonymous = bool(allow_anonymous_loopback)
        self._user_manager = TwinUserManager(self._users, self.allow_anonymous)
        self.cert_dir = None if cert_dir is None else Path(cert_dir)
        if self.security.needs_certificates:
            if self.cert_dir is None:
                raise ValueError(
                    f"security={self.security.value} needs certificates: pass cert_dir=... made by "
                    "`python -m hil.opcua.certs FOLDER --hostname HOST`"
                )
            paths = CertificatePaths.in_folder(self.cert_dir)
            for path in (paths.server_cert, paths.server_key):
                if not path.is_file():
                    raise FileNotFoundError(
                        f"{path} is missing; run `python -m hil.opcua.certs {self.cert_dir}`"
                    )
        self.server_name = server_name
        self._loop = LoopThread("opcua-field")
        self._server: Server | None = None
        self._ns = -1
        self._node_ids: dict[str, ua.NodeId] = {}  # point and clock names → NodeId (once started)
        self._url = ""
        self._writable: dict[str, PointSpec | None] = {n: s for n, s in self._outputs.items()}
        self._writable[CLOCK_ACK_STEP] = None
        self._lock = threading.Lock()
        self._acked = threading.Condition(self._lock)
        self._writes: dict[str, Any] = {}
        self._step = -1
        self._ack = -1
        self.stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)

    # --- lifecycle -------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The endpoint URL clients dial (with the real port once started)."""
        if not self._url:
            raise RuntimeError("the server is not started; call start() first")
        return self._url

    @property
    def namespace_index(self) -> int:
        """Index of :data:`~hil.opcua.address_space.NAMESPACE_URI` on this server."""
        if self._ns < 0:
            raise RuntimeError("the server is not started; call start() first")
        return self._ns

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._server is not None

    def mapping(self) -> dict[str, str]:
        """Point name → NodeId text (``ns=<idx>;s=<name>``) of every point, for a mapping file."""
        return mapping_for(self._by_name, self.namespace_index)

    def start(self) -> None:
        """Build the address space and listen; returns when clients can connect."""
        if self._server is not None:
            return
        self._loop.start()
        try:
            self._loop.run(self._start(), _START_TIMEOUT_S)
        except BaseException:
            self._server = None
            self._loop.stop()
            raise

    def stop(self) -> None:
        """Close every session and the listening socket, stop the loop thread. Idempotent."""
        server, self._server = self._server, None
        try:
            if server is not None and self._loop.running:
                self._loop.run(_shutdown(server), _CALL_TIMEOUT_S)
        finally:
            self._loop.stop()
            with self._acked:
                self._acked.notify_all()

    def __enter__(self) -> OpcUaField:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _start(self) -> None:
        server = Server(user_manager=self._user_manager)
        await server.init()
        server.set_endpoint(
            urlunparse(("opc.tcp", f"{self._host}:{self._port}", self._path, "", "", ""))
        )
        server.set_server_name(self.server_name)
        server.product_uri = "urn:dongha-twin:product"
        await server.set_application_uri(SERVER_APP_URI)
        if self.cert_dir is not None and self.security.needs_certificates:
            paths = CertificatePaths.in_folder(self.cert_dir)
            await server.load_certificate(str(paths.server_cert))
            await server.load_private_key(str(paths.server_key))
            pinned = PinnedCertificates(trusted_client_certificates(self.cert_dir))
            server.set_certificate_validator(pinned)
        server.set_security_policy(self.security.policies(), permission_ruleset=RolePermissions())
        tokens: list[type] = [ua.UserNameIdentityToken] if self._users else []
        if self.allow_anonymous:
            tokens.append(ua.AnonymousIdentityToken)
        server.set_identity_tokens(tokens)
        ns = await server.register_namespace(NAMESPACE_URI)
        items = address_space_items(self.points, ns, self._clock.start)
        for item, result in zip(items, await server.iserver.isession.add_nodes(items), strict=True):
            if not result.StatusCode.is_good():
                raise RuntimeError(
                    f"cannot add node {item.RequestedNewNodeId.to_string()}: "
                    f"{result.StatusCode.name}"
                )
        clock_names = (CLOCK_STEP, CLOCK_NOW_S, CLOCK_ACK_STEP, CLOCK_ENDED)
        node_ids = {name: point_node_id(name, ns) for name in (*self._by_name, *clock_names)}
        now = datetime.now(UTC)
        for name in self._by_name:
            await server.write_attribute_value(node_ids[name], initial_datavalue(now))
        server.iserver.attribute_service = _GuardedAttributeService(server.iserver.aspace, self)
        await server.start()
        bserver = server.bserver
        port = bserver.port if bserver is not None and bserver.port else self._port
        host = socket.gethostname() if self._host in ("0.0.0.0", "::") else self._host
        netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        url = urlunparse(("opc.tcp", netloc, self._path, "", "", ""))
        server.endpoint = urlparse(url)
        for endpoint in server.iserver.endpoints:
            endpoint.EndpointUrl = url
            endpoint.Server.DiscoveryUrls = [url]
        self._server, self._ns, self._url = server, ns, url
        self._node_ids = node_ids
        log.info(
            "OPC-UA field server on %s (%s, %d points)", url, self.security.value, len(self.points)
        )

    # --- real time -------------------------------------------------------------------

    def publish(self, now: float, samples: Mapping[str, Sample]) -> None:
        """Real-time mode: make these sensor samples current (``now``: run time, s).

        ValueError for an unknown point or an actuator; PointValueError when a
        value does not fit its point's type.
        """
        values = self._datavalues(samples)
        self._loop.run(self._write_values(values), _CALL_TIMEOUT_S)

    def take_writes(self) -> dict[str, Any]:
        """Actuator values written (and accepted) since the last call, by point name."""
        with self._lock:
            writes, self._writes = self._writes, {}
        return writes

    def read(self, name: str) -> Sample:
        """The current sample of any point of this server (sensor or actuator)."""
        if name not in self._by_name:
            raise KeyError(f"no point {name!r} on this server")
        server = self._require_server()
        node = self._node_ids[name]

        async def read() -> ua.DataValue:
            return server.read_attribute_value(node)

        return datavalue_to_sample(self._loop.run(read(), _CALL_TIMEOUT_S), self._clock)

    # --- lock-step -------------------------------------------------------------------

    def exchange(
        self, k: int, now: float, samples: Mapping[str, Sample], timeout_s: float
    ) -> dict[str, Any]:
        """Lock-step: publish step ``k`` at run time ``now`` (s) with ``samples``, wait at
        most ``timeout_s`` for ``ack_step == k``, return the actuator writes of the step.

        Steps must increase. TimeoutError names the step when no ack comes.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"step k must be an integer >= 0, got {k!r}")
        if k <= self._step:
            raise ValueError(f"lock-step: step {k} after step {self._step}; steps must increase")
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            raise ValueError(f"now must be a finite run time in s, got {now!r}")
        values = self._datavalues(samples)
        self._loop.run(self._write_step(k, float(now), values), _CALL_TIMEOUT_S)
        deadline = time.monotonic() + timeout_s
        with self._acked:
            while self._ack != k:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._server is None:
                    raise TimeoutError(
                        f"lock-step: no ack for step {k} (t={now} s) within {timeout_s} s from "
                        f"{self._url}; is a controller link connected and running?"
                    )
                self._acked.wait(remaining)
        return self.take_writes()

    def end(self) -> None:
        """Lock-step: tell the controller side the run is over (``ended = True``)."""
        server = self._require_server()
        dv = data_value(ua.Variant(True, ua.VariantType.Boolean), source=datetime.now(UTC))
        self._loop.run(server.write_attribute_value(self._node_ids[CLOCK_ENDED], dv))

    # --- internals -------------------------------------------------------------------

    def _require_server(self) -> Server:
        if self._server is None:
            raise RuntimeError("the OPC-UA server is not running; call start() first")
        return self._server

    def _datavalues(self, samples: Mapping[str, Sample]) -> _Values:
        """The NodeIds and DataValues of the samples, made on the caller's thread."""
        self._require_server()
        server_time = datetime.now(UTC)
        inputs, node_ids, clock = self._inputs, self._node_ids, self._clock
        nodes, values = [], []
        for name, sample in samples.items():
            spec = inputs.get(name)
            if spec is None:
                what = "an actuator (clients write it)" if name in self._outputs else "not a point"
                raise ValueError(f"cannot publish {name!r}: it is {what} of this server")
            nodes.append(node_ids[name])
            values.append(sample_to_datavalue(spec, sample, clock, server_time))
        return nodes, values

    async def _write_values(self, values: _Values) -> None:
        """Write every value in one go on the loop (what ``Server.write_attribute_value``
        does for one, without its two layers of coroutines per value)."""
        server = self._require_server()
        write = server.iserver.aspace.write_attribute_value
        value_attribute = ua.AttributeIds.Value
        nodes, dvs = values
        for node, dv in zip(nodes, dvs, strict=True):
            await write(node, value_attribute, dv)
        self.stats["sent"] += len(dvs)

    async def _write_step(self, k: int, now: float, values: _Values) -> None:
        server = self._require_server()
        with self._lock:
            self._step = k
        await self._write_values(values)
        stamp = self._clock.to_datetime(now)
        for name, variant in (
            (CLOCK_NOW_S, ua.Variant(now, ua.VariantType.Double)),
            (CLOCK_STEP, ua.Variant(k, ua.VariantType.Int64)),
        ):
            dv = data_value(variant, source=stamp, server=datetime.now(UTC))
            await server.write_attribute_value(self._node_ids[name], dv)

    def _check_write(
        self, item: ua.WriteValue, user: User
    ) -> tuple[ua.StatusCode | None, tuple[ua.WriteValue, str, Any] | None]:
        """(rejection, None) or (None, (checked item, point name, value)) or (None, None)
        for a write this bridge does not guard (asyncua's own checks apply)."""
        node = item.NodeId
        if node.NamespaceIndex != self._ns or not isinstance(node.Identifier, str):
            return None, None
        name = node.Identifier
        if name not in self._writable or item.AttributeId != ua.AttributeIds.Value:
            return None, None
        if not user_can_write(user):
            self.stats["rejected"] += 1
            return status(ua.StatusCodes.BadUserAccessDenied), None
        dv = item.Value
        value = self._check_value(name, dv)
        if isinstance(value, ua.StatusCode):
            self.stats["rejected"] += 1
            log.warning("rejected write of %r to %s: %s", dv.Value, name, value.name)
            return value, None
        spec = self._writable[name]
        vtype = ua.VariantType.Int64 if spec is None else variant_type(spec.value_type)
        now = datetime.now(UTC)
        checked = ua.WriteValue()
        checked.NodeId, checked.AttributeId = node, item.AttributeId
        checked.Value = data_value(
            ua.Variant(value, vtype), source=dv.SourceTimestamp or now, server=now
        )
        return None, (checked, name, value)

    def _check_value(self, name: str, dv: ua.DataValue) -> Any:
        """The checked value of a write, or the Bad StatusCode to answer."""
        if dv.StatusCode is not None and not dv.StatusCode.is_good():
            return status(ua.StatusCodes.BadWriteNotSupported)
        variant = dv.Value
        spec = self._writable[name]
        expected = ua.VariantType.Int64 if spec is None else variant_type(spec.value_type)
        if variant is None or variant.VariantType != expected or variant.is_array:
            return status(ua.StatusCodes.BadTypeMismatch)
        if spec is None:  # ack_step
            with self._lock:
                step = self._step
            if step < 0:
                return status(ua.StatusCodes.BadInvalidState)
            return variant.Value if variant.Value == step else status(ua.StatusCodes.BadOutOfRange)
        try:
            value = coerce_value(spec, variant.Value)
        except PointValueError:
            return status(ua.StatusCodes.BadTypeMismatch)
        if spec.value_type is ValueType.FLOAT and not math.isfinite(value):
            return status(ua.StatusCodes.BadOutOfRange)
        try:
            return spec.check(value)
        except PointValueError:
            return status(ua.StatusCodes.BadOutOfRange)

    def _accept_write(self, name: str, value: Any) -> None:
        with self._acked:
            if name == CLOCK_ACK_STEP:
                if value == self._ack:
                    self.stats["duplicates"] += 1
                self._ack = value
                self._acked.notify_all()
            else:
                self._writes[name] = value
                self.stats["received"] += 1
