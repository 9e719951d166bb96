"""A gateway that has seen every kind of run the dashboards chart, for the observability tests.

Three runs go to a priced cloud CTO and a QA that rejects the backend; one carries a secret, so
privacy forces its CTO step onto a local fallback; one carries a secret with the CTO pinned to
the cloud model alone, so it is blocked. The author fails its first call, so one step falls back.
The frontend searches the project's files through an MCP tool (the test server, over stdio)
before it writes its part.
"""

from __future__ import annotations

import json
import sys
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


MCP_FILES_SERVER = Path(__file__).with_name("mcp_files_server.py")
SEARCH_STYLES = {"match": "Your part: frontend", "tool_call": {
    "name": "files__search_files", "arguments": {"query": "color"}}}


def observed_config(files: Path) -> dict[str, Any]:
    """The crew of the scenario (scripted models; the cloud one is priced and not cleared).

    ``files``: the folder the frontend's file search tool looks in.
    """
    data = crew_config(qa_rules=[{"match": "Review round", "reply": json.dumps(REJECT_BACKEND)}])
    models = data["models"]
    models["cloud"] = scripted("cloud", location="cloud", clearance="internal",
                               price={"input": 3, "output": 15})
    models["author"]["options"]["failures"] = ["overloaded"]
    models["spare"] = scripted("spare", rules=[SEARCH_STYLES, *author_rules()])
    models["author"]["options"]["rules"].insert(0, SEARCH_STYLES)
    agents = data["agents"]
    agents["cto"].update(model="cloud", fallbacks=["planner"])
    for part in ("frontend", "backend"):
        agents[part]["fallbacks"] = ["spare"]
    agents["frontend"]["tools"] = [{"server": "files", "tools": ["search_files"]}]
    data["mcp_servers"] = {"files": {"command": sys.executable, "args": [str(MCP_FILES_SERVER)],
                                     "env": {"FILES_ROOT": str(files)}}}
    return data


@contextmanager
def observed_gateway(data_dir: Path) -> Iterator[str]:
    """Serve the scenario's gateway (no runs yet); yield its base URL."""
    files = data_dir / "project"
    files.mkdir()
    (files / "styles.css").write_text("body { color: teal; }\n")
    with gateway(observed_config(files), data_dir=data_dir, memory=False) as base:
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
