"""What the compatible endpoints keep in SQLite: rate windows and conversations' sensitivity."""

from __future__ import annotations

import sqlite3
import time
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Any


class SqliteProxyLog(ABC):
    """The compatible endpoints' part of :class:`SqliteStore`."""

    @abstractmethod
    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (provided by the store)."""

    @abstractmethod
    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        """One row of a read (provided by the store)."""

    # -- rate limits ---------------------------------------------------------------------------

    def add_to_window(self, name: str, window: int, amount: int) -> int:
        """Add to the window's counter (older windows of every counter are dropped)."""
        with self._tx() as db:
            db.execute("DELETE FROM rate_windows WHERE window < ?", (window - 1,))
            (total,) = db.execute(
                "INSERT INTO rate_windows VALUES (?, ?, ?) ON CONFLICT(name, window) DO UPDATE "
                "SET total=total+excluded.total RETURNING total", (name, window, amount)
            ).fetchone()
        return int(total)

    # -- conversations -------------------------------------------------------------------------

    def conversation_taint(self, tenant: str, conversation: str) -> int:
        """The highest sensitivity the conversation has carried (0 when unknown)."""
        row = self._one("SELECT taint FROM conversations WHERE tenant=? AND conversation=?",
                        (tenant, conversation))
        return int(row[0]) if row else 0

    def taint_conversation(self, tenant: str, conversation: str, level: int) -> None:
        """Raise the conversation's sensitivity to at least ``level``."""
        with self._tx() as db:
            db.execute("INSERT INTO conversations VALUES (?, ?, ?, ?) ON CONFLICT(tenant, "
                       "conversation) DO UPDATE SET taint=MAX(taint, excluded.taint), "
                       "updated_at=excluded.updated_at", (tenant, conversation, level,
                                                          time.time()))
