"""The steps of a run on a repository: what each sees of it, and verdicts grounded in checks.

A planner sees the repo map and the files most relevant to the task; an author the files
most relevant to its part; a reviewer the branch's changes and the checks' results. Every file
is its own prompt part (``file:<path>``), so the privacy scan names the file a finding is in.
A reviewer may not approve a part while the checks show a failure the crew introduced.
"""

from __future__ import annotations

from typing import Any

from hybridcrew.graphs.schemas import Plan
from hybridcrew.graphs.state import CrewState
from hybridcrew.graphs.workflow import NodeSpec
from hybridcrew.graphs.workspace import CheckRecord, Edits, Workspace

Section = tuple[str, str, str]
"""A prompt section: (prompt part kind, title, text)."""
DIFF_LIMIT = 12_000
OUTPUT_LIMIT = 3_000


def repo_sections(workspace: Workspace, name: str, node: NodeSpec, state: CrewState, *,
                  files: int, checks: CheckRecord | None) -> list[Section]:
    """What step ``name`` sees of the repository (before its instruction)."""
    if node.kind == "review":
        out: list[Section] = [("diff", "Changes on the branch",
                               workspace.diff(DIFF_LIMIT) or "(no changes)")]
        if checks is not None:
            out.append(("checks", "Checks on the branch", describe_checks(checks)))
        return out
    query = state["task"]
    plan = Plan.model_validate(state["plan"]) if state.get("plan") else None
    if plan is not None and (part := plan.part(name)) is not None:
        query = f"{part.goal}\n{' '.join(part.acceptance_criteria)}\n{query}"
    context = workspace.context(query, files)
    out = [("repo_map", "Repository map", context.map)] if node.kind == "plan" else []
    return out + [(f"file:{f.path}", f"File {f.path}", f.text) for f in context.files]


def describe_checks(checks: CheckRecord) -> str:
    """The checks' results as the reviewer reads them."""
    lines = [f"Command: {checks['command']}",
             f"Passed: {checks['passed']}, failed: {checks['failed']}"]
    if checks["new_failures"]:
        lines.append("Failing since the changes: " + ", ".join(checks["new_failures"]))
    if checks["baseline_failed"]:
        lines.append("Failing before any change (not the crew's): "
                     + ", ".join(checks["baseline_failed"]))
    if checks["stopped"]:
        lines.append(f"Stopped by the sandbox: {checks['stopped']}")
    lines.append("Output (end):\n" + checks["output"][-OUTPUT_LIMIT:])
    return "\n".join(lines)


def edits_result(edits: Edits) -> str:
    """What an author's step leaves in state: its summary and the files it changed."""
    paths = ", ".join(dict.fromkeys(e.path for e in edits.edits))
    return f"{edits.summary}\nChanged: {paths}"


def grounded_verdict(verdict: dict[str, Any], checks: CheckRecord) -> dict[str, Any]:
    """``verdict`` (state form) with the checks' counts; no approval while they fail."""
    parts = verdict.get("parts", {})
    if not checks["ok"]:
        why = (f"checks fail: {', '.join(checks['new_failures'][:5])}" if checks["new_failures"]
               else f"checks stopped: {checks['stopped']}")
        parts = {name: {"approved": False,
                        "findings": [why, *[f for f in judged.get("findings", []) if f != why]]}
                 for name, judged in parts.items()}
    return {**verdict, "parts": parts, "grounded": True,
            "checks": {"passed": checks["passed"], "failed": checks["failed"],
                       "new_failures": checks["new_failures"],
                       "baseline_failed": len(checks["baseline_failed"]), "ok": checks["ok"],
                       "isolation": checks["isolation"]}}
