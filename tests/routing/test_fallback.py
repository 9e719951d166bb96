"""Execution fallback: provider errors move to the next allowed model; privacy never relaxes."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import HumanMessage

from hybridcrew.errors import AllCandidatesFailed, BadRequest, StepBlocked
from hybridcrew.routing.breaker import BreakerState
from hybridcrew.routing.gpu import GpuState
from hybridcrew.routing.router import RouteRequest
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.routing.signals import Health, Signals
from tests.support.configs import model, runtime_for

SECRET = "password = 'Tr0ub4dor&3' -- please fix the login handler"


def _runtime(first_failures: list[Any], second_failures: list[Any] | None = None
             ) -> RoutingRuntime:
    return runtime_for({
        "models": {
            "first": model("scripted", "first", quality={"default": 0.9}, endpoint="a",
                           options={"replies": ["from first"], "failures": first_failures}),
            "cloud": model("scripted", "cloud", location="cloud", clearance="internal",
                           endpoint="b", price={"input": 1, "output": 1},
                           quality={"default": 0.95}, options={"replies": ["from cloud"]}),
            "second": model("scripted", "second", quality={"default": 0.6}, endpoint="c",
                            options={"replies": ["from second"],
                                     "failures": second_failures or []}),
        },
        "agents": {"dev": {"role": "dev", "model": "auto",
                           "candidates": ["first", "cloud", "second"]}},
        "routing": {"quality_target": 0.8, "breaker": {"failure_threshold": 2}},
    })


UP = Signals(health={n: Health(True) for n in ("first", "cloud", "second")}, gpu=GpuState())


def _decide(runtime: RoutingRuntime, prompt: str) -> Any:
    return runtime.decide(RouteRequest.for_prompt("dev", prompt), UP)


def test_rate_limited_call_falls_back_to_the_next_survivor() -> None:
    runtime = _runtime(["rate_limited"])
    decision = _decide(runtime, "Add a health endpoint.")
    assert (decision.model, decision.fallbacks) == ("first", ("cloud", "second"))
    result = runtime.invoke(decision, [HumanMessage("Add a health endpoint.")])
    assert result.model == "cloud"
    assert [e.kind for e in result.attempts] == ["rate_limited"]
    assert result.cost_usd > 0


def test_fallback_never_sends_sensitive_content_to_an_uncleared_model() -> None:
    runtime = _runtime(["overloaded"], ["unavailable"])
    decision = _decide(runtime, SECRET)
    assert decision.fallbacks == ("second",), "the cloud model was excluded at decision time"
    with pytest.raises(AllCandidatesFailed) as caught:
        runtime.invoke(decision, [HumanMessage(SECRET)])
    assert [e.model for e in caught.value.errors] == ["first", "second"]
    assert "Tr0ub4dor" not in str(caught.value)


def test_bad_request_does_not_fall_back() -> None:
    runtime = _runtime(["bad_request"])
    decision = _decide(runtime, "hello")
    with pytest.raises(AllCandidatesFailed) as caught:
        runtime.invoke(decision, [HumanMessage("hello")])
    assert [type(e) for e in caught.value.errors] == [BadRequest]


def test_failures_feed_the_breaker_and_success_closes_it() -> None:
    runtime = _runtime(["timeout", "timeout", None])
    endpoint = runtime.endpoints["first"]
    for _ in range(2):
        runtime.invoke(_decide(runtime, "hi"), [HumanMessage("hi")])
    assert runtime.breakers.state(endpoint) is BreakerState.OPEN
    assert _decide(runtime, "hi").model == "cloud"


def test_blocked_decision_is_never_invoked() -> None:
    runtime = _runtime([])
    decision = runtime.decide(RouteRequest.for_prompt("dev", "x"),
                              UP.replace(health={n: Health(False, "down") for n in UP.health}))
    with pytest.raises(StepBlocked, match="blocked"):
        runtime.invoke(decision, [HumanMessage("x")])
