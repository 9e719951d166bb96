"""The OpenAI-compatible endpoint, driven by the real openai SDK and LangChain's ChatOpenAI.

Upstreams: Claude through the anthropic SDK against the loopback replay server (recorded,
documented responses), and the scripted model on our own hardware.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from langchain_openai import ChatOpenAI

from hybridcrew.platform.keys import create_key
from hybridcrew.platform.store import KeyLimits
from hybridcrew.platform.store.sqlite import SqliteStore
from hybridcrew.settings import load_settings
from tests.support.configs import model
from tests.support.crew import scripted
from tests.support.gateway import gateway
from tests.support.metrics import samples, total
from tests.support.replay import ReplayServer, recorded

ANTHROPIC_KEY = "sk-ant-api03-" + "k" * 40
PRIVATE_KEY = ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"
               "\n-----END OPENSSH PRIVATE KEY-----")
WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city now.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                   "required": ["city"]}}}
CLAUDE_TEXT = "Plan: 1) add a token bucket per API key; 2) return 429 with Retry-After."


def _config(claude_url: str) -> dict[str, Any]:
    local = scripted("local", rules=[
        {"match": "weather in Paris", "tool_call": {"name": "get_weather",
                                                    "arguments": {"city": "Paris"}}},
        {"match": "18 degrees", "reply": "It is 18 degrees and sunny in Paris."},
        {"match": "as JSON", "reply": '{"ok": true, "items": [1, 2]}'},
    ], clearance="secret", quality={"default": 0.3})
    claude = model("anthropic", "claude-sonnet-4-6", endpoint=claude_url, clearance="internal",
                   price={"input": 3.0, "output": 15.0}, quality={"default": 0.95})
    return {"models": {"claude": claude, "local": local},
            "agents": {"assistant": {"role": "", "model": "auto",
                                     "candidates": ["claude", "local"]}}}


@pytest.fixture
def claude() -> Iterator[ReplayServer]:
    with ReplayServer() as server:
        server.route("GET", "/v1/models", recorded("anthropic", "models"))
        server.route("POST", "/v1/messages", recorded("anthropic", "message_ok"))
        yield server


@pytest.fixture
def base(claude: ReplayServer) -> Iterator[str]:
    with gateway(_config(claude.url), anthropic_api_key=ANTHROPIC_KEY) as url:
        yield url


def _client(base: str, key: str = "unused-with-no-keys") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/openai/v1", api_key=key, max_retries=0)


def test_a_call_is_routed_answered_and_its_decision_kept(base: str) -> None:
    raw = _client(base).chat.completions.with_raw_response.create(
        model="assistant", messages=[{"role": "system", "content": "Be brief."},
                                     {"role": "user", "content": "Plan rate limiting."}])
    completion = raw.parse()
    assert completion.choices[0].message.content == CLAUDE_TEXT
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (42, 23)
    assert (raw.headers["x-hybridcrew-model"], raw.headers["x-hybridcrew-location"]) == (
        "claude", "cloud")
    record = httpx.get(f"{base}/v1/decisions/{raw.headers['x-hybridcrew-decision-id']}").json()
    assert (record["model"], record["agent"]) == ("claude", "assistant")
    names = [m.id for m in _client(base).models.list()]
    assert names[:2] == ["assistant", "auto"]
    assert {"claude", "local"} <= set(names)


def test_a_private_key_keeps_the_call_and_the_conversation_local(base: str,
                                                                 claude: ReplayServer) -> None:
    client = _client(base)
    opening = [{"role": "system", "content": "You review deploy scripts."},
               {"role": "user", "content": "Our deploy fails."}]

    def served(messages: list[dict[str, str]], **headers: str) -> Any:
        return client.chat.completions.with_raw_response.create(
            model="assistant", messages=messages, extra_headers=headers).headers

    assert served(opening)["x-hybridcrew-model"] == "claude"
    pasted = [*opening, {"role": "assistant", "content": "Show me the script."},
              {"role": "user", "content": f"Here:\n{PRIVATE_KEY}"}]
    with_key = served(pasted)
    assert with_key["x-hybridcrew-model"] == "local"
    assert "privacy" in with_key["x-hybridcrew-reasons"]
    # A later turn whose history left the key out belongs to the same conversation (same
    # opening): it stays on models cleared for what the conversation carried.
    later = [*opening, {"role": "user", "content": "Summarise what we found."}]
    assert served(later)["x-hybridcrew-model"] == "local"
    # With its own conversation header, the same text is a new conversation.
    assert served(later, **{"x-hybridcrew-conversation": "fresh-1"})[
        "x-hybridcrew-model"] == "claude"
    sent = json.dumps([c.body for c in claude.calls("POST", "/v1/messages")])
    assert "PRIVATE KEY" not in sent, "the key never went to Claude"
    record = httpx.get(f"{base}/v1/decisions/{with_key['x-hybridcrew-decision-id']}").text
    assert "PRIVATE KEY" not in record
    assert "b3BlbnNzaC1rZXkt" not in record


def test_a_call_no_model_may_serve_is_refused_with_the_reason(base: str) -> None:
    with pytest.raises(openai.PermissionDeniedError) as refused:
        _client(base).chat.completions.create(model="claude", messages=[
            {"role": "user", "content": f"Deploy with {PRIVATE_KEY}"}])
    error = refused.value
    assert error.status_code == 403
    assert "privacy" in str(error.message)
    assert PRIVATE_KEY not in str(error.body)
    assert "b3BlbnNzaC1rZXkt" not in str(error.body)
    decision = error.response.headers["x-hybridcrew-decision-id"]
    record = httpx.get(f"{base}/v1/decisions/{decision}").json()
    assert record["model"] is None
    assert [r["why"] for r in record["rejected"]] == ["privacy"]


def test_a_prompt_too_long_for_every_model_is_a_bad_request_not_a_retry(base: str) -> None:
    # Both models have 8,192-token windows: a 503 would have clients retry what cannot succeed.
    huge = [{"role": "user", "content": "word " * 40_000}]
    with pytest.raises(openai.BadRequestError) as refused:
        _client(base).chat.completions.create(model="assistant", messages=huge)
    assert refused.value.code == "context_length_exceeded"
    assert refused.value.response.headers["x-hybridcrew-reasons"] == "context_window"
    answer = httpx.post(f"{base}/v1/messages", json={"model": "assistant", "max_tokens": 64,
                                                      "messages": huge})
    assert (answer.status_code, answer.json()["error"]["type"]) == (400, "invalid_request_error")


def test_tools_round_trip_plain_and_streaming(base: str) -> None:
    client = _client(base)
    ask = [{"role": "user", "content": "What is the weather in Paris?"}]
    first = client.chat.completions.create(model="local", messages=ask, tools=[WEATHER])
    call = first.choices[0].message.tool_calls[0]
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.function.name, json.loads(call.function.arguments)) == (
        "get_weather", {"city": "Paris"})
    answer = client.chat.completions.create(model="local", tools=[WEATHER], messages=[
        *ask, first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "18 degrees, sun"}])
    assert answer.choices[0].message.content == "It is 18 degrees and sunny in Paris."
    streamed = list(client.chat.completions.create(model="local", messages=ask,
                                                   tools=[WEATHER], stream=True))
    deltas = [c.choices[0].delta for c in streamed if c.choices]
    calls = [t for d in deltas for t in d.tool_calls or []]
    assert calls[0].function.name == "get_weather"
    assert json.loads("".join(t.function.arguments or "" for t in calls)) == {"city": "Paris"}
    assert streamed[-1].choices[0].finish_reason == "tool_calls"


def test_streaming_text_with_usage_and_json_mode(base: str) -> None:
    client = _client(base)
    chunks = list(client.chat.completions.create(
        model="local", stream=True, stream_options={"include_usage": True},
        messages=[{"role": "user", "content": "Give me the list as JSON."}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert json.loads(text) == {"ok": True, "items": [1, 2]}
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0
    plain = client.chat.completions.create(
        model="local", response_format={"type": "json_object"}, max_tokens=64,
        messages=[{"role": "user", "content": "Give me the list as JSON."}])
    assert json.loads(plain.choices[0].message.content or "") == {"ok": True, "items": [1, 2]}


def test_langchain_chat_openai_works_against_the_gateway(base: str) -> None:
    chat = ChatOpenAI(base_url=f"{base}/openai/v1", api_key="unused",  # type: ignore[arg-type]
                      model="local", max_retries=0)
    assert chat.invoke("What is 18 degrees in Paris like?").content == (
        "It is 18 degrees and sunny in Paris.")
    bound = chat.bind_tools([WEATHER])
    message = bound.invoke("What is the weather in Paris?")
    assert message.tool_calls[0]["args"] == {"city": "Paris"}


def test_bad_requests_get_openai_shaped_errors_without_echoing_values(base: str) -> None:
    client = _client(base)
    with pytest.raises(openai.UnprocessableEntityError) as unknown:
        client.chat.completions.create(model="gpt-secret-name", messages=[
            {"role": "user", "content": "hi"}])
    assert "model" in unknown.value.message
    assert "gpt-secret-name" not in str(unknown.value.body)
    answer = httpx.post(f"{base}/openai/v1/chat/completions", json={"model": "local",
                                                                     "messages": []})
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "invalid_request_error"
    assert "messages" in answer.json()["error"]["message"]


def test_keys_tenants_and_roles_apply(claude: ReplayServer, tmp_path: Any) -> None:
    store = SqliteStore(load_settings(data_dir=tmp_path).data_dir / "store.sqlite")
    _, acme = create_key(store, "acme", "operator")
    _, other = create_key(store, "other", "admin")
    _, viewer = create_key(store, "acme", "viewer")
    with gateway(_config(claude.url), store=store, anthropic_api_key=ANTHROPIC_KEY) as url:
        with pytest.raises(openai.AuthenticationError):
            _client(url, "no-such-key").chat.completions.create(
                model="local", messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(openai.PermissionDeniedError):
            _client(url, viewer).chat.completions.create(
                model="local", messages=[{"role": "user", "content": "hi"}])
        raw = _client(url, acme).chat.completions.with_raw_response.create(
            model="local", messages=[{"role": "user", "content": "hi"}])
        decision = raw.headers["x-hybridcrew-decision-id"]
        own = httpx.get(f"{url}/v1/decisions/{decision}",
                        headers={"Authorization": f"Bearer {acme}"})
        foreign = httpx.get(f"{url}/v1/decisions/{decision}",
                            headers={"Authorization": f"Bearer {other}"})
    assert own.status_code == 200
    assert foreign.status_code == 404


def test_calls_are_accounted_by_source_and_the_tenants_day_budget_applies(
        claude: ReplayServer) -> None:
    config = _config(claude.url) | {"routing": {"budgets": {"daily_usd": 0.0005}}}
    claude_cost = (42 * 3.0 + 23 * 15.0) / 1e6  # the recorded usage at Claude's price
    with gateway(config, anthropic_api_key=ANTHROPIC_KEY) as url:
        client = _client(url)
        ask = [{"role": "user", "content": "Plan rate limiting."}]
        # 16 output tokens: Claude's estimate fits the day's budget once, not twice.
        first = client.chat.completions.with_raw_response.create(model="assistant",
                                                                 messages=ask, max_tokens=16)
        assert first.headers["x-hybridcrew-model"] == "claude"
        # Today's spend leaves too little for Claude: auto stays local, pinned Claude is refused.
        second = client.chat.completions.with_raw_response.create(model="assistant",
                                                                  messages=ask, max_tokens=16)
        assert second.headers["x-hybridcrew-model"] == "local"
        with pytest.raises(openai.APIStatusError) as refused:
            client.chat.completions.create(model="claude", messages=ask, max_tokens=16)
        assert refused.value.status_code == 402
        assert "budget" in refused.value.message
        found = samples(httpx.get(f"{url}/metrics").text)
    assert total(found, "hybridcrew_cost_usd_total", source="proxy",
                 tenant="default") == pytest.approx(claude_cost)
    assert total(found, "hybridcrew_all_cloud_cost_usd_total", source="proxy") >= claude_cost
    assert total(found, "hybridcrew_steps_total", source="proxy") == 2
    assert total(found, "hybridcrew_tokens_total", source="proxy", model="claude",
                 direction="output") == 23
    assert total(found, "hybridcrew_routing_decisions_total", source="proxy") == 2
    assert total(found, "hybridcrew_cost_usd_total", source="crew") == 0


def _early_in_a_minute(needed_s: float = 8) -> None:
    """Wait for the next minute if this one ends within ``needed_s`` (limits count per minute)."""
    left = 60 - time.time() % 60
    if left < needed_s:
        time.sleep(left + 0.05)


def test_per_key_limits_answer_429_with_retry_after(claude: ReplayServer) -> None:
    ask = [{"role": "user", "content": "hi"}]
    _early_in_a_minute()
    with gateway(_config(claude.url), anthropic_api_key=ANTHROPIC_KEY,
                 proxy_requests_per_minute=2) as url:
        client = _client(url)
        for _ in range(2):
            client.chat.completions.create(model="local", messages=ask)
        with pytest.raises(openai.RateLimitError) as limited:
            client.chat.completions.create(model="local", messages=ask)
    assert 1 <= int(limited.value.response.headers["retry-after"]) <= 60
    assert "2 requests per minute" in limited.value.message
    _early_in_a_minute()
    with gateway(_config(claude.url), anthropic_api_key=ANTHROPIC_KEY,
                 proxy_tokens_per_minute=1) as url:
        _client(url).chat.completions.create(model="local", messages=ask)
        answer = httpx.post(f"{url}/v1/messages", json={"model": "local", "max_tokens": 8,
                                                         "messages": ask})
    assert answer.status_code == 429
    assert answer.json()["error"]["type"] == "rate_limit_error"
    assert "tokens per minute" in answer.json()["error"]["message"]
    assert int(answer.headers["retry-after"]) >= 1


def test_a_key_s_own_limits_override_the_gateway_s(claude: ReplayServer, tmp_path: Any) -> None:
    store = SqliteStore(tmp_path / "store.sqlite")
    _, bot = create_key(store, "acme", "operator", "ci bot", KeyLimits(requests_per_minute=1))
    _, person = create_key(store, "acme", "operator", "editor")
    _, free = create_key(store, "acme", "operator", "batch", KeyLimits(requests_per_minute=0))
    ask = [{"role": "user", "content": "hi"}]
    _early_in_a_minute()
    with gateway(_config(claude.url), store=store, anthropic_api_key=ANTHROPIC_KEY,
                 proxy_requests_per_minute=2) as url:
        def calls(key: str, n: int) -> int:
            answers = [httpx.post(f"{url}/openai/v1/chat/completions", json={
                "model": "local", "messages": ask}, headers={"Authorization": f"Bearer {key}"})
                for _ in range(n)]
            assert {a.status_code for a in answers} <= {200, 429}
            return sum(a.status_code == 200 for a in answers)

        # The bot's own limit (1), the gateway's for a key with none (2), none at all (0).
        assert (calls(bot, 3), calls(person, 3), calls(free, 5)) == (1, 2, 5)
