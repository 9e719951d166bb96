"""A gateway that has seen every kind of run the dashboards chart, for the observability tests.

Three runs go to a priced cloud CTO and a QA that rejects the backend; one carries a secret, so
privacy forces its CTO step onto a local fallback; one carries a secret with the CTO pinned to
the cloud model alone, so it is blocked. The author fails its first call, so one step falls back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from hybridcrew.graphs.lifecycle import FINAL_STATUSES
from tests.support.crew import REJECT_BACKEND, author_rules, crew_config, scripted
from tests.support.gateway import gateway, wait_status

TASK = "Add rate limiting to the orders API"
SECRET_TASK = "Deploy with key AKIA2OGYBAH6TLPQ4RZC"


def observed_config() -> dict[str, Any]:
    """The crew of the scenario (scripted models; the cloud one is priced and not cleared)."""
    data = crew_config(qa_rules=[{"match": "Review round", "reply": json.dumps(REJECT_BACKEND)}])
    models = data["models"]
    models["cloud"] = scripted("cloud", location="cloud", clearance="internal",
                               price={"input": 3, "output": 15})
    models["author"]["options"]["failures"] = ["overloaded"]
    models["spare"] = scripted("spare", rules=author_rules())
    agents = data["agents"]
    agents["cto"].update(model="cloud", fallbacks=["planner"])
    for part in ("frontend", "backend"):
        agents[part]["fallbacks"] = ["spare"]
    return data


@contextmanager
def observed_gateway(data_dir: Path) -> Iterator[str]:
    """Serve the scenario's gateway (no runs yet); yield its base URL."""
    with gateway(observed_config(), data_dir=data_dir, memory=False) as base:
        yield base


def run_scenario(base: str) -> list[dict[str, Any]]:
    """Submit the scenario's runs and wait until each has stopped; return them."""
    submissions: list[dict[str, Any]] = [{"task": f"{TASK} #{i}"} for i in range(3)]
    submissions.append({"task": SECRET_TASK})
    submissions.append({"task": SECRET_TASK, "assignments": {"cto": {"model": "cloud"}}})
    with httpx.Client(base_url=base, timeout=30) as http:
        ids = []
        for body in submissions:
            response = http.post("/v1/runs", json=body)
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        return [wait_status(http, run_id, set(FINAL_STATUSES)) for run_id in ids]
