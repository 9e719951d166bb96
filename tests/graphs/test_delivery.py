"""The built-in delivery graph end to end with scripted models."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from hybridcrew.platform.outcomes import EXIT_NOT_APPROVED, EXIT_OK, EXIT_WAITING
from hybridcrew.platform.runloop import run_loop
from tests.support.crew import REJECT_BACKEND, crew_config, make_crew

TASK = "Add rate limiting to the orders API"


def test_plan_parallel_branches_review_and_report() -> None:
    crew = make_crew(crew_config(latency=0.3))
    outcome = crew.start(TASK)
    assert outcome.status == "finished"
    assert outcome.exit_code == EXIT_OK
    assert [s["key"] for s in outcome.steps][:1] == ["plan@0"]
    assert {s["key"] for s in outcome.steps} == {"plan@0", "frontend@0", "backend@0", "qa@0"}
    events = crew.store.events(outcome.run_id)
    span = {}
    for e in events:
        if e.kind in ("step_started", "step_finished"):
            span.setdefault(e.node, {})[e.kind] = e.ts
    front, back = span["frontend"], span["backend"]
    assert front["step_started"] < back["step_finished"]
    assert back["step_started"] < front["step_finished"], "the two branches overlap in time"
    assert span["qa"]["step_started"] >= max(front["step_finished"], back["step_finished"])


def test_artifacts_plan_and_review_are_written() -> None:
    crew = make_crew(crew_config())
    outcome = crew.start(TASK)
    folder = Path(outcome.folder)
    assert outcome.report is not None
    assert set(outcome.report["artifacts"]) == {"plan.md", "qa.md", "app/limiter.py",
                                                "web/banner.tsx"}
    assert (folder / "app/limiter.py").read_text() == "class Limiter:\n    pass\n"
    assert (folder / "plan.md").read_text().startswith("# Plan")
    assert "**backend**: approved" in (folder / "qa.md").read_text()


def test_the_last_review_writes_the_report_without_a_superstep_of_its_own() -> None:
    crew = make_crew(crew_config())
    outcome = crew.start(TASK)
    assert outcome.report is not None
    assert set(outcome.report["artifacts"]) >= {"plan.md", "qa.md"}
    thread = {"configurable": {"thread_id": outcome.run_id}}
    # The input, the start, the plan, both branches, the review: no checkpoint after the review.
    assert len(list(crew.checkpointer.list(thread))) == 5
    gated = crew.start(TASK, gate=True)  # approval needs a node of its own after the review
    approved = crew.resume(gated.run_id, reply={"choice": "approve"})
    assert approved.report is not None
    assert approved.report["approved"]
    assert approved.report["artifacts"] == outcome.report["artifacts"]


class CountingPool(ThreadPoolExecutor):
    """A worker pool that notes the name of every function handed to it."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.handed: list[str] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.handed.append(getattr(fn, "__qualname__", repr(fn)))
        return super().submit(fn, *args, **kwargs)


def test_a_run_without_a_repository_never_leaves_the_run_loop() -> None:
    # Every hand-off to a worker thread and back costs two thread switches and a fight for the
    # interpreter lock: steps, the review loop's edge and the report stay on the loop.
    crew = make_crew(crew_config(qa_rules=[{"match": "Review round 1",
                                            "reply": json.dumps(REJECT_BACKEND)}]))
    loop, pool = run_loop().loop, CountingPool()
    default = loop._default_executor  # asyncio has no getter; put back after the test
    loop.set_default_executor(pool)
    try:
        outcome = crew.start(TASK)
    finally:
        loop._default_executor = default
        pool.shutdown()
    assert outcome.status == "finished"
    assert "backend@1" in [s["key"] for s in outcome.steps], "the review loop went round"
    assert pool.handed == []


def test_rejected_part_loops_back_and_stops_at_the_bound() -> None:
    always_reject = [{"match": "Review round", "reply": json.dumps(REJECT_BACKEND)}]
    crew = make_crew(crew_config(qa_rules=always_reject))
    outcome = crew.start(TASK)
    keys = [s["key"] for s in outcome.steps]
    assert keys.count("backend@1") == 1, "the failing part goes back to its author"
    assert "frontend@1" not in keys, "the approved part is not redone"
    assert keys[-1] == "qa@1"
    assert "backend@2" not in keys, "two reviews at most (max_rounds: 2)"
    assert outcome.exit_code == EXIT_NOT_APPROVED
    assert outcome.report is not None
    assert outcome.report["parts"]["backend"] == {"approved": False,
                                                  "findings": ["no tests for the limiter"]}


def test_rework_prompt_carries_the_findings() -> None:
    first_reject = [{"match": "Review round 1", "reply": json.dumps(REJECT_BACKEND)}]
    data = crew_config(qa_rules=first_reject)
    # The author answers differently only if QA's finding is in its prompt.
    data["models"]["author"]["options"]["rules"].insert(
        0, {"match": "- no tests for the limiter", "reply": "```python\ndef test(): ...\n```"})
    crew = make_crew(data)
    outcome = crew.start(TASK)
    assert outcome.exit_code == EXIT_OK, "round 2 approves (schema-valid default reply)"
    state = crew.state(outcome.run_id)
    assert state["generation"] == 1
    assert state["results"]["backend"] == "```python\ndef test(): ...\n```"
    assert state["results"]["frontend"].startswith("**web/banner.tsx**")
    keys = [s["key"] for s in outcome.steps]
    assert keys[0] == "plan@0"
    assert set(keys[1:3]) == {"frontend@0", "backend@0"}
    assert keys[3:] == ["qa@0", "backend@1", "qa@1"]


def test_approval_gate_interrupts_then_resumes_both_ways() -> None:
    crew = make_crew(crew_config())
    waiting = crew.start(TASK, gate=True)
    assert waiting.status == "waiting"
    assert waiting.exit_code == EXIT_WAITING
    assert waiting.pending is not None
    assert waiting.pending["kind"] == "approval"
    assert crew.store.get_run(waiting.run_id).status == "waiting"
    approved = crew.resume(waiting.run_id, reply={"choice": "approve"})
    assert approved.exit_code == EXIT_OK
    assert len(approved.steps) == 4, "resuming did not redo any step"

    rejected = crew.resume(crew.start(TASK, gate=True).run_id,
                           reply={"choice": "reject", "comment": "needs docs"})
    assert rejected.exit_code == EXIT_NOT_APPROVED
    assert rejected.report is not None
    assert "needs docs" in rejected.report["parts"]["backend"]["findings"][-1]


def _budget_crew():  # type: ignore[no-untyped-def]
    data = crew_config(
        extra_models={"cloud": {"provider": "scripted", "model": "cloud", "endpoint": "cloud",
                                "location": "cloud", "clearance": "internal",
                                "price": {"input": 100, "output": 100},
                                "quality": {"default": 0.99}},
                      "local": {"provider": "scripted", "model": "local", "endpoint": "local",
                                "quality": {"default": 0.5}}},
        agents={"cto": {"role": "You are the CTO.", "model": "auto",
                        "candidates": ["cloud", "local"], "max_output_tokens": 100}},
        routing={"budgets": {"run_usd": 0.01, "on_exceed": "ask"}},
    )
    return make_crew(data)


def test_budget_gate_approve_spends_on_the_better_model() -> None:
    crew = _budget_crew()
    waiting = crew.start(TASK)
    assert waiting.pending is not None
    assert waiting.pending["kind"] == "budget"
    assert (waiting.pending["model"], waiting.pending["instead"]) == ("cloud", "local")
    done = crew.resume(waiting.run_id, reply={"choice": "approve"})
    plan = next(s for s in done.steps if s["node"] == "plan")
    assert plan["model"] == "cloud"
    assert plan["cost_usd"] > 0.01


def test_budget_gate_local_keeps_the_rest_of_the_run_local() -> None:
    crew = _budget_crew()
    waiting = crew.start(TASK)
    done = crew.resume(waiting.run_id, reply={"choice": "local"})
    assert done.status == "finished"
    assert next(s for s in done.steps if s["node"] == "plan")["model"] == "local"
    assert crew.state(done.run_id)["local_only"] is True
    assert {s["location"] for s in done.steps} == {"local"}


def test_one_slot_serialises_parallel_branches() -> None:
    crew = make_crew(crew_config(latency=0.2, author_slots=1))
    outcome = crew.start(TASK)
    events = crew.store.events(outcome.run_id)
    assert any(e.kind == "step_queued" for e in events), "the second branch waited for the slot"
    spans = {e.node: e.ts for e in events if e.kind == "step_finished"}
    starts = [e.ts for e in events if e.kind == "step_started" and e.node in ("frontend",
                                                                               "backend")]
    assert abs(spans["frontend"] - spans["backend"]) >= 0.18
    assert len(starts) == 2


def test_costs_and_all_cloud_counterfactual() -> None:
    data = crew_config(extra_models={
        "claude": {"provider": "scripted", "model": "claude", "endpoint": "claude",
                   "location": "cloud", "clearance": "internal",
                   "price": {"input": 3, "output": 15}, "quality": {"default": 0.95}}})
    crew = make_crew(data)
    outcome = crew.start(TASK)
    assert outcome.report is not None
    totals = outcome.report["totals"]
    plan = next(s for s in outcome.steps if s["node"] == "plan")
    # Only the planner's model has a price (2 and 4 USD per million tokens).
    assert plan["cost_usd"] == (plan["input_tokens"] * 2 + plan["output_tokens"] * 4) / 1e6
    assert totals["cost_usd"] == plan["cost_usd"] > 0
    expected = sum((s["input_tokens"] * 3 + s["output_tokens"] * 15) / 1e6
                   for s in outcome.steps)
    assert abs(totals["all_cloud_cost_usd"] - expected) < 1e-12


def test_resume_of_a_run_that_never_reached_its_first_checkpoint() -> None:
    crew = make_crew(crew_config())
    run_id = crew.submit(TASK).id
    crew.store.set_status(run_id, "running")  # its process died before the first checkpoint
    outcome = crew.resume(run_id)
    assert outcome.exit_code == EXIT_OK
    assert len(outcome.steps) == 4


def test_qa_verdicts_feed_the_routers_success_history() -> None:
    reject = [{"match": "Review round", "reply": json.dumps(REJECT_BACKEND)}]
    crew = make_crew(crew_config(qa_rules=reject))
    crew.start(TASK)
    # Two reviews: frontend approved once (not redone), backend rejected twice.
    assert crew.runtime.history[("author", "frontend")] == (1, 1)
    assert crew.runtime.history[("author", "backend")] == (0, 2)
    assert crew.runtime.signals.current.history is crew.runtime.history
