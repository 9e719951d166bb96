"""The write-ahead logs are checkpointed in the background, not by the commits of requests."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path

import httpx
import pytest

from hybridcrew.platform.store.sqlite_schema import tune_for_durable_writes
from hybridcrew.platform.store.sqlite_wal import WalCheckpointer
from tests.support.crew import crew_config
from tests.support.gateway import gateway, wait_status
from tests.support.processes import until

PAGE = 4096
ROWS = 300  # ~300 pages: below SQLite's own checkpoint (1,000 pages), so only ours copies them


def _written(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    tune_for_durable_writes(conn)
    conn.execute("CREATE TABLE IF NOT EXISTS rows (data TEXT)")
    for _ in range(ROWS):
        conn.execute("INSERT INTO rows VALUES (?)", ("x" * PAGE,))
    return conn


def test_committed_pages_reach_the_database_file_without_a_commit_copying_them(
        tmp_path: Path) -> None:
    quiet, checkpointed = tmp_path / "quiet.sqlite", tmp_path / "checkpointed.sqlite"
    wal = WalCheckpointer([checkpointed], every_s=0.05)
    wal.start()
    try:
        writers = [_written(quiet), _written(checkpointed)]
        until(lambda: checkpointed.stat().st_size > ROWS * PAGE, "the background checkpoint",
              timeout=10)
        # Without it, the pages stay in the log until a commit passes SQLite's threshold.
        assert quiet.stat().st_size < ROWS * PAGE / 10
        assert writers[1].execute("SELECT COUNT(*) FROM rows").fetchone() == (ROWS,)
    finally:
        wal.stop()
    for conn in writers:
        conn.close()


def test_a_file_that_cannot_be_checkpointed_is_reported_once_and_the_others_go_on(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good, gone = tmp_path / "good.sqlite", tmp_path / "missing-folder" / "gone.sqlite"
    wal = WalCheckpointer([gone, good], every_s=0.05)
    with caplog.at_level(logging.WARNING, logger="hybridcrew.platform.store.sqlite_wal"):
        wal.start()
        try:
            writer = _written(good)
            until(lambda: good.stat().st_size > ROWS * PAGE, "the background checkpoint",
                  timeout=10)
            time.sleep(0.3)  # a few more rounds, each failing on the missing file
        finally:
            wal.stop()
        writer.close()
    failures = [r.getMessage() for r in caplog.records]
    assert failures == ["checkpointing gone.sqlite failed: unable to open database file"]


def test_the_gateway_checkpoints_its_databases_in_the_background(tmp_path: Path) -> None:
    files = [tmp_path / "store.sqlite", tmp_path / "checkpoints.sqlite"]
    with gateway(crew_config(), data_dir=tmp_path, memory=False) as base, \
            httpx.Client(base_url=base, timeout=30) as http:
        before = [f.stat().st_size for f in files]
        ids = [http.post("/v1/runs", json={"task": f"Add rate limiting #{i}"}).json()["id"]
               for i in range(3)]
        for run_id in ids:
            wait_status(http, run_id, {"finished"})
        # A few runs stay far below SQLite's own threshold: only a background checkpoint puts
        # their writes into the database files.
        for file, size in zip(files, before, strict=True):
            until(lambda file=file, size=size: file.stat().st_size > size,
                  f"{file.name} checkpointed", timeout=10)
