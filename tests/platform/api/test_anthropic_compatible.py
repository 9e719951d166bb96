"""The Anthropic-compatible endpoint, driven by the real anthropic SDK and ChatAnthropic.

What Claude Code does with ``ANTHROPIC_BASE_URL`` pointing at the gateway: Messages calls, plain
and streaming, with tools. Upstreams as in the OpenAI-compatible tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest
from langchain_anthropic import ChatAnthropic

from tests.platform.api.test_openai_compatible import (
    ANTHROPIC_KEY,
    CLAUDE_TEXT,
    PRIVATE_KEY,
    _config,
)
from tests.support.gateway import gateway
from tests.support.replay import ReplayServer, recorded

WEATHER = {"name": "get_weather", "description": "The weather in a city now.",
           "input_schema": {"type": "object", "properties": {"city": {"type": "string"}},
                            "required": ["city"]}}
ASK = [{"role": "user", "content": "What is the weather in Paris?"}]


@pytest.fixture
def base() -> Iterator[str]:
    with ReplayServer() as claude:
        claude.route("GET", "/v1/models", recorded("anthropic", "models"))
        claude.route("POST", "/v1/messages", recorded("anthropic", "message_ok"))
        with gateway(_config(claude.url), anthropic_api_key=ANTHROPIC_KEY) as url:
            yield url


def _client(base: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=base, api_key="unused-with-no-keys", max_retries=0)


def test_messages_are_routed_and_answered_as_anthropic_does(base: str) -> None:
    raw = _client(base).messages.with_raw_response.create(
        model="assistant", max_tokens=256, system="Be brief.",
        messages=[{"role": "user", "content": "Plan rate limiting."}])
    message = raw.parse()
    assert message.content[0].type == "text"
    assert message.content[0].text == CLAUDE_TEXT
    assert (message.usage.input_tokens, message.usage.output_tokens) == (42, 23)
    assert (message.stop_reason, raw.headers["x-hybridcrew-model"]) == ("end_turn", "claude")
    # Claude Code sends the provider's own model id: it pins the model that serves it.
    pinned = _client(base).messages.with_raw_response.create(
        model="claude-sonnet-4-6", max_tokens=64, messages=[{"role": "user", "content": "Hi"}])
    assert pinned.headers["x-hybridcrew-model"] == "claude"
    count = _client(base).messages.count_tokens(model="auto", messages=ASK)
    assert count.input_tokens > 0


def test_tool_use_round_trips_plain_and_streaming(base: str) -> None:
    client = _client(base)
    first = client.messages.create(model="local", max_tokens=256, tools=[WEATHER], messages=ASK)
    (use,) = [b for b in first.content if b.type == "tool_use"]
    assert (first.stop_reason, use.name, use.input) == ("tool_use", "get_weather",
                                                        {"city": "Paris"})
    answer = client.messages.create(model="local", max_tokens=256, tools=[WEATHER], messages=[
        *ASK, {"role": "assistant", "content": [b.model_dump() for b in first.content]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": use.id,
                                      "content": "18 degrees, sun"}]}])
    assert answer.content[0].text == "It is 18 degrees and sunny in Paris."
    with client.messages.stream(model="local", max_tokens=256, tools=[WEATHER],
                                messages=ASK) as stream:
        final = stream.get_final_message()
    assert (final.content[0].type, final.stop_reason) == ("tool_use", "tool_use")
    assert final.content[0].input == {"city": "Paris"}


def test_streaming_text_reaches_the_sdk_with_usage(base: str) -> None:
    with _client(base).messages.stream(model="local", max_tokens=64, messages=[
            {"role": "user", "content": "Give me the list as JSON."}]) as stream:
        text = stream.get_final_text()
        final = stream.get_final_message()
    assert text == '{"ok": true, "items": [1, 2]}'
    assert final.usage.output_tokens > 0


def test_a_refusal_is_anthropic_shaped_and_names_the_reason(base: str) -> None:
    with pytest.raises(anthropic.PermissionDeniedError) as refused:
        _client(base).messages.create(model="claude", max_tokens=64, messages=[
            {"role": "user", "content": f"Deploy with {PRIVATE_KEY}"}])
    body = refused.value.body
    assert isinstance(body, dict)
    assert body["error"]["type"] == "permission_error"
    assert "privacy" in body["error"]["message"]
    assert "b3BlbnNzaC1rZXkt" not in str(body)
    missing = httpx.post(f"{base}/v1/messages", json={"model": "local", "messages": ASK})
    assert missing.status_code == 422
    assert missing.json()["type"] == "error"
    assert "max_tokens" in missing.json()["error"]["message"]


def test_langchain_chat_anthropic_works_against_the_gateway(base: str) -> None:
    chat = ChatAnthropic(base_url=base, api_key="unused",  # type: ignore[arg-type]
                         model="local", max_retries=0, max_tokens=128)  # type: ignore[call-arg]
    assert chat.invoke("What is 18 degrees in Paris like?").content == (
        "It is 18 degrees and sunny in Paris.")
    message = chat.bind_tools([WEATHER]).invoke("What is the weather in Paris?")
    assert message.tool_calls[0]["args"] == {"city": "Paris"}


def test_a_streamed_call_served_by_claude_streams_through() -> None:
    with ReplayServer() as claude:
        claude.route("GET", "/v1/models", recorded("anthropic", "models"))
        claude.route("POST", "/v1/messages", recorded("anthropic", "message_stream"),
                     recorded("anthropic", "tool_use_stream", fill={
                         "tool_name": "get_weather", "argument": "city", "value": "Paris"}),
                     recorded("anthropic", "message_stream"))
        with gateway(_config(claude.url), anthropic_api_key=ANTHROPIC_KEY) as base:
            client = _client(base)
            with client.messages.stream(model="claude", max_tokens=256, messages=ASK) as stream:
                assert stream.get_final_text() == CLAUDE_TEXT
                assert stream.get_final_message().usage.output_tokens == 23
            with client.messages.stream(model="claude", max_tokens=256, tools=[WEATHER],
                                        messages=ASK) as stream:
                final = stream.get_final_message()
            openai_stream = openai.OpenAI(base_url=f"{base}/openai/v1", api_key="unused",
                                          max_retries=0).chat.completions.create(
                model="claude", messages=ASK, stream=True)
            streamed = "".join(c.choices[0].delta.content or "" for c in openai_stream
                               if c.choices)
        assert [c.body["stream"] for c in claude.calls("POST", "/v1/messages")] == [True] * 3
    (use,) = [b for b in final.content if b.type == "tool_use"]
    assert (final.stop_reason, use.name, use.input) == ("tool_use", "get_weather",
                                                        {"city": "Paris"})
    assert streamed == CLAUDE_TEXT
