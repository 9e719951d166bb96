"""The contract every HTTP model provider keeps, through its real client library.

Each provider is called through hybridcrew's pool (the path every step takes) against the
loopback replay server answering in that API's documented shapes: Anthropic Messages
(docs: Messages, Errors), OpenAI chat completions (API reference: Chat, Error codes) as
llama.cpp / vLLM serve it, and Ollama's ``/api/chat`` (api.md). The same cases for each:
a plain reply with usage and cost, structured output, and every failure mapped onto the
typed error set, with no hidden client retries and no credential in the error text.
Adding a provider: add one :class:`Contract` below.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from hybridcrew.errors import (
    AuthFailed,
    BadRequest,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    Unavailable,
)
from hybridcrew.graphs.schemas import plan_schema
from hybridcrew.routing.runtime import RoutingRuntime
from tests.support.configs import model, runtime_for
from tests.support.replay import ReplayServer, Reply, closed_port_url, openai_completion

MESSAGES = [SystemMessage("You are the backend engineer."), HumanMessage("Add rate limiting.")]
TEXT = "Use a token bucket per API key."
USAGE = (31, 9)
PRICE = {"input": 2.0, "output": 10.0}
PLAN = plan_schema(["backend"])
PLAN_JSON = {"summary": "Rate limit", "parts": {
    "backend": {"goal": "Token bucket", "acceptance_criteria": ["429 after 100/min"]}}}
ANTHROPIC_KEY = "sk-ant-api03-" + "k" * 40
OPENAI_KEY = "sk-proj-" + "q" * 40


@dataclass(frozen=True)
class Contract:
    """How one provider's API answers: its chat route and the documented reply shapes."""

    provider: str
    path: str
    fields: dict[str, Any]
    ok: Callable[[str, int, int], Reply]
    structured: Callable[[dict[str, Any]], Reply]
    error: Callable[[int, str], Reply]
    settings: dict[str, Any]
    reads_retry_after: bool = True
    """Whether the client library exposes a 429's ``Retry-After`` header."""


def _anthropic_message(content: list[dict[str, Any]], stop: str, tokens: tuple[int, int]
                       ) -> Reply:
    return Reply(200, {"id": "msg_01", "type": "message", "role": "assistant", "model": "m",
                       "content": content, "stop_reason": stop, "stop_sequence": None,
                       "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]}})


_ANTHROPIC_ERRORS = {400: "invalid_request_error", 401: "authentication_error",
                     429: "rate_limit_error", 500: "api_error"}

ANTHROPIC = Contract(
    provider="anthropic", path="/v1/messages", fields={"clearance": "internal"},
    ok=lambda text, i, o: _anthropic_message([{"type": "text", "text": text}], "end_turn", (i, o)),
    structured=lambda data: _anthropic_message(
        [{"type": "tool_use", "id": "toolu_01", "name": "Plan", "input": data}], "tool_use",
        USAGE),
    error=lambda status, message: Reply(status, {"type": "error", "error": {
        "type": _ANTHROPIC_ERRORS[status], "message": message}}),
    settings={"anthropic_api_key": ANTHROPIC_KEY},
)


_OPENAI_ERRORS = {400: "invalid_request_error", 401: "invalid_request_error",
                  429: "rate_limit_exceeded", 500: "server_error"}

OPENAI_COMPATIBLE = Contract(
    provider="openai_compatible", path="/v1/chat/completions", fields={},
    ok=lambda text, i, o: openai_completion(text, (i, o)),
    structured=lambda data: openai_completion(json.dumps(data), USAGE),
    error=lambda status, message: Reply(status, {"error": {
        "message": message, "type": _OPENAI_ERRORS[status], "param": None, "code": None}}),
    settings={"openai_compatible_api_key": OPENAI_KEY},
)


def _ollama_chat(content: str, tokens: tuple[int, int]) -> Reply:
    return Reply(200, ndjson=[
        {"model": "m", "created_at": "2025-01-01T12:00:00Z",
         "message": {"role": "assistant", "content": content}, "done": False},
        {"model": "m", "created_at": "2025-01-01T12:00:01Z",
         "message": {"role": "assistant", "content": ""}, "done": True, "done_reason": "stop",
         "prompt_eval_count": tokens[0], "eval_count": tokens[1]}])


OLLAMA = Contract(
    provider="ollama", path="/api/chat", fields={},
    ok=lambda text, i, o: _ollama_chat(text, (i, o)),
    structured=lambda data: _ollama_chat(json.dumps(data), USAGE),
    error=lambda status, message: Reply(status, {"error": message}),
    settings={},
    reads_retry_after=False,  # ollama's ResponseError keeps the status and message only
)

CONTRACTS = [ANTHROPIC, OPENAI_COMPATIBLE, OLLAMA]


@pytest.fixture(params=CONTRACTS, ids=lambda c: c.provider)
def contract(request: pytest.FixtureRequest) -> Contract:
    return request.param  # type: ignore[no-any-return]


def _runtime(contract: Contract, url: str, timeout: float = 5.0) -> RoutingRuntime:
    endpoint = f"{url}/v1" if contract.provider == "openai_compatible" else url
    spec = model(contract.provider, "m", endpoint=endpoint, price=PRICE, timeout_s=timeout,
                 **contract.fields)
    return runtime_for({"models": {"m": spec},
                        "agents": {"backend": {"role": "backend", "model": "m"}}},
                       **contract.settings)


def _call(contract: Contract, *replies: Reply, timeout: float = 5.0, schema: Any = None
          ) -> tuple[Any, ReplayServer]:
    with ReplayServer() as server:
        server.route("POST", contract.path, *replies)
        result = _runtime(contract, server.url, timeout).pool.call("m", MESSAGES, 64,
                                                                    schema=schema)
    return result, server


def test_plain_reply_with_usage_and_cost(contract: Contract) -> None:
    result, server = _call(contract, contract.ok(TEXT, *USAGE))
    assert result.text == TEXT
    assert (result.input_tokens, result.output_tokens) == USAGE
    assert result.cost_usd == pytest.approx((USAGE[0] * 2.0 + USAGE[1] * 10.0) / 1e6)
    assert result.model == "m"
    assert len(server.calls("POST", contract.path)) == 1


def test_structured_output_is_parsed(contract: Contract) -> None:
    result, _ = _call(contract, contract.structured(PLAN_JSON), schema=PLAN)
    assert result.invalid is None
    assert result.parsed is not None
    assert result.parsed.model_dump(by_alias=True) == PLAN_JSON
    assert (result.input_tokens, result.output_tokens) == USAGE


@pytest.mark.parametrize(("status", "error"), [
    (401, AuthFailed), (429, RateLimited), (500, Unavailable), (400, BadRequest)])
def test_http_failures_map_to_typed_errors(contract: Contract, status: int,
                                           error: type[ProviderError]) -> None:
    with ReplayServer() as server:
        server.route("POST", contract.path,
                     contract.error(status, "request refused by the replay server"))
        runtime = _runtime(contract, server.url)
        with pytest.raises(error) as caught:
            runtime.pool.call("m", MESSAGES, 64)
        assert len(server.calls("POST", contract.path)) == 1, "no hidden client retries"
    assert caught.value.status == status
    assert caught.value.provider == contract.provider
    assert caught.value.retryable is (error is not BadRequest)
    for key in contract.settings.values():
        assert key not in str(caught.value)


def test_retry_after_is_read_from_a_429(contract: Contract) -> None:
    if not contract.reads_retry_after:
        pytest.skip(f"{contract.provider}'s client does not expose response headers")
    reply = contract.error(429, "slow down")
    reply.headers["retry-after"] = "17"
    with ReplayServer() as server:
        server.route("POST", contract.path, reply)
        runtime = _runtime(contract, server.url)
        with pytest.raises(RateLimited) as caught:
            runtime.pool.call("m", MESSAGES, 64)
    assert caught.value.retry_after_s == 17.0


def test_timeout(contract: Contract) -> None:
    slow = contract.ok(TEXT, *USAGE)
    slow.delay_s = 2.0
    with ReplayServer() as server:
        server.route("POST", contract.path, slow)
        runtime = _runtime(contract, server.url, timeout=0.3)
        with pytest.raises(ProviderTimeout) as caught:
            runtime.pool.call("m", MESSAGES, 64)
    assert caught.value.retryable


def test_connection_refused(contract: Contract) -> None:
    runtime = _runtime(contract, closed_port_url())
    with pytest.raises(Unavailable) as caught:
        runtime.pool.call("m", MESSAGES, 64)
    assert caught.value.provider == contract.provider
