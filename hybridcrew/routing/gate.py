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
    """A semaphore per gated endpoint.

    ``waiting`` (calls queued) is live and read by routing decisions; ``in_use`` is for metrics.
    """

    def __init__(self, slots: dict[str, int], shared: SharedSlots | None = None,
                 ttl_s: float = 300.0, poll_s: float = 0.05) -> None:
        self.slots = dict(slots)
        self._semaphores = {ep: threading.BoundedSemaphore(n) for ep, n in slots.items()}
        self._lock = threading.Lock()
        self.waiting: dict[str, int] = dict.fromkeys(slots, 0)
        self.in_use: dict[str, int] = dict.fromkeys(slots, 0)
        self.shared, self.ttl_s, self.poll_s = shared, ttl_s, poll_s

    @contextmanager
    def slot(self, endpoint: str, on_queued: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold a slot of ``endpoint`` (ungated endpoints pass straight through)."""
        semaphore = self._semaphores.get(endpoint)
        if semaphore is None:
            yield
            return
        queued = holding = False

        def queue() -> None:
            nonlocal queued
            if not queued:
                queued = True
                self._count(endpoint, waiting=1)
                if on_queued is not None:
                    on_queued()

        if not semaphore.acquire(blocking=False):
            queue()
            semaphore.acquire()
        shared, holder = self.shared, uuid.uuid4().hex
        try:
            while shared is not None and not shared.acquire_slot(
                    endpoint, holder, self.slots[endpoint], self.ttl_s):
                queue()  # another process holds every slot of this endpoint
                time.sleep(self.poll_s)
            self._count(endpoint, waiting=-int(queued), in_use=1)
            queued, holding = False, True
            yield
        finally:
            self._count(endpoint, waiting=-int(queued), in_use=-int(holding))
            if shared is not None:
                shared.release_slot(endpoint, holder)
            semaphore.release()

    def _count(self, endpoint: str, waiting: int = 0, in_use: int = 0) -> None:
        with self._lock:
            self.waiting[endpoint] += waiting
            self.in_use[endpoint] += in_use
