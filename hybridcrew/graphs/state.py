"""The crew's LangGraph state: what every node reads and writes.

Merge rules let parallel branches write at once. Everything is plain JSON so checkpoints stay
portable.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict


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


class CrewState(TypedDict, total=False):
    """State of one run."""

    run_id: str
    task: str
    labels: list[str]
    plan: dict[str, Any] | None
    results: Annotated[dict[str, str], merge]
    verdicts: Annotated[dict[str, dict[str, Any]], merge]
    rounds: Annotated[dict[str, int], merge]
    steps: Annotated[list[StepRecord], operator.add]
    taint: Annotated[int, max]
    local_only: bool
    approval: dict[str, Any] | None
    report: dict[str, Any] | None
