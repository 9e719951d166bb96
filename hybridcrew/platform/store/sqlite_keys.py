"""The API keys of the SQLite store: only a digest of each secret, a tenant, a role, limits."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager
from typing import Any

from hybridcrew.platform.store.base import ApiKey, KeyLimits
from hybridcrew.platform.store.sqlite_schema import key_row


class SqliteKeyRing(ABC):
    """The API keys' part of :class:`SqliteStore`."""

    @abstractmethod
    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction (provided by the store)."""

    @abstractmethod
    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        """One row of a read (provided by the store)."""

    @abstractmethod
    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Every row of a read (provided by the store)."""

    def add_key(self, key: ApiKey) -> None:
        """Store a new key."""
        with self._tx() as db:
            db.execute("INSERT INTO api_keys (id, digest, tenant, role, name, created_at, "
                       "revoked_at, requests_per_minute, tokens_per_minute) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (key.id, key.digest, key.tenant, key.role, key.name, key.created_at,
                        key.revoked_at, key.limits.requests_per_minute,
                        key.limits.tokens_per_minute))

    def get_key(self, key_id: str) -> ApiKey | None:
        """A key by id."""
        row = self._one("SELECT * FROM api_keys WHERE id=?", (key_id,))
        return key_row(row) if row else None

    def list_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Keys, oldest first."""
        return [key_row(r) for r in self._all(
            "SELECT * FROM api_keys WHERE (? IS NULL OR tenant=?) ORDER BY created_at, id",
            (tenant, tenant))]

    def revoke_key(self, key_id: str, at: float) -> bool:
        """Revoke a key."""
        with self._tx() as db:
            cursor = db.execute("UPDATE api_keys SET revoked_at=COALESCE(revoked_at, ?) "
                                "WHERE id=?", (at, key_id))
        return cursor.rowcount > 0

    def set_key_limits(self, key_id: str, limits: KeyLimits) -> bool:
        """Replace a key's own rate limits."""
        with self._tx() as db:
            cursor = db.execute("UPDATE api_keys SET requests_per_minute=?, tokens_per_minute=? "
                                "WHERE id=?", (limits.requests_per_minute,
                                               limits.tokens_per_minute, key_id))
        return cursor.rowcount > 0
