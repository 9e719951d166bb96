"""Workflows: agents as nodes, ``depends_on`` for fan-out and fan-in, one optional review loop.

A workflow is declared in YAML (or built in Python, like the built-in delivery workflow) and
validated here; :mod:`hybridcrew.graphs.library` finds workflows by name and
:mod:`hybridcrew.graphs.compile` turns one into a LangGraph ``StateGraph``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from pydantic import Field

from hybridcrew.agents.instructions import StepKind
from hybridcrew.agents.spec import AgentSpec
from hybridcrew.documents import StrictModel, parse_document, with_lines
from hybridcrew.errors import ConfigError, ConfigProblem
from hybridcrew.routing.config import LoadedConfig, with_agents

PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_][\w-]*)(?:\.([A-Za-z_]\w*))?\}(?!\})")
FIELDS = ("result", "findings")
NODE_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


class NodeSpec(StrictModel):
    """One step: an agent, what kind of work it does, and what it waits for."""

    agent: str
    kind: StepKind = "implement"
    depends_on: list[str] = Field(default_factory=list)
    prompt: str | None = Field(
        None, description="instruction; may use {task}, {plan}, {node.result}, {node.findings}")


class ReviewSpec(StrictModel):
    """A review loop: failing parts go back to their authors, at most ``max_rounds`` reviews."""

    reviewer: str
    authors: list[str] = Field(min_length=1)
    max_rounds: int = Field(2, ge=1, le=10)


class WorkflowSpec(StrictModel):
    """A whole workflow file."""

    name: str
    description: str = ""
    agents: dict[str, AgentSpec] = Field(default_factory=dict)
    nodes: dict[str, NodeSpec] = Field(min_length=1)
    review: ReviewSpec | None = None
    approval: bool = Field(False, description="ask a human before the final report")

    def dependents(self, name: str) -> list[str]:
        """Nodes that depend on ``name``."""
        return [n for n, spec in self.nodes.items() if name in spec.depends_on]

    def sinks(self) -> list[str]:
        """Nodes nothing depends on (the reviewer's exits are decided by the loop)."""
        return [n for n in self.nodes if not self.dependents(n)]

    def parts(self) -> list[str]:
        """What the plan splits the task into: the review authors, else every implement node."""
        if self.review is not None:
            return list(self.review.authors)
        return [n for n, s in self.nodes.items() if s.kind == "implement"]

    def ancestors(self, name: str) -> set[str]:
        """Every node ``name`` waits for, directly or not."""
        seen: set[str] = set()
        stack = list(self.nodes[name].depends_on)
        while stack:
            current = stack.pop()
            if current not in seen and current in self.nodes:
                seen.add(current)
                stack.extend(self.nodes[current].depends_on)
        return seen


def parse_workflow(text: str, source: str, config: LoadedConfig
                   ) -> tuple[WorkflowSpec, LoadedConfig]:
    """Validate workflow YAML text against the schema and against the configuration."""
    spec, lines = parse_document(text, source, WorkflowSpec,
                                 fix="give name, nodes and optional agents, review, approval")
    return spec, validate_workflow(spec, config, source, lines)


def validate_workflow(spec: WorkflowSpec, config: LoadedConfig, source: str,
                      lines: dict[str, int]) -> LoadedConfig:
    """Cross-checks; returns the config with the workflow's own agents added."""
    merged = with_agents(config, spec.agents, source)
    problems = with_lines(_problems(spec, merged), lines)
    if problems:
        raise ConfigError(source, problems)
    return merged


def _problems(spec: WorkflowSpec, config: LoadedConfig) -> Iterator[ConfigProblem]:
    agents = config.agents
    for name, node in spec.nodes.items():
        base = f"nodes.{name}"
        if not NODE_NAME.match(name):
            yield ConfigProblem(base, f"invalid node name '{name}'",
                                "use lower-case letters, digits, '-' and '_', starting with a "
                                "letter")
        if node.agent not in agents:
            yield ConfigProblem(f"{base}.agent", f"unknown agent '{node.agent}'",
                                "declare it under agents: here or in hybridcrew.yaml; known: "
                                + ", ".join(sorted(agents)))
        for i, dep in enumerate(node.depends_on):
            if dep not in spec.nodes:
                yield ConfigProblem(f"{base}.depends_on[{i}]", f"unknown node '{dep}'",
                                    "use one of: " + ", ".join(spec.nodes))
    cycle = _find_cycle(spec)
    if cycle:
        yield ConfigProblem(f"nodes.{cycle[0]}.depends_on", "cycle " + " -> ".join(cycle),
                            "remove a dependency; only a review loop may send work back")
        return
    yield from _placeholder_problems(spec)
    yield from _review_problems(spec)
    planners = [n for n, s in spec.nodes.items() if s.kind == "plan"]
    if len(planners) > 1:
        yield ConfigProblem(f"nodes.{planners[1]}.kind", "only one node may plan",
                            "make the others kind: implement or review")


def _find_cycle(spec: WorkflowSpec) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for dep in spec.nodes[node].depends_on:
            if dep not in spec.nodes:
                continue
            if state.get(dep) == 1:
                return [*path[path.index(dep):], dep]
            if dep not in state and (found := visit(dep)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in spec.nodes:
        if node not in state and (found := visit(node)):
            return found
    return None


def _placeholder_problems(spec: WorkflowSpec) -> Iterator[ConfigProblem]:
    for name, node in spec.nodes.items():
        if not node.prompt:
            continue
        visible = spec.ancestors(name)
        for match in PLACEHOLDER.finditer(node.prompt):
            ref, field = match.group(1), match.group(2)
            if ref in ("task", "plan") and field is None:
                continue
            if ref in visible and field in FIELDS:
                continue
            hint = (f"'{ref}' is not a node" if ref not in spec.nodes
                    else f"'{ref}' is not a node this one depends on" if ref not in visible
                    else f"a node has .result or .findings, not .{field}")
            yield ConfigProblem(f"nodes.{name}.prompt", f"unknown placeholder {match.group(0)}"
                                f" ({hint})", "use {task}, {plan}, or {NODE.result} / "
                                "{NODE.findings} for a node listed in depends_on (directly or "
                                "not); write {{ and }} for literal braces")


def _review_problems(spec: WorkflowSpec) -> Iterator[ConfigProblem]:
    review = spec.review
    if review is None:
        return
    if review.reviewer not in spec.nodes:
        yield ConfigProblem("review.reviewer", f"reviewer '{review.reviewer}' is not a node",
                            "name the node that reviews, e.g. qa")
        return
    if spec.nodes[review.reviewer].kind != "review":
        yield ConfigProblem(f"nodes.{review.reviewer}.kind", "the reviewer must be kind: review",
                            "set kind: review")
    upstream = spec.ancestors(review.reviewer)
    for i, author in enumerate(review.authors):
        if author not in spec.nodes:
            yield ConfigProblem(f"review.authors[{i}]", f"author '{author}' is not a node",
                                "use one of: " + ", ".join(spec.nodes))
        elif author not in upstream:
            yield ConfigProblem(f"review.authors[{i}]", f"the reviewer does not depend on "
                                f"'{author}'", f"add {author} to nodes.{review.reviewer}"
                                ".depends_on")
