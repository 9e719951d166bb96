"""Circuit breaker: opens after repeated failures, half-opens after a cooldown, then closes."""

from __future__ import annotations

from hybridcrew.routing.breaker import BreakerBoard, BreakerState
from hybridcrew.routing.gpu import GpuState
from hybridcrew.routing.policy import BreakerPolicy
from hybridcrew.routing.router import RouteRequest
from hybridcrew.routing.signals import Health, Signals
from tests.support.configs import model, runtime_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_opens_half_opens_and_closes() -> None:
    clock = Clock()
    board = BreakerBoard(BreakerPolicy(failure_threshold=3, cooldown_s=30), clock=clock)
    ep = "ollama:http://gpu-box:11434"
    board.record_failure(ep)
    board.record_failure(ep)
    assert board.state(ep) is BreakerState.CLOSED, "below the threshold"
    board.record_failure(ep)
    assert board.state(ep) is BreakerState.OPEN
    clock.now += 29
    assert board.state(ep) is BreakerState.OPEN
    clock.now += 1
    assert board.state(ep) is BreakerState.HALF_OPEN, "cooldown over: one trial allowed"
    board.record_failure(ep)
    assert board.state(ep) is BreakerState.OPEN, "a failed trial re-opens at once"
    clock.now += 30
    assert board.state(ep) is BreakerState.HALF_OPEN
    board.record_success(ep)
    assert board.state(ep) is BreakerState.CLOSED
    assert board.snapshot() == {}


def test_success_resets_the_failure_count() -> None:
    board = BreakerBoard(BreakerPolicy(failure_threshold=2, cooldown_s=5))
    board.record_failure("a")
    board.record_success("a")
    board.record_failure("a")
    assert board.state("a") is BreakerState.CLOSED


def test_router_skips_an_open_endpoint_and_retries_it_half_open() -> None:
    runtime = runtime_for({
        "models": {
            "claude": model("anthropic", "claude-haiku-4-5", endpoint="http://127.0.0.1:9",
                            clearance="internal", price={"input": 1, "output": 5},
                            quality={"default": 0.9}),
            "local": model("embedded", "gemma", quality={"default": 0.5}),
        },
        "agents": {"qa": {"role": "QA", "model": "auto", "candidates": ["claude", "local"]}},
        "routing": {"breaker": {"failure_threshold": 2, "cooldown_s": 60}},
    })
    clock = Clock()
    runtime.breakers.clock = clock
    signals = Signals(health={"claude": Health(True), "local": Health(True)}, gpu=GpuState())
    request = RouteRequest.for_prompt("qa", "Review the diff.")
    assert runtime.decide(request, signals).model == "claude"
    for _ in range(2):
        runtime.breakers.record_failure(runtime.endpoints["claude"])
    decision = runtime.decide(request, signals)
    assert decision.model == "local"
    assert [(r.model, r.why) for r in decision.rejected] == [("claude", "breaker_open")]
    clock.now += 60
    assert runtime.decide(request, signals).model == "claude", "half-open admits a trial call"
