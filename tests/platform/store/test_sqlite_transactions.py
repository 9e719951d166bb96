"""SQLite transactions: a step's writes land together or not at all, and are heard after; a
writer on an event loop never waits for a lock in place."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hybridcrew.graphs.events import EventSink
from hybridcrew.graphs.lifecycle import Event, EventKind
from hybridcrew.graphs.ports import StepText
from hybridcrew.platform.store.base import WouldWait
from hybridcrew.platform.store.sqlite import SqliteStore


class _Boom(Exception):
    pass


def test_other_readers_see_a_transaction_whole_and_only_once_it_commits(tmp_path: Path) -> None:
    writer, reader = SqliteStore(tmp_path / "s.sqlite"), SqliteStore(tmp_path / "s.sqlite")
    sink = EventSink(writer)
    heard: list[Event] = []
    sink.listeners.append(heard.append)
    with sink.transaction():
        writer.record_step_text("r1", "plan@0", StepText("m", "cto", "plan", "plan it"))
        sink.emit("r1", EventKind.STEP_FINISHED, "plan", cost_usd=0.0)
        sink.emit("r1", EventKind.VERDICT, "qa", approved=True)
        assert reader.events("r1") == [], "nothing is visible before the commit"
        assert heard == [], "listeners hear of events once they are committed"
    assert [e.kind for e in reader.events("r1")] == ["step_finished", "verdict"]
    assert [e.seq for e in heard] == [1, 2]


def test_a_failed_transaction_leaves_nothing_and_tells_nobody(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite")
    sink = EventSink(store)
    heard: list[Event] = []
    sink.listeners.append(heard.append)

    def fail_midway() -> None:
        with sink.transaction():
            assert store.spend("daily:x", 0.5, charge_id="r1/plan@0")
            sink.emit("r1", EventKind.STEP_FINISHED, "plan")
            raise _Boom

    with pytest.raises(_Boom):
        fail_midway()
    assert (store.events("r1"), store.spent("daily:x"), heard) == ([], 0.0, [])
    # The store goes on: the next write commits on its own.
    assert store.append_event("r1", EventKind.STEP_STARTED, "plan", {}).seq == 1


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[tuple[SqliteStore, Callable[[], None]]]:
    """A store whose write lock another connection holds (as a sqlite3 shell would) until the
    returned function is called."""
    store = SqliteStore(tmp_path / "s.sqlite")
    holder = sqlite3.connect(tmp_path / "s.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    def release() -> None:
        if holder.in_transaction:
            holder.execute("ROLLBACK")

    yield store, release
    release()
    holder.close()


def test_a_write_that_would_wait_is_refused_at_once_and_writes_nothing(
        locked: tuple[SqliteStore, Callable[[], None]]) -> None:
    store, release = locked
    started = time.monotonic()
    with pytest.raises(WouldWait):
        store.begin_without_waiting()
    assert time.monotonic() - started < 0.5, "it must not wait out the busy timeout"
    release()
    with store.begin_without_waiting():
        store.append_event("r1", EventKind.STEP_STARTED, "plan", {})
    assert [e.seq for e in store.events("r1")] == [1]


def test_a_write_is_refused_while_another_thread_of_the_process_writes(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite")
    inside, release = threading.Event(), threading.Event()

    def writing() -> None:
        with store.transaction():
            store.append_event("r1", EventKind.STEP_STARTED, "plan", {})
            inside.set()
            release.wait(5)

    writer = threading.Thread(target=writing)
    writer.start()
    assert inside.wait(5)
    with pytest.raises(WouldWait):
        store.begin_without_waiting()
    release.set()
    writer.join()
    with store.begin_without_waiting():  # and the store goes on
        store.append_event("r1", EventKind.STEP_FINISHED, "plan", {})
    assert [e.seq for e in store.events("r1")] == [1, 2]


def test_a_lock_held_elsewhere_never_stalls_the_loop_that_writes(
        locked: tuple[SqliteStore, Callable[[], None]]) -> None:
    store, release = locked
    gaps: list[float] = []

    async def ticking(until: asyncio.Future[int]) -> None:
        last = time.monotonic()
        while not until.done():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def main() -> int:
        loop = asyncio.get_running_loop()
        loop.call_later(0.6, release)  # released while the write waits on its thread
        write = asyncio.ensure_future(store.awrite(appending))
        await ticking(write)
        return (await write).seq

    ran_on: list[int] = []

    def appending() -> Event:
        ran_on.append(threading.get_ident())
        return store.append_event("r1", EventKind.STEP_STARTED, "plan", {})

    assert asyncio.run(main()) == 1
    assert ran_on != [threading.get_ident()], "a write that would wait leaves the loop's thread"
    assert [e.seq for e in store.events("r1")] == [1]
    assert len(gaps) > 20, "the loop went on while the write waited"
    assert max(gaps) < 0.3, "the loop went on while the write waited"


def test_what_an_event_loop_writes_in_place_commits_whole_or_not_at_all(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "s.sqlite")
    ran_on: list[int] = []

    def half_then_fail() -> None:
        ran_on.append(threading.get_ident())
        assert store.spend("daily:x", 0.5, charge_id="r1/plan@0")
        store.append_event("r1", EventKind.STEP_FINISHED, "plan", {})
        raise _Boom

    with pytest.raises(_Boom):
        asyncio.run(store.awrite(half_then_fail))
    assert ran_on == [threading.get_ident()], "a free store is written in place, no thread hop"
    assert (store.events("r1"), store.spent("daily:x")) == ([], 0.0)


def test_a_write_begun_inside_this_threads_transaction_joins_it(tmp_path: Path) -> None:
    store, reader = SqliteStore(tmp_path / "s.sqlite"), SqliteStore(tmp_path / "s.sqlite")
    with store.transaction():
        store.append_event("r1", EventKind.STEP_STARTED, "plan", {})
        with store.begin_without_waiting():
            store.append_event("r1", EventKind.STEP_FINISHED, "plan", {})
        assert reader.events("r1") == [], "nothing commits before the outer transaction"
    assert [e.seq for e in reader.events("r1")] == [1, 2]
