"""What a run takes from memory and what it leaves there.

At the start, the items most relevant to the task (the tenant's, from other runs) are put in the
run's state. Each step offers them to its model only up to the model's clearance: the policy
``routing.privacy.memory`` either leaves out what is above it (``omit``) or keeps the step on a
model cleared for everything (``keep_local``). When the run finishes, its plan, code and QA
findings are remembered, at the run's sensitivity.
"""

from __future__ import annotations

from hybridcrew.graphs.ports import Memory, MemoryItem, MemoryKind, SearchFilter
from hybridcrew.graphs.report import code_blocks
from hybridcrew.graphs.schemas import Plan
from hybridcrew.graphs.state import CrewState, RecalledItem
from hybridcrew.graphs.workflow import WorkflowSpec
from hybridcrew.sensitivity import Sensitivity

MAX_TEXT = 4_000  # characters of one remembered artifact


def recall(memory: Memory, task: str, tenant: str, run_id: str, limit: int
           ) -> list[RecalledItem]:
    """The tenant's items most relevant to ``task`` (from other runs), as state entries."""
    hits = memory.search(task, SearchFilter(tenant, exclude_run=run_id), limit=limit)
    return [RecalledItem(id=h.item.id, title=h.item.title or h.item.kind, text=h.item.text,
                         kind=h.item.kind, sensitivity=int(h.item.sensitivity),
                         score=round(h.score, 4)) for h in hits]


def remember(memory: Memory, spec: WorkflowSpec, state: CrewState) -> list[str]:
    """Store the finished run's plan, code and QA findings."""
    level = Sensitivity(max(int(Sensitivity.INTERNAL), state.get("taint", 0)))
    tenant, run_id = state.get("tenant", "default"), state["run_id"]
    found: list[tuple[str, MemoryKind, str | None, str]] = []  # text, kind, agent, title
    if state.get("plan"):
        planner = next((n for n, node in spec.nodes.items() if node.kind == "plan"), None)
        found.append((Plan.model_validate(state["plan"]).to_markdown(), "plan",
                      spec.nodes[planner].agent if planner else None,
                      f"plan: {state['task'][:120]}"))
    results = state.get("results", {})
    for name, node in spec.nodes.items():
        if node.kind == "implement" and name in results:
            found += [(code[:MAX_TEXT], "artifact", node.agent, path)
                      for path, code in code_blocks(results[name], name)]
    for reviewer, verdict in state.get("verdicts", {}).items():
        for part, judged in verdict.get("parts", {}).items():
            if judged.get("findings"):
                found.append(("\n".join(f"- {f}" for f in judged["findings"]), "finding",
                              spec.nodes[reviewer].agent, f"{reviewer} on {part}"))
    return memory.add([MemoryItem(text, tenant, kind, level, run_id, agent, title)
                       for text, kind, agent, title in found])
