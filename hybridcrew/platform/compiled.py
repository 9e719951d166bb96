"""Compiled workflows, one per workflow and set of agent assignments, kept per process.

Compiling a workflow (its agents merged, its routing runtime and tools made, its graph built)
takes milliseconds; a run's every step uses the same graph, so it is compiled once and kept.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph.state import CompiledStateGraph

from hybridcrew.graphs.compile import compile_workflow
from hybridcrew.graphs.library import load_workflow
from hybridcrew.graphs.steps import CrewContext
from hybridcrew.graphs.workflow import WorkflowSpec
from hybridcrew.platform.mcp_tools import AgentTools, McpServers
from hybridcrew.routing.config import LoadedConfig, with_assignments
from hybridcrew.routing.runtime import RoutingRuntime

MAX_COMPILED = 64
"""Compiled graphs kept per process (one per workflow and set of agent assignments)."""
ContextFactory = Callable[[RoutingRuntime, AgentTools | None], CrewContext]
"""Makes the context a workflow's steps run in, from its routing runtime and tools."""


@dataclass
class CompiledWorkflow:
    """A workflow ready to run: its spec, the context its steps share, its compiled graph."""

    spec: WorkflowSpec
    context: CrewContext
    graph: CompiledStateGraph[Any, Any, Any, Any]


class CompiledWorkflows:
    """The compiled graphs of this process, at most :data:`MAX_COMPILED` of them."""

    def __init__(self, config: LoadedConfig, runtime: RoutingRuntime, mcp: McpServers,
                 checkpointer: BaseCheckpointSaver[Any], context: ContextFactory) -> None:
        self.config, self.runtime, self.mcp = config, runtime, mcp
        self.checkpointer, self.context = checkpointer, context
        self._compiled: dict[str, CompiledWorkflow] = {}

    def get(self, name: str, assignments: dict[str, dict[str, Any]] | None = None
            ) -> CompiledWorkflow:
        """The workflow ``name``, its own agents added and ``assignments`` applied.

        Unknown workflows and bad assignments raise ConfigError.
        """
        key = json.dumps([name, assignments or {}], sort_keys=True)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compile(name, assignments)
            if len(self._compiled) >= MAX_COMPILED:  # per-run assignments vary: keep it bounded
                self._compiled.pop(next(iter(self._compiled)))  # runs in progress keep theirs
            self._compiled[key] = compiled
        return compiled

    def _compile(self, name: str, assignments: dict[str, dict[str, Any]] | None
                 ) -> CompiledWorkflow:
        spec, merged = load_workflow(name, self.config)
        if assignments:
            merged = with_assignments(merged, assignments, "assignments")
        runtime = self.runtime.with_agents(merged) if merged is not self.config else self.runtime
        tools = AgentTools(self.mcp, merged.agents) if any(
            a.tools for a in merged.agents.values()) else None
        context = self.context(runtime, tools)
        return CompiledWorkflow(spec, context, compile_workflow(spec, context, self.checkpointer))
