"""Structured output through each provider's native mechanism."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage

from hybridcrew.graphs.schemas import plan_schema, verdict_schema
from hybridcrew.routing.providers import base
from hybridcrew.routing.providers.base import structured_model
from tests.support.configs import model, runtime_for
from tests.support.replay import ReplayServer, Reply

PLAN = plan_schema(["frontend", "backend"])
PLAN_JSON = {"summary": "Rate limit", "parts": {
    "frontend": {"goal": "Show a banner", "acceptance_criteria": ["banner on 429"]},
    "backend": {"goal": "Token bucket", "acceptance_criteria": ["429 after 100/min"]}}}


def _runtime(provider: str, url: str, **fields: object):  # type: ignore[no-untyped-def]
    return runtime_for({"models": {"m": model(provider, "x", endpoint=url, **fields)},
                        "agents": {"cto": {"role": "CTO", "model": "m"}}},
                       anthropic_api_key="sk-ant-api03-" + "k" * 40)


def test_claude_uses_tool_use() -> None:
    tool_reply = {"id": "msg_01", "type": "message", "role": "assistant", "model": "x",
                  "content": [{"type": "tool_use", "id": "toolu_01", "name": "Plan",
                               "input": PLAN_JSON}],
                  "stop_reason": "tool_use", "stop_sequence": None,
                  "usage": {"input_tokens": 120, "output_tokens": 60}}
    with ReplayServer() as server:
        server.route("POST", "/v1/messages", Reply(200, tool_reply))
        result = _runtime("anthropic", server.url, clearance="internal").pool.call(
            "m", [HumanMessage("plan")], 256, schema=PLAN)
        sent = server.calls("POST", "/v1/messages")[0].body
    assert result.parsed is not None
    assert result.parsed.model_dump(by_alias=True) == PLAN_JSON
    assert (result.input_tokens, result.output_tokens) == (120, 60)
    assert sent["tools"][0]["name"] == "Plan"
    parts = sent["tools"][0]["input_schema"]["properties"]["parts"]
    assert parts["required"] == ["frontend", "backend"]


def test_a_schema_is_converted_once_per_model_and_every_call_still_sends_its_own() -> None:
    verdict = verdict_schema(["frontend", "backend"])
    verdict_json = {"parts": {p: {"approved": True, "findings": []}
                              for p in ("frontend", "backend")}}

    def tool_reply(name: str, data: object) -> Reply:
        return Reply(200, {"id": "msg_01", "type": "message", "role": "assistant", "model": "x",
                           "content": [{"type": "tool_use", "id": "toolu_01", "name": name,
                                        "input": data}],
                           "stop_reason": "tool_use", "stop_sequence": None,
                           "usage": {"input_tokens": 10, "output_tokens": 5}})

    with ReplayServer() as server:
        server.route("POST", "/v1/messages", tool_reply("Plan", PLAN_JSON),
                     tool_reply("Verdict", verdict_json), tool_reply("Plan", PLAN_JSON))
        pool = _runtime("anthropic", server.url, clearance="internal").pool
        results = [pool.call("m", [HumanMessage("go")], 256, schema=schema)
                   for schema in (PLAN, verdict, PLAN)]
        sent = [c.body["tools"][0]["name"] for c in server.calls("POST", "/v1/messages")]
    assert sent == ["Plan", "Verdict", "Plan"]
    assert [type(r.parsed) for r in results] == [PLAN, verdict, PLAN]
    chat = pool.chat_model("m", 256)
    assert structured_model(chat, PLAN, "function_calling") is structured_model(
        chat, PLAN, "function_calling")
    assert structured_model(chat, PLAN, "json_schema") is not structured_model(
        chat, PLAN, "function_calling")


def test_the_structured_model_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "STRUCTURED_MODELS", 2)
    chat = _runtime("anthropic", "http://127.0.0.1:9").pool.chat_model("m", 64)
    first = structured_model(chat, PLAN, "function_calling")
    for n in range(3):
        structured_model(chat, plan_schema([f"part{n}"]), "function_calling")
    assert len(base._structured_models) == 2
    assert structured_model(chat, PLAN, "function_calling") is not first, "the oldest went"


def test_ollama_sends_the_schema_as_format() -> None:
    chunks = [{"model": "x", "created_at": "2025-01-01T00:00:00Z",
               "message": {"role": "assistant", "content": json.dumps(PLAN_JSON)}, "done": False},
              {"model": "x", "created_at": "2025-01-01T00:00:01Z",
               "message": {"role": "assistant", "content": ""}, "done": True,
               "done_reason": "stop", "prompt_eval_count": 30, "eval_count": 40}]
    with ReplayServer() as server:
        server.route("POST", "/api/chat", Reply(200, ndjson=chunks))
        result = _runtime("ollama", server.url).pool.call("m", [HumanMessage("plan")], 256,
                                                          schema=PLAN)
        sent = server.calls("POST", "/api/chat")[0].body
    assert result.parsed is not None
    assert result.parsed.model_dump(by_alias=True) == PLAN_JSON
    assert sent["format"]["properties"]["parts"]["$ref"].endswith("PlanParts")
    assert result.output_tokens == 40


def test_invalid_structured_reply_is_reported_not_raised() -> None:
    chunks = [{"model": "x", "created_at": "2025-01-01T00:00:00Z",
               "message": {"role": "assistant", "content": '{"parts": []}'}, "done": True,
               "done_reason": "stop", "prompt_eval_count": 3, "eval_count": 4}]
    with ReplayServer() as server:
        server.route("POST", "/api/chat", Reply(200, ndjson=chunks))
        result = _runtime("ollama", server.url).pool.call("m", [HumanMessage("plan")], 64,
                                                          schema=PLAN)
    assert result.parsed is None
    assert result.invalid is not None
    assert "summary" in result.invalid
    assert result.output_tokens == 4, "tokens of an invalid reply are still accounted"


@pytest.mark.llama
def test_embedded_gemma_returns_a_valid_plan_and_verdict_through_a_grammar(
        models_dir: Path) -> None:
    runtime = runtime_for({"models": {"m": model("embedded", "gemma", context_window=2048,
                                                  max_output_tokens=384)},
                           "agents": {"cto": {"role": "CTO", "model": "m"}}})
    plan = runtime.pool.call("m", [HumanMessage("Plan a login page and its API.")], 384,
                             schema=PLAN)
    verdict = runtime.pool.call("m", [HumanMessage("Review the login page and API.")], 384,
                                schema=verdict_schema(["frontend", "backend"]))
    assert plan.invalid is None, plan.text
    assert plan.parsed is not None
    assert set(plan.parsed.model_dump(by_alias=True)["parts"]) == {"frontend", "backend"}
    assert verdict.invalid is None, verdict.text
