"""Reliable request-reply over a REQ socket: the "Lazy Pirate" pattern.

A REQ socket that lost its reply is wedged (it will not send again until it
receives). So each attempt waits ``timeout_s`` for the reply (the socket's
receive timeout); on timeout the
socket is closed (linger 0) and a new one connected, and the same request
bytes (same request id, so the peer can de-duplicate) are sent again, up to
``retries`` more times.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import zmq

from hil.zmq.frames import REPLY_TYPES, Ack, ErrorReply, Frame, FrameError, decode

__all__ = ["LazyPirate", "NoReply"]


class NoReply(ConnectionError):
    """No reply after every attempt."""


class LazyPirate:
    """A REQ client of ``endpoint`` that survives lost replies; thread-safe (one request at a time).

    Args:
        ctx: the ZeroMQ context.
        endpoint: the peer's ROUTER/REP endpoint.
        configure: called on every new socket before ``connect`` (linger, CURVE).
        timeout_s: wait for one reply (s).
        retries: attempts after the first (>= 0).
        count: ``count(stat_name)`` for ``sent``, ``retries``, ``timeouts``,
            ``malformed`` and ``stale_replies``.
    """

    def __init__(
        self,
        ctx: zmq.Context[zmq.Socket[bytes]],
        endpoint: str,
        configure: Callable[[zmq.Socket[bytes]], None],
        timeout_s: float,
        retries: int,
        count: Callable[[str], None],
    ) -> None:
        self._ctx = ctx
        self.endpoint = endpoint
        self._configure = configure
        self._timeout_ms = max(1, round(timeout_s * 1000))
        self.timeout_s = timeout_s
        self.retries = retries
        self._count = count
        self._lock = threading.Lock()
        self._sock: zmq.Socket[bytes] | None = None
        self._closed = False

    def request(self, data: bytes, request_id: str) -> Ack:
        """Send ``data`` (a request with id ``request_id``) until its Ack arrives.

        Raises NoReply after ``1 + retries`` timeouts, FrameError if the peer
        could not read the request.
        """
        attempts = 1 + self.retries
        with self._lock:
            if self._closed:
                raise RuntimeError("the request socket is closed")
            for attempt in range(attempts):
                if attempt:
                    self._count("retries")
                sock = self._sock if self._sock is not None else self._open()
                self._count("sent")
                try:
                    sock.send(data, zmq.NOBLOCK)
                    raw: bytes | None = sock.recv()  # waits at most RCVTIMEO
                except zmq.Again:
                    raw = None
                if raw is not None:
                    reply = self._read(raw)
                    if isinstance(reply, Ack) and reply.id == request_id:
                        return reply
                    if isinstance(reply, ErrorReply):
                        raise FrameError(
                            f"the peer could not read request {request_id}: {reply.error}"
                        )
                    if reply is not None:
                        self._count("stale_replies")
                    continue  # REQ got a reply, so it may send again at once
                self._count("timeouts")
                sock.close(linger=0)  # a REQ without its reply is wedged: make a new one
                self._sock = None
        raise NoReply(
            f"no reply to request {request_id} from {self.endpoint} after {attempts} "
            f"attempt(s) of {self.timeout_s} s"
        )

    def _read(self, raw: bytes) -> Frame | None:
        try:
            reply = decode(raw, REPLY_TYPES)
        except FrameError:
            self._count("malformed")
            return None
        return reply

    def _open(self) -> zmq.Socket[bytes]:
        sock = self._ctx.socket(zmq.REQ)
        self._configure(sock)
        sock.rcvtimeo = self._timeout_ms
        sock.sndtimeo = 0
        sock.connect(self.endpoint)
        self._sock = sock
        return sock

    def close(self) -> None:
        """Close the socket (waits for a request in progress); safe to call twice."""
        with self._lock:
            self._closed = True
            if self._sock is not None:
                self._sock.close(linger=0)
                self._sock = None
