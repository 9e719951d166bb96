"""The repository task suite judges by hidden tests: the reference solutions pass, a no-op fails."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
SUITE = ROOT / "benchmarks" / "repo_tasks.py"
ONE_PER_REPO = "inventory-pagination,textstats-paginate,todo-remove"


def _suite(*args: str) -> tuple[int, list[str]]:
    done = subprocess.run([sys.executable, str(SUITE), "--tasks", ONE_PER_REPO, *args],
                          capture_output=True, text=True, timeout=600, check=False)
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout.splitlines()


def _row(lines: list[str], task: str) -> list[str]:
    return next(line.split() for line in lines if line.startswith(task))


def test_the_suite_has_twelve_tasks_over_three_repositories() -> None:
    tasks = yaml.safe_load((ROOT / "benchmarks/repo_tasks/tasks.yaml").read_text())["tasks"]
    assert len(tasks) >= 12
    assert len({t["repo"] for t in tasks}) >= 3
    assert all(t["acceptance"] and t["solution"] for t in tasks)


def test_the_reference_solutions_solve_their_tasks() -> None:
    code, lines = _suite("--oracle")
    assert code == 0, lines
    for task in ONE_PER_REPO.split(","):
        assert _row(lines, task)[1:3] == ["yes", "finished"]
    assert _row(lines, "total")[1] == "3/3"


def test_a_change_that_does_not_solve_the_task_is_not_counted(tmp_path: Path) -> None:
    noop = json.dumps({"summary": "notes", "edits": [
        {"path": "NOTES.md", "search": "", "replace": "Looked at it.\n"}]})
    approve = json.dumps({"parts": {"change": {"approved": True, "findings": []}}})
    config = {"models": {name: {"provider": "scripted", "model": name, "endpoint": name,
                                "options": {"rules": rules}}
                         for name, rules in (("planner", []),
                                             ("author", [{"match": "Task", "reply": noop}]),
                                             ("reviewer", [{"match": "Review",
                                                            "reply": approve}]))},
              "agents": {"cto": {"role": "CTO", "model": "planner"},
                         "backend": {"role": "engineer", "model": "author"},
                         "qa": {"role": "QA", "model": "reviewer"}}}
    path = tmp_path / "noop.yaml"
    path.write_text(yaml.safe_dump(config))
    code, lines = _suite("--config", str(path))
    assert code == 0
    for task in ONE_PER_REPO.split(","):
        assert _row(lines, task)[1] == "no"
    assert _row(lines, "total")[1] == "0/3"
