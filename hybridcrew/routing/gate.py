"""Concurrency gate for local endpoints.

Calls to one local endpoint take one of its slots, so parallel branches never oversubscribe one
GPU or CPU model. How many calls wait is the queue depth the router reads. With a shared slot
store (Redis, for several workers on one GPU box) a slot is also taken cluster-wide.

Threads wait on the slot's semaphore; steps on the event loop poll it with a short, growing
sleep instead: a queued call waits for a local model call that takes seconds, so a few
milliseconds of polling cost nothing, and no thread is parked per waiting call.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Protocol

FIRST_POLL_S = 0.002
"""The first wait of a queued call on the event loop; it doubles up to ``poll_s``."""


class SharedSlots(Protocol):
    """A semaphore across processes (the store's slots)."""

    def acquire_slot(self, name: str, holder: str, limit: int, ttl_s: float) -> bool:
        """Take a slot without waiting."""

    def release_slot(self, name: str, holder: str) -> None:
        """Give it back."""


class _Claim:
    """One call's claim on a gated endpoint: counted queued while it waits, in use while held."""

    def __init__(self, gate: SlotGate, endpoint: str, on_queued: Callable[[], None] | None
                 ) -> None:
        self.gate, self.endpoint, self.on_queued = gate, endpoint, on_queued
        self.semaphore = gate.semaphores[endpoint]
        # Only a cluster-wide slot needs a holder id (a random id costs a system call).
        self.holder = uuid.uuid4().hex if gate.shared is not None else ""
        self.queued = self.local = self.holding = False

    def queue(self) -> None:
        if not self.queued:
            self.queued = True
            self.gate.count(self.endpoint, waiting=1)
            if self.on_queued is not None:
                self.on_queued()

    def take_local(self, *, blocking: bool) -> bool:
        self.local = self.semaphore.acquire(blocking=blocking)
        return self.local

    def take_shared(self) -> bool:
        """This process's slot is held: take one cluster-wide too (another may hold them all)."""
        shared = self.gate.shared
        return shared is None or shared.acquire_slot(
            self.endpoint, self.holder, self.gate.slots[self.endpoint], self.gate.ttl_s)

    def hold(self) -> None:
        self.gate.count(self.endpoint, waiting=-int(self.queued), in_use=1)
        self.queued, self.holding = False, True

    def release(self) -> None:
        self.gate.count(self.endpoint, waiting=-int(self.queued), in_use=-int(self.holding))
        if self.local:
            if self.gate.shared is not None:
                self.gate.shared.release_slot(self.endpoint, self.holder)
            self.semaphore.release()


class SlotGate:
    """A semaphore per gated endpoint.

    ``waiting`` (calls queued) is live and read by routing decisions; ``in_use`` is for metrics.
    """

    def __init__(self, slots: dict[str, int], shared: SharedSlots | None = None,
                 ttl_s: float = 300.0, poll_s: float = 0.05) -> None:
        self.slots = dict(slots)
        self.semaphores = {ep: threading.BoundedSemaphore(n) for ep, n in slots.items()}
        self._lock = threading.Lock()
        self.waiting: dict[str, int] = dict.fromkeys(slots, 0)
        self.in_use: dict[str, int] = dict.fromkeys(slots, 0)
        self.shared, self.ttl_s, self.poll_s = shared, ttl_s, poll_s

    @contextmanager
    def slot(self, endpoint: str, on_queued: Callable[[], None] | None = None) -> Iterator[None]:
        """Hold a slot of ``endpoint`` (ungated endpoints pass straight through)."""
        if endpoint not in self.semaphores:
            yield
            return
        claim = _Claim(self, endpoint, on_queued)
        try:
            if not claim.take_local(blocking=False):
                claim.queue()
                claim.take_local(blocking=True)
            while not claim.take_shared():
                claim.queue()
                time.sleep(self.poll_s)
            claim.hold()
            yield
        finally:
            claim.release()

    @asynccontextmanager
    async def aslot(self, endpoint: str, on_queued: Callable[[], None] | None = None
                    ) -> AsyncIterator[None]:
        """:meth:`slot` for a step on the event loop: waiting never blocks the loop."""
        if endpoint not in self.semaphores:
            yield
            return
        claim = _Claim(self, endpoint, on_queued)
        try:
            pause = FIRST_POLL_S
            while not claim.take_local(blocking=False):
                claim.queue()
                await asyncio.sleep(pause)
                pause = min(pause * 2, self.poll_s)
            while not claim.take_shared():
                claim.queue()
                await asyncio.sleep(self.poll_s)
            claim.hold()
            yield
        finally:
            claim.release()

    def count(self, endpoint: str, waiting: int = 0, in_use: int = 0) -> None:
        """Adjust the live counts of ``endpoint``."""
        with self._lock:
            self.waiting[endpoint] += waiting
            self.in_use[endpoint] += in_use
