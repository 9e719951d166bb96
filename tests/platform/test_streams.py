"""A run's feed hands its readers every event once, in order, as many as there are at once."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from hybridcrew.graphs.lifecycle import EventKind, RunStatus
from hybridcrew.platform.store.base import RunRow
from hybridcrew.platform.store.sqlite import SqliteStore
from hybridcrew.platform.streams import EventNotifier, RunFeeds

RUN = "20261201-120000-abcdef"


def _store(tmp_path: Path) -> SqliteStore:
    store = SqliteStore(tmp_path / "store.sqlite")
    now = time.time()
    store.create_run(RunRow(RUN, "task", "delivery", RunStatus.RUNNING, now, now,
                            str(tmp_path), {}, {}))
    return store


def _append(store: SqliteStore, notifier: EventNotifier, kind: EventKind) -> None:
    notifier.publish(store.append_event(RUN, kind, "backend", {}))


def test_a_reader_of_a_finished_run_gets_its_history_in_one_batch(tmp_path: Path) -> None:
    store = _store(tmp_path)
    notifier = EventNotifier()
    for kind in (EventKind.RUN_STARTED, EventKind.STEP_STARTED, EventKind.STEP_FINISHED):
        _append(store, notifier, kind)
    store.end_run(RUN, RunStatus.FINISHED, {}, EventKind.RUN_FINISHED, {})

    async def read() -> list[list[int]]:
        feeds = RunFeeds(store, notifier, poll_s=0.05)
        return [[e.seq for e in batch] async for batch in feeds.follow_batches(RUN, after=1)]

    assert asyncio.run(read()) == [[2, 3, 4]], "one write for what was there, to the end"


def test_live_events_arrive_once_in_order_batched_or_not(tmp_path: Path) -> None:
    store = _store(tmp_path)
    notifier = EventNotifier()

    async def scenario() -> tuple[list[list[int]], list[int]]:
        feeds = RunFeeds(store, notifier, poll_s=0.05)

        async def batched() -> list[list[int]]:
            return [[e.seq for e in batch] async for batch in feeds.follow_batches(RUN)]

        async def single() -> list[int]:
            return [e.seq async for e in feeds.follow(RUN)]

        readers = asyncio.gather(batched(), single())
        await asyncio.sleep(0.1)
        for burst in range(3):  # bursts written with no pause between their events
            for _ in range(burst + 1):
                _append(store, notifier, EventKind.STEP_FINISHED)
            await asyncio.sleep(0.1)
        store.end_run(RUN, RunStatus.FINISHED, {}, EventKind.RUN_FINISHED, {})
        batches, events = await readers
        assert feeds.active() == 0, "the feed goes with its last reader"
        return batches, events

    batches, events = asyncio.run(scenario())
    assert [seq for batch in batches for seq in batch] == list(range(1, 8))
    assert events == list(range(1, 8))
    assert batches[1:3] == [[2, 3], [4, 5, 6]], "a burst reaches a waiting reader at once"
