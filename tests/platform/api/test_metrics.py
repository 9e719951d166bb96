"""After real runs through a real gateway, /metrics carries the right series and values."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import pytest
import redis
from prometheus_client import generate_latest

from hybridcrew.platform.metrics import Metrics
from tests.support.crew import crew_config, make_crew
from tests.support.metrics import Samples, samples, total
from tests.support.observed import SECRET_TASK, observed_gateway, run_scenario
from tests.support.replay import closed_port_url


class Scraped(NamedTuple):
    runs: list[dict[str, Any]]
    text: str
    samples: Samples


@pytest.fixture(scope="module")
def scraped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scraped]:
    """The scenario's runs, and the gateway's /metrics after them."""
    with observed_gateway(tmp_path_factory.mktemp("observed")) as base:
        runs = run_scenario(base)
        text = httpx.get(f"{base}/metrics", timeout=10).text
        yield Scraped(runs, text, samples(text))


def test_cost_and_counterfactual_equal_the_runs_steps(scraped: Scraped) -> None:
    found = scraped.samples
    steps = [s for run in scraped.runs for s in run["steps"]]
    cost = total(found, "hybridcrew_cost_usd_total", tenant="default")
    assert cost == pytest.approx(sum(s["cost_usd"] for s in steps))
    assert cost > 0
    counterfactual = total(found, "hybridcrew_all_cloud_cost_usd_total")
    assert counterfactual == pytest.approx(sum(s["cloud_cost_usd"] for s in steps))
    assert counterfactual > cost, "most steps ran locally: the all-cloud price is higher"
    assert total(found, "hybridcrew_tokens_total", direction="input") == sum(
        s["input_tokens"] for s in steps)
    assert total(found, "hybridcrew_tokens_total", direction="output") == sum(
        s["output_tokens"] for s in steps)
    left = total(found, "hybridcrew_budget_remaining_usd", tenant="default")
    assert left == pytest.approx(50.0 - cost)  # the default daily cap


def test_decisions_steps_and_runs_by_outcome(scraped: Scraped) -> None:
    found = scraped.samples
    runs = scraped.runs
    steps = [s for run in runs for s in run["steps"]]
    normal = [r for r in runs if r["task"] != SECRET_TASK]
    assert total(found, "hybridcrew_steps_total", location="cloud") == len(normal)
    # Every step decided, plus the blocked one that never ran.
    assert total(found, "hybridcrew_routing_decisions_total") == len(steps) + 1
    assert total(found, "hybridcrew_routing_decisions_total", agent="cto", model="cloud",
                  location="cloud", reason="pinned") == len(normal)
    assert total(found, "hybridcrew_steps_privacy_forced_total", agent="cto",
                  sensitivity="secret") == 1
    assert total(found, "hybridcrew_steps_blocked_total", agent="cto") == 1
    assert total(found, "hybridcrew_runs_total", status="blocked") == 1
    # QA rejects the backend every round: the other runs end not approved.
    assert total(found, "hybridcrew_runs_total", status="not_approved") == len(runs) - 1
    assert total(found, "hybridcrew_qa_verdicts_total", agent="backend",
                  verdict="rejected") == sum(1 for s in steps if s["node"] == "backend")
    assert total(found, "hybridcrew_step_duration_seconds_count") == len(steps)
    assert total(found, "hybridcrew_run_duration_seconds_count") == len(runs)


def test_agents_tool_calls_are_counted_and_timed(scraped: Scraped) -> None:
    found = scraped.samples
    frontend_steps = sum(1 for run in scraped.runs for s in run["steps"] if s["node"] == "frontend")
    assert frontend_steps > 0
    # The frontend searches the project's files once per step, before it writes.
    assert total(found, "hybridcrew_tool_calls_total", server="files", tool="search_files",
                  outcome="ok") == frontend_steps
    assert total(found, "hybridcrew_tool_calls_total", outcome="error") == 0
    assert total(found, "hybridcrew_tool_call_duration_seconds_count") == frontend_steps


def test_provider_errors_and_fallbacks(scraped: Scraped) -> None:
    found = scraped.samples
    assert total(found, "hybridcrew_provider_errors_total", model="author",
                  kind="overloaded") == 1
    assert total(found, "hybridcrew_fallbacks_total", model="author") == 1


def test_capacity_gauges(scraped: Scraped) -> None:
    found = scraped.samples
    assert total(found, "hybridcrew_backend_up", model="author") == 1
    assert total(found, "hybridcrew_local_slots", endpoint="scripted:author") == 4
    assert total(found, "hybridcrew_local_slots_in_use", endpoint="scripted:author") == 0
    assert total(found, "hybridcrew_local_queue_depth", endpoint="scripted:author") == 0
    assert total(found, "hybridcrew_run_queue_depth") == 0
    assert total(found, "hybridcrew_runs_in_progress") == 0
    # One failure stays below the threshold: every breaker is closed, each shows one state.
    assert total(found, "hybridcrew_breaker_state", state="closed") == total(
        found, "hybridcrew_breaker_state")
    assert total(found, "hybridcrew_breaker_state", endpoint="scripted:author",
                  state="closed") == 1


def test_labels_stay_low_cardinality(scraped: Scraped) -> None:
    text = scraped.text
    for run in scraped.runs:
        assert run["id"] not in text, "no run ids in labels"
    assert "AKIA2OGYBAH6TLPQ4RZC" not in text
    assert "rate limiting" not in text


def test_an_unreachable_backend_leaves_out_only_its_series() -> None:
    crew = make_crew(crew_config())
    metrics = Metrics()
    # A real Redis client on a port nothing listens on: the queue depth cannot be read.
    offline = redis.Redis.from_url(closed_port_url().replace("http", "redis"),
                                   socket_connect_timeout=1)
    metrics.attach(crew.runtime, crew.events, crew.store, lambda: int(offline.xlen("runs")))
    text = generate_latest(metrics.registry).decode()
    assert "hybridcrew_breaker_state{" in text
    assert "hybridcrew_local_slots{" in text
    assert "hybridcrew_run_queue_depth" not in text
