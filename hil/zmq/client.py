"""The controller side of the ZeroMQ bridge: SUB telemetry, snapshot on join, Lazy Pirate writes.

Sockets and threads:

- a SUB socket (telemetry) and a DEALER socket for the link's own requests
  (ping, snapshot) are polled by whoever holds the link's
  :class:`~hil.zmq.baton.Baton`: :meth:`ZmqControllerLink.wait_step` and
  :meth:`~ZmqControllerLink.connect` while they wait (no thread switch on the
  lock-step path), otherwise the link's service thread. Polling keeps the
  input state, counts lost and duplicate frames from ``seq``, runs the
  watchdog, and queues lock-step frames.
- writes (:meth:`~ZmqControllerLink.write`, :meth:`~ZmqControllerLink.finish_step`)
  go out from the caller's thread on a REQ socket with a timeout and retries
  (:class:`~hil.zmq.pirate.LazyPirate`); a retry carries the same write id,
  so the field applies it once.

Joining (the clone pattern): subscribe; ping until the first PUB frame arrives
(each ping makes the field publish a heartbeat, so this also proves the
subscription is live); then ask for a snapshot while queueing telemetry; apply
the snapshot and every queued frame with a later ``seq``. A gap in ``seq``
(frames dropped at a high-water mark, or a lost last frame seen from a
heartbeat) is counted in ``stats['lost']`` and triggers a fresh snapshot, so
the state is whole again one round trip later. A new field session (the field
restarted) or a recovery after a watchdog trip also triggers a snapshot.

Watchdog: no PUB frame (telemetry or heartbeat) for ``watchdog_s`` → the link
is down: :meth:`~ZmqControllerLink.latest` returns BAD samples for every input,
real-time writes fail at once with :class:`LinkDownError`, and
``stats['watchdog_trips']`` counts it. This covers a dead field and a hung one
(sockets open, no data).
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

import zmq

from controllers.io import Direction, PointSpec, Quality, Sample, bad_sample
from hil.zmq import curve
from hil.zmq.baton import Baton
from hil.zmq.frames import (
    PUB_TYPES,
    REPLY_TYPES,
    End,
    ErrorReply,
    FrameError,
    Heartbeat,
    PackedSamples,
    Ping,
    Snapshot,
    SnapshotRequest,
    Telemetry,
    Write,
    decode,
    encode,
)
from hil.zmq.pirate import LazyPirate, NoReply

__all__ = ["LinkDownError", "Step", "WriteRejected", "ZmqControllerLink"]

_POLL_MS = 20  # longest poll (ms): bounds watchdog and retry latency
_PING_EVERY_S = 0.1  # while joining or down: one ping per this period (s)
_BUFFER_FRAMES = 10_000  # telemetry frames queued while a snapshot is on its way
_STAT_KEYS = (
    "sent",  # requests sent (writes, pings, snapshot requests; retries included)
    "received",  # telemetry frames received
    "lost",  # telemetry frames never received (gaps in seq, within a session)
    "duplicates",  # telemetry frames received twice
    "reconnects",  # new field sessions after the first, and recoveries after a watchdog trip
    "malformed",  # undecodable frames (PUB or replies)
    "heartbeats",  # heartbeat frames received
    "snapshots",  # snapshots applied
    "watchdog_trips",  # times the link went down (no PUB frame for watchdog_s)
    "retries",  # requests sent again after a timeout
    "timeouts",  # requests that got no reply in time
    "write_failures",  # writes given up (link down or no reply after the retries)
    "stale_replies",  # replies to a request given up already
)
_QUALITY_OF = tuple(Quality)  # quality byte → Quality
_BAD = int(Quality.BAD)
_new_tuple = tuple.__new__  # builds a Sample without the NamedTuple's Python-level __new__


class LinkDownError(ConnectionError):
    """A write could not reach the field side (link down, or no reply after the retries)."""


class WriteRejected(ValueError):
    """The field side rejected a write; nothing was applied.

    Attributes:
        points: the offending point names (as reported by the field).
    """

    def __init__(self, message: str, points: tuple[str, ...]) -> None:
        super().__init__(message)
        self.points = points


@dataclass(slots=True)
class Step:
    """One lock-step frame (implements :class:`hil.bridge.StepFrame`).

    Attributes:
        k: step number.
        now: run time (s) of the step.
        samples: every INPUT point of the link (BAD where the field sent none).
    """

    k: int
    now: float
    samples: Mapping[str, Sample]


class _InputState:
    """The newest sample of every input: columns in the order of the link's inputs.

    Copy on write: a column is replaced, never changed in place, so the
    samples of a :class:`Step` stay those of its step while newer frames
    arrive, and a whole frame of every input is taken over without a copy.

    Args:
        names: the link's inputs.
        index: position of each name in ``names`` (read-only, shared).
    """

    __slots__ = ("_name_list", "index", "names", "quality", "times", "unset", "values")

    def __init__(self, names: tuple[str, ...], index: Mapping[str, int]) -> None:
        n = len(names)
        self.names = names
        self._name_list = list(names)  # decoded frames carry their names as a list
        self.index = index
        self.values: Sequence[Any] = (None,) * n
        self.quality: bytes = bytes((_BAD,)) * n
        self.times: Sequence[float] = (-math.inf,) * n  # -inf: unknown, as bad_sample()
        self.unset: set[int] = set(range(n))  # positions no sample has reached yet

    def apply(self, samples: Mapping[str, Sample]) -> None:
        """Take the samples of the inputs among ``samples`` (other names are ignored)."""
        if isinstance(samples, PackedSamples):
            if samples.names == self._name_list:
                # every input, in order: take the frame's columns as they are
                self.values, self.quality = samples.point_values, samples.quality
                self.times = samples.times
                self.unset.clear()
                return
            rows: Any = zip(
                samples.names, samples.point_values, samples.quality, samples.times, strict=True
            )
        else:
            rows = ((name, s[0], int(s[1]), s[2]) for name, s in samples.items())
        values, quality, times = list(self.values), bytearray(self.quality), list(self.times)
        index, unset = self.index, self.unset
        for name, value, q, source_time in rows:
            i = index.get(name)
            if i is not None:
                values[i], quality[i], times[i] = value, q, source_time
                unset.discard(i)
        self.values, self.quality, self.times = values, bytes(quality), times

    def frozen(self, now: float) -> PackedSamples:
        """The samples as they are now, for a step at run time ``now`` (s): an input
        that no sample reached yet reads BAD at ``now``."""
        times = self.times
        if self.unset:
            times = list(times)
            for i in self.unset:
                times[i] = now
        return PackedSamples(self.names, self.values, self.quality, times, self.index)

    def latest(self) -> dict[str, Sample]:
        """Every input's newest sample (BAD, time unknown, where none arrived yet)."""
        quality_of = _QUALITY_OF
        return {
            name: _new_tuple(Sample, (value, quality_of[q], source_time))
            for name, value, q, source_time in zip(
                self.names, self.values, self.quality, self.times, strict=True
            )
        }


class _Request(NamedTuple):
    kind: str  # "ping" or "snap"
    id: str
    data: bytes
    deadline: float  # monotonic s


class ZmqControllerLink:
    """The controller side of a ZeroMQ bridge (implements :class:`hil.bridge.ControllerLink`).

    Args:
        pub_url: the field's telemetry endpoint (``ZmqField.pub_endpoint``).
        rep_url: the field's request endpoint (``ZmqField.rep_endpoint``).
        input_points: the controller's points; the INPUT ones are kept (others ignored).
        request_timeout_s: how long one request waits for its reply (s).
        retries: how often a write is sent again after a timeout (>= 0), so a
            write takes at most ``(1 + retries) * request_timeout_s``.
        watchdog_s: no telemetry or heartbeat for this long (s) → link down.
            Keep it above the field's ``heartbeat_s``.
        curve_server_public: the field's CURVE public key (Z85); None = plain TCP.
        curve_client_keys: this client's ``(public, secret)`` CURVE keys; made
            fresh when None and ``curve_server_public`` is given.
        sub_hwm: telemetry frames queued in this process before ZeroMQ pushes
            back (and the field's PUB starts dropping).
    """

    def __init__(
        self,
        pub_url: str,
        rep_url: str,
        input_points: Sequence[PointSpec],
        *,
        request_timeout_s: float = 1.0,
        retries: int = 3,
        watchdog_s: float = 3.0,
        curve_server_public: bytes | str | None = None,
        curve_client_keys: tuple[bytes, bytes] | None = None,
        sub_hwm: int = 1000,
    ) -> None:
        self.pub_url, self.rep_url = pub_url, rep_url
        self.inputs: tuple[str, ...] = tuple(
            p.name for p in input_points if p.direction is Direction.INPUT
        )
        if not self.inputs:
            raise ValueError("ZmqControllerLink needs at least one INPUT point")
        self._input_index = MappingProxyType({name: i for i, name in enumerate(self.inputs)})
        for name, value in (("request_timeout_s", request_timeout_s), ("watchdog_s", watchdog_s)):
            if not value > 0 or not math.isfinite(value):
                raise ValueError(f"{name} must be a finite time > 0 s, got {value!r}")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError(f"retries must be an integer >= 0, got {retries!r}")
        self.request_timeout_s = float(request_timeout_s)
        self.retries = retries
        self.watchdog_s = float(watchdog_s)
        self._server_key = (
            None
            if curve_server_public is None
            else curve.as_key(curve_server_public, "curve_server_public")
        )
        if curve_client_keys is not None:
            pub, sec = curve_client_keys
            self._client_keys: tuple[bytes, bytes] | None = (
                curve.as_key(pub, "client public key"),
                curve.as_key(sec, "client secret key"),
            )
        else:
            self._client_keys = curve.keypair() if self._server_key is not None else None
        self._sub_hwm = int(sub_hwm)
        self.stats: dict[str, int] = dict.fromkeys(_STAT_KEYS, 0)

        self._lock = threading.Lock()  # link state and stats
        self._ctx: zmq.Context[zmq.Socket[bytes]] | None = None
        self._baton: Baton | None = None
        self._sub: zmq.Socket[bytes] | None = None
        self._dealer: zmq.Socket[bytes] | None = None
        self._poller = zmq.Poller()
        self._pirate: LazyPirate | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._hung = threading.Event()
        self._closed = False
        self._id_base = uuid.uuid4().hex[:12]
        self._next_id = 0  # write ids (caller side, under _lock)
        self._next_link_id = 0  # ping and snapshot ids (link thread)
        self.last_error = ""  # the field's complaint about one of our requests, if any
        # link state (guarded by _lock)
        self._sid: str | None = None
        self._rx_last = 0  # last telemetry seq seen in this session (loss accounting)
        self._state = _InputState(self.inputs, self._input_index)
        self._synced = False  # state is whole (snapshot applied, no trip since)
        self._tripped = False
        self._ended = False
        self._last_rx = time.monotonic()
        self._need_snapshot = False
        self._gap_while_asking = False
        self._buffer: deque[Telemetry] = deque(maxlen=_BUFFER_FRAMES)
        self._steps: deque[Step] = deque()
        self._last_k: int | None = None
        self._pending: _Request | None = None
        self._next_ping = 0.0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Connect the sockets and start the service thread (joins in the background)."""
        if self._closed:
            raise RuntimeError("this ZmqControllerLink is closed; make a new one")
        if self._thread is not None:
            return
        ctx: zmq.Context[zmq.Socket[bytes]] = zmq.Context()
        self._ctx = ctx
        sub = ctx.socket(zmq.SUB)
        try:
            self._secure(sub)
            sub.rcvhwm = self._sub_hwm
            sub.setsockopt(zmq.SUBSCRIBE, b"")
            sub.connect(self.pub_url)
            self._dealer = self._new_dealer()
        except zmq.ZMQError as err:
            sub.close(linger=0)
            self._ctx = None
            ctx.destroy(linger=0)
            raise ValueError(
                f"cannot connect to pub_url={self.pub_url!r} / rep_url={self.rep_url!r}: {err}; "
                "use the field's endpoints, e.g. tcp://192.168.1.20:5556"
            ) from err
        baton = Baton(ctx)
        self._sub, self._baton = sub, baton
        self._poller = zmq.Poller()
        for sock in (sub, self._dealer, baton.wake_socket):
            self._poller.register(sock, zmq.POLLIN)
        self._pirate = LazyPirate(
            ctx, self.rep_url, self._secure, self.request_timeout_s, self.retries, self._count
        )
        self._thread = threading.Thread(target=self._serve, name="zmq-link", daemon=True)
        self._thread.start()

    def connect(self, timeout_s: float) -> None:
        """Start and wait until the input state is whole (snapshot applied).

        Raises TimeoutError (the link keeps trying in the background; call
        :meth:`close` to give up) when that takes longer than ``timeout_s`` (s).
        """
        self.start()
        baton = self._baton
        assert baton is not None
        deadline = time.monotonic() + timeout_s
        with baton.hold():
            while True:
                with self._lock:
                    if self._synced and not self._tripped:
                        return
                if self._stopping.is_set():
                    raise RuntimeError("the link was closed while connecting")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._pump(min(_POLL_MS, max(1, math.ceil(remaining * 1000))))
        hint = (
            " Check that curve_server_public is the field's CURVE public key."
            if self._server_key is not None
            else " If the field uses CURVE, pass curve_server_public."
        )
        raise TimeoutError(
            f"no snapshot from the field at {self.pub_url} / {self.rep_url} within "
            f"{timeout_s} s (telemetry frames received: {self.stats['received']}, "
            f"heartbeats: {self.stats['heartbeats']}); is the field running?{hint}"
        )

    def close(self) -> None:
        """Stop the service thread and close every socket; safe to call twice."""
        self._closed = True
        self._stopping.set()
        self._hung.clear()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        baton = self._baton
        if baton is not None:
            with baton.hold():  # a wait_step in progress sees _stopping and leaves
                for sock in (self._sub, self._dealer):
                    if sock is not None:
                        sock.close(linger=0)
                self._sub = self._dealer = None
                baton.close()
            self._baton = None
        if self._pirate is not None:
            self._pirate.close()
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            ctx.term()

    def __enter__(self) -> ZmqControllerLink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ fault injection

    def hang(self) -> None:
        """Fault injection: stop reading the sockets (a slow or hung subscriber)."""
        self._hung.set()

    def resume(self) -> None:
        """End :meth:`hang`."""
        self._hung.clear()

    # ---------------------------------------------------------------- status

    @property
    def up(self) -> bool:
        """True while the state is whole and telemetry arrived within ``watchdog_s``."""
        with self._lock:
            return self._up_locked(time.monotonic())

    def _up_locked(self, mono: float) -> bool:
        return (
            self._synced
            and not self._tripped
            and not self._ended
            and mono - self._last_rx <= self.watchdog_s
        )

    @property
    def session(self) -> str | None:
        """The field session (``sid``) this link follows, None before the first frame."""
        with self._lock:
            return self._sid

    @property
    def seq(self) -> int:
        """The last telemetry ``seq`` seen in the current session (0 before any)."""
        with self._lock:
            return self._rx_last

    # ---------------------------------------------------------------- real time

    def latest(self, now_wall: float | None = None) -> dict[str, Sample]:
        """The newest sample of every input, BAD for all while the link is down.

        ``now_wall`` (s) is accepted for :class:`hil.bridge.ControllerLink`;
        the watchdog runs on this process's monotonic clock.
        """
        with self._lock:
            if not self._up_locked(time.monotonic()):
                return {name: bad_sample() for name in self.inputs}
            return self._state.latest()

    def write(self, outputs: Mapping[str, Any]) -> None:
        """Write actuator values (real time); blocks until acked.

        Raises LinkDownError at once while the link is down (the field applies
        its own fail-safe) or after the retries without a reply, and
        WriteRejected when the field rejects the values (nothing applied).
        """
        with self._lock:
            if not self._up_locked(time.monotonic()):
                self.stats["write_failures"] += 1
                raise LinkDownError(
                    f"link to {self.pub_url} is down (no telemetry for {self.watchdog_s} s or "
                    "not joined yet); write not sent"
                )
        self._request_write(None, outputs)

    # ---------------------------------------------------------------- lock-step

    def wait_step(self, timeout_s: float) -> Step | None:
        """The next lock-step frame, or None once the field side has ended.

        Raises TimeoutError when none arrives within ``timeout_s`` (s).
        """
        baton = self._baton
        if baton is None:
            raise RuntimeError("the link is not running; call connect() first")
        deadline = time.monotonic() + timeout_s
        with baton.hold():
            while True:
                with self._lock:
                    if self._steps:
                        return self._steps.popleft()
                    if self._ended or self._stopping.is_set():
                        return None
                    last_k = self._last_k
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"no lock-step frame from {self.pub_url} within {timeout_s} s "
                        f"(last step: {last_k}, link up: {self.up})"
                    )
                self._pump(min(_POLL_MS, max(1, math.ceil(remaining * 1000))))

    def finish_step(self, k: int, outputs: Mapping[str, Any]) -> None:
        """Send the outputs of step ``k``; blocks until acked (LinkDownError, WriteRejected)."""
        self._request_write(k, outputs)

    # ---------------------------------------------------------------- writes

    def _request_write(self, k: int | None, outputs: Mapping[str, Any]) -> None:
        pirate = self._pirate
        if pirate is None or self._closed:
            raise RuntimeError("the link is not running; call connect() first")
        with self._lock:
            self._next_id += 1
            write = Write(f"{self._id_base}-{self._next_id}", k, dict(outputs))
        try:
            ack = pirate.request(encode(write), write.id)
        except NoReply as err:
            self._count("write_failures")
            raise LinkDownError(f"write {write.id}: {err}; is the field running?") from None
        if ack.status == "rejected":
            raise WriteRejected(f"field rejected write {write.id}: {ack.error}", ack.points)

    def _count(self, key: str) -> None:
        with self._lock:
            self.stats[key] += 1

    def _secure(self, sock: zmq.Socket[bytes]) -> None:
        """Options of every socket: no linger, fast reconnect, ZMTP heartbeats, CURVE."""
        sock.linger = 0
        sock.reconnect_ivl = 100  # ms
        # ZMTP heartbeats close a half-open TCP connection (a cable pulled, a peer
        # rebooted) so ZeroMQ reconnects; a hung peer's ZeroMQ thread still answers
        # them, which is why the application-level watchdog exists as well
        sock.heartbeat_ivl = max(100, round(self.watchdog_s * 500))  # ms
        sock.heartbeat_timeout = max(200, round(self.watchdog_s * 1000))  # ms
        if self._server_key is not None and self._client_keys is not None:
            curve.secure_client(sock, self._server_key, self._client_keys)

    def _new_dealer(self) -> zmq.Socket[bytes]:
        assert self._ctx is not None
        sock = self._ctx.socket(zmq.DEALER)
        self._secure(sock)
        sock.connect(self.rep_url)
        return sock

    # ---------------------------------------------------------------- socket pump

    def _serve(self) -> None:
        """Service thread: poll while no caller waits."""
        assert self._baton is not None
        self._baton.serve_until(self._stopping, self._pump, _POLL_MS)

    def _pump(self, timeout_ms: int) -> None:
        """Poll once (at most ``timeout_ms``), handle what came, then housekeeping.
        The caller holds the baton."""
        if self._hung.is_set():
            self._stopping.wait(timeout_ms / 1000)
            return
        sub, dealer, baton = self._sub, self._dealer, self._baton
        assert sub is not None and dealer is not None and baton is not None
        events = dict(self._poller.poll(timeout_ms))
        if baton.wake_socket in events:
            baton.drain()
        if sub in events:
            self._drain(sub, self._on_pub)
        if dealer in events:
            self._drain(dealer, self._on_reply)
        self._housekeep()

    def _drain(self, sock: zmq.Socket[bytes], handle: Callable[[bytes], None]) -> None:
        while not self._hung.is_set():
            try:
                parts = sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return
            handle(parts[-1])

    def _on_pub(self, data: bytes) -> None:
        try:
            frame = decode(data, PUB_TYPES)
        except FrameError:
            self._count("malformed")
            return
        assert isinstance(frame, Telemetry | Heartbeat | End)
        with self._lock:
            self._last_rx = time.monotonic()
            if isinstance(frame, Telemetry):
                self.stats["received"] += 1
            elif isinstance(frame, Heartbeat):
                self.stats["heartbeats"] += 1
            if frame.sid != self._sid:
                if not isinstance(frame, End):  # the end of a session never joined: ignore
                    self._begin_session(frame)
                return
            if self._tripped:  # the field is back: make the state whole again
                self._tripped = False
                self._synced = False
                self._need_snapshot = True
                self.stats["reconnects"] += 1
            if isinstance(frame, Telemetry):
                self._on_telemetry(frame)
                return
            if frame.seq > self._rx_last:  # the last frame(s) before this heartbeat were lost
                self.stats["lost"] += frame.seq - self._rx_last
                self._rx_last = frame.seq
                self._ask_snapshot_locked()
            if isinstance(frame, End):
                self._ended = True
                self._synced = False
                self._need_snapshot = False

    def _begin_session(self, frame: Telemetry | Heartbeat) -> None:
        """First frame of a field session (first join, or the field restarted)."""
        if self._sid is not None:
            self.stats["reconnects"] += 1
        self._sid = frame.sid
        self._rx_last = frame.seq  # frames before the first one received are not "lost"
        self._synced = False
        self._tripped = False
        self._ended = False
        self._state = _InputState(self.inputs, self._input_index)
        self._buffer.clear()
        self._steps.clear()
        self._last_k = None
        self._need_snapshot = True
        if isinstance(frame, Telemetry):
            self._buffer.append(frame)

    def _on_telemetry(self, frame: Telemetry) -> None:
        seq = frame.seq
        if seq <= self._rx_last:
            self.stats["duplicates"] += 1
            return
        if seq > self._rx_last + 1:
            self.stats["lost"] += seq - self._rx_last - 1
            self._ask_snapshot_locked()
        self._rx_last = seq
        if self._need_snapshot or (self._pending is not None and self._pending.kind == "snap"):
            if len(self._buffer) == self._buffer.maxlen:  # the oldest falls out: ask again
                self._gap_while_asking = True
            self._buffer.append(frame)
            if not self._synced:
                return
        # whole state (or a resync in progress: keep serving the newest values meanwhile)
        self._apply_locked(self._state, frame)

    def _apply_locked(self, state: _InputState, frame: Telemetry) -> None:
        state.apply(frame.samples)
        if frame.k is not None and (self._last_k is None or frame.k > self._last_k):
            self._push_step(frame.k, frame.now, state)

    def _push_step(self, k: int, now: float, state: _InputState) -> None:
        self._steps.append(Step(k, now, state.frozen(now)))
        self._last_k = k

    def _ask_snapshot_locked(self) -> None:
        if self._pending is not None and self._pending.kind == "snap":
            self._gap_while_asking = True  # the reply on its way may predate the gap
        self._need_snapshot = True

    def _on_snapshot(self, snap: Snapshot) -> None:
        with self._lock:
            if snap.sid != self._sid:  # from another session: ask again once PUB caught up
                self._need_snapshot = self._sid is not None and not self._ended
                return
            state = _InputState(self.inputs, self._input_index)
            state.apply(snap.samples)
            if (
                snap.k is not None
                and snap.now is not None
                and (self._last_k is None or snap.k > self._last_k)
            ):
                self._push_step(snap.k, snap.now, state)
            for frame in self._buffer:
                if frame.seq > snap.seq:
                    self._apply_locked(state, frame)
            self._buffer.clear()
            self._state = state
            self._synced = True
            self.stats["snapshots"] += 1
            if self._gap_while_asking:
                self._gap_while_asking = False
                self._need_snapshot = True

    def _on_reply(self, data: bytes) -> None:
        try:
            reply = decode(data, REPLY_TYPES)
        except FrameError:
            self._count("malformed")
            return
        with self._lock:
            pending = self._pending
            if pending is None or getattr(reply, "id", None) != pending.id:
                self.stats["stale_replies"] += 1
                return
            self._pending = None
        if isinstance(reply, Snapshot):
            self._on_snapshot(reply)
        elif isinstance(reply, ErrorReply):  # our request was unreadable there: a version mismatch?
            with self._lock:
                self.stats["malformed"] += 1
                self.last_error = f"the field could not read our {pending.kind}: {reply.error}"

    def _housekeep(self) -> None:
        """Watchdog, request timeouts (Lazy Pirate) and the next ping or snapshot request."""
        mono = time.monotonic()
        send: _Request | None = None
        dealer = self._dealer
        assert dealer is not None
        with self._lock:
            joined = self._sid is not None and not self._tripped and not self._ended
            if joined and mono - self._last_rx > self.watchdog_s:
                self._tripped = True
                self._synced = False
                self.stats["watchdog_trips"] += 1
                joined = False
            pending = self._pending
            if pending is not None and mono >= pending.deadline:
                self.stats["timeouts"] += 1
                self._pending = None
                self._poller.unregister(dealer)
                dealer.close(linger=0)  # its reply may never come: a fresh socket
                dealer = self._dealer = self._new_dealer()
                self._poller.register(dealer, zmq.POLLIN)
                if pending.kind == "snap" and joined:
                    self.stats["retries"] += 1
                    send = pending._replace(deadline=mono + self.request_timeout_s)
            elif pending is None and joined and self._need_snapshot:
                self._need_snapshot = False
                self._gap_while_asking = False
                rid = self._new_request_id()
                send = _Request(
                    "snap", rid, encode(SnapshotRequest(rid)), mono + self.request_timeout_s
                )
            elif pending is None and not joined and mono >= self._next_ping:
                rid = self._new_request_id()
                send = _Request("ping", rid, encode(Ping(rid)), mono + self.request_timeout_s)
                self._next_ping = mono + _PING_EVERY_S
            if send is not None:
                self._pending = send
                self.stats["sent"] += 1
        if send is not None:
            with contextlib.suppress(zmq.Again):  # counted as a timeout at the deadline
                dealer.send_multipart([b"", send.data], zmq.NOBLOCK)

    def _new_request_id(self) -> str:
        self._next_link_id += 1
        return f"{self._id_base}-L{self._next_link_id}"
