"""Concurrency gate for local endpoints.

Calls to one local endpoint take one of its slots, so parallel branches never oversubscribe one
GPU or CPU model. How many calls wait is the queue depth the router reads. With a shared slot
store (Redis, for several workers on one GPU box) a slot is also taken cluster-wide.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class SharedSlots(Protocol):
    """A semaphore across processes (the store's slots)."""

    def acquire_slot(self, name: str, holder: str, limit: int, ttl_s: float) -> bool:
        """Take a slot without waiting."""

    def release_slot(self, name: str, holder: str) -> None:
        """Give it back."""


class SlotGate:
    """A semaphore per gated endpoint; ``waiting`` is live and read by routing decisions."""

    def __init__(self, slots: dict[str, int], shared: SharedSlots | None = None,
                 ttl_s: float = 300.0, poll_s: float = 0.05) -> None:
        self.slots = dict(slots)
        self._semaphores = {ep: threading.BoundedSemaphore(n) for ep, n in slots.items()}
        self._lock = threading.Lock()
        self.waiting: dict[str, int] = dict.fromkeys(slots, 0)
        self.shared, self.ttl_s, self.poll_s = shared, ttl_s, poll_s

    @contextmanager
    def slot(self, endpoint: str, on_queued: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold a slot of ``endpoint`` (ungated endpoints pass straight through)."""
        semaphore = self._semaphores.get(endpoint)
        if semaphore is None:
            yield
            return
        queued = False

        def queue() -> None:
            nonlocal queued
            if not queued:
                queued = True
                with self._lock:
                    self.waiting[endpoint] += 1
                if on_queued is not None:
                    on_queued()

        if not semaphore.acquire(blocking=False):
            queue()
            semaphore.acquire()
        holder = uuid.uuid4().hex if self.shared is not None else None
        try:
            while holder is not None and self.shared is not None and not (
                    self.shared.acquire_slot(endpoint, holder, self.slots[endpoint], self.ttl_s)):
                queue()  # another process holds every slot of this endpoint
                time.sleep(self.poll_s)
            if queued:
                with self._lock:
                    self.waiting[endpoint] -= 1
                queued = False
            yield
        finally:
            if queued:
                with self._lock:
                    self.waiting[endpoint] -= 1
            if holder is not None and self.shared is not None:
                self.shared.release_slot(endpoint, holder)
            semaphore.release()
