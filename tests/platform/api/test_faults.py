"""Store faults are reported, not hidden: disk full, a corrupted page, a write lock held too long.

Each turns into a 503 that says why, `/readyz` goes not-ready while it lasts, and no run is left
`running` without an owner: once the fault is gone, runs it interrupted finish by themselves.
"""

from __future__ import annotations

import sqlite3
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from hybridcrew.graphs.lifecycle import FINAL_STATUSES
from tests.support.crew import crew_config
from tests.support.gateway import gateway, wait_status
from tests.support.processes import until

TASK = "Add rate limiting to the orders API"


@contextmanager
def small_disk(folder: Path, size: str = "8m") -> Iterator[Path]:
    """A size-limited tmpfs at ``folder`` (root can mount one; else the test is not possible)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                             capture_output=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the filesystem is full; returns it (delete it to free the space)."""
    filler = folder / "filler"
    with suppress(OSError), filler.open("wb") as out:  # closing a full file raises too
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def _ready(http: httpx.Client) -> bool:
    return http.get("/readyz").json()["checks"]["store"]["ok"] is True


def _unavailable(answer: httpx.Response, *words: str) -> None:
    assert answer.status_code == 503, answer.text
    body: dict[str, Any] = answer.json()
    assert body["error"] == "unavailable"
    for word in words:
        assert word in body["detail"], body


def test_a_full_disk_is_a_503_and_runs_finish_once_space_is_back(tmp_path: Path) -> None:
    with small_disk(tmp_path / "data") as data, gateway(
            crew_config(latency=0.4), data_dir=data, memory=False, lease_s=2,
            heartbeat_s=0.5) as base, httpx.Client(base_url=base, timeout=60) as http:
        assert http.post("/v1/runs", json={"task": TASK}).status_code == 202
        in_flight = http.post("/v1/runs", json={"task": TASK + " again"}).json()["id"]
        filler = fill(data)
        _unavailable(http.post("/v1/runs", json={"task": "more"}), "disk", "full")
        assert http.get("/readyz").status_code == 503
        assert not _ready(http)
        filler.unlink()
        until(lambda: _ready(http), "readiness after the disk has room again", timeout=30)
        run = wait_status(http, in_flight, set(FINAL_STATUSES), timeout=60)
        assert run["status"] in {"finished", "failed"}
        if run["status"] == "failed":  # failed with the reason, and resumable
            assert "disk" in run["error"]
        assert http.post("/v1/runs", json={"task": TASK}).status_code == 202


def test_a_corrupted_checkpoint_page_is_a_503_with_the_reason(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with gateway(crew_config(), data_dir=data, memory=False) as base, httpx.Client(
            base_url=base, timeout=30) as http:
        run_id = http.post("/v1/runs", json={"task": TASK}).json()["id"]
        wait_status(http, run_id, {"finished"})
    database = data / "checkpoints.sqlite"
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = database.stat().st_size
    with database.open("r+b") as raw:  # every page after the first: garbage
        raw.seek(4096)
        raw.write(b"\xa5" * (size - 4096))
    with gateway(crew_config(), data_dir=data, memory=False) as base, httpx.Client(
            base_url=base, timeout=30) as http:
        _unavailable(http.get(f"/v1/runs/{run_id}"), "corrupt")
        ready = http.get("/readyz")
        assert ready.status_code == 503
        assert "corrupt" in ready.json()["checks"]["store"]["detail"]


def test_a_write_lock_held_too_long_is_a_503(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with gateway(crew_config(), data_dir=data, memory=False) as base, httpx.Client(
            base_url=base, timeout=60) as http:
        assert http.post("/v1/runs", json={"task": TASK}).status_code == 202
        holder = sqlite3.connect(data / "store.sqlite", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # e.g. a forgotten sqlite3 shell
        try:
            _unavailable(http.post("/v1/runs", json={"task": TASK}), "locked")
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert http.post("/v1/runs", json={"task": TASK}).status_code == 202


def test_a_submit_waiting_for_a_lock_held_elsewhere_holds_up_no_other_request(
        tmp_path: Path) -> None:
    data = tmp_path / "data"
    with gateway(crew_config(), data_dir=data, memory=False) as base, httpx.Client(
            base_url=base, timeout=60) as http:
        assert http.post("/v1/runs", json={"task": TASK}).status_code == 202
        holder = sqlite3.connect(data / "store.sqlite", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        with ThreadPoolExecutor(1) as pool:
            try:
                submitted = pool.submit(http.post, "/v1/runs", json={"task": TASK})
                time.sleep(0.3)  # the submit is waiting for the lock now
                assert not submitted.done()
                started = time.monotonic()
                assert http.get("/healthz").status_code == 200
                assert http.get("/v1/runs").status_code == 200
                assert time.monotonic() - started < 1.0, "the server's loop must not wait"
            finally:
                holder.execute("ROLLBACK")
                holder.close()
            assert submitted.result(timeout=30).status_code == 202
