"""What each node sends: the agent's role, the task, the plan, its inputs, and its instruction.

Each piece is also a :class:`PromptPart`, so the router's privacy scan covers everything that
would leave the machine.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from hybridcrew.agents.instructions import REPO_INSTRUCTIONS, STEP_INSTRUCTIONS
from hybridcrew.agents.spec import AgentSpec
from hybridcrew.graphs.schemas import Plan, Verdict
from hybridcrew.graphs.state import CrewState, RecalledItem
from hybridcrew.graphs.workflow import PLACEHOLDER, NodeSpec, WorkflowSpec
from hybridcrew.routing.router import PromptPart


def build_prompt(spec: WorkflowSpec, name: str, agent: AgentSpec, state: CrewState,
                 repository: list[tuple[str, str, str]] | None = None
                 ) -> tuple[list[BaseMessage], tuple[PromptPart, ...]]:
    """Messages for node ``name`` and the parts the privacy scan must see.

    ``repository``: on a repository run, what the step sees of it (sections before the
    instruction, which then asks for edits).
    """
    node = spec.nodes[name]
    plan = Plan.model_validate(state["plan"]) if state.get("plan") else None
    sections: list[tuple[str, str, str]] = [("task", "Task", state["task"])]
    if plan is not None and node.kind != "plan":
        sections.append(("plan", "Plan", plan.summary))
    sections += _inputs(spec, name, node, state, plan)
    sections += repository or []
    sections.append(("instruction", "Instruction",
                     _instruction(spec, name, node, state, repository is not None)))
    body = "\n\n".join(f"# {title}\n{text}" for _, title, text in sections)
    parts = tuple(PromptPart(text, kind=kind) for kind, _, text in sections)
    return [SystemMessage(agent.role), HumanMessage(body)], parts


def with_memory(messages: list[BaseMessage], items: list[RecalledItem]) -> list[BaseMessage]:
    """The messages with the memory items the router let through, as one more section."""
    if not items:
        return messages
    notes = "\n".join(f"- {i['title']}: {i['text']}" for i in items)
    section = f"# Relevant memory (from earlier runs)\n{notes}\n\n"
    body = str(messages[-1].content)
    at = body.rfind("# Instruction\n")  # the instruction stays last
    body = body[:at] + section + body[at:] if at >= 0 else f"{body}\n\n{section}"
    return [*messages[:-1], HumanMessage(body.rstrip())]


def _inputs(spec: WorkflowSpec, name: str, node: NodeSpec, state: CrewState,
            plan: Plan | None) -> list[tuple[str, str, str]]:
    results = state.get("results", {})
    generation = state.get("generation", 0)
    out: list[tuple[str, str, str]] = []
    if node.kind == "implement" and plan is not None and (part := plan.part(name)) is not None:
        criteria = "\n".join(f"- {c}" for c in part.acceptance_criteria)
        out.append(("context", f"Your part: {name}", f"{part.goal}\n\nAcceptance criteria:\n"
                    f"{criteria}"))
    if node.kind == "implement" and generation > 0 and (found := findings_for(spec, state, name)):
        out.append(("context", f"Rework round {generation}: review findings to address",
                    "\n".join(f"- {f}" for f in found)))
    for dep in node.depends_on:
        if spec.nodes[dep].kind == "plan" or dep not in results:
            continue
        title = f"{dep} result"
        if node.kind == "review" and plan is not None and (part := plan.part(dep)):
            criteria = "\n".join(f"- {c}" for c in part.acceptance_criteria)
            title = f"Part {dep} (acceptance criteria:\n{criteria})"
        out.append(("context", title, results[dep]))
    if node.kind == "review":
        out.append(("context", "Round", f"Review round {generation + 1}"))
    return out


def _instruction(spec: WorkflowSpec, name: str, node: NodeSpec, state: CrewState,
                 on_repository: bool) -> str:
    if node.prompt is None:
        parts = ", ".join(spec.parts())
        texts = REPO_INSTRUCTIONS if on_repository else STEP_INSTRUCTIONS
        return texts[node.kind].format(parts=parts)
    return render(node.prompt, spec, state)


def render(template: str, spec: WorkflowSpec, state: CrewState) -> str:
    """Fill ``{task}``, ``{plan}``, ``{node.result}`` and ``{node.findings}``.

    ``{{`` and ``}}`` are literal braces.
    """
    results = state.get("results", {})
    plan = state.get("plan") or {}

    def value(match: Any) -> str:
        ref, field = match.group(1), match.group(2)
        if ref == "task":
            return state["task"]
        if ref == "plan":
            return str(plan.get("summary", ""))
        if field == "findings":
            return "\n".join(f"- {f}" for f in findings_for(spec, state, ref))
        return results.get(ref, "")

    return PLACEHOLDER.sub(value, template).replace("{{", "{").replace("}}", "}")


def findings_for(spec: WorkflowSpec, state: CrewState, part: str) -> list[str]:
    """What every reviewer said about ``part`` in its latest verdict."""
    found: list[str] = []
    for verdict in state.get("verdicts", {}).values():
        judged = Verdict.model_validate(verdict).for_part(part)
        if judged is not None and not judged.approved:
            found += judged.findings or ["the reviewer did not approve this part"]
    return found
