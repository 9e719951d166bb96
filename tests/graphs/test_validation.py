"""Output validation: one retry that says what was wrong, then escalation to a stronger model."""

from __future__ import annotations

import json

import pytest

from hybridcrew.platform.outcomes import EXIT_OK
from tests.support.crew import crew_config, make_crew

BAD_PLAN = '{"summary": "x", "parts": {"mobile": {"goal": "y"}}}'


def _planner(replies: list[str], **fields: object) -> dict[str, object]:
    return {"provider": "scripted", "model": "p", "endpoint": "p",
            "options": {"replies": replies}, **fields}


def test_invalid_plan_is_retried_with_the_reason() -> None:
    good = json.dumps({"summary": "ok", "parts": {
        "frontend": {"goal": "banner", "acceptance_criteria": ["shows 429"]},
        "backend": {"goal": "limiter", "acceptance_criteria": ["returns 429"]}}})
    crew = make_crew(crew_config(extra_models={"planner": _planner([BAD_PLAN, good])}))
    outcome = crew.start("Add rate limiting")
    assert outcome.exit_code == EXIT_OK
    plan = next(s for s in outcome.steps if s["node"] == "plan")
    assert plan["calls"] == 2
    assert plan["notes"][0].startswith("retried planner: parts.frontend: Field required")
    assert crew.state(outcome.run_id)["plan"]["summary"] == "ok"


def test_still_invalid_escalates_to_a_stronger_cleared_model() -> None:
    data = crew_config(extra_models={
        "weak": _planner(["not json at all"], quality={"default": 0.5}),
        "strong": {"provider": "scripted", "model": "s", "endpoint": "s",
                   "quality": {"default": 0.9}},
    }, agents={"cto": {"role": "CTO", "model": "weak", "fallbacks": ["strong"]}})
    crew = make_crew(data)
    outcome = crew.start("Add rate limiting")
    plan = next(s for s in outcome.steps if s["node"] == "plan")
    assert plan["model"] == "strong"
    assert plan["calls"] == 3
    assert plan["notes"][-1].startswith("escalated to strong")
    assert outcome.exit_code == EXIT_OK


def test_no_stronger_model_fails_the_run_with_a_reason() -> None:
    crew = make_crew(crew_config(extra_models={"planner": _planner(["nope"])}))
    outcome = crew.start("Add rate limiting")
    assert outcome.status == "failed"
    assert outcome.exit_code == 1
    assert outcome.error is not None
    assert "gave no valid output" in outcome.error


@pytest.mark.parametrize("reply", ["", "   \n"])
def test_empty_text_output_is_retried(reply: str) -> None:
    data = crew_config()
    data["models"]["author"]["options"]["rules"] = []
    data["models"]["author"]["options"]["replies"] = [reply, "```python\nx = 1\n```"]
    data["models"]["author"]["slots"] = 1
    crew = make_crew(data)
    outcome = crew.start("Add rate limiting")
    assert outcome.status == "finished"
    assert any(n.startswith("retried author: the reply was empty")
               for s in outcome.steps for n in s["notes"])
