"""hybridcrew as an MCP server, driven by the official MCP SDK's client.

Over stdio (``hybridcrew mcp`` started by the client, as Claude Desktop does) and over streamable
HTTP (``/mcp`` on a real uvicorn gateway, with API keys): tools listed with descriptions, a run
started with the scripted crew and followed by progress notifications, its report and artifacts
read as resources, a gate answered, and keys, roles and tenants applied as everywhere else.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.types import CallToolResult

from hybridcrew.platform.keys import create_key
from hybridcrew.platform.store.sqlite import SqliteStore
from tests.support.crew import crew_config, write_config
from tests.support.gateway import gateway

TASK = "Add rate limiting to the orders API"
TOOLS = {"start_run", "run_status", "wait_for_run", "answer_run", "cancel_run", "read_artifact",
         "list_runs", "explain_route", "search_memory", "remember"}
Session = Callable[[Client], Awaitable[Any]]


def _with(server: Any, session: Session) -> Any:
    async def main() -> Any:
        async with Client(server, read_timeout_seconds=60) as client:
            return await session(client)

    return asyncio.run(main())


def _http(url: str, key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return streamable_http_client(f"{url}/mcp", http_client=httpx2.AsyncClient(
        headers=headers, timeout=60))


def _data(result: CallToolResult) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


def _error(result: CallToolResult) -> str:
    assert result.is_error
    return " ".join(getattr(c, "text", "") for c in result.content)


def test_stdio_serves_a_run_with_progress_its_report_and_artifacts(isolated_env: Path) -> None:
    config = write_config(isolated_env / "hybridcrew.yaml", crew_config())
    env = {**os.environ, "HYBRIDCREW_CONFIG": str(config)}
    server = StdioServerParameters(command=sys.executable, args=["-m", "hybridcrew", "mcp"],
                                   env=env, cwd=str(isolated_env))
    progress: list[tuple[float, str | None]] = []

    async def session(client: Client) -> Any:
        async def on_progress(done: float, total: float | None, message: str | None) -> None:
            progress.append((done, message))

        tools = (await client.list_tools()).tools
        run = _data(await client.call_tool("start_run", {"task": TASK, "wait": True},
                                           progress_callback=on_progress))
        report = await client.read_resource(f"hybridcrew://runs/{run['id']}/report")
        code = await client.read_resource(
            f"hybridcrew://runs/{run['id']}/artifacts/app/limiter.py")
        recent = await client.read_resource("hybridcrew://runs?limit=5")
        agent = _error(await client.call_tool("start_run", {
            "task": TASK, "labels": ["nope-xyz"]}))
        return tools, run, report, code, recent, agent

    tools, run, report, code, recent, refused = _with(server, session)
    # The configuration's problem in the API's words: not the server's file, not the value.
    assert "labels" in refused, refused
    assert str(config) not in refused
    assert "nope-xyz" not in refused
    assert {t.name for t in tools} == TOOLS
    for tool in tools:  # a model acts on these: every tool and argument says what it is for
        assert tool.description
        for name, schema in tool.input_schema["properties"].items():
            assert schema.get("description") or name in {"title", "limit"}, (tool.name, name)
    assert run["status"] == "finished"
    assert {s["agent"] for s in run["steps"]} == {"cto", "frontend", "backend", "qa"}
    assert all(s["decision"]["model"] for s in run["steps"])
    lines = [message or "" for _, message in progress]
    assert lines[0] == "run started (delivery workflow)"
    assert any(line.startswith("backend@0 done on author") for line in lines)
    assert [done for done, _ in progress] == sorted({done for done, _ in progress})
    assert json.loads(report.contents[0].text)["approved"] is True  # type: ignore[union-attr]
    assert "class Limiter" in code.contents[0].text  # type: ignore[union-attr]
    assert json.loads(recent.contents[0].text)[0]["id"] == run["id"]  # type: ignore[union-attr]


def test_http_applies_keys_roles_and_tenants(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.sqlite")
    _, operator = create_key(store, "acme", "operator")
    _, viewer = create_key(store, "acme", "viewer")
    _, stranger = create_key(store, "beta", "admin")
    progress: list[str | None] = []
    with gateway(crew_config(), store=store, memory=True) as url:
        assert httpx.post(f"{url}/mcp", json={}).status_code == 401

        async def start(client: Client) -> Any:
            async def on_progress(_: float, __: float | None, message: str | None) -> None:
                progress.append(message)

            note = "Orders API: rate limits are per API key, never per IP."
            _data(await client.call_tool("remember", {"text": note, "title": "limits"}))
            return _data(await client.call_tool("start_run", {"task": TASK, "wait": True},
                                                progress_callback=on_progress))

        run = _with(_http(url, operator), start)

        async def as_viewer(client: Client) -> tuple[str, Any, str, str, Any]:
            refused = _error(await client.call_tool("start_run", {"task": TASK}))
            status = _data(await client.call_tool("run_status", {"run_id": run["id"]}))
            cancel = _error(await client.call_tool("cancel_run", {"run_id": run["id"]}))
            remember = _error(await client.call_tool("remember", {"text": "x"}))
            found = _data(await client.call_tool("search_memory", {"query": "rate limit keys"}))
            return refused, status, cancel, remember, found

        refused, status, cancel, remember, found = _with(_http(url, viewer), as_viewer)

        async def as_stranger(client: Client) -> tuple[str, Any, Any]:
            hidden = _error(await client.call_tool("run_status", {"run_id": run["id"]}))
            listed = _data(await client.call_tool("list_runs", {}))
            searched = _data(await client.call_tool("search_memory", {"query": "rate limits"}))
            return hidden, listed, searched

        hidden, listed, searched = _with(_http(url, stranger), as_stranger)
    assert run["status"] == "finished"
    assert progress[0] == "run started (delivery workflow)"
    assert progress[-1] == "finished, approved"
    assert any(hit["title"] == "limits" for hit in found["result"])
    assert "needs the operator role" in remember
    assert searched["result"] == []
    assert "needs the operator role" in refused
    assert "needs the operator role" in cancel
    assert status["id"] == run["id"]
    assert "no run '<value>'" in hidden  # as if it did not exist, and its id not echoed
    assert listed["result"] == []


def test_a_gate_is_answered_through_mcp_and_errors_name_the_field(isolated_env: Path) -> None:
    with gateway(crew_config()) as url:
        async def session(client: Client) -> Any:
            waiting = _data(await client.call_tool("start_run", {
                "task": TASK, "approval": True, "wait": True}))
            _data(await client.call_tool("answer_run", {"run_id": waiting["id"],
                                                        "choice": "approve"}))
            finished = _data(await client.call_tool("wait_for_run", {"run_id": waiting["id"]}))
            again = _error(await client.call_tool("answer_run", {"run_id": waiting["id"],
                                                                 "choice": "approve"}))
            unknown = _error(await client.call_tool("start_run", {
                "task": TASK, "workflow": "no-such-flow-xyz"}))
            agent = _error(await client.call_tool("explain_route", {
                "agent": "nobody-xyz", "prompt": "hi"}))
            explained = _data(await client.call_tool("explain_route", {
                "agent": "backend", "prompt": "Add a limiter"}))
            return waiting, finished, again, unknown, agent, explained

        waiting, finished, again, unknown, agent, explained = _with(_http(url), session)
    assert (waiting["status"], waiting["pending"]["kind"]) == ("waiting", "approval")
    assert finished["status"] == "finished"
    assert "only a waiting run takes an answer" in again
    assert "workflow" in unknown
    assert "no-such-flow-xyz" not in unknown
    assert "nobody-xyz" not in agent
    assert "backend" in agent
    assert explained["model"] == "author"


def test_a_start_run_retried_with_its_key_starts_one_run(isolated_env: Path) -> None:
    """An agent whose start_run timed out calls it again: the same run, not a second one."""
    key = "7f1d5a8e-retry-of-start-run"
    with gateway(crew_config()) as url:
        async def session(client: Client) -> Any:
            first = _data(await client.call_tool("start_run", {
                "task": TASK, "idempotency_key": key}))
            again = _data(await client.call_tool("start_run", {
                "task": TASK, "idempotency_key": key, "wait": True}))
            other = _error(await client.call_tool("start_run", {
                "task": TASK + " and pagination", "idempotency_key": key}))
            malformed = _error(await client.call_tool("start_run", {
                "task": TASK, "idempotency_key": "has space-xyz"}))
            listed = _data(await client.call_tool("list_runs", {}))
            return first, again, other, malformed, listed

        first, again, other, malformed, listed = _with(_http(url), session)
    assert first["replayed"] is False
    assert (again["id"], again["replayed"], again["status"]) == (first["id"], True, "finished")
    assert "idempotency_key" in other
    assert "new key" in other
    assert key not in other
    assert "pagination" not in other
    assert "idempotency_key" in malformed
    assert "xyz" not in malformed
    assert [r["id"] for r in listed["result"]] == [first["id"]]


def test_stdio_needs_a_key_once_keys_exist(isolated_env: Path) -> None:
    create_key(SqliteStore(isolated_env / "data" / "store.sqlite"), "acme", "operator")
    done = subprocess.run([sys.executable, "-m", "hybridcrew", "mcp"], capture_output=True,
                          text=True, timeout=60, check=False, stdin=subprocess.DEVNULL,
                          cwd=isolated_env)
    assert done.returncode == 2
    assert "HYBRIDCREW_MCP_KEY" in done.stderr
    assert done.stdout == "", "stdout belongs to the protocol"


def test_on_loopback_mcp_refuses_other_hosts_against_dns_rebinding() -> None:
    hello = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"}}}
    headers = {"accept": "application/json, text/event-stream", "host": "rebound.example"}
    with gateway(crew_config()) as url:
        rebound = httpx.post(f"{url}/mcp", json=hello, headers=headers)
    # Listening beyond loopback (keys required there), any Host name may reach it.
    with gateway(crew_config(), api_host="0.0.0.0") as url:
        named = httpx.post(f"{url}/mcp", json=hello, headers=headers)
    assert rebound.status_code in {400, 403, 421}
    assert named.status_code == 200
