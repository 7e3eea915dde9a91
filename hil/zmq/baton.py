"""Who may touch a group of ZeroMQ sockets right now: a waiting caller or the service thread.

ZeroMQ sockets are not thread-safe. A bridge needs a service thread (heartbeats,
watchdog, requests while nobody waits), but handing every message from that
thread to a waiting caller costs a thread switch each way, several times the
network latency on loopback. So the sockets go to whoever needs them: a caller
that waits for a message (lock-step ``exchange``, ``wait_step``) takes the
baton and polls the sockets itself; the service thread serves only while no
caller has used them for ``quiet_s``. A caller that finds the service thread
holding the baton wakes it out of its poll through an ``inproc`` PAIR socket
(:attr:`Baton.wake_socket`, which the holder polls with its own sockets).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import zmq

__all__ = ["Baton"]


class Baton:
    """Exclusive use of a group of sockets, preferring callers over the service thread.

    Args:
        ctx: the context of the sockets.
        quiet_s: the service thread takes over after this long without a caller (s).
    """

    def __init__(self, ctx: zmq.Context[zmq.Socket[bytes]], quiet_s: float = 0.01) -> None:
        self.quiet_s = quiet_s
        self._lock = threading.Lock()
        self._meta = threading.Lock()
        self._callers = 0
        self._last_release = -float("inf")
        address = f"inproc://baton-{uuid.uuid4().hex}"
        self.wake_socket: zmq.Socket[bytes] = ctx.socket(zmq.PAIR)
        self.wake_socket.linger = 0
        self.wake_socket.bind(address)
        self._wake_tx: zmq.Socket[bytes] = ctx.socket(zmq.PAIR)
        self._wake_tx.linger = 0
        self._wake_tx.connect(address)
        self._wake_lock = threading.Lock()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        """A caller's exclusive use of the sockets (waits for, and wakes, the current holder)."""
        with self._meta:
            self._callers += 1
        try:
            if not self._lock.acquire(blocking=False):
                with self._wake_lock, contextlib.suppress(zmq.ZMQError):
                    self._wake_tx.send(b"", zmq.NOBLOCK)
                self._lock.acquire()
            try:
                yield
            finally:
                self._last_release = time.monotonic()
                self._lock.release()
        finally:
            with self._meta:
                self._callers -= 1

    def try_serve(self) -> bool:
        """The service thread's turn: True (and held) if no caller needed the sockets lately;
        pair with :meth:`end_serve`."""
        if self._callers or time.monotonic() - self._last_release < self.quiet_s:
            return False
        return self._lock.acquire(blocking=False)

    def end_serve(self) -> None:
        """Give the baton back after :meth:`try_serve`."""
        self._lock.release()

    def drain(self) -> None:
        """Discard wake-up signals (the holder calls it when :attr:`wake_socket` is readable)."""
        while True:
            try:
                self.wake_socket.recv(zmq.NOBLOCK)
            except zmq.Again:
                return

    def serve_until(
        self, stopping: threading.Event, pump: Callable[[int], None], poll_ms: int
    ) -> None:
        """The service thread's loop: while no caller holds the sockets, ``pump(poll_ms)``;
        otherwise wait ``quiet_s``; until ``stopping`` is set."""
        while not stopping.is_set():
            if not self.try_serve():
                stopping.wait(self.quiet_s)
                continue
            try:
                pump(poll_ms)
            finally:
                self.end_serve()

    def close(self) -> None:
        """Close the wake sockets (hold the baton, or be sure nobody uses it)."""
        with self._wake_lock:
            self._wake_tx.close(linger=0)
        self.wake_socket.close(linger=0)
