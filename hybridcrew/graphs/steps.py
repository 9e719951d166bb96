"""Run one agent step: route, call with fallback, validate, account. Every node is one of these.

1. Build the prompt (role, task, plan, inputs) and route it — or replay the decision recorded
   for this step, when a run resumes after a crash.
2. If a budget kept a better model out and the run asks on budget, interrupt for a human:
   approve the spend, or continue on local models only.
3. Call the model through its endpoint's slot gate, falling back on provider errors.
4. Validate: non-empty; structured output parsed. One retry that says what was wrong, then an
   escalation to a stronger model among the decision's cleared fallbacks.
5. Record the decision, tokens, cost (and the all-cloud counterfactual) and time in state.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import threading
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import BaseMessage
from langgraph.types import interrupt
from pydantic import BaseModel

from hybridcrew.agents.spec import AgentSpec
from hybridcrew.errors import HybridCrewError
from hybridcrew.graphs.events import EventSink
from hybridcrew.graphs.lifecycle import EventKind
from hybridcrew.graphs.ports import DEFAULT_TENANT, RunLog, StepText, ToolBox, daily_scope
from hybridcrew.graphs.prompts import build_prompt, with_memory
from hybridcrew.graphs.repository import Section, edits_result, grounded_verdict, repo_sections
from hybridcrew.graphs.schemas import plan_schema, to_state, verdict_schema
from hybridcrew.graphs.state import CrewState, RecalledItem, StepOutcome, StepRecord
from hybridcrew.graphs.tool_loop import ToolLoop
from hybridcrew.graphs.validated import Accept, Validated
from hybridcrew.graphs.workflow import WorkflowSpec
from hybridcrew.graphs.workspace import CheckRecord, Edits, Workspace, Workspaces
from hybridcrew.routing import decision as codes
from hybridcrew.routing.decision import Decision
from hybridcrew.routing.invoke import CallResult
from hybridcrew.routing.router import PromptPart, RouteRequest
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.sensitivity import Sensitivity


def _apply(workspace: Workspace | None, key: str, parsed: BaseModel) -> str | None:
    # Only bound for the author steps of a repository run, whose schema is Edits.
    assert workspace is not None
    assert isinstance(parsed, Edits)
    return workspace.apply(key, parsed)


def judged(state: CrewState, reviewer: str, verdict: dict[str, Any]) -> dict[str, StepOutcome]:
    """The outcome of each part's step of this round, as ``reviewer`` judged it."""
    key_of = {s["node"]: s["key"] for s in state.get("steps", [])
              if s["key"] == f"{s['node']}@{state.get('generation', 0)}"}
    return {key_of[part]: StepOutcome(
        reviewer=reviewer, approved=bool(judgement.get("approved")),
        findings=list(judgement.get("findings", [])), grounded=bool(verdict.get("grounded")),
        checks=verdict.get("checks")) for part, judgement in verdict.get("parts", {}).items()
        if part in key_of}


def _daily(state: CrewState) -> str:
    """The budget scope of the run's tenant today."""
    return daily_scope(state.get("tenant", DEFAULT_TENANT))


class RunCancelled(HybridCrewError):
    """The run was cancelled: no further step starts."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"run {run_id} was cancelled")


class ExecutionStopped(HybridCrewError):
    """This process stops executing the run (it shuts down, or lost the run's lease).

    The run keeps its status and checkpoint: another process resumes it.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"this process stopped executing run {run_id}; it resumes elsewhere")


@dataclass
class CrewContext:
    """What steps share within one process."""

    runtime: RoutingRuntime
    run_log: RunLog
    events: EventSink
    budget_gate: bool = False
    resuming: set[str] = field(default_factory=set)
    """Runs resumed in this process: only their steps may have recorded decisions to replay."""
    cancelled: set[str] = field(default_factory=set)
    """Runs cancelled while this process drives them."""
    handed_over: set[str] = field(default_factory=set)
    """Runs this process must stop driving: their lease was lost."""
    stopping: threading.Event = field(default_factory=threading.Event)
    """Set when the process shuts down: no further step starts."""
    workspaces: Workspaces | None = None
    """The repositories of runs that have one."""
    repo_files: int = 5
    """Repository files offered to a step."""
    toolbox: ToolBox | None = None
    """The MCP tools agents may call (None: no agent has any)."""


class AgentStep:
    """The LangGraph node for ``spec.nodes[name]``."""

    def __init__(self, ctx: CrewContext, spec: WorkflowSpec, name: str) -> None:
        self.ctx, self.spec, self.name = ctx, spec, name
        self.node = spec.nodes[name]
        self.agent: AgentSpec = ctx.runtime.config.agent(self.node.agent)
        # Today's spend only matters when one of the agent's models costs something.
        self.paid = ctx.runtime.config.pays(self.node.agent)
        self.schema: type[BaseModel] | None = {
            "plan": plan_schema(spec.parts()),
            "review": verdict_schema(self._reviewed()),
        }.get(self.node.kind)

    def _reviewed(self) -> list[str]:
        implementers = [d for d in self.spec.ancestors(self.name)
                        if self.spec.nodes[d].kind == "implement"]
        return [p for p in self.spec.parts() if p in implementers] or self.spec.parts()

    async def __call__(self, state: CrewState) -> dict[str, Any]:
        """Execute the step and return its state update.

        On the run's event loop: the model call is awaited; a repository's checks and file
        retrieval (subprocesses, embeddings) run on the loop's worker pool.
        """
        run_id, generation = state["run_id"], state.get("generation", 0)
        if run_id in self.ctx.cancelled:
            raise RunCancelled(run_id)
        if self.ctx.stopping.is_set() or run_id in self.ctx.handed_over:
            raise ExecutionStopped(run_id)
        key = f"{self.name}@{generation}"
        workspace = self.ctx.workspaces.for_run(run_id) if self.ctx.workspaces else None
        checks, repository = await self._repository(state, workspace) if workspace else (
            None, None)
        messages, parts = build_prompt(self.spec, self.name, self.agent, state, repository)
        decision, update, replayed = self._route(state, key, parts)
        messages = with_memory(messages, self._included(state, decision))
        self.ctx.events.emit(run_id, EventKind.STEP_STARTED, self.name, key=key,
                             agent=self.node.agent, model=decision.model,
                             location=decision.location,
                             reasons=list(decision.reasons), replayed=replayed,
                             sensitivity=decision.sensitivity.label,
                             rejected_for=sorted({r.why for r in decision.rejected}),
                             decision=None if replayed else (key, decision.to_dict()))

        def queued(model: str) -> None:
            self.ctx.events.emit(run_id, EventKind.STEP_QUEUED, self.name, key=key, model=model)

        edits = workspace is not None and self.node.kind == "implement"
        schema = Edits if edits else self.schema
        apply = functools.partial(_apply, workspace, key) if edits else None
        decision, parts, calls, notes, unapplied = await self._calls(
            state, key, decision, messages=messages, parts=parts, queued=queued, schema=schema,
            accept=apply)
        final = calls[-1]
        record = self._record(key=key, generation=generation, decision=decision, calls=calls,
                              notes=notes)
        with self.ctx.events.transaction():  # one commit for what the step leaves behind
            # What the step was asked, kept until a review, a check or a person judges it.
            self.ctx.run_log.record_step_text(run_id, key, StepText(
                record["model"], self.node.agent, self.node.kind,
                "\n".join(p.text for p in parts)))
            if record["cost_usd"] > 0:  # today's spend, shared by every process of the tenant
                # Charged once per step, even when a crash makes the step run again.
                self.ctx.run_log.spend(_daily(state), record["cost_usd"],
                                       charge_id=f"{run_id}/{key}")
            self.ctx.events.emit(run_id, EventKind.STEP_FINISHED, self.name, data=dict(record))
        text = final.text
        if isinstance(final.parsed, Edits):
            text = unapplied or edits_result(final.parsed)
        update |= {
            "results": {self.name: text},
            "stamps": {self.name: generation},
            "steps": [record],
        }
        if decision.sensitivity > state.get("taint", 0):  # every channel write is checkpointed
            update["taint"] = int(decision.sensitivity)
        if self.node.kind == "plan" and final.parsed is not None:
            update["plan"] = to_state(final.parsed)
        if self.node.kind == "review" and final.parsed is not None:
            verdict = to_state(final.parsed)
            verdict = grounded_verdict(verdict, checks) if checks else verdict
            update["verdicts"] = {self.name: verdict}
            update["outcomes"] = judged(state, self.name, verdict)
        return update

    async def _repository(self, state: CrewState, workspace: Workspace
                          ) -> tuple[CheckRecord | None, list[Section]]:
        """What the step sees of the run's repository (a reviewer: after running its checks)."""
        loop = asyncio.get_running_loop()
        checks = None
        if self.node.kind == "review":
            checks = await loop.run_in_executor(None, self._checks, state["run_id"], workspace)
        repository = await loop.run_in_executor(None, functools.partial(
            repo_sections, workspace, self.name, self.node, state,
            files=self.ctx.repo_files, checks=checks))
        return checks, repository

    def _checks(self, run_id: str, workspace: Workspace) -> CheckRecord:
        """Run the repository's checks before the review, and say what they found."""
        checks = workspace.check()
        self.ctx.events.emit(run_id, EventKind.CHECKS_RAN, self.name, command=checks["command"],
                             passed=checks["passed"], failed=checks["failed"],
                             new_failures=checks["new_failures"], ok=checks["ok"],
                             stopped=checks["stopped"], isolation=checks["isolation"])
        return checks

    # -- routing ---------------------------------------------------------------------------

    def _route(self, state: CrewState, key: str, parts: tuple[PromptPart, ...]
               ) -> tuple[Decision, dict[str, Any], bool]:
        run_id = state["run_id"]
        if run_id in self.ctx.resuming:  # a re-run after a crash replays the original choice
            recorded = self.ctx.run_log.decision(run_id, key)
            if recorded is not None:
                return Decision.from_dict(recorded), {}, True
        request = self._request(state, parts)
        decision, request = self._decide_with_memory(request, state.get("memory") or [])
        update: dict[str, Any] = {}
        if self.ctx.budget_gate and not request.local_only:
            unbounded = self.ctx.runtime.decide(dataclasses.replace(request, ignore_budget=True))
            held_back = any(r.model == unbounded.model and r.why == codes.BUDGET
                            for r in decision.rejected)
            if held_back:
                gated, update = self._budget_gate(request, decision, unbounded)
                decision = dataclasses.replace(gated, memory=decision.memory)
        return decision, update, False

    def _request(self, state: CrewState, parts: tuple[PromptPart, ...]) -> RouteRequest:
        spent = state.get("steps", [])
        return RouteRequest(
            agent=self.node.agent, parts=parts, step=self.node.kind,
            labels=tuple(state.get("labels", [])), taint=Sensitivity(state.get("taint", 0)),
            run_spent_usd=sum(s["cost_usd"] for s in spent),
            agent_spent_usd=sum(s["cost_usd"] for s in spent if s["agent"] == self.node.agent),
            local_only=bool(state.get("local_only")), run_budget_usd=state.get("budget_usd"),
            daily_spent_usd=self.ctx.run_log.spent(_daily(state)) if self.paid else 0.0,
        )

    def _reroute(self, state: CrewState, included: list[RecalledItem],
                 parts: tuple[PromptPart, ...]) -> Decision:
        """The decision for a later call of the step: its parts so far and its memory."""
        memory = tuple(PromptPart(i["text"], kind="memory",
                                  sensitivity=Sensitivity(i["sensitivity"])) for i in included)
        return self.ctx.runtime.decide(self._request(state, parts + memory))

    def _decide_with_memory(self, request: RouteRequest, offered: list[RecalledItem]
                            ) -> tuple[Decision, RouteRequest]:
        """Route with the memory items the policy lets this step see; the decision says which.

        ``omit``: route without memory, then offer only items within the clearance of the chosen
        model and every fallback. ``keep_local``: offer everything; the router keeps the step on
        a model cleared for it.
        """
        runtime = self.ctx.runtime
        if not offered:
            return runtime.decide(request), request
        policy = runtime.config.policy.privacy.memory
        included = offered
        if policy == "omit":
            first = runtime.decide(request)
            if first.blocked:
                return first, request
            catalog = runtime.config.catalog
            cleared = min(catalog[m].spec.clearance for m in (first.model, *first.fallbacks)
                          if m is not None)
            included = [i for i in offered if i["sensitivity"] <= cleared]
        request = dataclasses.replace(request, parts=request.parts + tuple(
            PromptPart(i["text"], kind="memory", sensitivity=Sensitivity(i["sensitivity"]))
            for i in included))
        ids = {i["id"] for i in included}
        decision = dataclasses.replace(runtime.decide(request), memory={
            "policy": policy, "included": [i["id"] for i in included],
            "left_out": [i["id"] for i in offered if i["id"] not in ids]})
        return decision, request

    @staticmethod
    def _included(state: CrewState, decision: Decision) -> list[RecalledItem]:
        ids = set(decision.memory["included"] if decision.memory else ())
        return [i for i in state.get("memory") or [] if i["id"] in ids]

    def _budget_gate(self, request: RouteRequest, decision: Decision, unbounded: Decision
                     ) -> tuple[Decision, dict[str, Any]]:
        cost = unbounded.estimated_cost_usd
        answer = interrupt({
            "kind": "budget", "node": self.name, "agent": self.node.agent,
            "model": unbounded.model, "estimated_cost_usd": cost, "instead": decision.model,
            "question": f"{self.name} would use {unbounded.model} (~${cost:.4f}) beyond the "
                        "budget: approve the spend, or continue on local models?",
        })
        if answer["choice"] == "approve":
            return unbounded, {}
        local = self.ctx.runtime.decide(dataclasses.replace(request, local_only=True))
        return local, {"local_only": True}

    # -- execution and validation -------------------------------------------------------------

    async def _calls(self, state: CrewState, key: str, decision: Decision, *,
                     messages: list[BaseMessage], parts: tuple[PromptPart, ...], queued: Any,
                     schema: type[BaseModel] | None, accept: Accept | None
                     ) -> tuple[Decision, tuple[PromptPart, ...], list[CallResult], list[str],
                                str | None]:
        """The step's model calls: tool rounds first when its agent has tools, then validated.

        Returns the last decision (tool results may have moved the step), the parts the step
        sent, the calls, notes on them, and why edits stayed unapplied (None if they applied).
        """
        toolbox = self.ctx.toolbox
        # JSON steps (plans, verdicts, edits) answer without tools.
        tools = await toolbox.tools_for(self.node.agent) if (
            toolbox is not None and schema is None and self.agent.tools) else []
        earlier: list[CallResult] = []
        if toolbox is not None and tools:
            rounds = await ToolLoop(
                self.ctx.runtime.pool, self.ctx.events, toolbox, tools,
                self.agent.max_tool_calls, state["run_id"], self.name, key,
                functools.partial(self._reroute, state, self._included(state, decision)),
            ).run(decision, messages, parts)
            decision, messages, parts = rounds.decision, rounds.messages, rounds.parts
            earlier = rounds.calls
            if earlier[-1].text.strip():
                return decision, parts, earlier, [], None
        validated = Validated(self.ctx.runtime.pool, self.ctx.runtime.config.catalog,
                              self.name, self.node.agent)
        calls, notes, unapplied = await validated.call(decision, messages, queued, schema,
                                                       accept)
        return decision, parts, earlier + calls, notes, unapplied

    def _record(self, *, key: str, generation: int, decision: Decision,
                calls: list[CallResult], notes: list[str]) -> StepRecord:
        catalog = self.ctx.runtime.config.catalog
        reference = catalog.get(decision.cloud_reference or "")
        cloud_cost = sum(
            c.cost_usd if c.location == "cloud" or reference is None
            else reference.spec.cost_usd(c.input_tokens, c.output_tokens) for c in calls)
        final = calls[-1]
        return StepRecord(
            key=key, node=self.name, agent=self.node.agent, round=generation + 1,
            model=final.model, provider=final.provider, location=final.location,
            reasons=list(decision.reasons), sensitivity=decision.sensitivity.label,
            input_tokens=sum(c.input_tokens for c in calls),
            output_tokens=sum(c.output_tokens for c in calls),
            cost_usd=sum(c.cost_usd for c in calls), cloud_cost_usd=cloud_cost,
            seconds=round(sum(c.latency_s for c in calls), 3), calls=len(calls), notes=notes,
            errors=[{"model": e.model, "provider": e.provider, "kind": e.kind}
                    for c in calls for e in c.attempts],
        )
