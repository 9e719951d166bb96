"""Concurrency gate for local endpoints.

Calls to one local endpoint take one of its slots, so parallel branches never oversubscribe one
GPU or CPU model. How many calls wait is the queue depth the router reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class SlotGate:
    """A semaphore per gated endpoint; ``waiting`` is live and read by routing decisions."""

    def __init__(self, slots: dict[str, int]) -> None:
        self.slots = dict(slots)
        self._semaphores = {ep: threading.BoundedSemaphore(n) for ep, n in slots.items()}
        self._lock = threading.Lock()
        self.waiting: dict[str, int] = dict.fromkeys(slots, 0)

    @contextmanager
    def slot(self, endpoint: str, on_queued: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold a slot of ``endpoint`` (ungated endpoints pass straight through)."""
        semaphore = self._semaphores.get(endpoint)
        if semaphore is None:
            yield
            return
        if not semaphore.acquire(blocking=False):
            with self._lock:
                self.waiting[endpoint] += 1
            if on_queued is not None:
                on_queued()
            semaphore.acquire()
            with self._lock:
                self.waiting[endpoint] -= 1
        try:
            yield
        finally:
            semaphore.release()
