"""Table-driven router cases: every hard constraint, their interplay, and the choice rule."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from hybridcrew.routing.gpu import GpuState
from hybridcrew.routing.router import PromptPart, RouteRequest
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.routing.signals import Health, Signals
from hybridcrew.sensitivity import Sensitivity
from tests.support.configs import model, runtime_for

SECRET_PROMPT = "Deploy with AWS key AKIA2OGYBAH6TLPQ4RZC and fix the rate limiter."
PII_PROMPT = "Email jane.doe@acme-corp.com when the export finishes."

CONFIG: dict[str, Any] = {
    "models": {
        "cloud-strong": model("anthropic", "claude-sonnet-4-6", price={"input": 3, "output": 15},
                              clearance="internal", context_window=200_000,
                              quality={"default": 0.95}),
        "cloud-cheap": model("anthropic", "claude-haiku-4-5", price={"input": 1, "output": 5},
                             clearance="internal", context_window=200_000,
                             quality={"default": 0.86, "planner": 0.82}),
        "local-gpu": model("ollama", "qwen2.5-coder:7b", endpoint="http://127.0.0.1:9",
                           vram_gb=6, context_window=32_768,
                           quality={"default": 0.85, "planner": 0.55}),
        "local-cpu": model("embedded", "gemma-3-270m-q4_k_m", context_window=4096,
                           quality={"default": 0.3}),
        "cloud-free": model("openai_compatible", "hosted", location="cloud",
                            clearance="internal", context_window=32_768,
                            quality={"default": 0.99}),
    },
    "agents": {
        "planner": {"role": "CTO", "model": "auto", "max_output_tokens": 1000,
                    "candidates": ["cloud-strong", "cloud-cheap", "local-gpu", "local-cpu"]},
        "coder": {"role": "engineer", "model": "auto", "max_output_tokens": 1000,
                  "candidates": ["local-gpu", "cloud-cheap", "local-cpu"],
                  "fallbacks": ["cloud-strong"]},
        "pinned": {"role": "QA", "model": "cloud-cheap", "fallbacks": ["local-gpu"],
                   "max_output_tokens": 500},
        "guarded": {"role": "legal", "model": "auto", "privacy": "confidential",
                    "candidates": ["cloud-strong", "local-gpu"], "max_output_tokens": 500},
        "tie": {"role": "t", "model": "auto", "candidates": ["cloud-free", "local-gpu"],
                "max_output_tokens": 100},
    },
    "routing": {
        "quality_target": 0.82,
        "budgets": {"run_usd": 1.0, "daily_usd": 10.0},
        "privacy": {"labels": {"customer-data": "confidential", "public": "public"}},
        "gpu": {"min_free_gb": 1.0, "on_unknown": "allow", "max_queue": 2},
    },
}

ALL_UP = {name: Health(True, "up") for name in CONFIG["models"]}
HEALTHY = Signals(health=ALL_UP, gpu=GpuState(free_gb=12.0, total_gb=16.0, source="test"))


def down(*names: str) -> dict[str, Health]:
    return {**ALL_UP, **{n: Health(False, "down") for n in names}}


@dataclass
class Case:
    id: str
    agent: str
    model: str | None
    prompt: str = "Add rate limiting to the orders API."
    step: str = "default"
    signals: Signals = HEALTHY
    request: dict[str, Any] = field(default_factory=dict)
    rejected: dict[str, str] = field(default_factory=dict)
    reason: str | None = None
    fallbacks: tuple[str, ...] | None = None
    sensitivity: str | None = None


CASES = [
    Case("auto prefers local when it meets the target", "coder", "local-gpu",
         reason="cheapest_meeting_quality_target", step="implement"),
    Case("ties go local", "tie", "local-gpu", reason="cheapest_meeting_quality_target"),
    Case("critical planning step gets the stronger model", "planner", "cloud-strong",
         step="plan", reason="cheapest_meeting_quality_target"),
    Case("same agent, ordinary step: the cheaper cloud model suffices", "planner", "cloud-cheap"),
    Case("privacy beats cost and quality: secrets stay local", "planner", "local-gpu",
         prompt=SECRET_PROMPT, step="plan", sensitivity="secret",
         rejected={"cloud-strong": "privacy", "cloud-cheap": "privacy"},
         reason="cheapest_meeting_quality_target"),
    Case("PII is confidential: cloud models cleared for internal are skipped", "coder",
         "local-gpu", prompt=PII_PROMPT, sensitivity="confidential",
         rejected={"cloud-cheap": "privacy"}),
    Case("sensitive step with only cloud models up is blocked, not sent", "planner", None,
         prompt=SECRET_PROMPT, signals=HEALTHY.replace(health=down("local-gpu", "local-cpu")),
         rejected={"cloud-strong": "privacy", "cloud-cheap": "privacy",
                   "local-gpu": "provider_down", "local-cpu": "provider_down"},
         reason="blocked"),
    Case("fallbacks skip uncleared models", "coder", "local-gpu", prompt=SECRET_PROMPT,
         rejected={"cloud-cheap": "privacy", "cloud-strong": "privacy"},
         fallbacks=("local-cpu",)),
    Case("fallbacks keep cleared models in ranked order", "coder", "local-gpu",
         fallbacks=("cloud-cheap", "local-cpu", "cloud-strong")),
    Case("exhausted budget falls back to local", "planner", "local-gpu",
         signals=HEALTHY.replace(budget_left_usd=0.0001),
         rejected={"cloud-strong": "budget", "cloud-cheap": "budget"}),
    Case("run budget spent: same outcome from the request's own spend", "planner", "local-gpu",
         request={"run_spent_usd": 0.99999},
         rejected={"cloud-strong": "budget", "cloud-cheap": "budget"}),
    Case("exhausted budget with locals down is blocked", "planner", None,
         signals=HEALTHY.replace(budget_left_usd=0.0, health=down("local-gpu", "local-cpu")),
         rejected={"cloud-strong": "budget", "cloud-cheap": "budget"}, reason="blocked"),
    Case("GPU full: cloud when the data is cleared for it", "coder", "cloud-cheap",
         signals=HEALTHY.replace(gpu=GpuState(free_gb=3.0, total_gb=16.0)),
         rejected={"local-gpu": "gpu_full"}),
    Case("GPU full and secret data: CPU model, never cloud", "coder", "local-cpu",
         prompt=SECRET_PROMPT, signals=HEALTHY.replace(gpu=GpuState(free_gb=3.0, total_gb=16.0)),
         rejected={"local-gpu": "gpu_full", "cloud-cheap": "privacy",
                   "cloud-strong": "privacy"}),
    Case("GPU full but the model is already loaded", "coder", "local-gpu",
         signals=HEALTHY.replace(gpu=GpuState(free_gb=0.5,
                                              loaded=frozenset({"qwen2.5-coder:7b"})))),
    Case("no GPU signal and policy allows", "coder", "local-gpu",
         signals=HEALTHY.replace(gpu=GpuState())),
    Case("local queue over its limit", "coder", "cloud-cheap",
         signals=HEALTHY.replace(queue_depth={"ollama:http://127.0.0.1:9": 3}),
         rejected={"local-gpu": "queue_full"}),
    Case("context window too small", "coder", "cloud-cheap",
         prompt="word " * 25_000 + "fix it",
         rejected={"local-gpu": "context_window", "local-cpu": "context_window"}),
    Case("provider down", "coder", "cloud-cheap", signals=HEALTHY.replace(health=down("local-gpu")),
         rejected={"local-gpu": "provider_down"}),
    Case("pinned model is used as pinned", "pinned", "cloud-cheap", reason="pinned"),
    Case("pinned model down: its fallback", "pinned", "local-gpu",
         signals=HEALTHY.replace(health=down("cloud-cheap")),
         reason="pinned_unavailable_using_fallback"),
    Case("agent privacy level is a floor", "guarded", "local-gpu", sensitivity="confidential",
         rejected={"cloud-strong": "privacy"}),
    Case("run label raises sensitivity", "coder", "local-gpu",
         request={"labels": ("customer-data",)}, signals=HEALTHY.replace(health=down()),
         sensitivity="confidential"),
    Case("taint from earlier steps keeps a run local", "planner", "local-gpu",
         request={"taint": Sensitivity.SECRET}, step="plan",
         rejected={"cloud-strong": "privacy", "cloud-cheap": "privacy"}),
    Case("secret in shared context, not the prompt", "planner", "local-gpu",
         request={"parts": (PromptPart("Plan it."), PromptPart("DB=postgres://svc:Pa55w0rd@db/x",
                                                               kind="context"))},
         rejected={"cloud-strong": "privacy", "cloud-cheap": "privacy"}),
    Case("QA history can demote a local model", "coder", "cloud-cheap", step="implement",
         signals=HEALTHY.replace(history={("local-gpu", "coder"): (2, 20)})),
    Case("everything down: blocked", "coder", None,
         signals=HEALTHY.replace(health=down(*CONFIG["models"])), reason="blocked"),
]


@pytest.fixture(scope="module")
def runtime() -> RoutingRuntime:
    return runtime_for(CONFIG)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_routing_table(runtime: RoutingRuntime, case: Case) -> None:
    extra = dict(case.request)
    parts = extra.pop("parts", (PromptPart(case.prompt),))
    request = RouteRequest(agent=case.agent, parts=parts, step=case.step, **extra)
    decision = runtime.decide(request, case.signals)
    assert decision.model == case.model, decision.to_dict()
    assert decision.blocked == (case.model is None)
    whys = {r.model: r.why for r in decision.rejected}
    for name, why in case.rejected.items():
        assert whys.get(name) == why, (name, decision.to_dict())
    if case.reason:
        assert decision.reasons[0] == case.reason
    if case.fallbacks is not None:
        assert decision.fallbacks == case.fallbacks
    if case.sensitivity:
        assert decision.sensitivity.label == case.sensitivity
    if case.model:
        assert decision.location == runtime.config.catalog[case.model].location


def test_decision_json_has_the_documented_fields_and_no_secret(runtime: RoutingRuntime) -> None:
    decision = runtime.decide(RouteRequest.for_prompt("planner", SECRET_PROMPT), HEALTHY)
    data = decision.to_dict()
    for key in ("agent", "model", "provider", "location", "blocked", "sensitivity", "findings",
                "reasons", "rejected", "estimated_cost_usd"):
        assert key in data
    assert data["findings"] == [{"detector": "aws_access_key_id", "start": 20, "end": 40,
                                 "part": "prompt", "sensitivity": "secret"}]
    assert "AKIA2OGYBAH6TLPQ4RZC" not in json.dumps(data)
    assert {"model", "why"} <= set(data["rejected"][0])


def test_cost_estimate_is_catalog_price_times_tokens(runtime: RoutingRuntime) -> None:
    decision = runtime.decide(RouteRequest.for_prompt("pinned", "x" * 3500), HEALTHY)
    expected = (decision.input_tokens * 1 + 500 * 5) / 1e6
    assert decision.estimated_cost_usd == pytest.approx(expected)
    assert decision.input_tokens >= 1000


def test_decision_round_trips_for_replay(runtime: RoutingRuntime) -> None:
    from hybridcrew.routing.decision import Decision

    decision = runtime.decide(RouteRequest.for_prompt("coder", SECRET_PROMPT), HEALTHY)
    assert Decision.from_dict(json.loads(json.dumps(decision.to_dict()))) == decision


def test_unknown_label_is_a_clear_error(runtime: RoutingRuntime) -> None:
    from hybridcrew.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown label 'top-secret'.*customer-data"):
        runtime.decide(RouteRequest.for_prompt("coder", "x", labels=("top-secret",)), HEALTHY)


def test_complexity_comes_from_the_steps_work_not_the_role_prompt(runtime: RoutingRuntime) -> None:
    task = PromptPart("Add rate limiting.")
    heavy = PromptPart("```python\nx = 1\n```\n" * 6 + "\n- criterion" * 12, kind="context")
    light = runtime.decide(RouteRequest(agent="coder", parts=(task,), step="implement"),
                           HEALTHY)
    loaded = runtime.decide(RouteRequest(agent="coder", parts=(task, heavy),
                                         step="implement"), HEALTHY)
    assert light.model == loaded.model == "local-gpu"
    assert loaded.estimated_success is not None
    assert light.estimated_success is not None
    assert loaded.estimated_success < light.estimated_success


def test_role_prompt_is_scanned_and_counted_once() -> None:
    data = {**CONFIG, "agents": {**CONFIG["agents"], "leaky": {
        "role": "You are ops. Use password = 'Hunter2-prod' for the DB.", "model": "auto",
        "candidates": ["cloud-cheap", "local-gpu"], "max_output_tokens": 100}}}
    runtime = runtime_for(data)
    decision = runtime.decide(RouteRequest.for_prompt("leaky", "x" * 350), HEALTHY)
    assert decision.model == "local-gpu"
    assert [(f.detector, f.part) for f in decision.findings] == [("secret_assignment", "role")]
    role_chars = len(data["agents"]["leaky"]["role"])
    assert decision.input_tokens == -(-(350 + role_chars) * 2 // 7)  # ceil(chars / 3.5)
