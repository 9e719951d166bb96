"""A data dir written before the store interface keeps its runs."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hybridcrew.platform.store import open_store
from hybridcrew.settings import load_settings

OLD_SCHEMA = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY, task TEXT NOT NULL, workflow TEXT NOT NULL, status TEXT NOT NULL,
    created_at REAL NOT NULL, updated_at REAL NOT NULL, folder TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}', summary TEXT NOT NULL DEFAULT '{}'
);
INSERT INTO runs VALUES ('r1', 'old task', 'delivery', 'finished', 1, 2, '/f', '{}', '{}');
"""


def test_runs_of_an_older_version_are_kept(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with sqlite3.connect(tmp_path / "runs.sqlite") as conn:
        conn.executescript(OLD_SCHEMA)
    store = open_store(settings)
    row = store.get_run("r1")
    assert (row.task, row.tenant) == ("old task", "default")
    assert [r.id for r in store.list_runs(tenant="default")] == ["r1"]
    assert not (tmp_path / "runs.sqlite").exists()
