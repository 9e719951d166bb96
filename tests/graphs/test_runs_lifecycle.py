"""Runs as a service sees them: queued then executed, assignments, cancellation, Redis."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import redis

from hybridcrew.errors import ConfigError
from hybridcrew.graphs.ports import daily_scope
from hybridcrew.platform.outcomes import EXIT_OK, RunStateError
from hybridcrew.platform.store.redis import RedisStore
from tests.support.crew import (
    APPROVE_ALL,
    REJECT_BACKEND,
    author_rules,
    crew_config,
    make_crew,
    scripted,
)

TASK = "Add rate limiting to the orders API"


def test_a_submitted_run_waits_queued_until_executed() -> None:
    crew = make_crew(crew_config())
    row = crew.submit(TASK, tenant="acme")
    assert (row.status, row.tenant) == ("queued", "acme")
    assert crew.store.events(row.id) == []
    outcome = crew.resume(row.id)
    assert outcome.exit_code == EXIT_OK
    kinds = [e.kind for e in crew.store.events(row.id)]
    assert kinds[0] == "run_started"
    assert kinds[-1] == "run_finished"
    assert crew.store.get_run(row.id, tenant="acme").status == "finished"


def test_an_assignment_changes_the_model_of_later_runs_only() -> None:
    data = crew_config(extra_models={"spare": scripted("spare", rules=[
        {"match": "Your part: backend", "reply": "`app/x.py`\n```python\nx = 1\n```"}])})
    crew = make_crew(data)
    before = crew.submit(TASK)
    crew.store.set_assignment("backend", {"model": "spare"})
    after = crew.submit(TASK)
    models = {r.id: {s["node"]: s["model"] for s in crew.resume(r.id).steps}
              for r in (before, after)}
    assert models[before.id]["backend"] == "author"
    assert models[after.id]["backend"] == "spare"


def test_a_bad_assignment_is_refused_with_the_yaml_message() -> None:
    crew = make_crew(crew_config())
    with pytest.raises(ConfigError, match=r"agents\.backend\.model: model 'nope' does not exist"):
        crew.submit(TASK, assignments={"backend": {"model": "nope"}})
    with pytest.raises(ConfigError, match=r"agents\.backend\.colour"):
        crew.submit(TASK, assignments={"backend": {"model": "author", "colour": "red"}})


def test_an_unknown_label_is_refused_at_submission() -> None:
    crew = make_crew(crew_config())
    with pytest.raises(ConfigError, match=r"unknown label 'secret-ish'.*none are defined"):
        crew.submit(TASK, labels=["secret-ish"])


def test_a_cancelled_run_starts_no_further_step_and_cannot_resume() -> None:
    crew = make_crew(crew_config())
    row = crew.submit(TASK)
    crew.store.set_status(row.id, "running")
    # Cancel as soon as the plan has started: the plan finishes, nothing after it starts.
    crew.events.listeners.append(
        lambda e: crew.cancel(e.run_id) if e.kind == "step_started" else None)
    outcome = crew.resume(row.id)
    assert outcome.status == "cancelled"
    assert [s["node"] for s in outcome.steps] == ["plan"]
    assert crew.store.get_run(row.id).status == "cancelled"
    with pytest.raises(RunStateError, match="cancelled"):
        crew.resume(row.id)
    with pytest.raises(RunStateError, match="only queued, running or waiting"):
        crew.cancel(row.id)


def test_a_run_on_redis_keeps_store_and_checkpoints_there(
        redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    monkeypatch.setenv("HYBRIDCREW_REDIS_URL", redis_url)
    crew = make_crew(crew_config())
    assert isinstance(crew.store, RedisStore)
    outcome = crew.start(TASK)
    assert outcome.exit_code == EXIT_OK
    again = make_crew(crew_config())  # another process: same run, same checkpointed state
    assert again.store.get_run(outcome.run_id).status == "finished"
    assert len(again.state(outcome.run_id)["steps"]) == 4
    assert [e.kind for e in again.store.events(outcome.run_id)][-1] == "run_finished"


def test_the_daily_budget_is_shared_by_a_tenants_runs() -> None:
    rules = [{"match": "Review round", "reply": json.dumps(APPROVE_ALL)}, *author_rules()]
    models = {"cloudy": scripted("cloudy", rules=rules, location="cloud",
                                 price={"input": 3, "output": 15}, quality={"default": 0.95}),
              "homely": scripted("homely", rules=rules, quality={"default": 0.3})}
    agents = {a: {"role": f"You are {a}.", "model": "auto", "candidates": ["cloudy", "homely"]}
              for a in ("cto", "frontend", "backend", "qa")}
    crew = make_crew({"models": models, "agents": agents,
                      "routing": {"budgets": {"run_usd": None, "daily_usd": 1.0}}})
    first = crew.start(TASK)
    assert {s["location"] for s in first.steps} == {"cloud"}
    today = daily_scope("default")
    assert crew.store.spent(today) == pytest.approx(sum(s["cost_usd"] for s in first.steps))
    crew.store.spend(today, 1.0 - crew.store.spent(today))  # today's budget is used up
    second = crew.start(TASK)
    assert {s["location"] for s in second.steps} == {"local"}
    for step in second.steps:
        assert "excluded:budget" in step["reasons"]
    other = crew.resume(crew.submit(TASK, tenant="beta").id)
    assert {s["location"] for s in other.steps} == {"cloud"}, "another tenant has its own day"


def test_verdicts_from_another_process_reach_the_router_at_the_next_refresh() -> None:
    reject = [{"match": "Review round", "reply": json.dumps(REJECT_BACKEND)}]
    learner, other = make_crew(crew_config(qa_rules=reject)), make_crew(crew_config())
    learner.start(TASK)
    assert ("author", "backend") not in other.runtime.history
    other.runtime.signals.refresh()  # what the background refresher does every interval
    assert other.runtime.history[("author", "backend")] == (0, 2)


def _crash_before(crew_data_dir: Path, run_id: str, kind: str) -> None:
    """What a kill leaves when it lands after the graph's last checkpoint but before the run's
    status and event were written: the run still says running."""
    with sqlite3.connect(crew_data_dir / "store.sqlite") as db:
        db.execute("UPDATE runs SET status='running' WHERE id=?", (run_id,))
        db.execute("DELETE FROM events WHERE run_id=? AND kind=?", (run_id, kind))


def test_a_run_killed_after_its_last_step_is_finished_by_the_next_executor() -> None:
    crew = make_crew(crew_config())
    run_id = crew.start(TASK).run_id
    _crash_before(crew.settings.data_dir, run_id, "run_finished")
    outcome = make_crew(crew_config()).execute(run_id)  # another process takes it over
    assert outcome is not None
    assert outcome.status == "finished"
    kinds = [e.kind for e in crew.store.events(run_id)]
    assert kinds.count("run_finished") == 1
    assert kinds.count("step_started") == 4, "no step ran again"


def test_a_run_killed_before_it_said_it_waits_then_waits() -> None:
    crew = make_crew(crew_config())
    run_id = crew.start(TASK, gate=True).run_id
    assert crew.store.get_run(run_id).status == "waiting"
    _crash_before(crew.settings.data_dir, run_id, "waiting")
    outcome = make_crew(crew_config()).execute(run_id)
    assert outcome is not None
    assert outcome.status == "waiting"
    assert [e.kind for e in crew.store.events(run_id)].count("waiting") == 1
    assert crew.store.get_run(run_id).summary["pending"]["kind"] == "approval"
