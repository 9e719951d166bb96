"""The event loop runs execute on: one per process, on its own thread.

A step spends its time waiting on a model; on an event loop that wait costs no thread, and the
graph's parallel branches are tasks, not a thread pool created for every run. Steps whose work
is CPU-bound (the embedded llama.cpp model, a repository's checks) run on the loop's bounded
worker pool instead of blocking it.

Why a thread of its own rather than the gateway's event loop: store commits and checkpoints
are synchronous SQLite writes, and one that waits for a lock another process holds (up to the
busy timeout) would stall every HTTP request; on their own loop they hold up only runs. (On
the server's loop, measured in the CPU-bound benchmark: 11% less CPU per run, 22 context
switches per run instead of 110, 17% more runs/s — and submit p50 2.2 times as long, a request
waiting behind steps' CPU work instead of sharing the interpreter with them. Not worth a
gateway that freezes; it would take every store write on a run's path becoming awaitable.)
The CLI, the worker and the gateway run runs the same way, and calls through the compatible
endpoints run here too: chat models with network clients bind their connections to the loop
they first ran on, and this one lives as long as the process.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
from collections.abc import AsyncIterator, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
POOL_WORKERS = min(8, (os.cpu_count() or 1) + 2)
"""Threads for CPU-bound step work (llama.cpp serialises calls per model anyway)."""
CANCEL_GRACE_S = 10.0
"""How long an interrupted caller waits for its run to unwind (release its lease)."""


class RunLoop:
    """An event loop runs execute on; coroutines are submitted from any thread."""

    def __init__(self) -> None:
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

    async def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run ``coroutine`` on this loop and await its result from another loop."""
        return await asyncio.wrap_future(self.submit(coroutine))

    async def relay(self, source: AsyncIterator[T]) -> AsyncIterator[T]:
        """Iterate, from another loop, an async iterator that lives on this one.

        Closing the relay (the HTTP client went away) stops reading the source.
        """
        caller = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[bool, Any]] = asyncio.Queue()

        async def pump() -> None:
            try:
                async for item in source:
                    caller.call_soon_threadsafe(queue.put_nowait, (False, item))
            except BaseException as exc:  # (cancelled too: the caller stops waiting)
                caller.call_soon_threadsafe(queue.put_nowait, (True, exc))
                raise
            caller.call_soon_threadsafe(queue.put_nowait, (True, None))

        pumping = self.submit(pump())
        try:
            while True:
                done, item = await queue.get()
                if done:
                    if item is not None:
                        raise item
                    return
                yield item
        finally:
            pumping.cancel()


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
