"""A private asyncio event loop in a background thread, behind a blocking facade.

The OPC-UA bridge is built on asyncua (asyncio), while the twin's kernel and the
controllers are synchronous. :class:`LoopThread` owns one event loop running in
one daemon thread; the sync facades (:class:`~hil.opcua.server.OpcUaField`,
:class:`~hil.opcua.client.OpcUaControllerLink`) hand coroutines to it with
:meth:`LoopThread.run` and wait for the result.

:meth:`LoopThread.stop` cancels every task still pending on the loop, waits for
them, shuts down async generators, stops the loop and joins the thread, so a
stopped bridge leaves no task and no thread behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["LoopThread"]

T = TypeVar("T")


class LoopThread:
    """One asyncio event loop in one background thread.

    Args:
        name: thread name (shown in thread dumps), e.g. ``opcua-server``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop; RuntimeError if :meth:`start` was not called."""
        if self._loop is None:
            raise RuntimeError(f"{self.name}: the event loop is not running; call start() first")
        return self._loop

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._thread is not None and self._thread.is_alive()

    def in_loop_thread(self) -> bool:
        """True when called from the loop's own thread."""
        return self._thread is not None and threading.current_thread() is self._thread

    def start(self) -> None:
        """Start the loop thread; returns once the loop runs. Idempotent."""
        if self.running:
            return
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def main() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=main, name=self.name, daemon=True)
        self._loop, self._thread = loop, thread
        thread.start()
        if not ready.wait(10.0):
            raise RuntimeError(f"{self.name}: the event loop thread did not start within 10 s")

    def run(self, coro: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        """Run ``coro`` on the loop and return its result (blocking, at most ``timeout_s``).

        On timeout the coroutine is cancelled and TimeoutError is raised.
        Must not be called from the loop thread itself (it would deadlock).
        """
        if self.in_loop_thread():
            coro.close()
            raise RuntimeError(f"{self.name}: run() called from the loop thread; await instead")
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise

    def stop(self, timeout_s: float = 10.0) -> None:
        """Cancel pending tasks, stop the loop and join the thread. Safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            with contextlib.suppress(TimeoutError):  # a task ignored cancellation: stop anyway
                asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result(timeout_s)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout_s)
        if thread.is_alive():
            raise RuntimeError(
                f"{self.name}: the event loop thread did not stop within {timeout_s} s"
            )
        loop.close()
        self._loop = self._thread = None


async def _cancel_all() -> None:
    """Cancel every other task on the running loop, wait for them, close the executor."""
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    for _ in range(5):  # cancelled tasks may spawn cleanup tasks; a few rounds settle them
        tasks = [t for t in asyncio.all_tasks(loop) if t is not current and not t.done()]
        if not tasks:
            break
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks, timeout=2.0)
    await loop.shutdown_asyncgens()
    await loop.shutdown_default_executor()  # e.g. getaddrinfo workers
