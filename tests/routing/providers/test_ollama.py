"""Ollama through langchain-ollama and the real ollama client, against replayed responses."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from hybridcrew.errors import Overloaded, ProviderTimeout, RateLimited, Unavailable
from hybridcrew.routing.runtime import RoutingRuntime
from tests.support.configs import model, runtime_for
from tests.support.replay import ReplayServer, closed_port_url, recorded

MESSAGES = [SystemMessage("You are a backend engineer."), HumanMessage("Write a rate limiter.")]


def _runtime(url: str, timeout: float = 5.0) -> RoutingRuntime:
    data = {
        "models": {"coder": model("ollama", "qwen2.5-coder:7b", endpoint=url, vram_gb=5.5,
                                  timeout_s=timeout, context_window=8192)},
        "agents": {"backend": {"role": "backend engineer", "model": "coder"}},
    }
    return runtime_for(data)


def test_streamed_chat_returns_text_and_usage() -> None:
    with ReplayServer() as server:
        server.route("POST", "/api/chat", recorded("ollama", "chat_ok"))
        result = _runtime(server.url).pool.call("coder", MESSAGES, max_tokens=300)
        sent = server.calls("POST", "/api/chat")[0].body
    assert result.text == "def rate_limit(key): ..."
    assert (result.input_tokens, result.output_tokens) == (26, 282)
    assert result.cost_usd == 0.0
    assert result.location == "local"
    assert sent["model"] == "qwen2.5-coder:7b"
    assert sent["options"]["num_predict"] == 300
    assert sent["messages"][0] == {"role": "system", "content": "You are a backend engineer."}


@pytest.mark.parametrize(("fixture", "error", "status"), [
    ("rate_limited", RateLimited, 429),
    ("busy", Overloaded, 503),
    ("server_error", Unavailable, 500),
])
def test_http_errors_map_to_typed_errors(fixture: str, error: type, status: int) -> None:
    with ReplayServer() as server:
        server.route("POST", "/api/chat", recorded("ollama", fixture))
        with pytest.raises(error) as caught:
            _runtime(server.url).pool.call("coder", MESSAGES, max_tokens=64)
    assert caught.value.status == status


def test_model_not_pulled_is_a_bad_request_and_probe_says_pull() -> None:
    with ReplayServer() as server:
        server.route("POST", "/api/chat", recorded("ollama", "not_found"))
        server.route("GET", "/api/tags", recorded("ollama", "tags", body={"models": []}))
        runtime = _runtime(server.url)
        with pytest.raises(Exception, match="not found") as caught:
            runtime.pool.call("coder", MESSAGES, max_tokens=64)
        health = runtime.collect_signals().health_of("coder")
    assert caught.value.__class__.__name__ == "BadRequest"
    assert health.up is False
    assert health.fix == "ollama pull qwen2.5-coder:7b"


def test_timeout() -> None:
    with ReplayServer() as server:
        server.route("POST", "/api/chat", recorded("ollama", "chat_ok", delay_s=2.0))
        with pytest.raises(ProviderTimeout):
            _runtime(server.url, timeout=0.3).pool.call("coder", MESSAGES, max_tokens=64)


def test_connection_refused() -> None:
    with pytest.raises(Unavailable):
        _runtime(closed_port_url()).pool.call("coder", MESSAGES, max_tokens=64)


def test_probe_reads_pulled_and_loaded_models() -> None:
    with ReplayServer() as server:
        server.route("GET", "/api/tags", recorded("ollama", "tags"))
        server.route("GET", "/api/ps", recorded("ollama", "ps"))
        signals = _runtime(server.url).collect_signals()
    assert signals.health_of("coder").up is True
    assert signals.gpu.loaded == frozenset({"qwen2.5-coder:7b"})
    assert signals.gpu.free_gb is None, "no NVML GPU on this machine: headroom unknown"


def test_probes_share_one_kept_alive_client_and_threads_never_mix_answers() -> None:
    # Making an HTTP client per probe cost ~50 ms of CPU: every thread probes through one
    # shared client, whose connections stay open between probes.
    with ReplayServer() as server:
        server.route("GET", "/api/tags", recorded("ollama", "tags"))
        server.route("GET", "/api/ps", recorded("ollama", "ps"))
        runtime = _runtime(server.url)
        for _ in range(3):
            runtime.collect_signals()
        one_by_one = [c.peer for c in server.seen]
        with ThreadPoolExecutor(max_workers=8) as pool:
            snapshots = list(pool.map(lambda _: runtime.collect_signals(), range(32)))
        probed = len(server.calls("GET", "/api/tags")) + len(server.calls("GET", "/api/ps"))
    assert len(set(one_by_one)) == 1, "probes one after another reuse one connection"
    assert all(s.health_of("coder").up for s in snapshots)
    assert all(s.gpu.loaded == frozenset({"qwen2.5-coder:7b"}) for s in snapshots)
    assert probed == 6 + 64


def test_probe_of_absent_server_is_down_with_fix() -> None:
    health = _runtime(closed_port_url()).collect_signals().health_of("coder")
    assert health.up is False
    assert "ollama serve" in health.fix
