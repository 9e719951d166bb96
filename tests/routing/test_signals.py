"""Signals are refreshed off the hot path; a decision never touches the network."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from hybridcrew.routing.gpu import nvml_memory, read_gpu
from hybridcrew.routing.router import RouteRequest
from tests.support.configs import model, runtime_for
from tests.support.processes import until
from tests.support.replay import ReplayServer, recorded


def _config(url: str) -> dict[str, Any]:
    return {
        "models": {"coder": model("ollama", "qwen2.5-coder:7b", endpoint=url, vram_gb=5.5),
                   "cpu": model("embedded", "gemma", quality={"default": 0.3})},
        "agents": {"dev": {"role": "dev", "model": "auto", "candidates": ["coder", "cpu"]}},
    }


def test_background_refresh_publishes_new_snapshots() -> None:
    with ReplayServer() as server:
        server.route("GET", "/api/tags", recorded("ollama", "tags", status=500),
                     recorded("ollama", "tags"))
        server.route("GET", "/api/ps", recorded("ollama", "ps"))
        runtime = runtime_for(_config(server.url), probe_interval_s=0.05)
        assert runtime.signals.current.health_of("coder").up is None, "nothing probed yet"
        runtime.signals.start()
        try:
            until(lambda: runtime.signals.current.health_of("coder").up is True,
                  "the refresher to see the server come up", timeout=5)
        finally:
            runtime.signals.stop()
    snapshot = runtime.signals.current
    assert snapshot.taken_at > 0
    assert snapshot.gpu.loaded == frozenset({"qwen2.5-coder:7b"})


def test_decide_does_no_io(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = runtime_for(_config("http://127.0.0.1:9"))
    signals = runtime.collect_signals()

    def no_io(*args: object, **kwargs: object) -> None:
        raise AssertionError("a routing decision tried to open a connection")

    monkeypatch.setattr(socket.socket, "connect", no_io)
    monkeypatch.setattr(socket, "getaddrinfo", no_io)
    decision = runtime.decide(RouteRequest.for_prompt("dev", "Add an index"), signals)
    assert decision.model == "cpu"
    assert decision.rejected[0].why == "provider_down"


def test_no_gpu_here_means_unknown_headroom() -> None:
    assert nvml_memory() is None
    state = read_gpu([], timeout=0.1)
    assert (state.free_gb, state.known, state.source) == (None, False, "none")
