"""The repository task suite: run a configuration over small real tasks, judged by hidden tests.

Each task in ``repo_tasks/tasks.yaml`` names a sample repository (``repo_tasks/repos/``), a task
and acceptance tests the crew never sees. For each task: the repository is copied into a fresh
git checkout, the crew runs on it (workflow ``change``: plan → change → review with the checks),
then the acceptance tests are added to the run's branch and run in the sandbox. Solved means
they pass. Printed per task and in total: solved, cost, all-cloud cost, share of steps run
locally, wall time.

    python benchmarks/repo_tasks.py [--config hybridcrew.yaml] [--tasks ID,ID] [--oracle]

``--oracle`` runs the scripted model replaying each task's reference solution: it proves the
mechanics end to end (every task should be solved). With real models (``--config`` naming
Ollama or Claude) it is the number to compare configurations by.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from machine import describe

from hybridcrew.agents.repos import RepoSpec
from hybridcrew.platform.crew import Crew
from hybridcrew.platform.outcomes import RunOutcome
from hybridcrew.platform.repos.checks import detect_test_command, read_counts
from hybridcrew.platform.repos.git import IDENTITY, git
from hybridcrew.platform.repos.sandbox import Limits, run_sandboxed
from hybridcrew.routing.config import LoadedConfig, load_config, parse_config
from hybridcrew.settings import load_settings

SUITE = Path(__file__).resolve().parent / "repo_tasks"


@dataclass
class Result:
    """One task's outcome."""

    task: str
    solved: bool
    status: str
    cost_usd: float
    cloud_cost_usd: float
    local_share: float
    seconds: float


def load_tasks(only: set[str] | None = None) -> list[dict[str, Any]]:
    """The suite's tasks (or those named)."""
    tasks: list[dict[str, Any]] = yaml.safe_load((SUITE / "tasks.yaml").read_text())["tasks"]
    return [t for t in tasks if only is None or t["id"] in only]


def oracle_config(tasks: list[dict[str, Any]]) -> LoadedConfig:
    """Scripted models: the author replays each task's reference solution, QA approves."""
    author_rules = [{"match": t["task"], "reply": json.dumps({
        "summary": f"reference solution of {t['id']}", "edits": t["solution"]})} for t in tasks]
    approve = json.dumps({"parts": {"change": {"approved": True, "findings": []}}})

    def scripted(name: str, rules: list[dict[str, str]]) -> dict[str, Any]:
        return {"provider": "scripted", "model": name, "endpoint": name,
                "options": {"rules": rules}}

    data = {"models": {"planner": scripted("planner", []),
                       "author": scripted("author", author_rules),
                       "reviewer": scripted("reviewer", [{"match": "Review", "reply": approve}])},
            "agents": {"cto": {"role": "You are the CTO.", "model": "planner"},
                       "backend": {"role": "You are a software engineer.", "model": "author"},
                       "qa": {"role": "You are the QA lead.", "model": "reviewer"}}}
    return parse_config(yaml.safe_dump(data), "<oracle>")


def checkout(repo: str, folder: Path) -> Path:
    """A fresh git checkout of a sample repository."""
    target = folder / repo
    shutil.copytree(SUITE / "repos" / repo, target)
    git(target, "init", "-q", "-b", "main")
    git(target, "add", "-A")
    git(target, *IDENTITY, "commit", "-q", "-m", "sample")
    return target


def accepted(repo: Path, branch: str, tests: dict[str, str], folder: Path) -> bool:
    """Whether the hidden acceptance tests pass on ``branch``."""
    judged = folder / "judged"
    git(folder, "clone", "-q", "--branch", branch, str(repo), str(judged))
    for path, text in tests.items():
        (judged / path).parent.mkdir(parents=True, exist_ok=True)
        (judged / path).write_text(text)
    command = detect_test_command(judged)
    if command is None:
        return False
    outcome = run_sandboxed(command, judged, [folder / "data", Path.home()], Limits(wall_s=120))
    counts = read_counts(command, outcome)
    return outcome.exit_code == 0 and counts.failed == 0 and counts.passed > 0


def run_task(task: dict[str, Any], config: LoadedConfig, folder: Path) -> Result:
    """Run the crew on one task and judge it."""
    repo = checkout(task["repo"], folder)
    settings = load_settings(data_dir=folder / "data", memory=False)
    crew = Crew(config, settings)
    crew.runtime.signals.refresh()
    started = time.perf_counter()
    outcome: RunOutcome = crew.start(task["task"], workflow="change",
                                     repo=RepoSpec(path=str(repo)))
    seconds = time.perf_counter() - started
    steps = outcome.steps
    branch = f"hybridcrew/{outcome.run_id}"
    solved = outcome.report is not None and accepted(repo, branch, task["acceptance"], folder)
    return Result(task["id"], solved, str(outcome.status),
                  sum(s["cost_usd"] for s in steps), sum(s["cloud_cost_usd"] for s in steps),
                  sum(s["location"] == "local" for s in steps) / len(steps) if steps else 0.0,
                  seconds)


def run_suite(config: LoadedConfig, tasks: list[dict[str, Any]]) -> list[Result]:
    """Every task, each in its own temporary folder."""
    results = []
    for task in tasks:
        with tempfile.TemporaryDirectory(prefix="repo-task-") as folder:
            results.append(run_task(task, config, Path(folder)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, help="hybridcrew.yaml to compare")
    parser.add_argument("--tasks", help="comma-separated task ids (default: all)")
    parser.add_argument("--oracle", action="store_true",
                        help="the scripted model replaying the reference solutions")
    args = parser.parse_args()
    tasks = load_tasks(set(args.tasks.split(",")) if args.tasks else None)
    config = oracle_config(tasks) if args.oracle else load_config(args.config)
    results = run_suite(config, tasks)
    print(f"machine: {describe()}")
    print(f"configuration: {'scripted oracle' if args.oracle else config.source}")
    print(f"{'task':<24} {'solved':>6} {'status':>9} {'cost $':>9} {'all-cloud $':>11} "
          f"{'local':>6} {'wall s':>7}")
    for r in results:
        print(f"{r.task:<24} {'yes' if r.solved else 'no':>6} {r.status:>9} {r.cost_usd:9.4f} "
              f"{r.cloud_cost_usd:11.4f} {r.local_share:6.0%} {r.seconds:7.1f}")
    solved = sum(r.solved for r in results)
    steps_local = sum(r.local_share for r in results) / len(results) if results else 0.0
    print(f"{'total':<24} {solved:>3}/{len(results):<2} {'':>9} "
          f"{sum(r.cost_usd for r in results):9.4f} "
          f"{sum(r.cloud_cost_usd for r in results):11.4f} {steps_local:6.0%} "
          f"{sum(r.seconds for r in results):7.1f}")
    sys.exit(0 if solved == len(results) or not args.oracle else 1)


if __name__ == "__main__":
    main()
