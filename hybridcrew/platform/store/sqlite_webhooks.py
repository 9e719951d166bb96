"""Webhook subscriptions and deliveries in SQLite (tables in :mod:`.sqlite_schema`)."""

from __future__ import annotations

import json
import sqlite3
from abc import abstractmethod
from contextlib import AbstractContextManager
from dataclasses import asdict
from typing import Any

from hybridcrew.platform.store.webhooks import (
    KEPT_DELIVERIES,
    Attempt,
    Delivery,
    DeliveryStatus,
    Webhook,
    WebhookLog,
)


class SqliteWebhookLog(WebhookLog):
    """The webhook part of :class:`SqliteStore`."""

    @abstractmethod
    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (provided by the store)."""

    @abstractmethod
    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Rows of a read (provided by the store)."""

    def add_webhook(self, hook: Webhook) -> None:
        """Register a subscription."""
        with self._tx() as db:
            db.execute("INSERT INTO webhooks VALUES (?, ?, ?, ?, ?, ?)",
                       (hook.id, hook.tenant, hook.url, json.dumps(hook.events), hook.secret,
                        hook.created_at))

    def webhooks(self, tenant: str | None = None) -> list[Webhook]:
        """Subscriptions, oldest first."""
        rows = self._all("SELECT * FROM webhooks WHERE ? IS NULL OR tenant=? ORDER BY "
                         "created_at, id", (tenant, tenant))
        return [Webhook(r[0], r[1], r[2], tuple(json.loads(r[3])), r[4], r[5]) for r in rows]

    def remove_webhook(self, tenant: str, webhook_id: str) -> bool:
        """Delete a subscription (its deliveries stop being sent)."""
        with self._tx() as db:
            gone = db.execute("DELETE FROM webhooks WHERE id=? AND tenant=?",
                              (webhook_id, tenant)).rowcount
            db.execute("UPDATE deliveries SET status='failed' WHERE webhook_id=? AND "
                       "status='pending'", (webhook_id,))
        return gone > 0

    def enqueue_deliveries(self, deliveries: list[Delivery]) -> None:
        """Queue deliveries."""
        with self._tx() as db:
            db.executemany("INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
                           "'', 0, '[]')",
                           [(d.id, d.webhook_id, d.tenant, d.event, d.body, d.created_at,
                             d.status, d.next_at) for d in deliveries])

    def claim_deliveries(self, now: float, holder: str, lease_s: float, limit: int
                         ) -> list[Delivery]:
        """Claim due pending deliveries that no live claim holds."""
        with self._tx() as db:
            rows = db.execute(
                "UPDATE deliveries SET claimed_by=?, claim_until=? WHERE id IN (SELECT id FROM "
                "deliveries WHERE status='pending' AND next_at<=? AND claim_until<? ORDER BY "
                "next_at LIMIT ?) RETURNING *", (holder, now + lease_s, now, now, limit)
            ).fetchall()
        return sorted((_delivery(r) for r in rows), key=lambda d: d.next_at)

    def record_attempt(self, delivery_id: str, attempt: Attempt, status: DeliveryStatus,
                       next_at: float) -> None:
        """Log the attempt and release the claim."""
        with self._tx() as db:
            row = db.execute("SELECT attempts, webhook_id FROM deliveries WHERE id=?",
                             (delivery_id,)).fetchone()
            if row is None:
                return
            log = [*json.loads(row[0]), asdict(attempt)]
            db.execute("UPDATE deliveries SET attempts=?, status=?, next_at=?, claimed_by='', "
                       "claim_until=0 WHERE id=?", (json.dumps(log), status, next_at,
                                                    delivery_id))
            if status != "pending":  # keep a subscription's history bounded
                db.execute("DELETE FROM deliveries WHERE webhook_id=? AND status!='pending' AND "
                           "id NOT IN (SELECT id FROM deliveries WHERE webhook_id=? ORDER BY "
                           "created_at DESC LIMIT ?)", (row[1], row[1], KEPT_DELIVERIES))

    def deliveries(self, webhook_id: str, limit: int = 50) -> list[Delivery]:
        """Newest first."""
        return [_delivery(r) for r in self._all(
            "SELECT * FROM deliveries WHERE webhook_id=? ORDER BY created_at DESC, id LIMIT ?",
            (webhook_id, limit))]


def _delivery(row: tuple[Any, ...]) -> Delivery:
    # Columns: id, webhook_id, tenant, event, body, created_at, status, next_at, claimed_by,
    # claim_until, attempts.
    return Delivery(row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
                    tuple(Attempt(**a) for a in json.loads(row[10])))
