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
        tune_for_durable_writes(self._conn)
        self._conn.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}

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

    def append_event(self, run_id: str, kind: str, node: str | None, data: dict[str, Any],
                     decision: tuple[str, dict[str, Any]] | None = None) -> Event:
        """Append an event with the next sequence number of its run.

        ``decision`` (step key, decision record) is saved in the same transaction: a step's
        routing decision is durable before its model is called, at the cost of one commit.
        """
        payload = json.dumps(data)
        # As few SQLite calls as possible: each one releases the GIL, and getting it back can
        # cost a full switch interval while branch threads and the checkpointer run Python.
        with self._lock:
            for _ in range(3):
                seq = self._next_seq(run_id)
                event = Event(run_id, seq, time.time(), kind, node, data)
                row = (run_id, seq, event.ts, kind, node, payload)
                try:
                    if decision is None:
                        self._conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", row)
                    else:  # first write wins: a replayed step keeps its original decision
                        self._conn.execute("BEGIN")
                        self._conn.execute("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)", row)
                        self._conn.execute("INSERT OR IGNORE INTO decisions VALUES (?, ?, ?)",
                                           (run_id, decision[0], json.dumps(decision[1])))
                        self._conn.execute("COMMIT")
                except sqlite3.IntegrityError:  # another process appended to this run
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    self._seq.pop(run_id, None)
                    continue
                self._seq[run_id] = seq
                return event
        raise RuntimeError(f"could not append an event to run {run_id}")

    def _next_seq(self, run_id: str) -> int:
        if run_id not in self._seq:
            (last,) = self._conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE run_id=?", (run_id,)).fetchone()
            self._seq[run_id] = last
        return self._seq[run_id] + 1

    def events(self, run_id: str, after: int = 0) -> list[Event]:
        """Events of a run with ``seq > after``, in order."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT * FROM events WHERE run_id=? AND seq>? ORDER BY seq",
                (run_id, after)).fetchall()
        return [Event(r[0], r[1], r[2], r[3], r[4], json.loads(r[5])) for r in rows]

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


def tune_for_durable_writes(conn: sqlite3.Connection) -> None:
    """WAL with ``synchronous=NORMAL``.

    A committed write survives the process being killed at any moment (only an OS crash or power
    loss can lose the last commits), without an fsync per commit, which otherwise dominates the
    per-step overhead.
    """
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


def _run(row: tuple[Any, ...]) -> RunRow:
    return RunRow(row[0], row[1], row[2], row[3], row[4], row[5], row[6], json.loads(row[7]),
                  json.loads(row[8]))
