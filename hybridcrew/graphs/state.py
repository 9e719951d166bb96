"""The crew's LangGraph state: what every node reads and writes.

Merge rules let parallel branches write at once. Everything is plain JSON so checkpoints stay
portable.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, Any, NotRequired, cast, get_args, get_origin, get_type_hints

# pydantic reads these in API response models: it needs typing_extensions' TypedDict on 3.11.
from typing_extensions import TypedDict

from hybridcrew.graphs.workspace import WorkspaceReport


def highest(left: int | None, right: int | None) -> int:
    """A run that saw sensitive data stays tainted: keep the highest level."""
    return max(left or 0, right or 0)


def merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Parallel branches each add their own keys."""
    return {**(left or {}), **(right or {})}


class Served(TypedDict):
    """Work a model served, accounted: agent, model, where and why, tokens, cost, time.

    A crew step and a proxied call alike, so metrics count both the same way.
    """

    agent: str
    model: str
    provider: str
    location: str
    reasons: list[str]
    sensitivity: str
    input_tokens: int
    output_tokens: int
    cost_usd: float
    cloud_cost_usd: float
    seconds: float
    errors: NotRequired[list[dict[str, str]]]
    """Provider errors met on the way (each fell back or was retried): model, kind, provider.

    Absent from steps recorded by versions before provider errors were counted."""


class StepRecord(Served):
    """One executed step, accounted: which model ran it and why, tokens, cost, time."""

    key: str
    node: str
    round: int
    calls: int
    notes: list[str]


class StepOutcome(TypedDict):
    """How a step's work was judged: the review of its round, grounded in checks or not."""

    reviewer: str
    approved: bool
    findings: list[str]
    grounded: bool
    """The repository's checks ran before the verdict (their counts are in ``checks``)."""
    checks: dict[str, Any] | None


class RecalledItem(TypedDict):
    """A memory item recalled for a run, offered to each step up to its model's clearance."""

    id: str
    title: str
    text: str
    kind: str
    sensitivity: int
    score: float


class Totals(TypedDict):
    """What a run's steps add up to, and what the same tokens would have cost all on Claude."""

    steps: int
    local_steps: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    all_cloud_cost_usd: float
    seconds: float


class PartVerdict(TypedDict):
    """A part of the plan: approved by every reviewer (and the human, if asked), or why not."""

    approved: bool
    findings: list[str]


class Report(TypedDict):
    """A finished run: per-part verdicts, review rounds, totals and the artifacts written."""

    workflow: str
    approved: bool
    parts: dict[str, PartVerdict]
    review_rounds: int
    totals: Totals
    artifacts: list[str]
    repo: NotRequired[WorkspaceReport]
    """On a repository run: the run's branch, its head commit and the diff stat."""


class CrewState(TypedDict, total=False):
    """State of one run."""

    run_id: str
    folder: str
    task: str
    labels: list[str]
    plan: dict[str, Any] | None
    results: Annotated[dict[str, str], merge]
    verdicts: Annotated[dict[str, dict[str, Any]], merge]
    outcomes: Annotated[dict[str, StepOutcome], merge]
    """By step key: how the step's work was judged."""
    steps: Annotated[list[StepRecord], operator.add]
    taint: Annotated[int, highest]
    generation: int
    stamps: Annotated[dict[str, int], merge]
    review_done: bool
    local_only: bool
    gate: bool
    tenant: str
    memory: list[RecalledItem]
    budget_usd: float | None
    approval: dict[str, Any] | None
    report: Report | None


_REDUCERS: dict[str, Callable[[Any, Any], Any]] = {
    name: get_args(hint)[1] for name, hint in get_type_hints(CrewState, include_extras=True).items()
    if get_origin(hint) is Annotated}


def applied(state: CrewState, update: dict[str, Any]) -> CrewState:
    """The state after a node's ``update``, merged by the channels' rules as LangGraph merges it.

    For a node that needs the state its own writes make (the last step writing the report).
    """
    after: dict[str, Any] = dict(state)
    for key, value in update.items():
        reducer = _REDUCERS.get(key)
        after[key] = reducer(after[key], value) if reducer and key in after else value
    return cast(CrewState, after)
