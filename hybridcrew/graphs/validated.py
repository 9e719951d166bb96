"""A step's model call with its output checked: retry once with what was wrong, then escalate.

Valid means non-empty text, or a reply that parses into the step's schema and that a last check
(applying an author's edits) accepts. A retry tells the model, word for word, what was wrong; an
escalation goes to the cleared fallback with the best prior for the agent's role.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage
from pydantic import BaseModel

from hybridcrew.errors import HybridCrewError
from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.decision import Decision
from hybridcrew.routing.invoke import CallResult, ModelPool, ainvoke_with_fallback

UNAPPLIED = "edits not applied, the part is unchanged: "
Accept = Callable[[BaseModel], str | None]
"""A last check of a parsed reply: None when it is accepted, else what is wrong with it."""


class InvalidOutput(HybridCrewError):
    """A step's output stayed invalid after a retry and an escalation."""

    def __init__(self, node: str, model: str, reason: str) -> None:
        self.node, self.model, self.reason = node, model, reason
        super().__init__(f"step '{node}': {model} gave no valid output ({reason})")


@dataclass(frozen=True)
class Validated:
    """Calls one step's model until its output is valid (or says why it never was)."""

    pool: ModelPool
    catalog: dict[str, CatalogEntry]
    node: str
    role: str
    """The agent, whose prior ranks the models an escalation may go to."""

    async def call(self, decision: Decision, messages: list[BaseMessage], queued: Any,
                   schema: type[BaseModel] | None, accept: Accept | None
                   ) -> tuple[list[CallResult], list[str], str | None]:
        """Call, validate, retry once with what was wrong, then escalate to a stronger model.

        Returns the calls, notes on them, and why well-formed edits stayed unapplied after
        every attempt (None when they applied); :class:`InvalidOutput` when nothing was valid.
        """

        def problem(result: CallResult) -> str | None:
            if schema is None:
                return None if result.text.strip() else "the reply was empty"
            if result.invalid is not None or accept is None or result.parsed is None:
                return result.invalid
            return accept(result.parsed)

        pool = self.pool
        calls = [await ainvoke_with_fallback(pool, decision, messages, schema, queued)]
        notes = [f"fell back from {e.model}: {e.kind}" for e in calls[0].attempts]
        reason = problem(calls[-1])
        if reason is None:
            return calls, notes, None
        notes.append(f"retried {calls[-1].model}: {reason}")
        retry = [*messages, HumanMessage(
            f"Your previous reply was not valid: {reason}. Reply again"
            + (" with only JSON that matches the schema." if schema else "."))]
        same = dataclasses.replace(decision, model=calls[-1].model, fallbacks=())
        calls.append(await ainvoke_with_fallback(pool, same, retry, schema, queued))
        reason = problem(calls[-1])
        stronger = self._stronger(decision, calls[-1].model)
        if reason is not None and stronger is not None:
            notes.append(f"escalated to {stronger}: {reason}")
            escalated = dataclasses.replace(decision, model=stronger, fallbacks=())
            calls.append(await ainvoke_with_fallback(
                pool, escalated, retry if accept else messages, schema, queued))
            reason = problem(calls[-1])
        if reason is not None and accept is not None and calls[-1].invalid is None:
            # Well-formed edits that still do not apply: the part stays as it was, the
            # reviewer sees that, and the review loop gives its author another round.
            notes.append(f"{UNAPPLIED}{reason}")
            return calls, notes, notes[-1]
        if reason is not None:
            raise InvalidOutput(self.node, calls[-1].model, reason)
        return calls, notes, None

    def _stronger(self, decision: Decision, current: str) -> str | None:
        """The cleared fallback with the best prior for this role, if better than ``current``."""

        def prior(name: str) -> float:
            return self.catalog[name].spec.prior_for(self.role)

        better = [m for m in decision.fallbacks if prior(m) > prior(current)]
        return max(better, key=prior) if better else None
