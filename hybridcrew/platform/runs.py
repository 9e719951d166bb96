"""Runs, their events and their routing decisions, in SQLite under the data dir.

Events are append-only with a per-run sequence number (progress display now, resumable streams
later). Decisions are saved *before* a step calls its model, so a step re-run after a crash
replays the same routing choice.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hybridcrew.errors import HybridCrewError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, task TEXT NOT NULL, workflow TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, folder TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}', summary TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, ts REAL NOT NULL, kind TEXT NOT NULL,
    node TEXT, data TEXT NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS decisions (
    run_id TEXT NOT NULL, step_key TEXT NOT NULL, decision TEXT NOT NULL,
    PRIMARY KEY (run_id, step_key)
);
"""


class RunNotFound(HybridCrewError):
    """No run with that id."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run '{run_id}' (list runs with `hybridcrew runs list`)")


@dataclass(frozen=True)
class RunRow:
    """A run as stored."""

    id: str
    task: str
    workflow: str
    status: str
    created_at: float
    updated_at: float
    folder: str
    options: dict[str, Any]
    summary: dict[str, Any]


@dataclass(frozen=True)
class Event:
    """One step or run event."""

    run_id: str
    seq: int
    ts: float
    kind: str
    node: str | None
    data: dict[str, Any]


class RunStore:
    """SQLite-backed; safe to share between threads of one process and between processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=30,
                                     isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def create_run(self, run_id: str, task: str, workflow: str, folder: Path,
                   options: dict[str, Any]) -> None:
        """Register a new run."""
        now = time.time()
        with self._tx() as db:
            db.execute("INSERT INTO runs VALUES (?, ?, ?, 'running', ?, ?, ?, ?, '{}')",
                       (run_id, task, workflow, now, now, str(folder), json.dumps(options)))

    def set_status(self, run_id: str, status: str, summary: dict[str, Any] | None = None) -> None:
        """Update a run's status (and its summary when given)."""
        with self._tx() as db:
            if summary is None:
                db.execute("UPDATE runs SET status=?, updated_at=? WHERE id=?",
                           (status, time.time(), run_id))
            else:
                db.execute("UPDATE runs SET status=?, updated_at=?, summary=? WHERE id=?",
                           (status, time.time(), json.dumps(summary), run_id))

    def get_run(self, run_id: str) -> RunRow:
        """One run, or :class:`RunNotFound`."""
        with self._lock:
            row = self._conn.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return _run(row)

    def list_runs(self, status: str | None = None, limit: int = 50) -> list[RunRow]:
        """Most recent first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM runs WHERE (? IS NULL OR status=?) ORDER BY created_at DESC "
                "LIMIT ?", (status, status, limit)).fetchall()
        return [_run(r) for r in rows]

    def append_event(self, run_id: str, kind: str, node: str | None,
                     data: dict[str, Any]) -> Event:
        """Append an event with the next sequence number of its run."""
        with self._tx() as db:
            (last,) = db.execute("SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id=?",
                                 (run_id,)).fetchone()
            event = Event(run_id, last + 1, time.time(), kind, node, data)
            db.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)",
                       (run_id, event.seq, event.ts, kind, node, json.dumps(data)))
        return event

    def events(self, run_id: str, after: int = 0) -> list[Event]:
        """Events of a run with ``seq > after``, in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM events WHERE run_id=? AND seq>? ORDER BY seq",
                (run_id, after)).fetchall()
        return [Event(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

    def save_decision(self, run_id: str, step_key: str, decision: dict[str, Any]) -> None:
        """Record the routing decision of a step (first write wins: replays keep the original)."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO decisions VALUES (?, ?, ?)",
                       (run_id, step_key, json.dumps(decision)))

    def decision(self, run_id: str, step_key: str) -> dict[str, Any] | None:
        """The recorded decision of a step, if any."""
        with self._lock:
            row = self._conn.execute(
                "SELECT decision FROM decisions WHERE run_id=? AND step_key=?",
                (run_id, step_key)).fetchone()
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        """Close the connection."""
        self._conn.close()


def _run(row: tuple[Any, ...]) -> RunRow:
    return RunRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]),
                  json.loads(row[8]))
