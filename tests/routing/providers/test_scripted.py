"""The scripted model: deterministic replies, usage, latency and failures on demand."""

from __future__ import annotations

import time

import pytest
from langchain_core.messages import HumanMessage

from hybridcrew.errors import Overloaded
from tests.support.configs import model, runtime_for


def _runtime(**options: object):  # type: ignore[no-untyped-def]
    return runtime_for({
        "models": {"fake": model("scripted", "fake", price={"input": 2, "output": 4},
                                 options=options)},
        "agents": {"qa": {"role": "QA", "model": "fake"}},
    })


def test_replies_cycle_in_order_with_deterministic_usage() -> None:
    pool = _runtime(replies=["one", "two"]).pool
    texts = [pool.call("fake", [HumanMessage("12345678")], 64).text for _ in range(3)]
    result = pool.call("fake", [HumanMessage("12345678")], 64)
    assert texts == ["one", "two", "one"]
    assert (result.input_tokens, result.output_tokens) == (2, 1)
    assert result.cost_usd == pytest.approx((2 * 2 + 1 * 4) / 1e6)


def test_failures_on_demand_then_success() -> None:
    pool = _runtime(failures=["overloaded"], replies=["ok"]).pool
    with pytest.raises(Overloaded):
        pool.call("fake", [HumanMessage("x")], 8)
    assert pool.call("fake", [HumanMessage("x")], 8).text == "ok"


def test_latency_on_demand() -> None:
    pool = _runtime(latency_s=0.2).pool
    started = time.perf_counter()
    result = pool.call("fake", [HumanMessage("x")], 8)
    assert time.perf_counter() - started >= 0.2
    assert result.latency_s >= 0.2


def test_unknown_failure_kind_is_a_config_error() -> None:
    from hybridcrew.errors import ConfigError

    with pytest.raises(ConfigError, match=r"failures.*rate_limited"):
        _runtime(failures=["boom"]).pool.call("fake", [HumanMessage("x")], 8)
