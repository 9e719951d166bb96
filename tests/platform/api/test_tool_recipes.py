"""The README's recipes for Claude Code and Aider, run with the real programs against a gateway.

Each program runs as its users run it (Claude Code ``-p``, Aider ``--message``), pointed at a
real uvicorn gateway; Claude is the loopback replay server, the local model the scripted one.
Their calls beyond loopback go to a tripwire proxy that refuses them, and the tests assert they
made none.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from hybridcrew.graphs.lifecycle import EventKind
from hybridcrew.platform.keys import create_key
from hybridcrew.platform.store.sqlite import SqliteStore
from tests.platform.api.test_openai_compatible import ANTHROPIC_KEY, PRIVATE_KEY
from tests.support.clients import AIDER, CLAUDE_CODE, installed
from tests.support.configs import model
from tests.support.crew import crew_config, scripted
from tests.support.egress import Tripwire
from tests.support.gateway import gateway
from tests.support.replay import ReplayServer, recorded

KEPT_LOCAL = "deploy.txt holds an SSH private key; I read it on this machine only."
WHOLE_FILE = ("calc.py\n```python\ndef add(a, b):\n    return a + b\n\n\n"
              "def subtract(a, b):\n    return a - b\n```\n")
SECRET_PART = "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"


def _config(claude_url: str) -> dict[str, Any]:
    # Coding tools send long system prompts and tool lists: both models get Claude's window.
    local = scripted("local", rules=[
        {"match": "BEGIN OPENSSH PRIVATE KEY", "reply": KEPT_LOCAL},
        {"match": "Add a subtract function", "reply": WHOLE_FILE},
    ], clearance="secret", quality={"default": 0.3}, context_window=200_000)
    claude = model("anthropic", "claude-sonnet-4-6", endpoint=claude_url, clearance="internal",
                   price={"input": 3.0, "output": 15.0}, quality={"default": 0.95},
                   context_window=200_000)
    return {"models": {"claude": claude, "local": local},
            "agents": {"assistant": {"role": "", "model": "auto",
                                     "candidates": ["claude", "local"]},
                       "coder": {"role": "", "model": "local"}}}


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> str:
    done = subprocess.run(command, cwd=cwd, env={"PATH": os.environ["PATH"], **env},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, f"{command[0]} failed: {done.stdout}\n{done.stderr}"
    return done.stdout


def test_claude_code_reads_a_key_through_the_gateway_and_the_key_stays_local(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    claude_code = installed(CLAUDE_CODE)
    caplog.set_level(logging.DEBUG)
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir(), home.mkdir()
    deploy = project / "deploy.txt"
    deploy.write_text(f"Deploy with this key:\n{PRIVATE_KEY}\n")
    store = SqliteStore(tmp_path / "store.sqlite")
    with ReplayServer() as claude, Tripwire() as tripwire:
        claude.route("GET", "/v1/models", recorded("anthropic", "models"))
        # Claude asks Claude Code to read the file; it is never asked anything after that.
        claude.route("POST", "/v1/messages", recorded("anthropic", "tool_use_stream", fill={
            "tool_name": "Read", "argument": "file_path", "value": str(deploy)}),
            recorded("anthropic", "message_stream"))
        with gateway(_config(claude.url), store, anthropic_api_key=ANTHROPIC_KEY) as base:
            # The README's recipe, as environment variables.
            out = _run([str(claude_code), "-p", "What is in deploy.txt?", "--output-format",
                        "json", "--allowedTools", "Read"], project, {
                "HOME": str(home), "ANTHROPIC_BASE_URL": base, "ANTHROPIC_AUTH_TOKEN": "hc_unused",
                "ANTHROPIC_MODEL": "assistant", "ANTHROPIC_DEFAULT_HAIKU_MODEL": "assistant",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", **tripwire.env()})
            metrics = httpx.get(f"{base}/metrics").text
            calls = [e.data for e in store.events("proxy:default")
                     if e.kind is EventKind.CALL_FINISHED]
            records = [httpx.get(f"{base}/v1/decisions/{c['decision_id']}").json()
                       for c in calls]
    assert json.loads(out)["result"] == KEPT_LOCAL
    assert [(c["model"], c["location"]) for c in calls] == [("claude", "cloud"),
                                                           ("local", "local")]
    assert "excluded:privacy" in calls[1]["reasons"]
    assert [r["why"] for r in records[1]["rejected"]] == ["privacy"]
    assert len(claude.calls("POST", "/v1/messages")) == 1
    seen = " ".join([json.dumps([c.body for c in claude.seen]), metrics, json.dumps(records),
                     json.dumps(calls), caplog.text])
    assert SECRET_PART not in seen, "the key reached Claude, the metrics, a record or a log"
    assert tripwire.tried == [], "Claude Code tried to reach beyond this machine"


def test_aider_edits_a_file_through_the_openai_compatible_endpoint(tmp_path: Path) -> None:
    aider = installed(AIDER)
    repo, home = tmp_path / "repo", tmp_path / "home"
    repo.mkdir(), home.mkdir()
    (repo / "calc.py").write_text("def add(a, b):\n    return a + b\n")
    # The recipe's metadata file: the served model's window, and no price list to download.
    (repo / ".aider.model.metadata.json").write_text(json.dumps({"openai/coder": {
        "max_input_tokens": 200_000, "max_output_tokens": 8192, "input_cost_per_token": 0,
        "output_cost_per_token": 0, "litellm_provider": "openai", "mode": "chat"}}))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git[:1], "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "calc.py"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "start"], cwd=repo, check=True)
    with ReplayServer() as claude, Tripwire() as tripwire, gateway(
            _config(claude.url), anthropic_api_key=ANTHROPIC_KEY) as base:
        out = _run([str(aider), "--model", "openai/coder", "--openai-api-base",
                    f"{base}/openai/v1", "--message", "Add a subtract function", "--yes-always",
                    "--no-auto-commits", "--no-gitignore", "--no-check-update", "--no-analytics",
                    "--no-pretty", "--no-stream", "calc.py"], repo, {
            "HOME": str(home), "OPENAI_API_KEY": "hc_unused",
            "LITELLM_LOCAL_MODEL_COST_MAP": "True", **tripwire.env()})
    assert "Applied edit to calc.py" in out
    assert "def subtract(a, b):\n    return a - b" in (repo / "calc.py").read_text()
    assert tripwire.tried == [], "Aider tried to reach beyond this machine"


def test_claude_code_uses_the_gateway_as_its_mcp_server(tmp_path: Path) -> None:
    """The README's MCP snippet: Claude Code lists the tenant's runs through /mcp."""
    claude_code = installed(CLAUDE_CODE)
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir(), home.mkdir()
    store = SqliteStore(tmp_path / "store.sqlite")
    _, key = create_key(store, "acme", "operator")
    config = crew_config(extra_models={"helper": scripted("helper", rules=[
        {"match": "List my hybridcrew runs",
         "tool_call": {"name": "mcp__hybridcrew__list_runs", "arguments": {"limit": 5}}},
        {"match": "Add rate limiting", "reply": "One run: Add rate limiting."},
    ], context_window=200_000)}, agents={"assistant": {"role": "", "model": "helper"}})
    with Tripwire() as tripwire, gateway(config, store) as base:
        auth = {"Authorization": f"Bearer {key}"}
        # The run's task reaches the model only as the MCP tool's result.
        assert httpx.post(f"{base}/v1/runs", json={"task": "Add rate limiting"},
                          headers=auth).status_code == 202
        env = {"HOME": str(home), "ANTHROPIC_BASE_URL": base, "ANTHROPIC_AUTH_TOKEN": key,
               "ANTHROPIC_MODEL": "assistant", "ANTHROPIC_DEFAULT_HAIKU_MODEL": "assistant",
               "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", **tripwire.env()}
        _run([str(claude_code), "mcp", "add", "--transport", "http", "hybridcrew",
              f"{base}/mcp", "--header", f"Authorization: Bearer {key}"], project, env)
        out = _run([str(claude_code), "-p", "List my hybridcrew runs", "--output-format",
                    "json", "--allowedTools", "mcp__hybridcrew__list_runs"], project, env)
    assert json.loads(out)["result"] == "One run: Add rate limiting."
    assert tripwire.tried == [], "Claude Code tried to reach beyond this machine"
