"""The field side of the ZeroMQ bridge: telemetry on PUB, snapshots and writes on ROUTER.

Sockets and threads:

- a PUB socket carries telemetry (one frame per :meth:`ZmqField.publish` or
  lock-step step, numbered by a global ``seq``), heartbeats and the ``end``
  frame. Any thread may publish; the PUB socket, the samples and ``seq`` share
  one lock, which is also what makes a snapshot consistent with its ``seq``.
- a ROUTER socket answers requests (ping, snapshot, write). It is polled by
  whoever holds the :class:`~hil.zmq.baton.Baton`: :meth:`ZmqField.exchange`
  while it waits for a step's outputs (no thread switch on the lock-step
  path), otherwise the service thread, which also sends the heartbeats.

Writes are validated against the OUTPUT points: an unknown point, a wrong
type, NaN or an out-of-range value rejects the whole write, names the point,
and applies nothing. Write ids are remembered (the last ``write_ids_kept``), so
a retried write is acked again but applied once.

See :mod:`hil.zmq.frames` for the wire format and :mod:`hil.bridge` for the
lock-step and real-time modes.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import zmq

from controllers.io import Direction, PointSpec, PointValueError, Sample
from hil.zmq import curve
from hil.zmq.baton import Baton
from hil.zmq.frames import (
    REQUEST_TYPES,
    Ack,
    End,
    ErrorReply,
    Frame,
    FrameError,
    Heartbeat,
    Ping,
    Pong,
    Snapshot,
    SnapshotRequest,
    Telemetry,
    Write,
    decode,
    encode,
)

__all__ = ["ZmqField"]

_POLL_MS = 50  # longest poll (ms): bounds stop and heartbeat latency
_END_LINGER_MS = 200  # how long stop() lets the ``end`` frame leave (ms)
_STAT_KEYS = (
    "sent",  # telemetry frames sent
    "received",  # requests received (any type, malformed included)
    "lost",  # always 0 here: requests are answered or retried by the client
    "duplicates",  # writes whose id was applied before (acked, not re-applied)
    "reconnects",  # starts after the first (a restarted field)
    "malformed",  # undecodable requests
    "rejected",  # writes rejected by validation or for a step that is not open
    "applied",  # writes applied
    "snapshots",  # snapshot requests served
    "heartbeats",  # heartbeats sent
    "suppressed",  # frames not sent because the field was hung (fault injection)
)


class ZmqField:
    """The device side of a ZeroMQ bridge (implements :class:`hil.bridge.FieldEndpoint`).

    Args:
        points: the controller's points; INPUT points are published, OUTPUT
            points may be written.
        pub: bind address of the telemetry PUB socket (``tcp://host:port``,
            port ``*`` = chosen by the OS; see :attr:`pub_endpoint`).
        rep: bind address of the request ROUTER socket.
        heartbeat_s: send a heartbeat after this long without telemetry (s).
        curve_server_secret: the server's CURVE secret key (Z85); None = plain TCP.
        pub_hwm: frames queued per subscriber before PUB drops (ZeroMQ's
            high-water mark; a drop shows up as a gap at the subscriber).
        write_ids_kept: how many recent write ids are remembered for idempotence.
    """

    def __init__(
        self,
        points: Sequence[PointSpec],
        pub: str = "tcp://127.0.0.1:*",
        rep: str = "tcp://127.0.0.1:*",
        *,
        heartbeat_s: float = 1.0,
        curve_server_secret: bytes | str | None = None,
        pub_hwm: int = 1000,
        write_ids_kept: int = 4096,
    ) -> None:
        self.points: Sequence[PointSpec] = tuple(points)
        if not self.points or not all(isinstance(p, PointSpec) for p in self.points):
            raise ValueError("ZmqField needs the controller's points (a non-empty PointSpec list)")
        names = [p.name for p in self.points]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"ZmqField: points listed twice: {dupes}")
        self._inputs = frozenset(p.name for p in self.points if p.direction is Direction.INPUT)
        self._outputs = {p.name: p for p in self.points if p.direction is Direction.OUTPUT}
        if not heartbeat_s > 0 or not math.isfinite(heartbeat_s):
            raise ValueError(f"heartbeat_s must be a finite time > 0 s, got {heartbeat_s!r}")
        if pub_hwm < 1 or write_ids_kept < 1:
            raise ValueError("pub_hwm and write_ids_kept must be >= 1")
        self._pub_addr, self._rep_addr = pub, rep
        self.heartbeat_s = float(heartbeat_s)
        self._secret = (
            None
            if curve_server_secret is None
            else curve.as_key(curve_server_secret, "curve_server_secret")
        )
        self._pub_hwm = int(pub_hwm)
        self._ids_kept = int(write_ids_kept)
        self.stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)

        self._lock = threading.Lock()  # PUB socket, samples, seq, writes, stats
        self._ctx: zmq.Context[zmq.Socket[bytes]] | None = None
        self._pub: zmq.Socket[bytes] | None = None
        self._router: zmq.Socket[bytes] | None = None
        self._baton: Baton | None = None
        self._poller = zmq.Poller()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._hung = threading.Event()
        self._starts = 0
        self._reset_session()

    def _reset_session(self) -> None:
        self.sid = uuid.uuid4().hex[:16]
        self._seq = 0
        self._now: float | None = None
        self._state: dict[str, Sample] = {}
        self._writes: dict[str, Any] = {}
        self._acks: OrderedDict[str, Ack] = OrderedDict()
        self._open_k: int | None = None
        self._step_outputs: dict[str, Any] | None = None
        self._last_pub = time.monotonic()
        self._last_write: float | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None

    @property
    def pub_endpoint(self) -> str:
        """The telemetry endpoint clients connect to (the bound port once started)."""
        return self._pub_addr

    @property
    def rep_endpoint(self) -> str:
        """The request endpoint clients connect to (the bound port once started)."""
        return self._rep_addr

    @property
    def curve_public_key(self) -> bytes | None:
        """The server's CURVE public key (Z85) to hand to clients, or None without CURVE."""
        return None if self._secret is None else curve.public_of(self._secret)

    def start(self) -> None:
        """Bind both sockets and start the service thread; clients can connect on return.

        A stopped field can be started again: it binds the same ports (so
        clients reconnect by themselves) and begins a new session (new ``sid``,
        ``seq`` from 1, no samples, no remembered writes).
        """
        if self._thread is not None:
            raise RuntimeError("ZmqField is already running; call stop() first")
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        pub = ctx.socket(zmq.PUB)
        router = ctx.socket(zmq.ROUTER)
        try:
            for sock in (pub, router):
                sock.linger = 0
                # ZMTP heartbeats drop dead subscribers and clients (half-open TCP)
                sock.heartbeat_ivl = max(100, round(self.heartbeat_s * 1000))  # ms
                sock.heartbeat_timeout = max(300, round(self.heartbeat_s * 3000))  # ms
                if self._secret is not None:
                    curve.secure_server(sock, self._secret)
            pub.sndhwm = self._pub_hwm
            pub.bind(self._pub_addr)
            router.bind(self._rep_addr)
        except zmq.ZMQError as err:
            pub.close(0)
            router.close(0)
            ctx.term()
            raise OSError(
                f"ZmqField cannot bind pub={self._pub_addr!r} rep={self._rep_addr!r}: {err}; "
                "use tcp://127.0.0.1:* for a free port, or stop what holds the port"
            ) from err
        self._pub_addr = _endpoint(pub)
        self._rep_addr = _endpoint(router)
        baton = Baton(ctx)
        self._poller = zmq.Poller()
        self._poller.register(router, zmq.POLLIN)
        self._poller.register(baton.wake_socket, zmq.POLLIN)
        with self._lock:
            self._reset_session()
            self._ctx, self._pub, self._router, self._baton = ctx, pub, router, baton
            if self._starts:
                self.stats["reconnects"] += 1
            self._starts += 1
        self._stopping.clear()
        self._hung.clear()
        self._thread = threading.Thread(
            target=self._serve, name=f"zmq-field-{self.sid[:6]}", daemon=True
        )
        self._thread.start()

    def stop(self, *, announce: bool = True) -> None:
        """Close both sockets and join the service thread; safe to call twice.

        Args:
            announce: publish an ``end`` frame first (a clean end; lock-step
                clients then see the run finish). ``False`` drops the link like
                a crash or power loss.
        """
        thread, baton = self._thread, self._baton
        if thread is None or baton is None:
            return
        self._stopping.set()
        thread.join()
        with baton.hold():  # an exchange in progress sees _stopping and leaves
            if self._router is not None:
                self._router.close(linger=0)
            baton.close()
        with self._lock:
            pub, ctx = self._pub, self._ctx
            self._pub = self._ctx = self._router = self._baton = None
            self._thread = None
            if pub is not None:
                if announce and not self._hung.is_set():
                    pub.send(encode(End(self.sid, self._seq, time.time())))
                    pub.close(linger=_END_LINGER_MS)
                else:
                    pub.close(linger=0)
        if ctx is not None:
            ctx.term()

    def __enter__(self) -> ZmqField:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ fault injection

    def hang(self) -> None:
        """Fault injection: keep the sockets open but send and answer nothing (a hung peer).

        Telemetry published meanwhile is counted in ``stats['suppressed']`` and
        never sent (its ``seq`` is used, so clients count it as lost).
        """
        self._hung.set()

    def resume(self) -> None:
        """End :meth:`hang`: serve queued requests and send again."""
        self._hung.clear()

    # ---------------------------------------------------------------- real time

    def publish(self, now: float, samples: Mapping[str, Sample]) -> None:
        """Make ``samples`` (INPUT points, run time ``now`` in s) current and send one frame.

        Raises ValueError for a name that is not an INPUT point or for a
        sample that cannot travel (see :func:`hil.zmq.frames.encode_sample`).
        """
        with self._lock:
            self._publish_locked(now, samples, None)

    def take_writes(self) -> dict[str, Any]:
        """Actuator values written (real time) since the last call, by point name, coerced
        to each point's type; the newest value wins."""
        with self._lock:
            out, self._writes = self._writes, {}
        return out

    def seconds_since_write(self) -> float | None:
        """Seconds (monotonic) since the last applied write, None if none yet this session;
        the device's own fail-safe watchdog reads this."""
        with self._lock:
            last = self._last_write
        return None if last is None else time.monotonic() - last

    # ---------------------------------------------------------------- lock-step

    def exchange(
        self, k: int, now: float, samples: Mapping[str, Sample], timeout_s: float
    ) -> dict[str, Any]:
        """Publish step ``k`` (run time ``now``, s) and return the controller's outputs for it.

        Raises TimeoutError naming the step when no write for ``k`` arrives
        within ``timeout_s`` (s), RuntimeError if the field stops meanwhile.
        """
        if isinstance(k, bool) or not isinstance(k, int) or k < 0:
            raise ValueError(f"step k must be an integer >= 0, got {k!r}")
        baton = self._baton
        if baton is None:
            raise RuntimeError("ZmqField is not running; call start() first")
        deadline = time.monotonic() + timeout_s
        with baton.hold():
            with self._lock:
                self._step_outputs = None
                self._open_k = k
                self._publish_locked(now, samples, k)
            try:
                while True:
                    with self._lock:
                        out = self._step_outputs
                    if out is not None:
                        return out
                    if self._stopping.is_set():
                        raise RuntimeError(f"step {k}: the field stopped while waiting")
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise TimeoutError(
                            f"step {k} (t={now} s): no outputs from the controller within "
                            f"{timeout_s} s; is a client connected to {self._pub_addr} and "
                            f"{self._rep_addr} in lock-step mode?"
                        )
                    self._pump(min(_POLL_MS, max(1, math.ceil(remaining * 1000))))
            finally:
                with self._lock:
                    self._open_k = None
                    self._step_outputs = None

    # ---------------------------------------------------------------- internals

    def _publish_locked(self, now: float, samples: Mapping[str, Sample], k: int | None) -> None:
        if self._pub is None:
            raise RuntimeError("ZmqField is not running; call start() first")
        if isinstance(now, bool) or not isinstance(now, int | float) or not math.isfinite(now):
            raise ValueError(f"now must be a finite run time in s, got {now!r}")
        if not samples.keys() <= self._inputs:
            unknown = samples.keys() - self._inputs
            raise ValueError(
                f"not INPUT points of this field: {sorted(unknown)}; "
                f"publish sensor samples of {sorted(self._inputs)[:5]}…"
            )
        seq = self._seq + 1
        try:
            data = encode(Telemetry(self.sid, seq, time.time(), float(now), k, dict(samples)))
        except FrameError as err:
            raise ValueError(str(err)) from None
        self._seq = seq
        self._now = float(now)
        self._state.update(samples)
        if self._hung.is_set():
            self.stats["suppressed"] += 1
            return
        self._pub.send(data)
        self.stats["sent"] += 1
        self._last_pub = time.monotonic()

    def _heartbeat_locked(self) -> None:
        if self._pub is None or self._hung.is_set():
            return
        self._pub.send(encode(Heartbeat(self.sid, self._seq, time.time())))
        self.stats["heartbeats"] += 1
        self._last_pub = time.monotonic()

    def _serve(self) -> None:
        """Service thread: answer requests and send heartbeats while no caller waits."""
        assert self._baton is not None
        self._baton.serve_until(self._stopping, self._pump, _POLL_MS)

    def _pump(self, timeout_ms: int) -> None:
        """Poll the ROUTER once (at most ``timeout_ms``), answer what came, heartbeat if due.
        The caller holds the baton."""
        if self._hung.is_set():  # a hung peer: sockets open, nothing read or sent
            self._stopping.wait(timeout_ms / 1000)
            return
        router, baton = self._router, self._baton
        assert router is not None and baton is not None
        events = dict(self._poller.poll(timeout_ms))
        if baton.wake_socket in events:
            baton.drain()
        if router in events:
            while not self._hung.is_set():
                try:
                    parts = router.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                reply = self._handle(parts)
                if reply is not None:
                    router.send_multipart([*parts[:-1], encode(reply)])
        with self._lock:
            if time.monotonic() - self._last_pub >= self.heartbeat_s:
                self._heartbeat_locked()

    def _handle(self, parts: list[bytes]) -> Frame | None:
        """The reply to one request (None if it cannot be answered)."""
        try:
            request = decode(parts[-1], REQUEST_TYPES) if len(parts) >= 2 else None
        except FrameError as err:
            request, error = None, str(err)
        else:
            error = "a request is [identity, (empty,) payload]"
        with self._lock:
            self.stats["received"] += 1
            if request is None:
                self.stats["malformed"] += 1
        if request is None:
            return ErrorReply(None, error) if len(parts) >= 2 else None
        if isinstance(request, Write):
            return self._write(request)
        with self._lock:
            if isinstance(request, Ping):
                self._heartbeat_locked()
                return Pong(request.id, self.sid, self._seq)
            assert isinstance(request, SnapshotRequest)
            self.stats["snapshots"] += 1
            return Snapshot(
                request.id,
                self.sid,
                self._seq,
                time.time(),
                self._now,
                self._open_k,
                dict(self._state),
            )

    def _write(self, write: Write) -> Ack:
        with self._lock:
            known = self._acks.get(write.id)
            if known is not None:
                self.stats["duplicates"] += 1
                return known if known.status == "rejected" else Ack(write.id, "duplicate")
            coerced, problems = self._validate(write)
            if problems:
                self.stats["rejected"] += 1
                ack = Ack(
                    write.id,
                    "rejected",
                    "; ".join(msg for _, msg in problems),
                    tuple(name for name, _ in problems if name),
                )
            else:
                if write.k is not None:
                    self._step_outputs = coerced
                    self._open_k = None
                else:
                    self._writes.update(coerced)
                self._last_write = time.monotonic()
                self.stats["applied"] += 1
                ack = Ack(write.id, "ok")
            self._acks[write.id] = ack
            while len(self._acks) > self._ids_kept:
                self._acks.popitem(last=False)
            return ack

    def _validate(self, write: Write) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        """The values coerced to their points' types, and every problem as (point, message);
        the point is "" for a problem of the whole write (a step that is not open)."""
        coerced: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        for name, value in write.outputs.items():
            spec = self._outputs.get(name)
            if spec is None:
                what = "an INPUT point" if name in self._inputs else "not a point of this field"
                problems.append((name, f"{name}: {what}; only OUTPUT points can be written"))
                continue
            try:
                coerced[name] = spec.check(value)
            except PointValueError as err:
                problems.append((name, str(err)))
        if write.k is not None and write.k != self._open_k:
            waiting = "no step" if self._open_k is None else f"step {self._open_k}"
            problems.append(("", f"step {write.k} is not open (the field waits for {waiting})"))
        return coerced, problems


def _endpoint(sock: zmq.Socket[bytes]) -> str:
    """The endpoint ``sock`` is bound to, with the OS-chosen port filled in."""
    last = sock.getsockopt(zmq.LAST_ENDPOINT)
    return last.decode() if isinstance(last, bytes) else str(last)
