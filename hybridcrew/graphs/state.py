"""The crew's LangGraph state: what every node reads and writes.

Merge rules let parallel branches write at once. Everything is plain JSON so checkpoints stay
portable.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


def highest(left: int | None, right: int | None) -> int:
    """A run that saw sensitive data stays tainted: keep the highest level."""
    return max(left or 0, right or 0)


def merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Parallel branches each add their own keys."""
    return {**(left or {}), **(right or {})}


class StepRecord(TypedDict):
    """One executed step, accounted: which model ran it and why, tokens, cost, time."""

    key: str
    node: str
    agent: str
    round: int
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
    calls: int
    notes: list[str]
    errors: list[dict[str, str]]
    """Provider errors met on the way (each fell back or was retried): model, kind, provider."""


class CrewState(TypedDict, total=False):
    """State of one run."""

    run_id: str
    folder: str
    task: str
    labels: list[str]
    plan: dict[str, Any] | None
    results: Annotated[dict[str, str], merge]
    verdicts: Annotated[dict[str, dict[str, Any]], merge]
    steps: Annotated[list[StepRecord], operator.add]
    taint: Annotated[int, highest]
    generation: int
    stamps: Annotated[dict[str, int], merge]
    review_done: bool
    local_only: bool
    gate: bool
    tenant: str
    memory: list[dict[str, Any]]
    budget_usd: float | None
    approval: dict[str, Any] | None
    report: dict[str, Any] | None
