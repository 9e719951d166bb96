"""The SQLite store's tables and the statements its writes share, and its rows as values.

Kept apart from :mod:`.sqlite` (how the store uses them) so the schema reads in one place;
:func:`tune_for_durable_writes` is shared with the SQLite checkpointer.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, cast

from hybridcrew.graphs.lifecycle import ACTIVE_STATUSES, REOPENABLE_STATUSES, RunStatus
from hybridcrew.platform.store.base import ApiKey, KeyLimits, Role, RunRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, task TEXT NOT NULL, workflow TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, folder TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}', summary TEXT NOT NULL DEFAULT '{}',
    tenant TEXT NOT NULL DEFAULT 'default'
);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, ts REAL NOT NULL, kind TEXT NOT NULL,
    node TEXT, data TEXT NOT NULL, PRIMARY KEY (run_id, seq)
);
CREATE TABLE IF NOT EXISTS decisions (
    run_id TEXT NOT NULL, step_key TEXT NOT NULL, decision TEXT NOT NULL,
    PRIMARY KEY (run_id, step_key)
);
CREATE TABLE IF NOT EXISTS budgets (scope TEXT PRIMARY KEY, spent REAL NOT NULL);
CREATE TABLE IF NOT EXISTS health (id INTEGER PRIMARY KEY, checked_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS charges (
    scope TEXT NOT NULL, charge_id TEXT NOT NULL, PRIMARY KEY (scope, charge_id)
);
CREATE TABLE IF NOT EXISTS verdicts (
    model TEXT NOT NULL, agent TEXT NOT NULL, approved INTEGER NOT NULL, total INTEGER NOT NULL,
    PRIMARY KEY (model, agent)
);
CREATE TABLE IF NOT EXISTS step_outcomes (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL, step_key TEXT NOT NULL,
    model TEXT NOT NULL, agent TEXT NOT NULL, step TEXT NOT NULL, text TEXT NOT NULL,
    success INTEGER, weight INTEGER NOT NULL DEFAULT 1, UNIQUE (run_id, step_key)
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assignments (agent TEXT PRIMARY KEY, assignment TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, digest TEXT NOT NULL, tenant TEXT NOT NULL, role TEXT NOT NULL,
    name TEXT NOT NULL, created_at REAL NOT NULL, revoked_at REAL,
    requests_per_minute INTEGER, tokens_per_minute INTEGER
);
CREATE TABLE IF NOT EXISTS conversations (
    tenant TEXT NOT NULL, conversation TEXT NOT NULL, taint INTEGER NOT NULL,
    updated_at REAL NOT NULL, PRIMARY KEY (tenant, conversation)
);
CREATE TABLE IF NOT EXISTS rate_windows (
    name TEXT NOT NULL, window INTEGER NOT NULL, total INTEGER NOT NULL,
    PRIMARY KEY (name, window)
);
CREATE TABLE IF NOT EXISTS webhooks (
    id TEXT PRIMARY KEY, tenant TEXT NOT NULL, url TEXT NOT NULL, events TEXT NOT NULL,
    secret TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY, webhook_id TEXT NOT NULL, tenant TEXT NOT NULL, event TEXT NOT NULL,
    body TEXT NOT NULL, created_at REAL NOT NULL, status TEXT NOT NULL, next_at REAL NOT NULL,
    claimed_by TEXT NOT NULL, claim_until REAL NOT NULL, attempts TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_at);
CREATE INDEX IF NOT EXISTS deliveries_of ON deliveries (webhook_id, created_at);
CREATE TABLE IF NOT EXISTS slots (
    name TEXT NOT NULL, holder TEXT NOT NULL, expires REAL NOT NULL, PRIMARY KEY (name, holder)
);
"""


def _sql_list(statuses: frozenset[RunStatus]) -> str:
    return ", ".join(f"'{s}'" for s in sorted(statuses))


ACTIVE = _sql_list(ACTIVE_STATUSES)
# Final statuses never change, except failed/blocked back to running (an explicit resume).
SET_STATUS = ("UPDATE runs SET status=?, updated_at=?, summary=COALESCE(?, summary) WHERE id=? "  # noqa: S608 - statuses are constants
               f"AND (status IN ({ACTIVE}) OR "
               f"(status IN ({_sql_list(REOPENABLE_STATUSES)}) AND ? = '{RunStatus.RUNNING}'))")
APPEND = ("INSERT INTO events SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ? FROM events "
           "WHERE run_id=? RETURNING seq")


def tune_for_durable_writes(conn: sqlite3.Connection) -> None:
    """WAL with ``synchronous=NORMAL``.

    A committed write survives the process being killed at any moment (only an OS crash or power
    loss can lose the last commits), without an fsync per commit, which otherwise dominates the
    per-step overhead.
    """
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")


def run_row(row: tuple[Any, ...]) -> RunRow:
    """A ``runs`` row as a value."""
    return RunRow(row[0], row[1], row[2], RunStatus(row[3]), row[4], row[5], row[6],
                  json.loads(row[7]), json.loads(row[8]), row[9])


def key_row(row: tuple[Any, ...]) -> ApiKey:
    """An ``api_keys`` row as a value."""
    return ApiKey(row[0], row[1], row[2], cast(Role, row[3]), row[4], row[5], row[6],
                  KeyLimits(row[7], row[8]))
