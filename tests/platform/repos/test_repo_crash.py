"""A repository run killed with SIGKILL mid-run resumes with every edit applied exactly once."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from hybridcrew.agents.repos import RepoSpec
from hybridcrew.graphs.workspace import Edits
from hybridcrew.platform.repos.workspace import RepoWorkspaces
from tests.conftest import TEST_LEASE_S
from tests.support.crew import write_config
from tests.support.processes import kill, until
from tests.support.repos import PRICING_FIXED, SHOP, edits, make_repo, repo_crew, snapshot

TASK = "Fix the pricing total: it must add up every price"
FIX = edits("sum every price", ("app/pricing.py", "sum(prices[1:])", "sum(prices)"))


def _events(db: Path) -> list[tuple[str, str | None]]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT kind, node FROM events ORDER BY run_id, seq").fetchall()
    except sqlite3.OperationalError:
        return []


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout


def test_killed_during_the_review_then_resumed(tmp_path: Path, isolated_env: Path) -> None:
    repo = make_repo(tmp_path / "shop", SHOP)
    before = snapshot(repo)
    data = repo_crew(backend=FIX)
    data["models"]["reviewer"]["options"]["latency_s"] = 3.0  # type: ignore[index]
    config = write_config(tmp_path / "crew.yaml", data)
    db = Path(os.environ["HYBRIDCREW_DATA_DIR"]) / "store.sqlite"
    run = subprocess.Popen([sys.executable, "-m", "hybridcrew", "--config", str(config), "run",
                            TASK, "--repo", str(repo), "--json"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    until(lambda: ("step_started", "qa") in _events(db), "the review to start", process=run)
    time.sleep(0.5)  # inside the reviewer's call
    kill(run)
    run_id = sqlite3.connect(db).execute("SELECT id FROM runs").fetchone()[0]

    time.sleep(TEST_LEASE_S + 0.2)  # the dead process's lease lapses
    resumed = subprocess.run([sys.executable, "-m", "hybridcrew", "--config", str(config),
                              "runs", "resume", run_id, "--json"], capture_output=True,
                             text=True, timeout=120, check=False)
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "finished"

    subjects = _git(repo, "log", "--format=%s", f"main..hybridcrew/{run_id}").splitlines()
    assert sorted(subjects) == ["hybridcrew: backend@0", "hybridcrew: frontend@0"]
    assert _git(repo, "show", f"hybridcrew/{run_id}:app/pricing.py") == PRICING_FIXED
    assert snapshot(repo) == before
    patch = Path(result["artifacts_dir"]) / "patch.diff"
    assert _git(repo, "apply", "--check", "--verbose", str(patch)) == ""


def test_applying_a_steps_edits_again_changes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "shop", SHOP)
    workspace = RepoWorkspaces(tmp_path / "data").open("r1", RepoSpec(path=str(repo)))
    fix = Edits.model_validate_json(FIX)
    assert workspace.apply("backend@0", fix) is None
    head = _git(workspace.places.worktree, "rev-parse", "HEAD")
    (workspace.places.worktree / "app/pricing.py").write_text("half-written by a crash")
    assert workspace.apply("backend@0", fix) is None, "the branch already has it"
    assert _git(workspace.places.worktree, "rev-parse", "HEAD") == head
    # A new executor discards a crash's uncommitted leftovers before the next step's edits.
    frontend = Edits.model_validate_json(edits("banner", ("web/banner.js", "return '';",
                                                          "return 'ok';")))
    assert workspace.apply("frontend@0", frontend) is None
    assert (workspace.places.worktree / "app/pricing.py").read_text() == PRICING_FIXED
