"""Shared short-term state: one interface, an embedded SQLite backend and a shared Redis one."""

from __future__ import annotations

from pathlib import Path

from hybridcrew.platform.store.base import (
    ROLES,
    ApiKey,
    KeyLimits,
    Role,
    RunExists,
    RunNotFound,
    RunRow,
    Store,
)
from hybridcrew.platform.store.sqlite import SqliteStore
from hybridcrew.settings import Settings

__all__ = ["ROLES", "ApiKey", "KeyLimits", "Role", "RunExists", "RunNotFound", "RunRow",
           "SqliteStore", "Store", "open_store"]


def open_store(settings: Settings) -> Store:
    """Redis when ``HYBRIDCREW_REDIS_URL`` is set, else SQLite under the data dir."""
    if settings.redis_url:
        from hybridcrew.platform.store.redis import RedisStore  # noqa: PLC0415 - optional extra

        return RedisStore(settings.redis_url)
    path = settings.data_dir / "store.sqlite"
    _adopt_runs_file(path)
    return SqliteStore(path)


def _adopt_runs_file(path: Path) -> None:
    """Versions before the store interface kept runs in ``runs.sqlite``: keep them."""
    old = path.with_name("runs.sqlite")
    if old.exists() and not path.exists():
        for suffix in ("", "-wal", "-shm"):
            if (source := old.with_name(old.name + suffix)).exists():
                source.rename(path.with_name(path.name + suffix))
