"""A step whose agent has tools: the model asks, the tools answer, until it replies in words.

Each round is routed afresh: a tool's result is a prompt part like any other, scanned by the
router, so a result carrying a secret moves the step's later calls to models cleared for it, and
the run's taint rises with it. Bounded: at most the agent's ``max_tool_calls`` calls per step,
each within its server's timeout; a tool that fails or hangs gives the model an error to read,
never a stuck run. Every round is a ``tools_called`` event with the next call's decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage, ToolCall, ToolMessage

from hybridcrew.errors import StepBlocked
from hybridcrew.graphs.events import EventSink
from hybridcrew.graphs.lifecycle import EventKind, ToolCallData
from hybridcrew.graphs.ports import Tool, ToolBox, ToolResult
from hybridcrew.routing.chat import ChatOptions, achat
from hybridcrew.routing.decision import Decision
from hybridcrew.routing.invoke import CallResult, ModelPool
from hybridcrew.routing.router import PromptPart

TOOL_RESULT = "tool_result"
"""The kind of prompt part a tool's output is (what the router scans)."""


@dataclass(frozen=True)
class Rounds:
    """What the tool rounds left: the last decision, the conversation, and every model call."""

    decision: Decision
    messages: list[BaseMessage]
    parts: tuple[PromptPart, ...]
    calls: list[CallResult]
    """Every model call, the last one the model's reply in words."""


@dataclass
class ToolLoop:
    """The rounds of one step: call the model with the tools, call what it asks, route again."""

    pool: ModelPool
    events: EventSink
    toolbox: ToolBox
    tools: Sequence[Tool]
    max_calls: int
    run_id: str
    node: str
    key: str
    reroute: Callable[[tuple[PromptPart, ...]], Decision]
    """The step's routing for its prompt parts so far (the state's budget and labels apply)."""

    async def run(self, decision: Decision, messages: list[BaseMessage],
                  parts: tuple[PromptPart, ...]) -> Rounds:
        """Rounds until the model answers without asking for a tool."""
        offered = ChatOptions(tools=tuple(t.definition() for t in self.tools))
        made, round_no, calls = 0, 0, []
        while True:
            may_call = made < self.max_calls
            result = await achat(self.pool, decision, messages,
                                 offered if may_call else ChatOptions())
            calls.append(result)
            asked = result.message.tool_calls if may_call else []
            if not asked:
                return Rounds(decision, messages, parts, calls)
            messages = [*messages, result.message]
            done: list[ToolCallData] = []
            for call in asked:
                answer, record = await self._answer(call, made)
                made += record is not None
                if record is not None:
                    done.append(record)
                messages.append(ToolMessage(answer.text, tool_call_id=call["id"] or call["name"],
                                            status="success" if answer.ok else "error"))
                parts += (PromptPart(answer.text, kind=TOOL_RESULT),)
            round_no += 1
            decision = self.reroute(parts)
            self.events.emit(
                self.run_id, EventKind.TOOLS_CALLED, self.node, key=self.key, round=round_no,
                calls=done, model=decision.model, location=decision.location,
                reasons=list(decision.reasons), sensitivity=decision.sensitivity.label,
                decision=(f"{self.key}#{round_no}", decision.to_dict()))
            if decision.blocked:
                raise StepBlocked(decision)

    async def _answer(self, call: ToolCall, made: int) -> tuple[ToolResult, ToolCallData | None]:
        """The result the model reads for one call it asked for (and the call's record)."""
        if made >= self.max_calls:
            return ToolResult(f"not called: a step may make {self.max_calls} tool calls; answer "
                              "with what you have", ok=False), None
        tool = next((t for t in self.tools if t.qualified == call["name"]), None)
        if tool is None:
            known = ", ".join(t.qualified for t in self.tools)
            return ToolResult(f"no such tool; the tools are: {known}", ok=False), None
        started = time.perf_counter()
        arguments: dict[str, Any] = dict(call["args"])
        answer = await self.toolbox.call(tool, arguments)
        return answer, ToolCallData(server=tool.server, tool=tool.name, ok=answer.ok,
                                    seconds=round(time.perf_counter() - started, 3))
