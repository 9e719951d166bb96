"""The OpenAI-compatible client sends exactly the body langchain-openai's own client sends.

It hands the body to the openai SDK as ``extra_body`` (skipping the SDK's per-parameter type
walk) and keeps assistant text out of langchain-openai's conversion; a server must see no
difference. Both clients call the loopback replay server answering in the
chat-completions shape (OpenAI API reference: Chat); the request bodies are compared whole.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import openai
import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_openai import ChatOpenAI

from hybridcrew.graphs.schemas import plan_schema
from hybridcrew.routing.providers.openai_client import UntypedChatOpenAI, untyped_body
from hybridcrew.routing.providers.openai_compatible import OpenAICompatibleProvider
from tests.support.configs import model, runtime_for
from tests.support.replay import ReplayServer, Reply, openai_completion

PATH = "/v1/chat/completions"
CONVERSATION = [
    SystemMessage("You are the backend engineer."),
    HumanMessage("Add rate limiting."),
    AIMessage("", tool_calls=[{"id": "call_1", "name": "read_file",
                               "args": {"path": "app/main.py"}}]),
    ToolMessage("app = FastAPI()", tool_call_id="call_1"),
    AIMessage("The app has no middleware yet.\n```python\napp = FastAPI()\n```\n" * 40),
    AIMessage("Reading the settings next.", tool_calls=[
        {"id": "call_2", "name": "read_file", "args": {"path": "app/settings.py"}}]),
    ToolMessage("LIMIT = 100", tool_call_id="call_2"),
    AIMessage([{"type": "text", "text": "The limit is 100 a minute."}]),
    HumanMessage([{"type": "text", "text": "Now the limiter."}]),
]
READ_FILE = {"type": "function", "function": {
    "name": "read_file", "description": "Read a file of the repository.",
    "parameters": {"type": "object", "properties": {"path": {"type": "string"}},
                   "required": ["path"]}}}
PLAN = plan_schema(["backend"])
PLAN_JSON = {"summary": "Rate limit", "parts": {
    "backend": {"goal": "Token bucket", "acceptance_criteria": ["429 after 100/min"]}}}


def _models(url: str) -> list[BaseChatModel]:
    options: dict[str, Any] = {"model": "m", "base_url": f"{url}/v1", "api_key": "not-needed",
                               "max_retries": 0, "temperature": 0.2, "stream_usage": True,
                               "extra_body": {"max_tokens": 64, "top_k": 20}}
    return [ChatOpenAI(**options), UntypedChatOpenAI(**options)]


CALLS: dict[str, Callable[[BaseChatModel], object]] = {
    "plain": lambda m: m.invoke(CONVERSATION),
    "tools": lambda m: m.bind_tools([READ_FILE], tool_choice="auto").invoke(CONVERSATION),
    "json_schema": lambda m: m.with_structured_output(PLAN, method="json_schema").invoke(
        CONVERSATION),
    "json_object": lambda m: m.invoke(CONVERSATION, response_format={"type": "json_object"}),
    "stop": lambda m: m.invoke(CONVERSATION, stop=["\n\n"], seed=7),
}


@pytest.mark.parametrize("call", list(CALLS), ids=list(CALLS))
def test_the_body_is_the_one_langchain_openai_sends(call: str) -> None:
    with ReplayServer() as server:
        server.route("POST", PATH, openai_completion(json.dumps(PLAN_JSON)))
        for model in _models(server.url):
            CALLS[call](model)
    stock, untyped = (seen.body for seen in server.calls("POST", PATH))
    assert untyped == stock
    assert stock["messages"], "the conversation must reach the server"
    assert stock["max_tokens"] == 64, "extra_body still overrides the typed parameters"


def test_a_streamed_call_sends_the_same_body_and_still_streams() -> None:
    with ReplayServer() as server:
        server.route("POST", PATH, Reply(400, {"error": {
            "message": "streaming refused", "type": "invalid_request_error", "param": None,
            "code": None}}))
        for model in _models(server.url):
            with pytest.raises(openai.BadRequestError):
                list(model.stream(CONVERSATION))
    stock, untyped = (seen.body for seen in server.calls("POST", PATH))
    assert untyped == stock
    assert stock["stream"] is True
    assert stock["stream_options"] == {"include_usage": True}


def test_only_the_sdk_arguments_stay_typed() -> None:
    payload = {"model": "m", "stream": False, "messages": [{"role": "user", "content": "hi"}],
               "temperature": 0.2, "extra_body": {"max_tokens": 64, "temperature": 0.5}}
    assert untyped_body(payload) == {
        "model": "m", "stream": False, "messages": [],
        "extra_body": {"messages": [{"role": "user", "content": "hi"}], "temperature": 0.5,
                       "max_tokens": 64}}
    responses_api = {"model": "m", "input": [{"role": "user", "content": "hi"}]}
    assert untyped_body(responses_api) is responses_api


def test_the_provider_hands_the_sdk_the_body_untyped() -> None:
    runtime = runtime_for({"models": {"m": model("openai_compatible", "m")},
                           "agents": {"backend": {"role": "backend", "model": "m"}}})
    entry = runtime.config.catalog["m"]
    chat = OpenAICompatibleProvider().chat_model(entry, runtime.settings, 64)
    request = chat._get_request_payload(CONVERSATION)  # what the SDK is called with
    assert request["messages"] == [], "the SDK must not walk the conversation"
    sent = request["extra_body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant",
                                         "assistant", "tool", "assistant", "user"]
    assert sent[4]["content"] == CONVERSATION[4].content, "a reply's text goes out whole"
