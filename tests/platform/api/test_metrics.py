"""After real runs through a real gateway, /metrics carries the right series and values."""

from __future__ import annotations

import json

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.crew import REJECT_BACKEND, crew_config, scripted
from tests.support.gateway import gateway, wait_status

TASK = "Add rate limiting to the orders API"


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _total(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
           **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items()
               if n == name and set(labels.items()) <= set(ls))


def test_metrics_after_real_runs() -> None:
    data = crew_config(qa_rules=[{"match": "Review round", "reply": json.dumps(REJECT_BACKEND)}])
    data["models"]["cloud"] = scripted("cloud", location="cloud", price={"input": 3,
                                                                         "output": 15})
    data["agents"]["cto"]["model"] = "cloud"  # a priced model, so the costs are not all zero
    with gateway(data) as base, httpx.Client(base_url=base, timeout=30) as http:
        ids = [http.post("/v1/runs", json={"task": f"{TASK} #{i}"}).json()["id"]
               for i in range(3)]
        runs = [wait_status(http, run_id, {"finished"}) for run_id in ids]
        text = http.get("/metrics").text
    samples = _samples(text)
    steps = [s for run in runs for s in run["steps"]]

    cost = _total(samples, "hybridcrew_cost_usd_total", tenant="default")
    assert cost == pytest.approx(sum(s["cost_usd"] for s in steps))
    assert cost > 0
    assert _total(samples, "hybridcrew_all_cloud_cost_usd_total") == pytest.approx(
        sum(s["cloud_cost_usd"] for s in steps))
    assert _total(samples, "hybridcrew_tokens_total", direction="input") == sum(
        s["input_tokens"] for s in steps)
    assert _total(samples, "hybridcrew_steps_total", location="cloud") == len(ids)
    assert _total(samples, "hybridcrew_routing_decisions_total") == len(steps)
    assert _total(samples, "hybridcrew_routing_decisions_total", agent="cto",
                  model="cloud", location="cloud") == len(ids)
    # QA rejects the backend each round: not approved after the rounds, every run.
    assert _total(samples, "hybridcrew_runs_total", status="not_approved") == len(ids)
    assert _total(samples, "hybridcrew_qa_verdicts_total", agent="backend",
                  verdict="rejected") == sum(1 for s in steps if s["node"] == "backend")
    assert _total(samples, "hybridcrew_step_duration_seconds_count") == len(steps)
    assert _total(samples, "hybridcrew_run_duration_seconds_count") == len(ids)
    assert _total(samples, "hybridcrew_backend_up", model="author") == 1
    assert _total(samples, "hybridcrew_local_slots", endpoint="scripted:author") == 4
    assert _total(samples, "hybridcrew_local_queue_depth", endpoint="scripted:author") == 0
    for run_id in ids:
        assert run_id not in text, "no run ids in labels"
