"""The event loop runs execute on: one per process, on its own thread.

A step spends its time waiting on a model; on an event loop that wait costs no thread, and the
graph's parallel branches are tasks, not a thread pool created for every run. Steps whose work
is CPU-bound (the embedded llama.cpp model, a repository's checks) run on the loop's bounded
worker pool instead of blocking it.

Why a thread of its own rather than the gateway's event loop: store commits and checkpoints
are synchronous SQLite writes; on a separate loop they never hold up an HTTP request, and the
CLI, the worker and the gateway execute runs the same way. Chat models with network clients
bind their connections to this loop, which lives as long as the process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
POOL_WORKERS = min(8, (os.cpu_count() or 1) + 2)
"""Threads for CPU-bound step work (llama.cpp serialises calls per model anyway)."""
CANCEL_GRACE_S = 10.0
"""How long an interrupted caller waits for its run to unwind (release its lease)."""


class RunLoop:
    """An event loop runs execute on; coroutines are submitted from any thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Start a loop on a daemon thread of its own, or adopt ``loop`` (running here)."""
        if loop is not None:
            self.loop, self._thread = loop, threading.current_thread()
            return
        self.loop = asyncio.new_event_loop()
        self.loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(
            max_workers=POOL_WORKERS, thread_name_prefix="hybridcrew-cpu"))
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="hybridcrew-runs")
        self._thread.start()

    def submit(self, coroutine: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coroutine`` on the loop; its future may be waited on or cancelled."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on the loop and wait for its result (not from the loop's thread).

        Interrupted (Ctrl-C), the coroutine is cancelled and given a moment to unwind, so a run
        gives its lease back instead of holding it until it lapses.
        """
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("RunLoop.run called from its own thread; await the coroutine")
        unwound = threading.Event()

        async def watched() -> T:
            try:
                return await coroutine
            finally:
                unwound.set()

        future = self.submit(watched())
        try:
            return future.result()
        except BaseException:
            future.cancel()  # (no-op when it is done)
            unwound.wait(CANCEL_GRACE_S)
            raise


_shared: RunLoop | None = None
_shared_pid = 0
_shared_lock = threading.Lock()


def run_loop() -> RunLoop:
    """This process's run loop, started on first use (and again in a forked child)."""
    global _shared, _shared_pid
    with _shared_lock:
        if _shared is None or _shared_pid != os.getpid():
            _shared, _shared_pid = RunLoop(), os.getpid()
        return _shared
