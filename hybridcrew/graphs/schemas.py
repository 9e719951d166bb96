"""Structured outputs: the plan the CTO writes and the verdict the reviewer returns.

Both are built per workflow so that part names are an enum in the JSON schema: with constrained
decoding (llama.cpp grammars, Ollama ``format``, Claude tool use) even a tiny model can only name
parts that exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model


class PartPlan(BaseModel):
    """One part of the plan, owned by one author node."""

    part: str
    goal: str = Field(min_length=1)
    acceptance_criteria: list[str] = Field(min_length=1, max_length=8)


class Plan(BaseModel):
    """What the planner returns."""

    model_config = ConfigDict(title="Plan")

    summary: str = Field(min_length=1)
    parts: list[PartPlan] = Field(min_length=1)

    def part(self, name: str) -> PartPlan | None:
        """The plan for one part, if the planner wrote one."""
        return next((p for p in self.parts if p.part == name), None)

    def to_markdown(self) -> str:
        """plan.md."""
        lines = ["# Plan", "", self.summary, ""]
        for part in self.parts:
            lines += [f"## {part.part}", "", part.goal, "", "Acceptance criteria:"]
            lines += [f"- {c}" for c in part.acceptance_criteria] + [""]
        return "\n".join(lines)


class PartVerdict(BaseModel):
    """The reviewer's verdict on one part."""

    part: str
    approved: bool
    findings: list[str] = Field(default_factory=list, max_length=10)


class Verdict(BaseModel):
    """What the reviewer returns: one verdict per part."""

    model_config = ConfigDict(title="Verdict")

    parts: list[PartVerdict] = Field(min_length=1)

    def for_part(self, name: str) -> PartVerdict | None:
        """The verdict on one part, if the reviewer gave one."""
        return next((v for v in self.parts if v.part == name), None)


def plan_schema(parts: Sequence[str]) -> type[Plan]:
    """A :class:`Plan` whose part names are restricted to ``parts``."""
    names = Literal[tuple(parts)]  # type: ignore[valid-type]
    part = create_model("PartPlan", __base__=PartPlan, part=(names, ...))
    return create_model("Plan", __base__=Plan, parts=(list[part], Field(min_length=len(parts))))


def verdict_schema(parts: Sequence[str]) -> type[Verdict]:
    """A :class:`Verdict` whose part names are restricted to ``parts``."""
    names = Literal[tuple(parts)]  # type: ignore[valid-type]
    verdict = create_model("PartVerdict", __base__=PartVerdict, part=(names, ...))
    return create_model("Verdict", __base__=Verdict,
                        parts=(list[verdict], Field(min_length=len(parts))))
