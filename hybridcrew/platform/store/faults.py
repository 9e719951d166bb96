"""Store faults (disk full, a corrupt page, a lock held too long, Redis gone) named for people.

SQLite and Redis report these as driver exceptions from deep inside a step, a checkpoint or a
request. They are not bugs: the gateway answers 503 with the reason, a run they stop is marked
failed (resumable once the cause is fixed), and readiness says not-ready while they recur.
"""

from __future__ import annotations

import sqlite3
import threading
import time

RECENT_S = 5.0
"""A fault seen this recently keeps ``/readyz`` not ready."""

_SQLITE_REASONS = (
    ("full", "the disk that holds the data directory is full: free space, then resume the runs"),
    ("locked", "the database is locked by another process for too long: find the process "
               "holding it (e.g. an open sqlite3 shell) and stop it"),
    ("busy", "the database is locked by another process for too long: find the process "
             "holding it (e.g. an open sqlite3 shell) and stop it"),
    ("malformed", "a database file in the data directory is corrupt: restore it from a backup "
                  "(or move it away to start afresh)"),
    ("not a database", "a database file in the data directory is corrupt: restore it from a "
                       "backup (or move it away to start afresh)"),
    ("disk i/o", "the disk that holds the data directory failed a read or write"),
    ("readonly", "the data directory is read-only for this process"),
)


def _redis_errors() -> tuple[type[Exception], ...]:
    try:
        from redis import exceptions  # noqa: PLC0415 - optional extra
    except ImportError:
        return ()
    return (exceptions.ConnectionError, exceptions.TimeoutError, exceptions.BusyLoadingError,
            exceptions.ReadOnlyError)


REDIS_ERRORS = _redis_errors()
DRIVER_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, *REDIS_ERRORS)
"""The drivers' exceptions that are store faults (Redis's only where the extra is installed)."""


def fault_reason(exc: BaseException) -> str | None:
    """Why ``exc`` (or what caused it) is a store fault, or None if it is not one."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.Error):
            message = str(current).lower()
            return next((reason for marker, reason in _SQLITE_REASONS if marker in message),
                        "the database failed; the gateway's log has the details")
        if isinstance(current, REDIS_ERRORS):
            return "Redis cannot be reached (HYBRIDCREW_REDIS_URL): check that it is up"
        current = current.__cause__ or current.__context__
    return None


class Faults:
    """The last store fault this process met, for readiness."""

    def __init__(self) -> None:
        self._last: tuple[float, str] | None = None
        self._lock = threading.Lock()

    def record(self, exc: BaseException) -> str | None:
        """Remember ``exc`` if it is a store fault; return its reason (None otherwise)."""
        reason = fault_reason(exc)
        if reason is not None:
            with self._lock:
                self._last = (time.monotonic(), reason)
        return reason

    def recent(self, within_s: float = RECENT_S) -> str | None:
        """The reason of a fault seen within ``within_s`` seconds, if any."""
        with self._lock:
            last = self._last
        if last is not None and time.monotonic() - last[0] <= within_s:
            return last[1]
        return None
