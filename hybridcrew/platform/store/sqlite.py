"""The embedded store: one SQLite file under the data dir.

Safe to share between the threads of one process and between processes on one machine (its
connections and transactions: :mod:`.sqlite_connections`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

from hybridcrew.graphs.lifecycle import (
    Event,
    EventKind,
    RunStatus,
)
from hybridcrew.graphs.ports import (
    MAX_OUTCOMES,
    OUTCOME_CHARS,
    JudgedStep,
    RecordedDecision,
    StepText,
)
from hybridcrew.platform.store.base import LEASE_PREFIX, RunExists, RunNotFound, RunRow, Store
from hybridcrew.platform.store.sqlite_connections import SqliteConnections
from hybridcrew.platform.store.sqlite_keys import SqliteKeyRing
from hybridcrew.platform.store.sqlite_proxy import SqliteProxyLog
from hybridcrew.platform.store.sqlite_schema import (
    ACTIVE,
    APPEND,
    SCHEMA,
    SET_STATUS,
    run_row,
)
from hybridcrew.platform.store.sqlite_webhooks import SqliteWebhookLog
from hybridcrew.routing.decision import DecisionRecord


class SqliteStore(SqliteConnections, SqliteKeyRing, SqliteProxyLog, SqliteWebhookLog, Store):
    """The embedded backend."""

    local_reads = True

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._conn.executescript(SCHEMA)
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(runs)")}
        if "tenant" not in columns:  # a store written before tenants existed
            self._conn.execute("ALTER TABLE runs ADD COLUMN tenant TEXT NOT NULL DEFAULT "
                               "'default'")
        columns = {row[1] for row in self._conn.execute("PRAGMA table_info(api_keys)")}
        for limit in ("requests_per_minute", "tokens_per_minute"):  # before per-key limits
            if limit not in columns:
                self._conn.execute(f"ALTER TABLE api_keys ADD COLUMN {limit} INTEGER")
        self._conn.execute("CREATE INDEX IF NOT EXISTS runs_by_status ON runs (status, "
                           "created_at)")
        self._conn.execute("CREATE INDEX IF NOT EXISTS runs_by_tenant ON runs (tenant, "
                           "created_at)")

    # -- runs --------------------------------------------------------------------------------

    def create_run(self, run: RunRow) -> None:
        """Register a new run."""
        with self._tx() as db:
            inserted = db.execute(
                "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (run.id, run.task, run.workflow, run.status, run.created_at, run.updated_at,
                 run.folder, json.dumps(run.options), json.dumps(run.summary), run.tenant))
            if not inserted.rowcount:
                raise RunExists(run.id)

    def set_status(self, run_id: str, status: RunStatus, summary: dict[str, Any] | None = None
                   ) -> bool:
        """Update a run's status (and its summary when given) unless it has ended."""
        with self._tx() as db:
            cursor = db.execute(
                SET_STATUS,
                (status, time.time(), None if summary is None else json.dumps(summary), run_id,
                 status))
        return cursor.rowcount > 0

    def end_run(self, run_id: str, status: RunStatus, summary: dict[str, Any], kind: EventKind,
                data: dict[str, Any]) -> Event | None:
        """Final status and terminal event together, only for a run that is still active."""
        ts = time.time()
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE runs SET status=?, updated_at=?, summary=? WHERE id=? AND "  # noqa: S608 - statuses are constants
                f"status IN ({ACTIVE})",
                (status, ts, json.dumps(summary), run_id))
            if cursor.rowcount == 0:
                return None
            (seq,) = db.execute(APPEND, (run_id, ts, kind, None, json.dumps(data),
                                          run_id)).fetchone()
        return Event(run_id, int(seq), ts, kind, None, data)

    def get_run(self, run_id: str, tenant: str | None = None) -> RunRow:
        """One run, or :class:`RunNotFound`."""
        row = self._one("SELECT * FROM runs WHERE id=? AND (? IS NULL OR tenant=?)",
                        (run_id, tenant, tenant))
        if row is None:
            raise RunNotFound(run_id)
        return run_row(row)

    def list_runs(self, *, tenant: str | None = None, status: RunStatus | None = None,
                  limit: int = 50, offset: int = 0) -> list[RunRow]:
        """Most recent first."""
        rows = self._all(
            "SELECT * FROM runs WHERE (? IS NULL OR status=?) AND (? IS NULL OR tenant=?) "
            "ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
            (status, status, tenant, tenant, limit, offset))
        return [run_row(r) for r in rows]

    # -- events and decisions ------------------------------------------------------------------

    def append_event(self, run_id: str, kind: EventKind, node: str | None, data: dict[str, Any],
                     decision: RecordedDecision | None = None) -> Event:
        """Append an event (and a decision, first write wins) in one transaction.

        The sequence number is computed by the INSERT itself, under SQLite's write lock, so
        concurrent writers in several processes never collide or leave gaps.
        """
        ts = time.time()
        args = (run_id, ts, kind, node, json.dumps(data), run_id)
        # As few SQLite calls as possible: each one releases the GIL, and getting it back can
        # cost a full switch interval while other threads run Python.
        with self._lock:
            if decision is None and not self._open:  # one statement: its own transaction
                (seq,) = self._conn.execute(APPEND, args).fetchone()
            else:
                with self._tx() as db:
                    (seq,) = db.execute(APPEND, args).fetchone()
                    if decision is not None:
                        db.execute("INSERT OR IGNORE INTO decisions VALUES (?, ?, ?)",
                                   (run_id, decision[0], json.dumps(decision[1])))
        return Event(run_id, int(seq), ts, kind, node, data)

    def events(self, run_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        """Events of a run with ``seq > after``, in order."""
        rows = self._all("SELECT * FROM events WHERE run_id=? AND seq>? ORDER BY seq LIMIT ?",
                         (run_id, after, -1 if limit is None else limit))
        return [Event(r[0], r[1], r[2], EventKind(r[3]), r[4], json.loads(r[5])) for r in rows]

    def decision(self, run_id: str, step_key: str) -> DecisionRecord | None:
        """The recorded decision of a step, if any."""
        row = self._one("SELECT decision FROM decisions WHERE run_id=? AND step_key=?",
                        (run_id, step_key))
        return cast(DecisionRecord, json.loads(row[0])) if row else None

    def record_decision(self, run_id: str, step_key: str, decision: DecisionRecord) -> None:
        """Keep a decision no event carries; the first write wins."""
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO decisions VALUES (?, ?, ?)",
                       (run_id, step_key, json.dumps(decision)))

    # -- budgets ----------------------------------------------------------------------------------

    def spend(self, scope: str, amount_usd: float, cap_usd: float | None = None,
              charge_id: str | None = None) -> bool:
        """Add to ``scope`` unless it would pass the cap (one immediate transaction)."""
        with self._tx() as db:
            if charge_id is not None and db.execute(
                    "SELECT 1 FROM charges WHERE scope=? AND charge_id=?", (scope, charge_id)
            ).fetchone():
                return True  # charged already
            row = db.execute("SELECT spent FROM budgets WHERE scope=?", (scope,)).fetchone()
            total = (row[0] if row else 0.0) + amount_usd
            if cap_usd is not None and total > cap_usd + 1e-12:
                return False
            if charge_id is not None:
                db.execute("INSERT INTO charges VALUES (?, ?)", (scope, charge_id))
            db.execute("INSERT INTO budgets VALUES (?, ?) ON CONFLICT(scope) DO UPDATE SET "
                       "spent=excluded.spent", (scope, total))
        return True

    def spent(self, scope: str) -> float:
        """What ``scope`` has spent so far."""
        row = self._one("SELECT spent FROM budgets WHERE scope=?", (scope,))
        return float(row[0]) if row else 0.0

    # -- router feedback -----------------------------------------------------------------------

    def record_verdict(self, model: str, agent: str, approved: bool, weight: int = 1) -> None:
        """Count a QA verdict, as ``weight`` verdicts."""
        with self._tx() as db:
            db.execute("INSERT INTO verdicts VALUES (?, ?, ?, ?) ON CONFLICT(model, agent) DO "
                       "UPDATE SET approved=approved+excluded.approved, "
                       "total=total+excluded.total", (model, agent, int(approved) * weight, weight))

    def verdicts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(model, agent) → (approved, total)."""
        return {(m, a): (ok, n) for m, a, ok, n in self._all("SELECT * FROM verdicts")}

    def record_step_text(self, run_id: str, key: str, outcome: StepText) -> None:
        """Keep a step's text until it is judged (the oldest kept steps go first)."""
        with self._tx() as db:
            db.execute("INSERT INTO step_outcomes (run_id, step_key, model, agent, step, text) "
                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(run_id, step_key) DO UPDATE SET "
                       "model=excluded.model, agent=excluded.agent, step=excluded.step, "
                       "text=excluded.text, success=NULL",
                       (run_id, key, outcome.model, outcome.agent, outcome.step,
                        outcome.text[:OUTCOME_CHARS]))
            db.execute("DELETE FROM step_outcomes WHERE id <= "
                       "(SELECT MAX(id) FROM step_outcomes) - ?", (MAX_OUTCOMES,))

    def record_outcome(self, run_id: str, key: str, success: bool, weight: int = 1) -> None:
        """Judge a kept step, once."""
        with self._tx() as db:
            judged = db.execute("UPDATE step_outcomes SET success=?, weight=? WHERE run_id=? "
                                "AND step_key=? AND success IS NULL",
                                (int(success), weight, run_id, key)).rowcount
            if judged:
                db.execute("INSERT INTO counters VALUES ('judged', 1) ON CONFLICT(name) "
                           "DO UPDATE SET value=value+1")

    def judged_steps(self) -> list[JudgedStep]:
        """Every judged step kept, oldest first."""
        return [JudgedStep(StepText(model, agent, step, text), bool(success), weight)
                for model, agent, step, text, success, weight in self._all(
                    "SELECT model, agent, step, text, success, weight FROM step_outcomes "
                    "WHERE success IS NOT NULL ORDER BY id")]

    def judged_total(self) -> int:
        """Steps ever judged."""
        row = self._one("SELECT value FROM counters WHERE name='judged'", ())
        return int(row[0]) if row else 0

    # -- agent assignment overrides --------------------------------------------------------------

    def set_assignment(self, agent: str, assignment: dict[str, Any]) -> None:
        """Persist an agent's assignment."""
        with self._tx() as db:
            db.execute("INSERT INTO assignments VALUES (?, ?) ON CONFLICT(agent) DO UPDATE SET "
                       "assignment=excluded.assignment", (agent, json.dumps(assignment)))

    def assignments(self) -> dict[str, dict[str, Any]]:
        """Every persisted override."""
        return {a: json.loads(v) for a, v in self._all("SELECT * FROM assignments")}

    # -- local model slots ------------------------------------------------------------------------

    def acquire_slot(self, name: str, holder: str, limit: int, ttl_s: float) -> bool:
        """Take a slot if fewer than ``limit`` live holders have one."""
        now = time.time()
        with self._tx() as db:
            db.execute("DELETE FROM slots WHERE name=? AND expires<=?", (name, now))
            (held,) = db.execute("SELECT COUNT(*) FROM slots WHERE name=? AND holder=?",
                                 (name, holder)).fetchone()
            (count,) = db.execute("SELECT COUNT(*) FROM slots WHERE name=?", (name,)).fetchone()
            if not held and count >= limit:
                return False
            db.execute("INSERT OR REPLACE INTO slots VALUES (?, ?, ?)", (name, holder, now + ttl_s))
        return True

    def release_slot(self, name: str, holder: str) -> None:
        """Give a slot back."""
        with self._tx() as db:
            db.execute("DELETE FROM slots WHERE name=? AND holder=?", (name, holder))

    def slots_in_use(self, name: str) -> int:
        """Live holders of ``name``."""
        (count,) = self._one("SELECT COUNT(*) FROM slots WHERE name=? AND expires>?",
                             (name, time.time()))
        return int(count)

    # -- run leases: one statement each for renewal and for the orphan scan ---------------------

    def renew_leases(self, run_ids: Iterable[str], owner: str, ttl_s: float) -> set[str]:
        """Extend every live lease of ``owner`` among ``run_ids`` in one transaction."""
        names = [LEASE_PREFIX + r for r in run_ids]
        if not names:
            return set()
        now = time.time()
        marks = ",".join("?" * len(names))
        with self._tx() as db:
            kept = db.execute(
                f"UPDATE slots SET expires=? WHERE holder=? AND expires>? AND name IN ({marks}) "  # noqa: S608 - placeholders only
                "RETURNING name", (now + ttl_s, owner, now, *names)).fetchall()
        return {name.removeprefix(LEASE_PREFIX) for (name,) in kept}

    def orphaned_runs(self, stale_after_s: float, limit: int = 500) -> list[RunRow]:
        """Queued (stale) or running runs without a live lease, in one query."""
        now = time.time()
        rows = self._all(
            "SELECT runs.* FROM runs LEFT JOIN slots ON slots.name = ? || runs.id "  # noqa: S608 - statuses are constants
            f"AND slots.expires > ? WHERE (runs.status = '{RunStatus.RUNNING}' OR (runs.status = "
            f"'{RunStatus.QUEUED}' AND runs.updated_at < ?)) AND slots.name IS NULL "
            "ORDER BY runs.created_at LIMIT ?",
            (LEASE_PREFIX, now, now - stale_after_s, limit))
        return [run_row(r) for r in rows]

    # -- lifecycle ---------------------------------------------------------------------------------

    def ping(self) -> None:
        """Commit one tiny write: readiness means the store can write, not only read."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO health VALUES (1, ?)", (time.time(),))
