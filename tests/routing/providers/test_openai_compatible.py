"""The OpenAI-compatible provider against a real llama.cpp server running the Gemma GGUF."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from hybridcrew.errors import Unavailable
from hybridcrew.routing.runtime import RoutingRuntime
from tests.support.configs import model, runtime_for
from tests.support.llama import MODEL_ALIAS, gguf_path, llama_server
from tests.support.replay import closed_port_url

pytestmark = pytest.mark.llama


@pytest.fixture(scope="module")
def server_url(models_dir: Path) -> Iterator[str]:
    with llama_server(gguf_path(models_dir)) as url:
        yield url


def _runtime(url: str) -> RoutingRuntime:
    return runtime_for({
        "models": {"local": model("openai_compatible", MODEL_ALIAS, endpoint=url,
                                  context_window=2048, price={"input": 0.1, "output": 0.2})},
        "agents": {"backend": {"role": "backend", "model": "local"}},
    })


def test_real_tokens_with_usage_and_max_tokens_honoured(server_url: str) -> None:
    runtime = _runtime(server_url)
    result = runtime.pool.call("local", [SystemMessage("Answer briefly."),
                                         HumanMessage("Name a colour.")], max_tokens=8)
    assert result.text.strip()
    assert result.input_tokens > 5
    assert 0 < result.output_tokens <= 8, "max_tokens must reach llama.cpp via extra_body"
    assert result.cost_usd == pytest.approx(
        (result.input_tokens * 0.1 + result.output_tokens * 0.2) / 1e6)


def test_probe_sees_the_server(server_url: str) -> None:
    signals = _runtime(server_url).collect_signals()
    assert signals.health_of("local").up is True


def test_refused_connection_is_unavailable() -> None:
    runtime = _runtime(closed_port_url() + "/v1")
    with pytest.raises(Unavailable):
        runtime.pool.call("local", [HumanMessage("hi")], max_tokens=4)
    assert runtime.collect_signals().health_of("local").up is False
