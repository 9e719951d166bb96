"""Structured outputs: the plan the CTO writes and the verdict the reviewer returns.

Each workflow gets its own schema with **one required property per part**: under constrained
decoding (llama.cpp grammars, Ollama ``format``, Claude tool use) a model can then produce
exactly one entry for every part — no missing, unknown or repeated parts — and bounded lists
and strings keep a small model from rambling until its token limit cuts the JSON short.
Parsed replies are converted to the generic :class:`Plan` / :class:`Verdict` kept in state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model

Line = Annotated[str, Field(min_length=1, max_length=120)]
"""One criterion or finding: bounded, so constrained decoding always closes the string."""


class PartPlan(BaseModel):
    """One part of the plan, owned by one author node."""

    goal: str = Field(min_length=1, max_length=200)
    acceptance_criteria: list[Line] = Field(min_length=1, max_length=5)


class PartVerdict(BaseModel):
    """The reviewer's verdict on one part."""

    approved: bool
    findings: list[Line] = Field(default_factory=list, max_length=5)


class Plan(BaseModel):
    """A plan as stored in state: a summary and the plan for each part."""

    summary: str
    parts: dict[str, PartPlan]

    def part(self, name: str) -> PartPlan | None:
        """The plan for one part, if the planner wrote one."""
        return self.parts.get(name)

    def to_markdown(self) -> str:
        """plan.md."""
        lines = ["# Plan", "", self.summary, ""]
        for name, part in self.parts.items():
            lines += [f"## {name}", "", part.goal, "", "Acceptance criteria:"]
            lines += [f"- {c}" for c in part.acceptance_criteria] + [""]
        return "\n".join(lines)


class Verdict(BaseModel):
    """A verdict as stored in state: one entry per reviewed part."""

    parts: dict[str, PartVerdict]

    def for_part(self, name: str) -> PartVerdict | None:
        """The verdict on one part, if the reviewer gave one."""
        return self.parts.get(name)


def _per_part(title: str, item: type[BaseModel], parts: Sequence[str]) -> type[BaseModel]:
    """An object with one required property per part (aliases keep names like ``api-v2``)."""
    fields: dict[str, Any] = {f"p{i}": (item, Field(alias=name)) for i, name in enumerate(parts)}
    return create_model(title, __config__=ConfigDict(populate_by_name=True), **fields)


def plan_schema(parts: Sequence[str]) -> type[BaseModel]:
    """What the planner must return for these parts."""
    return create_model("Plan", summary=(str, Field(min_length=1, max_length=300)),
                        parts=(_per_part("PlanParts", PartPlan, parts), ...))


def verdict_schema(parts: Sequence[str]) -> type[BaseModel]:
    """What a reviewer must return for these parts."""
    return create_model("Verdict", parts=(_per_part("VerdictParts", PartVerdict, parts), ...))


def to_state(parsed: BaseModel) -> dict[str, Any]:
    """A parsed plan or verdict as plain JSON keyed by part name."""
    return parsed.model_dump(by_alias=True)
