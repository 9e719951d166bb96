"""The SQLite store's connections: one writer, a pool of readers, and its transactions.

Safe to share between the threads of one process and between processes on one machine (WAL,
busy timeout, ``BEGIN IMMEDIATE`` for read-modify-write). A writer that must not wait (an
event loop) begins its transaction with :meth:`SqliteConnections.begin_without_waiting`.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from hybridcrew.platform.store.base import WouldWait
from hybridcrew.platform.store.sqlite_schema import tune_for_durable_writes

BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another process's lock before it fails (a 503, not a hang)."""


class SqliteConnections:
    """The connections of one SQLite file, and write transactions on them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(path, check_same_thread=False, timeout=BUSY_TIMEOUT_S,
                                     isolation_level=None)
        tune_for_durable_writes(self._conn)
        # Reentrant: the writes inside transaction() take it again on the same thread.
        self._lock = threading.RLock()
        self._open = False  # a write transaction is open (only the lock's holder looks)
        # Reads take a connection from a pool (as many as were ever needed at once): WAL lets
        # them run beside the writer instead of queueing behind every event append.
        self.path = path
        """The database file."""
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._readers: list[sqlite3.Connection] = []
        # Not the writer's lock: a reader opened on an event loop must not wait for a writer.
        self._readers_lock = threading.Lock()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; inside :meth:`transaction` (same thread), part of that one."""
        with self._lock:
            if self._open:
                yield self._conn
                return
            self._conn.execute("BEGIN IMMEDIATE")
            with self._committing():
                yield self._conn

    @contextmanager
    def _committing(self) -> Iterator[None]:
        """The open transaction: committed after the block, rolled back if it fails."""
        self._open = True
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        finally:
            self._open = False

    def begin_without_waiting(self) -> AbstractContextManager[None]:
        """A write transaction begun now, or :class:`WouldWait`.

        It would wait while another thread of this process writes (the lock is taken) or
        another process holds the database's write lock (``BEGIN IMMEDIATE`` with no busy
        timeout answers at once).
        """
        if not self._lock.acquire(blocking=False):
            raise WouldWait
        try:
            if self._open:  # this thread's own transaction is open: the writes join it
                return self._releasing(nullcontext())
            self._conn.execute("PRAGMA busy_timeout = 0")
            try:
                self._conn.execute("BEGIN IMMEDIATE")
            finally:
                self._conn.execute(f"PRAGMA busy_timeout = {round(BUSY_TIMEOUT_S * 1000)}")
        except sqlite3.OperationalError as exc:
            self._lock.release()
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                raise WouldWait from exc
            raise
        except BaseException:
            self._lock.release()
            raise
        return self._releasing(self._committing())

    @contextmanager
    def _releasing(self, inner: AbstractContextManager[None]) -> Iterator[None]:
        try:
            with inner:
                yield
        finally:
            self._lock.release()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Writes made inside commit together, or not at all (one commit for all of them)."""
        with self._tx():
            yield

    def _rollback(self) -> None:
        """Roll back what is open (a failed COMMIT, e.g. on a full disk, leaves it open)."""
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")

    @contextmanager
    def _reader(self) -> Iterator[sqlite3.Connection]:
        try:
            reader = self._idle.get_nowait()
        except queue.Empty:
            reader = sqlite3.connect(self.path, check_same_thread=False, timeout=BUSY_TIMEOUT_S,
                                     isolation_level=None)
            reader.execute("PRAGMA query_only=ON")
            with self._readers_lock:
                self._readers.append(reader)
        try:
            yield reader
        finally:
            self._idle.put(reader)

    def _one(self, sql: str, args: tuple[Any, ...]) -> Any:
        with self._reader() as reader:
            return reader.execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        with self._reader() as reader:
            return reader.execute(sql, args).fetchall()

    def close(self) -> None:
        """Close the connections."""
        with self._lock, self._readers_lock:
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._conn.close()
