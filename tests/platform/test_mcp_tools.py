"""Agents calling MCP tools: a small MCP server written for the tests, started over stdio.

The backend agent may search a folder's files. Its first call goes to a cloud-located scripted
model, which asks for the tool; the tool's result is scanned like any prompt part, so a
credential in it moves the step's next call to a local model (the decision record says why),
and a tool that never answers is timed out while the run goes on.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import pytest

from hybridcrew.errors import ConfigError
from hybridcrew.graphs.lifecycle import EventKind, RunStatus
from hybridcrew.platform.metrics import Metrics
from tests.support.configs import config_from
from tests.support.crew import APPROVE_ALL, BACKEND_CODE, crew_config, make_crew, scripted
from tests.support.gateway import served

SERVER = Path(__file__).resolve().parents[1] / "support" / "mcp_files_server.py"
TASK = "Connect the orders API to its database"
DSN = "postgres://orders:S3cr3t-Pa55word@db.internal:5432/orders"
SECRET = "S3cr3t-Pa55word"


def _config(folder: Path, tool: str = "search_files", arguments: dict[str, Any] | None = None,
            timeout_s: float = 20, **backend: Any) -> dict[str, Any]:
    cloudy = scripted("cloudy", location="cloud", clearance="internal",
                      price={"input": 3.0, "output": 15.0}, quality={"default": 0.95}, rules=[
                          {"match": "Your part: backend", "tool_call": {
                              "name": f"files__{tool}",
                              "arguments": arguments or {"query": "DATABASE_URL"}}},
                          {"match": "did not answer", "reply": BACKEND_CODE}])
    local = scripted("local", clearance="secret", quality={"default": 0.3},
                     rules=[{"match": "postgres://", "reply": BACKEND_CODE}])
    reviewer = scripted("reviewer", clearance="secret", rules=[
        {"match": "Review round", "reply": json.dumps(APPROVE_ALL)}])
    grant = {"server": "files", "tools": [tool]}
    data = crew_config(extra_models={"cloudy": cloudy, "local": local, "reviewer": reviewer},
                       agents={"backend": {"role": "You are a backend engineer.", "model": "auto",
                                           "candidates": ["cloudy", "local"], "tools": [grant],
                                           **backend}})
    data["mcp_servers"] = {"files": {"command": sys.executable, "args": [str(SERVER)],
                                     "env": {"FILES_ROOT": str(folder)},
                                     "timeout_s": timeout_s}}
    return data


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "settings.py").write_text(f'DEBUG = False\nDATABASE_URL = "{DSN}"\n')
    return root


def test_a_tool_result_with_a_credential_keeps_the_step_s_later_calls_local(folder: Path
                                                                             ) -> None:
    crew = make_crew(_config(folder))
    outcome = crew.start(TASK)
    assert outcome.status == RunStatus.FINISHED, outcome
    events = crew.store.events(outcome.run_id)
    (called,) = [e.data for e in events if e.kind is EventKind.TOOLS_CALLED]
    assert [(c["server"], c["tool"], c["ok"]) for c in called["calls"]] == [
        ("files", "search_files", True)]
    assert (called["model"], called["location"]) == ("local", "local")
    record = crew.store.decision(outcome.run_id, "backend@0#1")
    assert record is not None
    assert record["model"] == "local"
    assert {r["model"]: r["why"] for r in record["rejected"]}["cloudy"] == "privacy"
    (backend,) = [s for s in crew.state(outcome.run_id)["steps"] if s["node"] == "backend"]
    assert (backend["model"], backend["calls"]) == ("local", 2)
    assert "class Limiter" in (Path(outcome.folder) / "app" / "limiter.py").read_text()
    started = next(e.data for e in events if e.kind is EventKind.STEP_STARTED
                   and e.data["key"] == "backend@0")
    assert started["model"] == "cloudy"  # the tool's result, not the task, moved the step
    assert SECRET not in str([e.data for e in events]), "no event carries the credential"
    metrics = Metrics()
    for event in events:
        metrics.handlers[event.kind](event)
    assert metrics.registry.get_sample_value("hybridcrew_tool_calls_total", {
        "server": "files", "tool": "search_files", "outcome": "ok"}) == 1


def test_a_tool_that_never_answers_is_timed_out_and_the_run_goes_on(folder: Path) -> None:
    crew = make_crew(_config(folder, "wait_forever", {"reason": "slow"}, timeout_s=2))
    outcome = crew.start(TASK)
    assert outcome.status == RunStatus.FINISHED, outcome
    (called,) = [e.data for e in crew.store.events(outcome.run_id)
                 if e.kind is EventKind.TOOLS_CALLED]
    (call,) = called["calls"]
    assert call["ok"] is False
    assert 2 <= call["seconds"] < 10
    assert called["model"] == "cloudy"  # nothing sensitive came back: the cloud goes on


def test_problems_with_servers_and_tools_are_named_when_the_crew_starts(
        folder: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = _config(folder, "serch_files")
    data["mcp_servers"]["broken"] = {"command": "no-such-program-xyz"}
    data["agents"]["frontend"]["tools"] = [{"server": "broken", "tools": ["anything"]}]
    with caplog.at_level(logging.WARNING):
        make_crew(data)
    assert "agents.backend.tools[0].tools: MCP server 'files' has no tool 'serch_files'" in (
        caplog.text)
    assert "did you mean 'search_files'?" in caplog.text
    assert "mcp_servers.broken: cannot start 'no-such-program-xyz': no such program" in (
        caplog.text)
    data["agents"]["qa"]["tools"] = [{"server": "nowhere", "tools": ["x"]}]
    with pytest.raises(ConfigError) as undefined:
        config_from(data)
    assert "agents.qa.tools[0].server: MCP server 'nowhere' is not defined" in str(
        undefined.value)


def test_an_http_mcp_server_gets_its_headers_from_the_environment(
        folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support import mcp_files_server

    seen: list[str] = []
    app = mcp_files_server.server.streamable_http_app(stateless_http=True)

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            seen.append(dict(scope["headers"]).get(b"authorization", b"").decode())
        await app(scope, receive, send)

    monkeypatch.setenv("FILES_ROOT", str(folder))
    monkeypatch.setenv("FILES_TOKEN", "tok-123")
    with served(recording) as url:
        data = _config(folder)
        data["mcp_servers"]["files"] = {"url": f"{url}/mcp",
                                        "headers": {"Authorization": "Bearer ${FILES_TOKEN}"}}
        crew = make_crew(data)
        outcome = crew.start(TASK)
    assert outcome.status == RunStatus.FINISHED, outcome
    (called,) = [e.data for e in crew.store.events(outcome.run_id)
                 if e.kind is EventKind.TOOLS_CALLED]
    assert called["calls"][0]["ok"] is True
    assert called["model"] == "local"
    assert set(seen) == {"Bearer tok-123"}
