"""SQLite transactions: a step's writes land together or not at all, and are heard after."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridcrew.graphs.events import EventSink
from hybridcrew.graphs.lifecycle import Event, EventKind
from hybridcrew.graphs.ports import StepText
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
