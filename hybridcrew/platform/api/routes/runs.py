"""``/v1/runs``: submit, list, inspect, answer, cancel, and fetch artifacts."""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated, Any, cast

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import FileResponse

from hybridcrew.graphs.lifecycle import RunStatus
from hybridcrew.graphs.report import totals
from hybridcrew.platform.api.deps import Operator, RunDep, ServiceDep, Viewer
from hybridcrew.platform.api.errors import NotFound
from hybridcrew.platform.api.schemas import (
    Answer,
    ErrorBody,
    Feedback,
    FeedbackRecorded,
    RunAccepted,
    RunCreate,
    RunDetail,
    RunPage,
    RunSummary,
    StepDetail,
)
from hybridcrew.platform.idempotency import HEADER, KEY_PATTERN, REPLAYED_HEADER, IdempotencyKey
from hybridcrew.platform.service import RunService
from hybridcrew.platform.store import RunRow
from hybridcrew.sensitivity import Sensitivity

MAX_ARTIFACT_PATH = 1024
router = APIRouter(prefix="/v1/runs", tags=["runs"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}, 404: {"model": ErrorBody}})
Status = Annotated[RunStatus | None, Query(description="only runs with this status")]
IdempotencyHeader = Annotated[str | None, Header(
    alias=HEADER, pattern=KEY_PATTERN,
    description="submit at most once: a retry with this key and the same body gets the run "
                "the first request started (1-255 visible ASCII characters)")]


@router.post("", status_code=202, response_model=RunAccepted, responses={
    202: {"headers": {REPLAYED_HEADER: {
        "description": "with an Idempotency-Key: true when an earlier request started the run",
        "schema": {"type": "string", "enum": ["true", "false"]}}}},
    422: {"model": ErrorBody}})
async def create_run(body: RunCreate, caller: Operator, service: ServiceDep, response: Response,
                     key: IdempotencyHeader = None) -> RunAccepted:
    """Start a run; it executes in the background. Stream its events from ``events``.

    With an ``Idempotency-Key``, sending the same request again (a retry after a timeout)
    answers with the run the first one started, marked ``Idempotent-Replayed: true``.
    """
    row, replayed = await submit(body, caller.tenant, service, key)
    if key is not None:
        response.headers[REPLAYED_HEADER] = "true" if replayed else "false"
    return RunAccepted(id=row.id, status=row.status, events=f"/v1/runs/{row.id}/events")


async def submit(body: RunCreate, tenant: str, service: RunService, key: str | None = None
                 ) -> tuple[RunRow, bool]:
    """Start the run ``body`` asks for (once per ``key``): the run, and whether it existed."""
    options: dict[str, Any] = {
        "workflow": body.workflow, "labels": body.labels, "gate": body.approval,
        "budget_usd": body.budget_usd,
        "privacy": Sensitivity.parse(body.privacy) if body.privacy else None,
        "assignments": {a: s.model_dump() for a, s in body.assignments.items()},
        "repo_name": body.repo}
    if key is None:
        return await service.asubmit(body.task, tenant, **options), False
    once = IdempotencyKey.of(tenant, key, body.model_dump(mode="json"))
    return await service.asubmit_once(once, body.task, tenant, **options)


@router.get("", response_model=RunPage)
async def list_runs(caller: Viewer, service: ServiceDep, status: Status = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50,
                    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> RunPage:
    """The caller's tenant's runs, newest first."""
    rows = await service.store.aread(service.store.list_runs, tenant=caller.tenant,
                                     status=status, limit=limit + 1, offset=offset)
    return RunPage(items=[RunSummary.of(r) for r in rows[:limit]], offset=offset, limit=limit,
                   next_offset=offset + limit if len(rows) > limit else None)


@router.get("/{run_id}", response_model=RunDetail)
async def get_run(run: RunDep, service: ServiceDep) -> RunDetail:
    """A run: status, steps with their routing decision records, tokens, cost, artifacts."""
    # What clients poll: answered in place where the store's reads are local (its checkpoints
    # are on the same backend). A worker thread cost 2.2 ms of CPU and ~8 context switches a
    # request, against 1.5 ms and one in place (benchmarks/console_pages.py, 2-core Xeon).
    return await service.store.aread(_detail, run, service)


def _detail(run: RunRow, service: RunService) -> RunDetail:
    state = service.crew.state(run.id)
    outcomes = state.get("outcomes", {})
    steps = [cast(StepDetail, {**s, "decision": service.store.decision(run.id, s["key"]),
                               "outcome": outcomes.get(s["key"])})
             for s in state.get("steps", [])]
    report = state.get("report")
    summary = RunSummary.of(run)
    if summary.cost_usd is None and steps:
        summary.cost_usd = totals(state["steps"])["cost_usd"]
    waiting = run.status == RunStatus.WAITING
    return RunDetail(**summary.model_dump(), steps=steps, report=report,
                     pending=run.summary.get("pending") if waiting else None,
                     error=run.summary.get("error"),
                     artifacts=list(report["artifacts"]) if report else [])


@router.post("/{run_id}/resume", status_code=202, response_model=RunAccepted,
             responses={409: {"model": ErrorBody}})
def resume_run(run: RunDep, body: Answer, caller: Operator, service: ServiceDep
               ) -> RunAccepted:
    """Answer a waiting run's question (approval or budget); it continues in the background."""
    service.answer(run.id, caller.tenant, body.model_dump())
    return RunAccepted(id=run.id, status=RunStatus.RUNNING, events=f"/v1/runs/{run.id}/events")


@router.post("/{run_id}/feedback", response_model=FeedbackRecorded,
             responses={422: {"model": ErrorBody}})
def give_feedback(run: RunDep, body: Feedback, caller: Operator, service: ServiceDep
                  ) -> FeedbackRecorded:
    """Say whether the run's result was right: the models of its steps learn from it."""
    service.crew.feedback(run.id, good=body.good, comment=body.comment, tenant=caller.tenant)
    return FeedbackRecorded(id=run.id, good=body.good)


@router.post("/{run_id}/cancel", response_model=RunSummary,
             responses={409: {"model": ErrorBody}})
def cancel_run(run: RunDep, caller: Operator, service: ServiceDep) -> RunSummary:
    """Cancel a queued, running or waiting run (a step in flight finishes; none starts)."""
    return RunSummary.of(service.cancel(run.id, caller.tenant))


@router.get("/{run_id}/artifacts/{path:path}", response_class=FileResponse,
            responses={200: {"content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}}})
def get_artifact(run: RunDep, path: str) -> FileResponse:
    """One file the run wrote (code blocks under the path the agent named, plan.md, qa.md)."""
    missing = NotFound(f"run {run.id} has no artifact at that path; its report lists them")
    if not path.isprintable() or len(path) > MAX_ARTIFACT_PATH:  # NUL, control characters
        raise missing
    folder = FilePath(run.folder).resolve()
    target = (folder / path).resolve()
    if not target.is_relative_to(folder) or not target.is_file():
        raise missing
    return FileResponse(target)
