"""hybridcrew as an MCP server: runs, their routing decisions, answers, artifacts and memory.

One server for both transports: ``hybridcrew mcp`` (stdio, started by the client) and ``/mcp``
on the gateway (streamable HTTP, authenticated with the gateway's API keys). Every tool acts as
its caller, through the same functions as the REST API: the caller's tenant's runs only (another
tenant's run does not exist), the caller's role (a viewer reads; an operator starts, answers,
cancels and remembers), and the REST API's validation and error messages, which never echo what
was sent.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, TypeVar

from anyio import to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import ToolAnnotations
from pydantic import Field, ValidationError

from hybridcrew import __version__
from hybridcrew.errors import ConfigError, HybridCrewError
from hybridcrew.graphs.lifecycle import EventKind, RunStatus
from hybridcrew.graphs.narration import describe
from hybridcrew.platform.api.errors import Forbidden, Redactor, problem_lines
from hybridcrew.platform.api.routes import memory, models, runs
from hybridcrew.platform.api.schemas import (
    REQUEST_FIELDS,
    Answer,
    ExplainRequest,
    MemoryCreate,
    MemorySearch,
    RunCreate,
)
from hybridcrew.platform.idempotency import KEY_PATTERN, KeyReused
from hybridcrew.platform.keys import Caller
from hybridcrew.platform.service import RunService
from hybridcrew.platform.store import Role, RunRow
from hybridcrew.routing.decision import DecisionRecord

T = TypeVar("T")
CallerOf = Callable[[Context], Caller]
"""Who makes the request a tool call belongs to (the transport knows)."""

INSTRUCTIONS = (
    "hybridcrew runs a crew of software agents (plan, frontend, backend, QA) and routes every "
    "step between Claude and local models by privacy, budget and expected quality. Start a run "
    "with start_run (wait=true streams progress), follow it with wait_for_run or run_status, "
    "answer its question with answer_run when it waits, read what it wrote with read_artifact. "
    "explain_route says which model would take a step and why; search_memory and remember use "
    "the team's shared memory.")
MAX_LISTED = 200
ANSWER_TAKEN_S = 10.0
"""How long answer_run waits for the run to take the answer (it goes on regardless)."""
RunId = Annotated[str, Field(max_length=100, description="a run id, e.g. from start_run")]


class HybridcrewTools:
    """The tools, for one service; each call acts as the caller :data:`CallerOf` names."""

    def __init__(self, service: RunService, caller_of: CallerOf) -> None:
        self.service, self.caller_of = service, caller_of
        self.redactor = Redactor(service.known_names() | REQUEST_FIELDS)

    # -- runs -----------------------------------------------------------------------------------

    async def start_run(
        self, ctx: Context, *,
        task: Annotated[str, Field(description="what the crew should build or change")],
        workflow: Annotated[str, Field(description="a workflow name (default: delivery)")
                            ] = "delivery",
        repo: Annotated[str | None, Field(description="a repository name the gateway "
                                                      "configured under repos: (never a path)")
                        ] = None,
        labels: Annotated[tuple[str, ...], Field(description="routing labels, e.g. "
                                                             "confidential")] = (),
        budget_usd: Annotated[float | None, Field(description="the run's cloud budget")] = None,
        approval: Annotated[bool, Field(description="ask for approval before the code is "
                                                    "written")] = False,
        wait: Annotated[bool, Field(description="report progress until the run finishes or "
                                                "asks a question")] = False,
        idempotency_key: Annotated[str | None, Field(
            description="start at most once: calling again with this key and the same "
                        "arguments returns the run the first call started (1-255 visible "
                        "ASCII characters, e.g. a UUID)")] = None,
    ) -> dict[str, Any]:
        """Start a crew run on a task; returns its id (and, with wait, how it ended)."""
        caller = self._as(ctx, "operator")
        # Checked here, not by the tool's schema: the SDK's own message would show the value.
        if idempotency_key is not None and not re.fullmatch(KEY_PATTERN, idempotency_key):
            raise ToolError("idempotency_key: must be 1-255 visible ASCII characters, without "
                            "spaces (a UUID, say)")
        body = self._valid(RunCreate, task=task, workflow=workflow, repo=repo, labels=list(labels),
                           budget_usd=budget_usd, approval=approval)
        row, replayed = await self._call(self._submit(body, caller.tenant, idempotency_key))
        started = {"replayed": replayed} if idempotency_key is not None else {}
        if wait:
            return await self.wait_for_run(ctx, row.id) | started
        return {"id": row.id, "status": str(row.status)} | started

    async def _submit(self, body: RunCreate, tenant: str, key: str | None
                      ) -> tuple[RunRow, bool]:
        try:
            return await runs.submit(body, tenant, self.service, key)
        except KeyReused:  # its text names the REST API's header
            raise ToolError("idempotency_key: this key started a run with other arguments. "
                            "Fix: use a new key for a new run; call again with the first "
                            "call's arguments to get the run it started") from None

    async def run_status(self, ctx: Context, run_id: RunId) -> dict[str, Any]:
        """A run: status, each step's model, location and routing decision, cost, artifacts."""
        run = await self._run(ctx, run_id)
        detail = await self._call(runs.get_run(run, self.service))
        return detail.model_dump(mode="json")

    async def wait_for_run(
        self, ctx: Context, run_id: RunId,
        timeout_s: Annotated[float, Field(gt=0, le=3600, description="stop waiting after")
                             ] = 600,
    ) -> dict[str, Any]:
        """Report a run's progress until it finishes, asks a question, or the time is up."""
        run = await self._run(ctx, run_id)
        events = self.service.feeds.follow(run.id)
        try:
            async with asyncio.timeout(timeout_s):
                async for event in events:
                    await ctx.report_progress(event.seq, None, describe(event))
                    if event.kind is EventKind.WAITING and await self._waits(run.id):
                        break
        except TimeoutError:
            pass  # the status says it still runs
        finally:
            await events.aclose()
        return await self.run_status(ctx, run.id)

    async def answer_run(
        self, ctx: Context, run_id: RunId,
        choice: Annotated[Literal["approve", "reject", "local"], Field(
            description="approve or reject (approval gate); local = go on with local models "
                        "only (budget question)")],
        comment: Annotated[str, Field(description="why, for the record")] = "",
    ) -> dict[str, Any]:
        """Answer the question a waiting run asks; it goes on in the background."""
        caller = self._as(ctx, "operator")
        run = await self._run(ctx, run_id)
        answer = self._valid(Answer, choice=choice, comment=comment)
        await self._call(to_thread.run_sync(runs.resume_run, run, answer, caller, self.service))
        # Returns once the run has taken the answer: a wait_for_run right after it must not
        # mistake the answered question for a new one.
        deadline = asyncio.get_running_loop().time() + ANSWER_TAKEN_S
        while await self._waits(run.id) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)
        return {"id": run.id, "status": str(RunStatus.RUNNING)}

    async def cancel_run(self, ctx: Context, run_id: RunId) -> dict[str, Any]:
        """Cancel a queued, running or waiting run (a step in flight finishes; none starts)."""
        caller = self._as(ctx, "operator")
        run = await self._run(ctx, run_id)
        summary = await self._call(to_thread.run_sync(runs.cancel_run, run, caller,
                                                      self.service))
        return summary.model_dump(mode="json")

    async def read_artifact(
        self, ctx: Context, run_id: RunId,
        path: Annotated[str, Field(max_length=1024, description="a path run_status lists "
                                   "under artifacts; patch.diff for a repository run")],
    ) -> str:
        """The text of a file the run wrote (code, plan.md, qa.md, patch.diff)."""
        run = await self._run(ctx, run_id)
        response = await self._call(to_thread.run_sync(runs.get_artifact, run, path))
        return str(await to_thread.run_sync(_read_text, response.path))

    async def list_runs(
        self, ctx: Context,
        limit: Annotated[int, Field(ge=1, le=MAX_LISTED, description="how many, newest first")
                         ] = 20,
    ) -> list[dict[str, Any]]:
        """The tenant's recent runs, newest first: status, cost, share of local steps."""
        caller = self._as(ctx, "viewer")
        page = await self._call(runs.list_runs(caller, self.service, None, limit, 0))
        return [item.model_dump(mode="json") for item in page.items]

    # -- routing and memory ---------------------------------------------------------------------

    async def explain_route(
        self, ctx: Context,
        agent: Annotated[str, Field(description="an agent name, e.g. backend")],
        prompt: Annotated[str, Field(description="the step's text")],
        step: Annotated[str, Field(description="plan, implement, review, ...")] = "default",
    ) -> DecisionRecord:
        """Which model would take this step and why: the decision record (nothing is called)."""
        caller = self._as(ctx, "viewer")
        if agent not in self.service.config.agents:
            raise ToolError(f"no such agent; known: {', '.join(self.service.config.agents)}")
        body = self._valid(ExplainRequest, agent=agent, prompt=prompt, step=step)
        return await self._call(to_thread.run_sync(models.explain_route, body, caller,
                                                   self.service))

    async def search_memory(
        self, ctx: Context, query: Annotated[str, Field(description="what to look for")],
        limit: Annotated[int, Field(ge=1, le=50)] = 5,
    ) -> list[dict[str, Any]]:
        """The tenant's remembered notes and documents most like the query, best first."""
        caller = self._as(ctx, "viewer")
        body = self._valid(MemorySearch, query=query, limit=limit)
        hits = await self._call(to_thread.run_sync(memory.search_memory, body, caller,
                                                   self.service))
        return [hit.model_dump(mode="json") for hit in hits]

    async def remember(
        self, ctx: Context, text: Annotated[str, Field(description="the note or document")],
        title: str = "",
        sensitivity: Annotated[Literal["public", "internal", "confidential", "secret"], Field(
            description="models not cleared for it never see the text")] = "internal",
    ) -> dict[str, Any]:
        """Remember a note for later runs of this tenant."""
        caller = self._as(ctx, "operator")
        body = self._valid(MemoryCreate, text=text, title=title, sensitivity=sensitivity)
        created = await self._call(to_thread.run_sync(memory.add_memory, body, caller,
                                                      self.service))
        return created.model_dump(mode="json")

    # -- resources ------------------------------------------------------------------------------

    async def recent_runs(self, ctx: Context, limit: str = "20") -> str:
        """The tenant's newest runs (JSON)."""
        count = int(limit) if limit.isdigit() and 0 < int(limit) <= MAX_LISTED else None
        if count is None:
            raise ResourceError(f"limit: a number from 1 to {MAX_LISTED}")
        return json.dumps(await self.list_runs(ctx, count))

    async def report(self, run_id: str, ctx: Context) -> str:
        """A run's report (JSON): verdicts per part, totals, artifacts."""
        try:
            return json.dumps((await self.run_status(ctx, run_id)).get("report"))
        except ToolError as exc:
            raise ResourceError(str(exc)) from None

    async def artifact(self, run_id: str, path: str, ctx: Context) -> str:
        """A file the run wrote."""
        try:
            return await self.read_artifact(ctx, run_id, path)
        except ToolError as exc:
            raise ResourceError(str(exc)) from None

    # -- the caller, their run, errors ----------------------------------------------------------

    def _as(self, ctx: Context, role: Role) -> Caller:
        caller = self.caller_of(ctx)
        if not caller.can(role):
            raise ToolError(str(Forbidden(role, caller.role)))
        return caller

    async def _run(self, ctx: Context, run_id: str) -> RunRow:
        caller = self._as(ctx, "viewer")
        store = self.service.store
        return await self._call(store.aread(store.get_run, run_id, caller.tenant))

    async def _call(self, work: Awaitable[T]) -> T:
        """Await ``work``; hybridcrew's errors become tool errors with the REST API's text."""
        try:
            return await work
        except ConfigError as exc:  # its text names the server's file: the problems only
            raise ToolError("; ".join(problem_lines(self.redactor, exc))) from None
        except HybridCrewError as exc:
            raise ToolError(self.redactor.text(str(exc))) from None

    def _valid(self, schema: type[T], **fields: Any) -> T:
        try:
            return schema(**fields)
        except ValidationError as exc:
            raise ToolError("; ".join(problem_lines(self.redactor, exc))) from None

    async def _waits(self, run_id: str) -> bool:
        """Whether the run waits for an answer now (a past question may have been answered)."""
        store = self.service.store
        run = await store.aread(store.get_run, run_id)
        return run.status == RunStatus.WAITING


def _read_text(path: str | os.PathLike[str]) -> str:
    with open(path, encoding="utf-8", errors="replace") as file:
        return file.read()


def build_mcp_server(service: RunService, caller_of: CallerOf) -> MCPServer:
    """The MCP server over ``service``: its tools and resources, for either transport."""
    # The SDK configures the root logger when a server is made (basicConfig with a handler of
    # its own, level INFO): the gateway's and the CLI's logging stay as their owners set them.
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    server: MCPServer = MCPServer("hybridcrew", instructions=INSTRUCTIONS, version=__version__)
    root.setLevel(level)
    root.handlers[:] = handlers
    tools = HybridcrewTools(service, caller_of)
    reads = ToolAnnotations(readOnlyHint=True)
    for method, read_only in ((tools.start_run, False), (tools.run_status, True),
                              (tools.wait_for_run, True), (tools.answer_run, False),
                              (tools.cancel_run, False), (tools.read_artifact, True),
                              (tools.list_runs, True), (tools.explain_route, True),
                              (tools.search_memory, True), (tools.remember, False)):
        server.add_tool(method, annotations=reads if read_only else None)
    # Templates, not static resources: a read must know its caller (the SDK gives a static
    # resource no context), and hence the tenant whose runs it lists.
    server.resource("hybridcrew://runs{?limit}", name="recent runs",
                    mime_type="application/json")(tools.recent_runs)
    server.resource("hybridcrew://runs/{run_id}/report", name="run report",
                    mime_type="application/json")(tools.report)
    server.resource("hybridcrew://runs/{run_id}/artifacts/{+path}", name="run artifact",
                    mime_type="text/plain")(tools.artifact)
    return server
