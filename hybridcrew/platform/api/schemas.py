"""Request and response bodies of the HTTP API (the OpenAPI document is generated from these)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from hybridcrew.agents.spec import Assignment
from hybridcrew.graphs.library import BUILTIN
from hybridcrew.graphs.lifecycle import RunStatus
from hybridcrew.graphs.ports import MemoryKind
from hybridcrew.graphs.state import Report, StepOutcome, StepRecord
from hybridcrew.platform.store import RunRow
from hybridcrew.routing.decision import DecisionRecord

Privacy = Literal["public", "internal", "confidential", "secret"]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100)]
MAX_ASSIGNMENTS = 50
MAX_EVENT_ID = 2**53 - 1
"""Event ids are sequence numbers; larger ones are refused (a JSON-safe integer)."""


class Body(BaseModel):
    """Request bodies reject unknown fields: a typo is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class RunCreate(Body):
    """A run to start."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "task": "Add rate limiting to the orders API", "workflow": "delivery",
        "labels": [], "approval": False, "privacy": "internal", "budget_usd": 0.5,
        "assignments": {"backend": {"model": "auto", "candidates": ["gemma-3-270m"]}},
    }]})

    task: str = Field(min_length=1, max_length=20_000, description="what the crew should do")
    # A name, never a path: clients must not make the server read files of their choosing.
    workflow: str = Field(BUILTIN, pattern=r"^[a-z][a-z0-9_-]{0,63}$",
                          description="'delivery' (built in) or a shipped workflow's name")
    labels: list[Name] = Field(default_factory=list, max_length=20,
                               description="privacy labels from routing.privacy.labels")
    # Strict: "yes" or 1 for a gate that holds a run for a human is a mistake, not a yes.
    approval: StrictBool = Field(False, description="wait for a human before the final report")
    privacy: Privacy | None = Field(None, description="least sensitivity of the whole run")
    repo: str | None = Field(None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
                             description="a repository registered under repos: (by name; the "
                                         "run changes it on its own branch)")
    budget_usd: float | None = Field(None, ge=0, le=1e6,
                                     description="this run's budget (replaces budgets.run_usd)")
    assignments: dict[Name, Assignment] = Field(
        default_factory=dict, max_length=MAX_ASSIGNMENTS,
        description="model assignments for this run only, by agent (agents of the workflow)")


class RunSummary(BaseModel):
    """A run in a listing."""

    id: str
    task: str
    workflow: str
    status: RunStatus = Field(examples=["running"])
    tenant: str
    created_at: float
    updated_at: float
    cost_usd: float | None = Field(None, description="total spend, once finished")

    @classmethod
    def of(cls, row: RunRow) -> RunSummary:
        """From a stored run."""
        return cls(id=row.id, task=row.task, workflow=row.workflow, status=row.status,
                   tenant=row.tenant, created_at=row.created_at, updated_at=row.updated_at,
                   cost_usd=row.summary.get("totals", {}).get("cost_usd"))


class RunAccepted(BaseModel):
    """A run was accepted and will execute."""

    id: str
    status: RunStatus = Field(examples=["queued"])
    events: str = Field(description="where to stream its events", examples=[
        "/v1/runs/20261123-101500-a1b2c3d4e5f6/events"])


class RunPage(BaseModel):
    """One page of runs, newest first."""

    items: list[RunSummary]
    offset: int
    limit: int
    next_offset: int | None = Field(None, description="pass as ?offset= for the next page")


class StepDetail(StepRecord):
    """An executed step with the routing decision it ran on and how its work was judged."""

    decision: DecisionRecord | None
    outcome: StepOutcome | None


class RunDetail(RunSummary):
    """A run with its steps (each with its routing decision record), report and artifacts."""

    steps: list[StepDetail] = Field(default_factory=list,
                                    description="each executed step, accounted, in order")
    report: Report | None = Field(None, description="once finished")
    pending: dict[str, Any] | None = Field(None, description="the question a waiting run asks")
    error: str | None = None
    artifacts: list[str] = Field(default_factory=list)


class Answer(Body):
    """The answer to the question a waiting run asks."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"choice": "approve", "comment": "looks good"}]})

    choice: Literal["approve", "reject", "local"] = Field(
        description="approve; reject (approval gate); local = continue on local models (budget)")
    comment: str = Field("", max_length=2_000)


class Feedback(Body):
    """A human's judgement of a run's result: the router learns from it."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"good": False, "comment": "the limiter ignores the API key"}]})

    good: StrictBool = Field(description="was the result right?")
    comment: str = Field("", max_length=2_000)


class FeedbackRecorded(BaseModel):
    """The feedback was recorded."""

    id: str
    good: bool


class AgentView(BaseModel):
    """An agent and the models that serve it."""

    name: str
    role: str
    model: str
    candidates: list[str]
    fallbacks: list[str]
    privacy: str
    overridden: bool = Field(description="its assignment was changed at runtime")


class ExplainRequest(Body):
    """A step to route (nothing is called)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"agent": "backend", "prompt": "Add rate limiting to the orders API"}]})

    agent: str = Field(max_length=200)
    prompt: str = Field(max_length=500_000)
    step: str = Field("default", max_length=50, description="plan, implement, review, ...")
    labels: list[Name] = Field(default_factory=list, max_length=20)
    signals: list[str] = Field(default_factory=list, max_length=20, description=(
        "what-if overrides of live signals, as `route explain --signal`: anthropic=down, "
        "gpu_free_gb=2, budget_left_usd=0.5, queue_depth.qwen=4"))


class MemoryCreate(Body):
    """A note or document to remember."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "text": "Orders API: rate limits are per API key, never per IP.", "kind": "note",
        "sensitivity": "internal", "title": "rate limit policy"}]})

    text: str = Field(min_length=1, max_length=100_000)
    kind: Literal["note", "document"] = "note"
    sensitivity: Privacy = Field("internal", description="models below it never see the text")
    title: str = Field("", max_length=200)


class MemoryCreated(BaseModel):
    """The stored item's id."""

    id: str


class MemorySearch(Body):
    """What to look for."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"query": "how are orders rate limited", "limit": 5}]})

    query: str = Field(min_length=1, max_length=10_000)
    limit: int = Field(5, ge=1, le=50)
    kinds: list[MemoryKind] = Field(default_factory=list, max_length=5)
    max_sensitivity: Privacy | None = None


class MemoryHit(BaseModel):
    """One search result."""

    id: str
    title: str
    text: str
    kind: MemoryKind
    sensitivity: str
    run_id: str | None
    agent: str | None
    score: float = Field(description="cosine similarity to the query")


class ErrorBody(BaseModel):
    """Every error answer."""

    error: str = Field(description="what went wrong", examples=["not_found"])
    detail: Any = Field(description="a message, or the invalid fields")


REQUEST_FIELDS = frozenset(f for body in Body.__subclasses__() for f in body.model_fields)
"""The fields of every request body: names the server defined, which errors may show."""
