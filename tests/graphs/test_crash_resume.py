"""Kill a real run with SIGKILL at several points; resume finishes it with nothing done twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_LEASE_S
from tests.support.crew import author_rules, scripted, write_config
from tests.support.processes import until

TASK = "Add rate limiting to the orders API"
LATENCY = 0.6
STEP_MODEL = {"plan": "planner", "frontend": "fe", "backend": "be", "qa": "reviewer"}
Events = list[tuple[str, str | None]]


def _config(tmp: Path, latency: float = LATENCY) -> Path:
    log = tmp / "calls.jsonl"
    models = {name: scripted(name, latency=latency, call_log=log, rules=author_rules(),
                             price={"input": 3, "output": 15})
              for name in STEP_MODEL.values()}
    agents = {"cto": "planner", "frontend": "fe", "backend": "be", "qa": "reviewer"}
    data = {"models": models,
            "agents": {a: {"role": f"You are {a}.", "model": m} for a, m in agents.items()}}
    return write_config(tmp / "crew.yaml", data)


def _cli(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "hybridcrew", "--config", str(config), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _events(db: Path) -> tuple[str | None, Events]:
    if not db.exists():
        return None, []
    with sqlite3.connect(db) as conn:
        try:
            run = conn.execute("SELECT id FROM runs ORDER BY created_at DESC LIMIT 1").fetchone()
            rows = conn.execute("SELECT kind, node FROM events ORDER BY seq").fetchall()
        except sqlite3.OperationalError:
            return None, []
    return (run[0] if run else None), rows


class _Seen:
    """The newest run's id and events, re-read on each ``update``."""

    def __init__(self, db: Path) -> None:
        self.db, self.run_id = db, None
        self.events: Events = []

    def update(self) -> Events:
        self.run_id, self.events = _events(self.db)
        return self.events


def started(*nodes: str) -> Callable[[Events], bool]:
    return lambda events: all(("step_started", n) in events for n in nodes)


KILL_POINTS = {
    # point: (when to kill, steps checkpointed by then, steps whose model call is in flight)
    "during planning": (started("plan"), set(), {"plan"}),
    "during the parallel branches": (started("frontend", "backend"), {"plan"},
                                     {"frontend", "backend"}),
    "after the parallel branches": (started("qa"), {"plan", "frontend", "backend"}, {"qa"}),
}


def _run_to_completion(config: Path) -> dict[str, Any]:
    done = _cli(config, "run", TASK, "--json")
    out, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_then_resume(point: str, tmp_path: Path, isolated_env: Path) -> None:
    ready, completed_before_kill, in_flight = KILL_POINTS[point]
    config = _config(tmp_path)
    db = Path(os.environ["HYBRIDCREW_DATA_DIR"]) / "store.sqlite"
    process = _cli(config, "run", TASK, "--json")
    seen = _Seen(db)
    until(lambda: ready(seen.update()), f"the kill point {point}", process=process)
    run_id = seen.run_id
    time.sleep(LATENCY / 3)  # well inside the in-flight model calls
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    assert run_id is not None

    time.sleep(TEST_LEASE_S + 0.2)  # the dead process's lease lapses
    resumed = _cli(config, "runs", "resume", run_id, "--json")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    result = json.loads(out)

    keys = [s["key"] for s in result["steps"]]
    assert sorted(keys) == ["backend@0", "frontend@0", "plan@0", "qa@0"], "each step once"
    calls = Counter(json.loads(line)["model"]
                    for line in (tmp_path / "calls.jsonl").read_text().splitlines())
    for step, model in STEP_MODEL.items():
        # A completed step never runs again; an interrupted call is made once more; a step
        # that had not started runs once.
        expected = 2 if step in in_flight else 1
        assert calls[model] == expected, (step, calls, completed_before_kill)

    (tmp_path / "calls.jsonl").unlink()
    baseline = _run_to_completion(config)
    assert result["totals"]["cost_usd"] == pytest.approx(baseline["totals"]["cost_usd"], abs=0)
    assert result["totals"]["cost_usd"] == sum(s["cost_usd"] for s in result["steps"])


def test_resume_while_another_process_executes_is_refused(tmp_path: Path,
                                                          isolated_env: Path) -> None:
    config = _config(tmp_path, latency=2.5)  # the racer's start-up fits in the first step
    db = Path(os.environ["HYBRIDCREW_DATA_DIR"]) / "store.sqlite"
    process = _cli(config, "run", TASK, "--json")
    seen = _Seen(db)
    until(lambda: started("plan")(seen.update()), "the run to start", process=process)
    run_id = seen.run_id
    assert run_id is not None
    racer = _cli(config, "runs", "resume", run_id, "--json")
    _, err = racer.communicate(timeout=60)
    assert racer.returncode == 1
    assert "another process is executing it" in err
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    result = json.loads(out)
    calls = Counter(json.loads(line)["model"]
                    for line in (tmp_path / "calls.jsonl").read_text().splitlines())
    assert calls == {model: 1 for model in STEP_MODEL.values()}, "no step ran twice"
    _, events = _events(db)
    assert [kind for kind, _ in events].count("run_finished") == 1
    assert result["status"] == "finished"
