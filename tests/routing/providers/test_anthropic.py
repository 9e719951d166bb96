"""Claude through langchain-anthropic and the real anthropic SDK, against replayed responses."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from hybridcrew.errors import (
    AuthFailed,
    BadRequest,
    Overloaded,
    ProviderTimeout,
    RateLimited,
    Unavailable,
)
from tests.support.configs import model, runtime_for
from tests.support.replay import ReplayServer, closed_port_url, recorded

KEY = "sk-ant-api03-" + "k" * 40
MESSAGES = [SystemMessage("You are the CTO."), HumanMessage("Plan rate limiting.")]


def _runtime(url: str, timeout: float = 5.0):  # type: ignore[no-untyped-def]
    data = {
        "models": {"claude": model("anthropic", "claude-sonnet-4-6", endpoint=url,
                                   price={"input": 3.0, "output": 15.0}, clearance="internal",
                                   timeout_s=timeout)},
        "agents": {"cto": {"role": "CTO", "model": "claude"}},
    }
    return runtime_for(data, anthropic_api_key=KEY)


def test_success_returns_text_usage_and_cost() -> None:
    with ReplayServer() as server:
        server.route("POST", "/v1/messages", recorded("anthropic", "message_ok"))
        result = _runtime(server.url).pool.call("claude", MESSAGES, max_tokens=256)
        sent = server.calls("POST", "/v1/messages")[0]
    assert result.text.startswith("Plan: 1) add a token bucket")
    assert (result.input_tokens, result.output_tokens) == (42, 23)
    assert result.cost_usd == pytest.approx((42 * 3.0 + 23 * 15.0) / 1e6)
    assert result.location == "cloud"
    # SDK versions send the key as x-api-key or as a bearer token.
    assert KEY in (sent.headers.get("x-api-key"), sent.headers.get("authorization", "")[7:])
    assert sent.body["model"] == "claude-sonnet-4-6"
    assert sent.body["max_tokens"] == 256
    assert sent.body["system"] == "You are the CTO."


@pytest.mark.parametrize(("fixture", "error", "status"), [
    ("rate_limited", RateLimited, 429),
    ("overloaded", Overloaded, 529),
    ("api_error", Unavailable, 500),
    ("auth_error", AuthFailed, 401),
    ("invalid_request", BadRequest, 400),
])
def test_http_errors_map_to_typed_errors(fixture: str, error: type, status: int) -> None:
    with ReplayServer() as server:
        server.route("POST", "/v1/messages", recorded("anthropic", fixture))
        runtime = _runtime(server.url)
        with pytest.raises(error) as caught:
            runtime.pool.call("claude", MESSAGES, max_tokens=64)
        assert len(server.calls("POST", "/v1/messages")) == 1, "no hidden SDK retries"
    assert caught.value.status == status
    assert KEY not in str(caught.value)
    if fixture == "rate_limited":
        assert caught.value.retry_after_s == 17.0


def test_timeout() -> None:
    with ReplayServer() as server:
        server.route("POST", "/v1/messages", recorded("anthropic", "message_ok", delay_s=2.0))
        with pytest.raises(ProviderTimeout):
            _runtime(server.url, timeout=0.3).pool.call("claude", MESSAGES, max_tokens=64)


def test_connection_refused() -> None:
    with pytest.raises(Unavailable):
        _runtime(closed_port_url()).pool.call("claude", MESSAGES, max_tokens=64)


def test_missing_key_is_an_auth_error_naming_the_fix() -> None:
    runtime = runtime_for({
        "models": {"claude": model("anthropic", "claude-sonnet-4-6", clearance="internal")},
        "agents": {"cto": {"role": "CTO", "model": "claude"}},
    })
    with pytest.raises(AuthFailed, match="ANTHROPIC_API_KEY"):
        runtime.pool.call("claude", MESSAGES, max_tokens=64)


def test_probe_lists_models_and_checks_the_key() -> None:
    with ReplayServer() as server:
        server.route("GET", "/v1/models", recorded("anthropic", "models"),
                     recorded("anthropic", "auth_error"))
        runtime = _runtime(server.url)
        up = runtime.collect_signals().health_of("claude")
        down = runtime.collect_signals().health_of("claude")
        assert server.calls("GET", "/v1/models")[0].headers["anthropic-version"] == "2023-06-01"
    assert up.up is True
    assert down.up is False
    assert "rejected" in down.detail
    assert "ANTHROPIC_API_KEY" in down.fix
