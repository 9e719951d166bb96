"""Agent specifications: who an agent is and which models may serve it."""

from __future__ import annotations

from pydantic import Field

from hybridcrew.agents.tools import ToolGrant
from hybridcrew.documents import StrictModel
from hybridcrew.sensitivity import Sensitivity, SensitivityField

AUTO = "auto"


class AgentSpec(StrictModel):
    """One entry of ``agents:`` in hybridcrew.yaml."""

    role: str = Field(description="the role prompt: who this agent is and what it delivers")
    model: str = Field(AUTO, description="a model name (pinned) or 'auto'")
    candidates: list[str] = Field(default_factory=list, description="with model: auto")
    fallbacks: list[str] = Field(default_factory=list, description="tried when the choice fails")
    privacy: SensitivityField = Field(
        Sensitivity.INTERNAL, description="the least sensitivity of anything this agent handles"
    )
    budget_usd: float | None = Field(None, ge=0, description="spend cap per run for this agent")
    max_output_tokens: int = Field(1024, gt=0, description="output tokens per step")
    labels: list[str] = Field(default_factory=list, description="privacy labels, see routing")
    tools: list[ToolGrant] = Field(default_factory=list,
                                   description="MCP tools this agent may call in its steps")
    max_tool_calls: int = Field(8, ge=1, le=100, description="tool calls one step may make")

    @property
    def is_auto(self) -> bool:
        """True when the router chooses among candidates."""
        return self.model == AUTO

    def model_names(self) -> list[str]:
        """Every model this agent may use, in preference order, without repeats."""
        first = self.candidates if self.is_auto else [self.model]
        return list(dict.fromkeys([*first, *self.fallbacks]))


MAX_MODELS = 50
"""Candidates or fallbacks one agent may list."""


class Assignment(StrictModel):
    """Which models serve an agent: what ``PUT /v1/agents/{name}`` and run overrides change."""

    model: str = Field(max_length=200, description="a model name (pinned) or 'auto'",
                       json_schema_extra={"examples": ["auto"]})
    candidates: list[str] = Field(default_factory=list, max_length=MAX_MODELS,
                                  description="with model: auto")
    fallbacks: list[str] = Field(default_factory=list, max_length=MAX_MODELS,
                                 description="tried when the choice fails")
