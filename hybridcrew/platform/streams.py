"""Event streams that scale: one feed per run, shared by all of its listeners.

A thousand clients following one run cost one in-process hand-over (or one poll of the store)
per new event, not a thousand: the run's :class:`_Feed` keeps new events in memory while anyone
listens; each listener only waits on a condition until there is something past its own cursor.
An idle listener costs a suspended coroutine. The feed goes away with its last listener.

Events of runs this process executes reach the feed from memory (published after they are
committed); the store is read for the rest: the events before a feed started, runs executed by
another process or host (found by the poll timeout), and any gap in what was published (two
branches of a run publishing out of order).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import AsyncGenerator, Iterator
from contextlib import contextmanager, suppress

from hybridcrew.graphs.lifecycle import FINAL_STATUSES, TERMINAL_EVENTS, Event
from hybridcrew.platform.store import Store

log = logging.getLogger(__name__)
BATCH = 500
KEEP = 5_000
"""Events a feed keeps in memory; a listener further behind reads the store itself."""


class Subscription:
    """A feed's inbox: the run's events published in this process, and a flag set with each."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.flag = asyncio.Event()
        self.published: dict[int, Event] = {}

    def deliver(self, event: Event) -> None:
        """On the loop: keep a published event (bounded) and wake the feed."""
        if len(self.published) < KEEP:
            self.published[event.seq] = event
        self.flag.set()

    def take(self, after: int) -> list[Event]:
        """The published events that follow ``after`` without a gap, taken from the inbox.

        Empty when the next one is missing: the store has it.
        """
        taken: list[Event] = []
        while (event := self.published.pop(after + 1, None)) is not None:
            taken.append(event)
            after += 1
        return taken

    def forget(self, upto: int) -> None:
        """Drop what the feed already has (read from the store)."""
        for seq in [s for s in self.published if s <= upto]:
            del self.published[seq]

    async def wait(self, timeout: float) -> bool:
        """Wait for the next event (or one published since the last wait).

        True when one came, False after ``timeout`` seconds without one.
        """
        woken = False
        with suppress(TimeoutError):
            woken = await asyncio.wait_for(self.flag.wait(), timeout)
        self.flag.clear()
        return woken


class EventNotifier:
    """Wakes the listeners of a run when one of its events is appended in this process.

    Events appended elsewhere (another process or host) are found by the listeners' timeout.
    """

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        self._lock = threading.Lock()

    def publish(self, event: Event) -> None:
        """Called on the thread that appended ``event``."""
        with self._lock:
            subscribers = list(self._subscribers.get(event.run_id, ()))
        for sub in subscribers:
            sub.loop.call_soon_threadsafe(sub.deliver, event)

    @contextmanager
    def subscribe(self, run_id: str) -> Iterator[Subscription]:
        """Listen to ``run_id`` for the duration of the block.

        Subscribe first, then read the store: nothing appended in between is missed.
        """
        sub = Subscription()
        with self._lock:
            self._subscribers.setdefault(run_id, set()).add(sub)
        try:
            yield sub
        finally:
            with self._lock:
                subs = self._subscribers.get(run_id, set())
                subs.discard(sub)
                if not subs:
                    self._subscribers.pop(run_id, None)


class _Feed:
    """What is known of one run's events, shared by its listeners (one event loop)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.events: list[Event] = []  # contiguous: events[i].seq == first + i
        self.first = 1
        self.read_to = 0  # the last sequence number read from the store
        self.ended = False
        self.listeners = 0
        self.changed = asyncio.Condition()
        self.task: asyncio.Task[None] | None = None

    def add(self, events: list[Event]) -> None:
        self.events += events
        self.read_to = events[-1].seq
        if len(self.events) > KEEP:
            drop = len(self.events) - KEEP
            del self.events[:drop]
            self.first += drop

    def after(self, cursor: int) -> list[Event]:
        return self.events[max(0, cursor + 1 - self.first):]


def _moved(feed: _Feed, cursor: int) -> bool:
    return feed.ended or feed.read_to > cursor


class RunFeeds:
    """The live feeds of one gateway process."""

    def __init__(self, store: Store, notifier: EventNotifier, poll_s: float) -> None:
        self.store, self.notifier, self.poll_s = store, notifier, poll_s
        self._feeds: dict[str, _Feed] = {}

    def active(self) -> int:
        """Runs with a live feed (each costs one poll loop)."""
        return len(self._feeds)

    async def follow(self, run_id: str, after: int = 0) -> AsyncGenerator[Event, None]:
        """The run's events with ``seq > after``, live, until its terminal event."""
        batches = self.follow_batches(run_id, after)
        try:
            async for batch in batches:
                for event in batch:
                    yield event
        finally:
            await batches.aclose()

    async def follow_batches(self, run_id: str, after: int = 0
                             ) -> AsyncGenerator[list[Event], None]:
        """:meth:`follow` in batches: the events there were when each was taken (``BATCH`` at most).

        A stream writes a batch at once: one write and one wake-up for the events a busy server
        gathered meanwhile or a reconnecting reader missed, not one each (a reader catching up
        on 2,000 events took 21-30 ms instead of 56-61).
        """
        feed = self._feeds.get(run_id)
        if feed is None:
            feed = self._feeds[run_id] = _Feed(run_id)
            feed.task = asyncio.create_task(self._poll(feed), name=f"feed-{run_id}")
        feed.listeners += 1
        cursor = after
        try:
            while True:
                if cursor + 1 < feed.first:  # older than what the feed keeps
                    pending = await self.store.aread(self.store.events, run_id, cursor, BATCH)
                else:
                    pending = feed.after(cursor)[:BATCH]
                ending = next((i for i, e in enumerate(pending) if e.kind in TERMINAL_EVENTS),
                              None)
                if ending is not None:
                    yield pending[:ending + 1]
                    return
                if pending:
                    cursor = pending[-1].seq
                    yield pending
                    continue
                if feed.ended:
                    return
                async with feed.changed:
                    await feed.changed.wait_for(functools.partial(_moved, feed, cursor))
        finally:
            feed.listeners -= 1
            if feed.listeners == 0 and self._feeds.get(run_id) is feed:
                del self._feeds[run_id]
                if feed.task is not None:
                    feed.task.cancel()

    async def _poll(self, feed: _Feed) -> None:
        with self.notifier.subscribe(feed.run_id) as subscription:
            look = True  # at the start, after a store read, and whenever no event came a while
            while not feed.ended:
                try:
                    look = await self._read(feed, subscription, look)
                except Exception as exc:  # noqa: BLE001 - the store may recover; try again
                    log.warning("event feed of run %s: %s", feed.run_id, type(exc).__name__)
                    await asyncio.sleep(self.poll_s)

    async def _read(self, feed: _Feed, subscription: Subscription, look: bool) -> bool:
        """One round: new events, or the end, or a wait.

        ``look``: read the store (and the run's status) this round. Returns it for the next.
        """
        subscription.forget(feed.read_to)
        events = subscription.take(feed.read_to)
        from_store = not events and (look or bool(subscription.published))  # or a gap
        if from_store:
            events = await self.store.aread(self.store.events, feed.run_id, feed.read_to,
                                              BATCH)
        if events:
            feed.add(events)
            feed.ended = any(e.kind in TERMINAL_EVENTS for e in events)
            await self._tell(feed)
            return from_store  # after a store read, read on until it has nothing more
        # A run's terminal event is written with its final status (one transaction): a final
        # status with nothing left to read means the feed has everything.
        if look and (await self.store.aread(self.store.get_run, feed.run_id)
                     ).status in FINAL_STATUSES:
            if not await self.store.aread(self.store.events, feed.run_id, feed.read_to, 1):
                feed.ended = True
                await self._tell(feed)
            return True
        # Events written in this process arrive in the inbox; the timeout finds other hosts'.
        return not await subscription.wait(self.poll_s)

    @staticmethod
    async def _tell(feed: _Feed) -> None:
        async with feed.changed:
            feed.changed.notify_all()


class StreamSlots:
    """Open event streams per API key, capped (``HYBRIDCREW_MAX_STREAMS_PER_KEY``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> bool:
        """Open one more stream for ``key``; False at the cap."""
        with self._lock:
            if self._open.get(key, 0) >= self.limit:
                return False
            self._open[key] = self._open.get(key, 0) + 1
            return True

    def give_back(self, key: str) -> None:
        """A stream of ``key`` closed."""
        with self._lock, suppress(KeyError):
            self._open[key] -= 1
            if self._open[key] <= 0:
                del self._open[key]

    def open_streams(self) -> int:
        """Streams open now, over every key."""
        with self._lock:
            return sum(self._open.values())
