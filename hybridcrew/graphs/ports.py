"""What a run needs from outside the graph: a run log and a long-term memory.

Defined here, implemented in :mod:`hybridcrew.platform` (the SQLite and Redis stores, the
Qdrant memory), so a workflow can be read and tested without them.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from hybridcrew.graphs.lifecycle import Event, EventKind, RunStatus
from hybridcrew.routing.decision import DecisionRecord
from hybridcrew.sensitivity import Sensitivity

DEFAULT_TENANT = "default"

RecordedDecision = tuple[str, DecisionRecord]
"""A step key and its routing decision record."""


OUTCOME_CHARS = 16_000
"""What a store keeps of a step's text for learning: all the learned router reads of it."""
MAX_OUTCOMES = 20_000
"""Steps a store keeps for learning; the oldest go first."""


@dataclass(frozen=True)
class StepText:
    """A step as the learned router sees it: who ran it for whom, and what it was asked."""

    model: str
    agent: str
    step: str
    text: str


@dataclass(frozen=True)
class JudgedStep:
    """A step with its judgement: one outcome the router learns from, ``weight`` times."""

    step: StepText
    success: bool
    weight: int


def daily_scope(tenant: str) -> str:
    """The budget scope of ``tenant``'s spend today (UTC)."""
    return f"daily:{tenant}:{time.strftime('%Y-%m-%d', time.gmtime())}"


class RunLog(Protocol):
    """Where steps report: events, routing decisions, spend and QA verdicts."""

    def transaction(self) -> AbstractContextManager[None]:
        """Writes made inside commit together where the backend can (never await inside)."""

    def append_event(self, run_id: str, kind: EventKind, node: str | None,
                     data: dict[str, Any], decision: RecordedDecision | None = None) -> Event:
        """Append an event (and the step's decision record) with the run's next ``seq``."""

    def end_run(self, run_id: str, status: RunStatus, summary: dict[str, Any],
                kind: EventKind, data: dict[str, Any]) -> Event | None:
        """Final status and terminal event together; None when the run had ended already."""

    def decision(self, run_id: str, step_key: str) -> DecisionRecord | None:
        """The decision recorded for a step, replayed when the run resumes after a crash."""

    def spend(self, scope: str, amount_usd: float, cap_usd: float | None = None,
              charge_id: str | None = None) -> bool:
        """Add to a budget scope atomically, once per ``charge_id``."""

    def spent(self, scope: str) -> float:
        """What a budget scope has spent so far."""

    def record_verdict(self, model: str, agent: str, approved: bool, weight: int = 1) -> None:
        """Count a QA verdict on work ``model`` did for ``agent`` (as ``weight`` verdicts)."""

    def record_step_text(self, run_id: str, key: str, outcome: StepText) -> None:
        """Keep what a step was asked, to learn from once the step is judged."""

    def record_outcome(self, run_id: str, key: str, success: bool, weight: int = 1) -> None:
        """A step was judged (once: a later call for the same step changes nothing)."""


MemoryKind = Literal["plan", "artifact", "finding", "note", "document"]
MEMORY_KINDS: tuple[MemoryKind, ...] = ("plan", "artifact", "finding", "note", "document")


@dataclass(frozen=True)
class MemoryItem:
    """One remembered text and where it came from."""

    text: str
    tenant: str
    kind: MemoryKind
    sensitivity: Sensitivity = Sensitivity.INTERNAL
    run_id: str | None = None
    agent: str | None = None
    title: str = ""
    created_at: float = 0.0
    id: str = ""


@dataclass(frozen=True)
class Hit:
    """A search result: the item and its similarity to the query (cosine, higher is closer)."""

    item: MemoryItem
    score: float


@dataclass(frozen=True)
class SearchFilter:
    """What a search may return: always one tenant; optionally capped and narrowed."""

    tenant: str
    max_sensitivity: Sensitivity | None = None
    kinds: tuple[MemoryKind, ...] = ()
    exclude_run: str | None = None


class Memory(Protocol):
    """Long-term memory as a run uses it: recall at the start, remember at the end."""

    def add(self, items: list[MemoryItem]) -> list[str]:
        """Embed and store items; returns their ids."""

    def search(self, query: str, where: SearchFilter, limit: int = 5) -> list[Hit]:
        """The items most similar to ``query`` that ``where`` admits, best first."""


@dataclass(frozen=True)
class Tool:
    """A tool an agent may call: one tool of one MCP server, as the model is shown it."""

    server: str
    name: str
    description: str
    input_schema: dict[str, Any]

    @property
    def qualified(self) -> str:
        """The name the model calls it by (unique across servers)."""
        return f"{self.server}__{self.name}"

    def definition(self) -> dict[str, Any]:
        """The tool in OpenAI's function format (every provider binds that)."""
        return {"type": "function", "function": {
            "name": self.qualified, "description": self.description,
            "parameters": self.input_schema}}


@dataclass(frozen=True)
class ToolResult:
    """What a tool call gave the model: its text, or why it failed (which the model reads)."""

    text: str
    ok: bool


class ToolBox(Protocol):
    """The tools agents may call; a call never raises and never outlives its server's timeout."""

    async def tools_for(self, agent: str) -> list[Tool]:
        """The tools granted to ``agent`` that its servers offer now."""

    async def call(self, tool: Tool, arguments: dict[str, Any]) -> ToolResult:
        """Call ``tool``; a failure, a timeout or arguments its schema refuses are a result."""
