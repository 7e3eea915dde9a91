"""The controller side over OPC-UA: run any controller against a device's OPC-UA server.

:class:`OpcUaControllerLink` implements :class:`hil.bridge.ControllerLink`.
It runs an asyncua ``Client`` in a background thread with its own event loop:

- point names map to NodeIds through a mapping (a dict or a mapping file, see
  :mod:`hil.opcua.mapping`; default: this twin's own address space,
  ``nsu=urn:dongha-twin;s=<point name>``);
- one subscription (publishing interval ``publishing_interval_ms``, trigger
  status/value/timestamp) keeps the latest :class:`~controllers.io.Sample` of
  every input: quality from the StatusCode, time from the SourceTimestamp.
  The data changes of each PublishResponse are taken in one call under one
  lock (not one asyncua task per value), so a thousand points cost a decode
  and a loop, not a thousand tasks;
- asyncua's ``auto_reconnect`` supervisor re-establishes the session and
  re-creates the subscription after a loss (retry every
  ``reconnect_max_delay_s``); while the link is down every input reads BAD
  and writes are dropped (counted in ``stats['lost']``); once reconnected,
  all inputs are re-read in one Read before they count as good again;
- lock-step: a subscription on ``twin/clock/step`` wakes :meth:`wait_step`,
  which reads ``now_s`` and all inputs of that step in one Read;
  :meth:`finish_step` writes the outputs and ``ack_step`` in one Write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from asyncua.client.ua_client import UaClientState
from asyncua.common.subscription import Subscription, SubscriptionHandler
from asyncua.crypto import uacrypto
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from controllers.io import Direction, PointSpec, Sample, bad_sample
from hil.opcua._loop import LoopThread
from hil.opcua._ua import data_value, node_id
from hil.opcua.address_space import (
    CLOCK_ACK_STEP,
    CLOCK_ENDED,
    CLOCK_NOW_S,
    CLOCK_RUN_START,
    CLOCK_STEP,
    NAMESPACE_URI,
    RunClock,
    datavalue_to_sample,
    variant_type,
)
from hil.opcua.certs import CLIENT_APP_URI, CertificatePaths
from hil.opcua.mapping import parse_node_id, read_mapping

__all__ = ["ClientSecurity", "OpcUaControllerLink", "StepFrame"]

log = logging.getLogger(__name__)

_STAT_KEYS = ("sent", "received", "lost", "duplicates", "reconnects")
_VALUE = ua.AttributeIds.Value
_PERMANENT = frozenset(
    getattr(ua.StatusCodes, name)
    for name in (
        "BadUserAccessDenied",
        "BadIdentityTokenRejected",
        "BadIdentityTokenInvalid",
        "BadCertificateUntrusted",
        "BadCertificateInvalid",
        "BadCertificateTimeInvalid",
        "BadCertificateUriInvalid",
        "BadCertificateUseNotAllowed",
        "BadSecurityPolicyRejected",
        "BadSecurityChecksFailed",
        "BadNodeIdUnknown",
    )
)


def _permanent(err: Exception) -> bool:
    """True for connection errors that retrying cannot fix (login, certificates, mapping)."""
    if isinstance(err, ua.UaStatusCodeError):
        return err.code in _PERMANENT
    # OSError/TimeoutError (refused, reset, timed out): the server may come up; anything else
    # (ValueError from the mapping, UaError "no matching endpoint", ...) will not go away
    return not isinstance(err, OSError | TimeoutError)


@dataclass(frozen=True, slots=True)
class ClientSecurity:
    """Basic256Sha256 SignAndEncrypt settings of the client.

    Attributes:
        certificate: the client's certificate (DER or PEM file).
        private_key: its private key (PEM or DER file).
        server_certificate: the server's certificate to pin (DER or PEM); None
            takes it from the server's endpoint list (trust on first use).
    """

    certificate: Path
    private_key: Path
    server_certificate: Path | None = None

    @classmethod
    def from_cert_dir(cls, folder: str | Path, pin_server: bool = True) -> ClientSecurity:
        """Settings from a :func:`~hil.opcua.certs.generate_certificates` folder."""
        paths = CertificatePaths.in_folder(folder)
        for path in (paths.client_cert, paths.client_key):
            if not path.is_file():
                raise FileNotFoundError(
                    f"{path} is missing; run `python -m hil.opcua.certs {folder}`"
                )
        return cls(paths.client_cert, paths.client_key, paths.server_cert if pin_server else None)


class _BulkSubscription(Subscription):
    """asyncua's Subscription, handing all data changes of a publish to one callback.

    asyncua delivers each changed value on its own (a task, or a queue entry,
    per value and a few objects more), which for a thousand points is most of
    the link's work. Here every DataChangeNotification of a PublishResponse
    goes to ``on_changes`` in one call on the loop, before the next
    PublishRequest is sent; status changes (and events) take asyncua's own
    path to ``handler``. Everything else (creation, keep-alive, republish and
    re-creation after a reconnect) is asyncua's.

    Args:
        session: the client's session (``client.uaclient.session``).
        params: the subscription's parameters.
        handler: receives ``status_change_notification``.
        on_changes: called with the MonitoredItemNotifications of each
            DataChangeNotification, in the order the server sent them.
    """

    def __init__(
        self,
        session: Any,
        params: ua.CreateSubscriptionParameters,
        handler: SubscriptionHandler,
        on_changes: Callable[[list[ua.MonitoredItemNotification]], None],
    ) -> None:
        super().__init__(session, params, handler)
        self._on_changes = on_changes

    async def publish_callback(self, publish_result: ua.PublishResult) -> None:
        message = publish_result.NotificationMessage
        data = message.NotificationData
        if not data:
            await super().publish_callback(publish_result)
            return
        others = []
        for notification in data:
            if isinstance(notification, ua.DataChangeNotification):
                self._on_changes(notification.MonitoredItems)
            else:
                others.append(notification)
        # asyncua's own bookkeeping (sequence number, last publish) and the other
        # notifications; the message is whole again afterwards, since the session
        # acknowledges it only when it has notification data
        message.NotificationData = others
        try:
            await super().publish_callback(publish_result)
        finally:
            message.NotificationData = data


class _StatusHandler:
    """The subscription's status changes go to the log."""

    def status_change_notification(self, status: ua.StatusChangeNotification) -> None:
        log.info("OPC-UA subscription status: %s", status.Status)


@dataclass(frozen=True, slots=True)
class StepFrame:
    """One lock-step frame: step ``k``, run time ``now`` (s), every input sample."""

    k: int
    now: float
    samples: Mapping[str, Sample]


class OpcUaControllerLink:
    """A controller's link to a device's OPC-UA server (implements ``ControllerLink``).

    Args:
        url: the server, e.g. ``opc.tcp://127.0.0.1:4840/dongha``.
        input_points: points the controller reads (its INPUT points).
        output_points: points the controller writes (its OUTPUT points).
        mapping: point name → NodeId text, or a mapping-file path; None maps
            each point to ``nsu=urn:dongha-twin;s=<point name>``.
        user, password: login (required to write; anonymous sessions only read).
        security: SignAndEncrypt settings, or None for no message security.
        run_start_utc_s: UTC instant of run time 0 (s since 1970); None reads
            ``twin/clock/run_start`` from the server.
        publishing_interval_ms: subscription publishing interval (ms, > 0): the
            longest a change waits on the server before it is sent. 1 ms keeps
            write-to-notification under a few ms on loopback, for about 3 % of a
            core more than 5 ms while idle (the server wakes every interval).
        request_timeout_s: timeout of each OPC-UA request (s).
        reconnect_max_delay_s: longest wait between reconnection attempts (s).

    Use::

        link = OpcUaControllerLink(url, inputs, outputs, user="op", password=...)
        link.connect(timeout_s=10.0)
        try:
            while (frame := link.wait_step(30.0)) is not None:      # lock-step
                link.finish_step(frame.k, controller.scan(frame.now, frame.samples))
        finally:
            link.close()
    """

    def __init__(
        self,
        url: str,
        input_points: Sequence[PointSpec],
        output_points: Sequence[PointSpec],
        *,
        mapping: Mapping[str, str] | str | Path | None = None,
        user: str | None = None,
        password: str | None = None,
        security: ClientSecurity | None = None,
        run_start_utc_s: float | None = None,
        publishing_interval_ms: float = 1.0,
        request_timeout_s: float = 4.0,
        reconnect_max_delay_s: float = 1.0,
    ) -> None:
        self.url = url
        self.inputs: tuple[PointSpec, ...] = tuple(input_points)
        self.outputs: dict[str, PointSpec] = {s.name: s for s in output_points}
        for spec in self.inputs:
            if spec.direction is not Direction.INPUT:
                raise ValueError(f"{spec.name} is an output; pass it in output_points")
        for spec in self.outputs.values():
            if spec.direction is not Direction.OUTPUT:
                raise ValueError(f"{spec.name} is an input; pass it in input_points")
        if len({s.name for s in self.inputs}) != len(self.inputs):
            raise ValueError("input_points contains a point twice")
        if isinstance(mapping, str | Path):
            mapping = read_mapping(mapping)
        self._mapping: dict[str, str] = dict(mapping) if mapping is not None else {}
        if mapping is not None:
            missing = [
                n for n in [*(s.name for s in self.inputs), *self.outputs] if n not in mapping
            ]
            if missing:
                raise ValueError(
                    f"the mapping has no NodeId for {missing[0]!r} ({len(missing)} missing)"
                )
        for text in self._mapping.values():
            parse_node_id(text)  # fail early on a malformed NodeId
        if (user is None) != (password is None):
            raise ValueError("give both user and password, or neither (anonymous, read only)")
        if not publishing_interval_ms > 0:
            raise ValueError(f"publishing_interval_ms must be > 0, got {publishing_interval_ms!r}")
        self._user, self._password = user, password
        self._security = security
        self._clock = None if run_start_utc_s is None else RunClock(run_start_utc_s)
        self._clock_from_server = run_start_utc_s is None
        self._publishing_ms = float(publishing_interval_ms)
        self._timeout = float(request_timeout_s)
        self._reconnect_max = float(reconnect_max_delay_s)
        self._loop = LoopThread("opcua-link")
        self._client: Client | None = None
        self._watch: asyncio.Task[None] | None = None
        self._in_nodes: list[ua.NodeId] = []
        self._frame_read: ua.ReadParameters | None = None  # wait_step's Read (built once)
        self._out_nodes: dict[str, ua.NodeId] = {}
        self._clock_nodes: dict[str, ua.NodeId] = {}
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._samples: dict[str, Sample] = {}
        self._up = False
        self._step_seen = -1
        self._ended = False
        self._done = -1
        self._frame_k: int | None = None
        self._frame_now = math.nan
        self._handles: dict[int, str] = {}
        self._input_names = tuple(s.name for s in self.inputs)
        self.stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)

    # --- lifecycle -------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the session is up and the inputs were (re-)read."""
        with self._lock:
            return self._up

    def connect(self, timeout_s: float) -> None:
        """Connect (retrying with backoff until ``timeout_s``), read all inputs, subscribe.

        ConnectionError when the server cannot be reached in time; a refused
        login, an untrusted certificate or an unknown NodeId fail at once.
        """
        if self._client is not None:
            return
        self._loop.start()
        deadline = time.monotonic() + timeout_s
        delay = 0.1
        while True:
            try:
                self._loop.run(
                    self._connect(), max(deadline - time.monotonic(), 0.0) + 2 * self._timeout
                )
                return
            except Exception as err:
                if _permanent(err):
                    self._loop.stop()
                    raise ConnectionError(
                        f"{self.url}: connection refused ({err!r}); check the user, password, "
                        "security settings, certificates and mapping"
                    ) from err
                last = err
            if time.monotonic() + delay > deadline:
                self._loop.stop()
                raise ConnectionError(
                    f"cannot connect to {self.url} within {timeout_s} s ({last!r}); is the field "
                    "server running, and do URL and security settings match?"
                ) from last
            time.sleep(delay)
            delay = min(2 * delay, 1.0)

    def close(self) -> None:
        """Disconnect and stop the loop thread; safe to call twice."""
        if self._client is not None and self._loop.running:
            with contextlib.suppress(TimeoutError):
                self._loop.run(self._close(), 3 * self._timeout)
        self._client = None
        self._loop.stop()
        with self._changed:
            self._up = False
            self._changed.notify_all()

    def __enter__(self) -> OpcUaControllerLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- real time -------------------------------------------------------------------

    def latest(self, now_wall: float) -> dict[str, Sample]:
        """The newest sample of every input; BAD (at ``now_wall``) while the link is down."""
        with self._lock:
            samples = self._samples
            if not self._up:
                return {name: bad_sample(now_wall) for name in self._input_names}
            if len(samples) == len(self._input_names):  # all of them, in input order
                return dict(samples)
            return {name: samples.get(name) or bad_sample(now_wall) for name in self._input_names}

    def write(self, outputs: Mapping[str, Any]) -> None:
        """Write actuator values (checked against their points first).

        While the link is down the values are dropped and counted in
        ``stats['lost']``. PermissionError when the server refuses writes for
        this user; RuntimeError naming the points the server rejected.
        """
        names, values = self._checked(outputs)
        if not names:
            return
        with self._lock:
            up = self._up
        if not up or self._client is None:
            self.stats["lost"] += len(names)
            return
        try:
            self._write(names, values, None)
        except (
            ConnectionError,  # not OSError: PermissionError (a refused write) must propagate
            TimeoutError,
            ua.uaerrors.BadSessionClosed,
            ua.uaerrors.BadSessionIdInvalid,
        ):
            self.stats["lost"] += len(names)
            log.warning("OPC-UA write of %d value(s) lost: the link dropped", len(names))

    # --- lock-step -------------------------------------------------------------------

    def wait_step(self, timeout_s: float) -> StepFrame | None:
        """The next step's frame (inputs read at that step), or None once the field side ended.

        TimeoutError when no step comes within ``timeout_s``.
        """
        if self._client is None:
            raise ConnectionError(f"not connected to {self.url}; call connect() first")
        if not self._clock_nodes:
            raise RuntimeError(
                f"{self.url} has no lock-step clock (namespace {NAMESPACE_URI}); "
                "use latest() and write()"
            )
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while not (self._step_seen >= 0 and self._step_seen != self._done):
                if self._ended:
                    return None
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"lock-step: no new step from {self.url} within {timeout_s} s "
                        f"(last finished step: {self._done})"
                    )
                self._changed.wait(remaining)
        k, now, samples = self._loop.run(self._read_frame(), 2 * self._timeout)
        self._frame_k = k
        return StepFrame(k, now, samples)

    def finish_step(self, k: int, outputs: Mapping[str, Any]) -> None:
        """Write the outputs of step ``k`` and then ``ack_step = k`` (one Write request)."""
        if self._frame_k != k:
            raise ValueError(f"finish_step({k}) but the current step is {self._frame_k}")
        names, values = self._checked(outputs)
        names.append(CLOCK_ACK_STEP)
        values.append(ua.Variant(k, ua.VariantType.Int64))
        self._write(names, values, self._frame_now)
        with self._lock:
            self._done = k
        self._frame_k = None

    # --- internals: loop side --------------------------------------------------------

    async def _connect(self) -> None:
        client = Client(
            self.url,
            timeout=self._timeout,
            watchdog_intervall=1.0,
            auto_reconnect=True,
            reconnect_max_delay=self._reconnect_max,
            reconnect_request_timeout=self._timeout,
        )
        client.application_uri = CLIENT_APP_URI
        client.name = client.description = "Đông Hà twin controller link"
        if self._user is not None and self._password is not None:
            client.set_user(self._user)
            client.set_password(self._password)
        if self._security is not None:
            server_cert = self._security.server_certificate
            if server_cert is not None:
                await self._check_pin(client, server_cert)
            await client.set_security(
                SecurityPolicyBasic256Sha256,
                certificate=str(self._security.certificate),
                private_key=str(self._security.private_key),
                server_certificate=None if server_cert is None else str(server_cert),
                mode=ua.MessageSecurityMode.SignAndEncrypt,
            )
        await client.connect()
        try:
            await self._setup(client)
        except BaseException:
            with self._lock:
                self._up = False
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), self._timeout)
            raise
        self._client = client
        self._watch = asyncio.create_task(self._watch_state(client))

    async def _check_pin(self, client: Client, pinned_path: Path) -> None:
        """Fail early (ValueError) when the server's certificate is not the pinned one.

        The endpoint list comes over an unsecured discovery channel, so this is a
        diagnosis only; the protection is that the session is encrypted with the
        pinned key (a wrong server could not decrypt it).
        """
        pinned = uacrypto.der_from_x509(await uacrypto.load_certificate(str(pinned_path)))
        endpoints = await client.connect_and_get_server_endpoints()
        endpoint = Client.find_endpoint(
            endpoints, ua.MessageSecurityMode.SignAndEncrypt, SecurityPolicyBasic256Sha256.URI
        )
        if not (endpoint.ServerCertificate or b"").startswith(pinned):
            raise ValueError(
                f"the server certificate of {self.url} does not match the pinned {pinned_path}; "
                "check the URL, or copy the server's certificate if it was regenerated"
            )

    async def _setup(self, client: Client) -> None:
        with self._lock:  # a fresh connection starts a fresh lock-step run
            self._step_seen, self._done, self._ended, self._frame_k = -1, -1, False, None
        namespaces: list[str] = await client.get_namespace_array()

        def resolve(name: str) -> ua.NodeId:
            text = self._mapping.get(name, f"nsu={NAMESPACE_URI};s={name}")
            node = parse_node_id(text)
            uri = getattr(node, "NamespaceUri", None)
            if uri:
                if uri not in namespaces:
                    raise ValueError(
                        f"{name}: namespace {uri!r} is not on {self.url}; check the mapping"
                    )
                return node_id(node.Identifier, namespaces.index(uri), node.NodeIdType)
            return node_id(node.Identifier, node.NamespaceIndex, node.NodeIdType)

        self._in_nodes = [resolve(s.name) for s in self.inputs]
        self._frame_read = None
        self._out_nodes = {n: resolve(n) for n in self.outputs}
        self._clock_nodes = {}
        if NAMESPACE_URI in namespaces:
            ns = namespaces.index(NAMESPACE_URI)
            for name in (CLOCK_STEP, CLOCK_NOW_S, CLOCK_ACK_STEP, CLOCK_ENDED, CLOCK_RUN_START):
                self._clock_nodes[name] = node_id(name, ns)
        if self._clock is None:
            if CLOCK_RUN_START not in self._clock_nodes:
                raise ValueError(
                    f"{self.url} has no twin clock to take the run start from; pass run_start_utc_s"
                )
            start = await client.uaclient.read_attributes(
                [self._clock_nodes[CLOCK_RUN_START]], ua.AttributeIds.Value
            )
            if start[0].Value is None or start[0].Value.Value is None:
                raise ValueError(
                    f"{self.url}: twin/clock/run_start has no value; pass run_start_utc_s"
                )
            self._clock = RunClock.from_datetime(start[0].Value.Value)
        out_names = list(self._out_nodes)
        access = await client.uaclient.read_attributes(
            [self._out_nodes[n] for n in out_names], ua.AttributeIds.AccessLevel
        )
        for name, dv in zip(out_names, access, strict=True):
            if dv.StatusCode is not None and not dv.StatusCode.is_good():
                raise ValueError(
                    f"output {name}: NodeId {self._out_nodes[name].to_string()} is not readable on "
                    f"{self.url} ({dv.StatusCode.name}); check the mapping"
                )
        sub = await self._subscribe(client)
        await self._monitor(sub)
        await self._resync(client, initial=True)  # after subscribing: no change is missed

    async def _monitor(self, sub: Subscription) -> None:
        pairs = zip(self.inputs, self._in_nodes, strict=True)
        handles = [(i + 1, node, spec.name) for i, (spec, node) in enumerate(pairs)]
        if self._clock_nodes:
            n = len(handles)
            handles.append((n + 1, self._clock_nodes[CLOCK_STEP], CLOCK_STEP))
            handles.append((n + 2, self._clock_nodes[CLOCK_ENDED], CLOCK_ENDED))
        self._handles = {h: name for h, _, name in handles}
        requests = []
        for handle, node, _ in handles:
            item = ua.ReadValueId()
            item.NodeId, item.AttributeId = node, ua.AttributeIds.Value
            params = ua.MonitoringParameters()
            params.ClientHandle = handle
            params.SamplingInterval = 0.0
            params.QueueSize = 1
            params.DiscardOldest = True
            params.Filter = ua.DataChangeFilter(Trigger=ua.DataChangeTrigger.StatusValueTimestamp)
            request = ua.MonitoredItemCreateRequest()
            request.ItemToMonitor = item
            request.MonitoringMode = ua.MonitoringMode.Reporting
            request.RequestedParameters = params
            requests.append(request)
        results = await sub.create_monitored_items(requests)
        for (_, node, name), result in zip(handles, results, strict=True):
            if isinstance(result, ua.StatusCode):
                raise ValueError(
                    f"cannot subscribe to {name} ({node.to_string()}) on {self.url}: {result.name}"
                )

    async def _resync(self, client: Client, initial: bool = False) -> None:
        """Read every input in one request; then the link counts as up."""
        nodes = list(self._in_nodes)
        restart = self._clock_from_server and CLOCK_RUN_START in self._clock_nodes
        if restart:  # the field side may have restarted with a new run start
            nodes.append(self._clock_nodes[CLOCK_RUN_START])
        values = await client.uaclient.read_attributes(nodes, ua.AttributeIds.Value)
        if restart:
            start = values.pop().Value
            if start is not None and start.Value is not None:
                self._clock = RunClock.from_datetime(start.Value)
        clock = self._clock
        assert clock is not None
        fresh = {}
        for spec, node, dv in zip(self.inputs, self._in_nodes, values, strict=True):
            if dv.StatusCode is not None and dv.StatusCode.value == ua.StatusCodes.BadNodeIdUnknown:
                raise ValueError(
                    f"input {spec.name}: NodeId {node.to_string()} does not exist on {self.url}; "
                    "check the mapping"
                )
            fresh[spec.name] = datavalue_to_sample(dv, clock)
        with self._changed:
            self._samples = fresh  # every input, in input order (what latest() relies on)
            self.stats["received"] += len(fresh)
            if not initial:
                self.stats["reconnects"] += 1
            self._up = True
            self._changed.notify_all()

    async def _watch_state(self, client: Client) -> None:
        """Mark the link down on any loss; re-read all inputs once reconnected."""
        async with client.subscribe_state() as sub:
            if client.state is not UaClientState.CONNECTED:
                self._set_down(client.state)
            while True:
                state = await sub.next_change()
                if state is not UaClientState.CONNECTED:
                    self._set_down(state)
                    continue
                if self.connected:
                    continue
                try:
                    await self._resync(client)
                    log.info("OPC-UA link to %s is back; all inputs re-read", self.url)
                except Exception as err:  # keep watching: the next CONNECTED retries
                    log.warning("re-reading the inputs after reconnect failed: %r", err)

    def _set_down(self, state: UaClientState) -> None:
        with self._changed:
            if self._up:
                log.warning(
                    "OPC-UA link to %s is down (%s); inputs read BAD", self.url, state.value
                )
            self._up = False
            self._changed.notify_all()

    async def _subscribe(self, client: Client) -> Subscription:
        """What ``client.create_subscription`` does, with a :class:`_BulkSubscription`."""
        period = self._publishing_ms
        params = ua.CreateSubscriptionParameters()
        params.RequestedPublishingInterval = period
        params.RequestedLifetimeCount = 10000
        params.RequestedMaxKeepAliveCount = client.get_keepalive_count(period)
        params.MaxNotificationsPerPublish = 10000
        params.PublishingEnabled = True
        params.Priority = 0
        sub = _BulkSubscription(client.uaclient.session, params, _StatusHandler(), self._notified)
        result = await sub.init()
        revised = client.get_subscription_revised_params(params, result)
        if revised is not None:
            await sub.update(revised)
        # registered as create_subscription does, so that asyncua's reconnect
        # supervisor and its stale-subscription watchdog restore it
        registry = getattr(client, "_subscriptions", None)
        if not isinstance(registry, list):
            raise RuntimeError(
                "asyncua's Client has no _subscriptions list to register the subscription "
                "for reconnection; this bridge is made for asyncua 2.1"
            )
        registry.append(sub)
        return sub

    def _notified(self, items: list[ua.MonitoredItemNotification]) -> None:
        """Take the data changes of one publish (on the loop thread): inputs are
        converted first, then applied with the clock changes under one lock."""
        handles, clock = self._handles, self._clock
        if clock is None:
            return
        fresh: dict[str, Sample] = {}
        clock_changes: list[tuple[str, Any]] = []
        received = 0
        for item in items:
            name = handles.get(item.ClientHandle)
            dv = item.Value
            if name is None or dv is None:
                continue
            received += 1
            if name in (CLOCK_STEP, CLOCK_ENDED):
                clock_changes.append((name, None if dv.Value is None else dv.Value.Value))
            else:
                fresh[name] = datavalue_to_sample(dv, clock)
        if not received:
            return
        with self._changed:
            self.stats["received"] += received
            self._samples.update(fresh)
            for name, value in clock_changes:
                if name == CLOCK_ENDED:
                    self._ended = value is True
                elif isinstance(value, int):
                    if value == self._step_seen and value >= 0:
                        self.stats["duplicates"] += 1
                    self._step_seen = value
            if clock_changes:
                self._changed.notify_all()

    async def _read_frame(self) -> tuple[int, float, dict[str, Sample]]:
        client, clock = self._client, self._clock
        if client is None or clock is None:
            raise ConnectionError(f"not connected to {self.url}; call connect() first")
        if self._frame_read is None:  # the same Read every step: build it once per connection
            params = ua.ReadParameters()
            for node in (self._clock_nodes[CLOCK_STEP], self._clock_nodes[CLOCK_NOW_S]):
                params.NodesToRead.append(ua.ReadValueId(NodeId=node, AttributeId=_VALUE))
            for node in self._in_nodes:
                params.NodesToRead.append(ua.ReadValueId(NodeId=node, AttributeId=_VALUE))
            self._frame_read = params
        values = await client.uaclient.read(self._frame_read)
        step, now = (dv.Value.Value if dv.Value is not None else None for dv in values[:2])
        if not isinstance(step, int) or not isinstance(now, float):
            raise RuntimeError(
                f"{self.url}: the lock-step clock has no step/now ({step!r}, {now!r})"
            )
        self._frame_now = now
        samples = {
            spec.name: datavalue_to_sample(dv, clock)
            for spec, dv in zip(self.inputs, values[2:], strict=True)
        }
        return step, now, samples

    async def _close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
            self._watch = None
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 2 * self._timeout)

    # --- internals: caller side ------------------------------------------------------

    def _checked(self, outputs: Mapping[str, Any]) -> tuple[list[str], list[ua.Variant]]:
        names: list[str] = []
        values: list[ua.Variant] = []
        for name, value in outputs.items():
            spec = self.outputs.get(name)
            if spec is None:
                raise ValueError(f"{name!r} is not an output point of this link")
            names.append(name)
            values.append(ua.Variant(spec.check(value), variant_type(spec.value_type)))
        return names, values

    def _write(self, names: list[str], values: list[ua.Variant], now: float | None) -> None:
        client, clock = self._client, self._clock
        if client is None or clock is None:
            raise ConnectionError(f"not connected to {self.url}; call connect() first")
        stamp = None if now is None else clock.to_datetime(now)
        nodes = [self._clock_nodes[n] if n == CLOCK_ACK_STEP else self._out_nodes[n] for n in names]
        dvs: list[ua.DataValue] = [data_value(v, source=stamp) for v in values]
        try:
            results = self._loop.run(
                client.uaclient.write_attributes(nodes, dvs, ua.AttributeIds.Value),
                2 * self._timeout,
            )
        except ua.uaerrors.BadUserAccessDenied as err:
            raise PermissionError(
                f"{self.url} refused the write of {', '.join(names)}: this user may only read "
                "(log in as an operator)"
            ) from err
        self.stats["sent"] += len(names)
        bad = [f"{n}: {r.name}" for n, r in zip(names, results, strict=True) if not r.is_good()]
        if bad:
            raise RuntimeError(f"{self.url} rejected the write of " + "; ".join(bad))
