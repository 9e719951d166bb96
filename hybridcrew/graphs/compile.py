"""Compile a :class:`WorkflowSpec` into a LangGraph ``StateGraph``.

Shape: agent nodes wired by ``depends_on`` (fan-in nodes are deferred so they run once after all
their branches); the reviewer's verdict routes failing parts back to their authors while rounds
remain; a ``_finish`` node acts only when the review is done and every final node has run in the
current round: then an optional human approval, then the report. A reviewer that is the only
final node of a run without approval writes the report itself, and the run ends one superstep
(and one checkpoint) sooner.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.types import interrupt

from hybridcrew.graphs.lifecycle import EventKind
from hybridcrew.graphs.report import build_report, part_verdicts, write_artifacts
from hybridcrew.graphs.schemas import Verdict
from hybridcrew.graphs.state import CrewState, StepOutcome, StepRecord, applied
from hybridcrew.graphs.steps import AgentStep, CrewContext
from hybridcrew.graphs.workflow import WorkflowSpec

FINISH = "_finish"
GROUNDED_WEIGHT = 3
"""How many opinions one verdict grounded in the repository's checks counts for."""
Reporter = Callable[[CrewState], Awaitable[dict[str, Any]]]


class ReviewStep(AgentStep):
    """The loop's reviewer: after its verdict, decide whether another round is needed."""

    def __init__(self, ctx: CrewContext, spec: WorkflowSpec, name: str,
                 report: Reporter | None = None) -> None:
        super().__init__(ctx, spec, name)
        self.report = report
        """Set when this review is the workflow's only final node: it writes the report."""

    async def __call__(self, state: CrewState) -> dict[str, Any]:
        """Run the review, then set ``generation``/``review_done`` for the loop.

        The last review of a run without approval also writes the report.
        """
        update = await super().__call__(state)
        review = self.spec.review
        assert review is not None  # a ReviewStep only exists for a review loop
        generation = state.get("generation", 0)
        verdict = Verdict.model_validate(update["verdicts"][self.name])
        self._learn(state, update["outcomes"])
        failing = [p for p in review.authors
                   if (v := verdict.for_part(p)) is not None and not v.approved]
        if failing and generation + 1 < review.max_rounds:
            return update | {"generation": generation + 1, "review_done": False}
        update["review_done"] = True
        if self.report is not None and not state.get("gate"):
            update |= await self.report(applied(state, update))
        return update


    def _learn(self, state: CrewState, outcomes: dict[str, StepOutcome]) -> None:
        """Each verdict is evidence about the model that wrote the part, for its agent.

        ``outcomes`` holds this round's steps only: a part left unchanged is not judged twice.
        """
        steps = {s["key"]: s for s in state.get("steps", [])}
        with self.ctx.events.transaction():  # one commit for the whole verdict
            self._judge(state["run_id"], steps, outcomes)

    def _judge(self, run_id: str, steps: dict[str, StepRecord],
               outcomes: dict[str, StepOutcome]) -> None:
        for key, outcome in outcomes.items():
            step, approved = steps[key], outcome["approved"]
            # A verdict grounded in the repository's checks is worth more than an opinion.
            weight = GROUNDED_WEIGHT if outcome["grounded"] else 1
            self.ctx.runtime.record_verdict(step["model"], step["agent"], approved, weight)
            self.ctx.run_log.record_verdict(step["model"], step["agent"], approved, weight)
            self.ctx.run_log.record_outcome(run_id, key, approved, weight)
            self.ctx.events.emit(run_id, EventKind.VERDICT, self.name,
                                 part=step["node"], agent=step["agent"], model=step["model"],
                                 approved=approved)


def compile_workflow(spec: WorkflowSpec, ctx: CrewContext,
                     checkpointer: BaseCheckpointSaver[Any] | None = None
                     ) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The runnable graph for ``spec``."""
    graph = StateGraph(CrewState)
    reviewer = spec.review.reviewer if spec.review else None
    report = _reporter(spec, ctx)
    for name, node in spec.nodes.items():
        step: AgentStep
        if name == reviewer:  # when it is the only final node, it writes the report too
            step = ReviewStep(ctx, spec, name, report if spec.sinks() == [name] else None)
        else:
            step = AgentStep(ctx, spec, name)
        graph.add_node(name, step, defer=len(node.depends_on) > 1 or name == reviewer)
        if not node.depends_on:
            graph.add_edge(START, name)
        for dep in node.depends_on:
            if dep != reviewer:  # the reviewer's exits are chosen by the loop
                graph.add_edge(dep, name)
    graph.add_node(FINISH, _finish(spec, report), defer=True)
    for sink in spec.sinks():
        if sink != reviewer:
            graph.add_edge(sink, FINISH)
    if spec.review is not None and reviewer is not None:
        after = spec.dependents(reviewer) or [FINISH]
        graph.add_conditional_edges(reviewer, _review_router(spec, after),
                                    [*spec.review.authors, *after, END])
    graph.add_edge(FINISH, END)
    return graph.compile(checkpointer=checkpointer)


def _review_router(spec: WorkflowSpec, after: list[str]) -> Any:
    # Async (though it awaits nothing): LangGraph hands a sync edge function of an async run to
    # a worker thread, two thread switches for a dictionary lookup.
    async def route(state: CrewState) -> list[str]:
        if state.get("report") is not None:  # the review wrote it: the run is done
            return [END]
        if state.get("review_done"):
            return after
        parts = part_verdicts(spec, state)
        assert spec.review is not None  # only wired for a review loop
        return [a for a in spec.review.authors if not parts[a]["approved"]]

    return route


def _finish(spec: WorkflowSpec, report: Reporter) -> Any:
    """The barrier before the report, the optional human approval, and the report.

    One node rather than three keeps the run to as few supersteps (and checkpoints) as possible.
    It is reached once per branch that ends; it only acts when the review is done and every
    final node has run in the current round.
    """
    reviewer = spec.review.reviewer if spec.review else None
    finals = [s for s in spec.sinks() if s != reviewer] + ([reviewer] if reviewer else [])

    async def finish(state: CrewState) -> dict[str, Any]:
        generation, stamps = state.get("generation", 0), state.get("stamps", {})
        ready = all(stamps.get(n) == generation for n in finals) and (
            reviewer is None or bool(state.get("review_done")))
        if not ready:
            return {}  # another branch of this round is still working; it will come back here
        update: dict[str, Any] = {}
        if state.get("gate"):
            answer = interrupt({"kind": "approval", "parts": part_verdicts(spec, state),
                                "question": "Approve the results and write the final report?"})
            update["approval"] = {"approved": answer["choice"] == "approve",
                                  "comment": answer.get("comment", "")}
        return update | await report(applied(state, update))

    return finish


def _reporter(spec: WorkflowSpec, ctx: CrewContext) -> Reporter:
    """Writes the artifacts and returns the ``report`` update of the run's final state.

    Async, so that it runs on the run's loop: the artifacts are a few small files (a sync node
    would go to a worker thread and back); only a repository's diff, a subprocess, goes to the
    worker pool.
    """

    async def report(final: CrewState) -> dict[str, Any]:
        artifacts = write_artifacts(Path(final["folder"]), spec, final)
        workspace = ctx.workspaces.for_run(final["run_id"]) if ctx.workspaces else None
        written = build_report(spec, final, artifacts)
        if workspace is not None:  # the branch's changes, as a patch among the artifacts
            written["repo"] = await asyncio.get_running_loop().run_in_executor(
                None, workspace.finish, final["folder"])
            written["artifacts"].append("patch.diff")
        return {"report": written}

    return report
