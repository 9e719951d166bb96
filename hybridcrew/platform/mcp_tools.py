"""MCP tools for agents: the configured servers, their tools, and calls that cannot hang a run.

A server's tools are listed once per process (when the crew starts, so a server that does not
start, a granted tool it lacks or a tool schema that is not one is reported then, one line each
with the fix; a failed listing is tried again a minute later). A call opens its own session
(a stdio server is started for it, an HTTP server gets one request stream), is bounded by the
server's ``timeout_s`` from start to result, and checks the model's arguments against the tool's
schema first. Whatever goes wrong is a result the model reads, never an exception in the step.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx2
import jsonschema
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from hybridcrew.agents.spec import AgentSpec
from hybridcrew.agents.tools import VARIABLE, McpServerSpec
from hybridcrew.documents import choose_from
from hybridcrew.errors import ConfigError, ConfigProblem
from hybridcrew.graphs.ports import Tool, ToolResult

log = logging.getLogger(__name__)
RETRY_LISTING_S = 60.0
LISTING_TIMEOUT_S = 15.0
"""A server's whole start and listing, at least (its own ``timeout_s`` if longer): a start may
load a runtime or a package, and a busy machine must not report a healthy server as dead."""
MAX_RESULT_CHARS = 50_000
"""What a model is shown of one tool result (the rest is cut, and it is told so)."""


class McpServers:
    """The configured MCP servers of this process: their tool listings, and calls to them."""

    def __init__(self, specs: dict[str, McpServerSpec]) -> None:
        self.specs = specs
        self._tools: dict[str, dict[str, Tool]] = {}
        self._failed: dict[str, tuple[float, str]] = {}  # server → (when, why)

    async def tools(self, server: str) -> dict[str, Tool]:
        """The server's tools by name (listed on first use; empty while it cannot be listed)."""
        if server in self._tools:
            return self._tools[server]
        failed = self._failed.get(server)
        if failed is not None and time.monotonic() - failed[0] < RETRY_LISTING_S:
            return {}
        spec = self.specs[server]
        try:
            async with asyncio.timeout(_listing_timeout(spec)):
                async with Client(self._transport(server)) as client:
                    listed = (await client.list_tools()).tools
        except Exception as exc:  # noqa: BLE001 - any failure to start or list is reported
            why = _why(exc, spec)
            self._failed[server] = (time.monotonic(), why)
            raise ConfigError.single("mcp_servers", server, why, _START_FIX) from None
        self._failed.pop(server, None)
        self._tools[server] = {t.name: Tool(server, t.name, t.description or t.title or t.name,
                                            dict(t.input_schema)) for t in listed}
        return self._tools[server]

    async def check(self, agents: dict[str, AgentSpec]) -> list[ConfigProblem]:
        """List every server an agent names; what is wrong, one problem each (with its fix)."""
        problems: list[ConfigProblem] = []
        names = sorted({g.server for a in agents.values() for g in a.tools})
        listed = await asyncio.gather(*(self.tools(n) for n in names), return_exceptions=True)
        for name, tools in zip(names, listed, strict=True):
            if isinstance(tools, ConfigError):
                problems += [ConfigProblem(f"mcp_servers.{name}", p.problem, p.fix)
                             for p in tools.problems]
            elif isinstance(tools, dict):
                problems += _schema_problems(name, tools.values())
        for agent_name, agent in agents.items():
            for i, grant in enumerate(agent.tools):
                offered = self._tools.get(grant.server, {})  # unlisted: reported above
                for tool in grant.tools if grant.server in self._tools else ():
                    if tool not in offered:
                        problems.append(ConfigProblem(
                            f"agents.{agent_name}.tools[{i}].tools",
                            f"MCP server '{grant.server}' has no tool '{tool}'",
                            choose_from(tool, offered, "the server offers no tools")))
        return problems

    async def call(self, tool: Tool, arguments: dict[str, Any]) -> ToolResult:
        """Call the tool within its server's timeout; every failure is a result."""
        problem = _argument_problem(tool, arguments)
        if problem is not None:
            return ToolResult(f"arguments do not match the tool's schema: {problem}; call "
                              "it again with arguments that do", ok=False)
        spec = self.specs[tool.server]
        try:
            async with asyncio.timeout(spec.timeout_s):
                async with Client(self._transport(tool.server)) as client:
                    result = await client.call_tool(tool.name, arguments)
        except TimeoutError:
            return ToolResult(f"the tool did not answer within {spec.timeout_s:g} s", ok=False)
        except Exception as exc:  # noqa: BLE001 - the model reads why; the run goes on
            return ToolResult(f"the tool failed: {_why(exc, spec)}", ok=False)
        text = "\n".join(getattr(c, "text", "") or f"[{c.type} content]" for c in result.content)
        if len(text) > MAX_RESULT_CHARS:
            text = text[:MAX_RESULT_CHARS] + f"\n[cut at {MAX_RESULT_CHARS} characters]"
        return ToolResult(text or "(no output)", ok=not result.is_error)

    def _transport(self, server: str) -> StdioServerParameters | AbstractAsyncContextManager[Any]:
        spec = self.specs[server]
        if spec.command is not None:
            env = {k: _expand(v, f"mcp_servers.{server}.env.{k}") for k, v in spec.env.items()}
            return StdioServerParameters(command=spec.command, args=spec.args, env=env or None)
        assert spec.url is not None  # one of the two, checked when the file was loaded
        headers = {k: _expand(v, f"mcp_servers.{server}.headers.{k}")
                   for k, v in spec.headers.items()}
        return _over_http(spec.url, headers, spec.timeout_s)


class AgentTools:
    """The tools each agent of one configuration may call (the crew's ``ToolBox``)."""

    def __init__(self, servers: McpServers, agents: dict[str, AgentSpec]) -> None:
        self.servers, self.agents = servers, agents

    async def tools_for(self, agent: str) -> list[Tool]:
        """The agent's granted tools that its servers offer now."""
        tools: list[Tool] = []
        for grant in self.agents[agent].tools:
            try:
                offered = await self.servers.tools(grant.server)
            except ConfigError as exc:
                log.warning("%s", exc)
                continue
            tools += [offered[name] for name in grant.tools if name in offered]
        return tools

    async def call(self, tool: Tool, arguments: dict[str, Any]) -> ToolResult:
        """Call one of the tools."""
        return await self.servers.call(tool, arguments)


@asynccontextmanager
async def _over_http(url: str, headers: dict[str, str], timeout_s: float) -> AsyncIterator[Any]:
    """A streamable HTTP session whose client is closed with it (the SDK leaves a given one)."""
    async with httpx2.AsyncClient(headers=headers, timeout=timeout_s) as http, \
            streamable_http_client(url, http_client=http) as streams:
        yield streams


_START_FIX = ("run the command (or open the URL) by hand to see why; check mcp_servers: in "
              "hybridcrew.yaml")


def _listing_timeout(spec: McpServerSpec) -> float:
    return max(spec.timeout_s, LISTING_TIMEOUT_S)


def _why(exc: BaseException, spec: McpServerSpec) -> str:
    """Why a server could not be used, in one line (exception groups unwrapped)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, TimeoutError):
        return f"no answer within {_listing_timeout(spec):g} s"
    if isinstance(exc, FileNotFoundError):
        return f"cannot start '{spec.command}': no such program"
    detail = str(exc).splitlines()[0][:200] if str(exc) else ""
    return f"{type(exc).__name__}{': ' + detail if detail else ''}"


def _expand(value: str, where: str) -> str:
    """``value`` with every ``${NAME}`` replaced from the environment."""

    def variable(match: Any) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError.single("hybridcrew.yaml", where,
                                     f"environment variable {name} is not set",
                                     f"export {name} before starting hybridcrew")
        return os.environ[name]

    return VARIABLE.sub(variable, value)


def _schema_problems(server: str, tools: Iterable[Tool]) -> list[ConfigProblem]:
    problems = []
    for tool in tools:
        try:
            jsonschema.Draft202012Validator.check_schema(tool.input_schema)
        except jsonschema.SchemaError as exc:
            problems.append(ConfigProblem(
                f"mcp_servers.{server}", f"tool '{tool.name}' has an input schema that is not "
                f"JSON Schema ({exc.message[:120]})", "fix the tool's inputSchema in the server"))
    return problems


def _argument_problem(tool: Tool, arguments: dict[str, Any]) -> str | None:
    """Where the arguments break the tool's schema (a path and a rule, never the value)."""
    validator = jsonschema.Draft202012Validator(tool.input_schema)
    error = next(iter(validator.iter_errors(arguments)), None)
    if error is None:
        return None
    path = "/".join(str(p) for p in error.absolute_path) or "(the arguments)"
    return f"{path}: violates '{error.validator}'"
