"""The final report: which parts were approved, what it cost, and the artifacts on disk."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from hybridcrew.graphs.schemas import Plan, Verdict
from hybridcrew.graphs.state import CrewState, PartVerdict, Report, Totals
from hybridcrew.graphs.workflow import WorkflowSpec

FENCE = re.compile(r"^```[ \t]*([\w+#.-]*)[ \t]*([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
PATHLIKE = re.compile(r"^[\w.-]+(?:/[\w.-]+)*\.[A-Za-z0-9]{1,8}$|^[\w.-]+(?:/[\w.-]+)+$")
EXTENSIONS = {"python": "py", "py": "py", "javascript": "js", "js": "js", "typescript": "ts",
              "ts": "ts", "tsx": "tsx", "jsx": "jsx", "html": "html", "css": "css", "json": "json",
              "yaml": "yaml", "yml": "yaml", "sql": "sql", "bash": "sh", "sh": "sh", "go": "go",
              "rust": "rs", "java": "java", "markdown": "md", "md": "md", "toml": "toml"}


def totals(steps: Sequence[Mapping[str, Any]]) -> Totals:
    """Tokens, cost, the all-cloud counterfactual, seconds, and the local share of steps."""
    local = sum(1 for s in steps if s["location"] == "local")
    return Totals(
        steps=len(steps),
        local_steps=local,
        input_tokens=sum(s["input_tokens"] for s in steps),
        output_tokens=sum(s["output_tokens"] for s in steps),
        cost_usd=sum(s["cost_usd"] for s in steps),
        all_cloud_cost_usd=sum(s["cloud_cost_usd"] for s in steps),
        seconds=round(sum(s["seconds"] for s in steps), 3),
    )


def part_verdicts(spec: WorkflowSpec, state: CrewState) -> dict[str, PartVerdict]:
    """Per part: approved by every reviewer's latest verdict (and the human, if asked)?"""
    verdicts = [Verdict.model_validate(v) for v in state.get("verdicts", {}).values()]
    approval = state.get("approval") or {}
    out: dict[str, PartVerdict] = {}
    for part in spec.parts():
        judged = [v.for_part(part) for v in verdicts]
        found = [f for j in judged if j is not None and not j.approved for f in j.findings]
        approved = all(j.approved for j in judged if j is not None)
        if not approved and not found:
            found.append("not approved, and the reviewer gave no findings")
        if approval and not approval.get("approved", True):
            approved = False
            found.append(f"rejected at the approval gate: {approval.get('comment') or 'no reason'}")
        out[part] = PartVerdict(approved=approved, findings=found)
    return out


def build_report(spec: WorkflowSpec, state: CrewState, artifacts: list[str]) -> Report:
    """The report stored in state and printed at the end of a run."""
    parts = part_verdicts(spec, state)
    return Report(
        workflow=spec.name,
        approved=all(p["approved"] for p in parts.values()),
        parts=parts,
        review_rounds=state.get("generation", 0) + 1 if spec.review else 0,
        totals=totals(state.get("steps", [])),
        artifacts=artifacts,
    )


def write_artifacts(folder: Path, spec: WorkflowSpec, state: CrewState) -> list[str]:
    """plan.md, qa.md, and every code block under the path its author named."""
    folder.mkdir(parents=True, exist_ok=True)
    written: list[str] = []
    if state.get("plan"):
        written.append(_write(folder, "plan.md", Plan.model_validate(state["plan"]).to_markdown()))
    if state.get("verdicts"):
        written.append(_write(folder, "qa.md", _qa_markdown(spec, state)))
    results = state.get("results", {})
    for name, node in spec.nodes.items():
        if node.kind == "implement" and name in results:
            for path, code in code_blocks(results[name], name):
                target = path if path not in written else f"{name}/{path}"
                written.append(_write(folder, target, code))
    return written


def code_blocks(text: str, owner: str) -> list[tuple[str, str]]:
    """(relative path, code) for each fenced block; unnamed blocks get ``owner/snippet-N.ext``."""
    blocks: list[tuple[str, str]] = []
    for n, match in enumerate(FENCE.finditer(text), 1):
        lang, info, code = match.group(1), match.group(2).strip(), match.group(3)
        before = text[:match.start()].rstrip().rsplit("\n", 1)[-1]
        path = _safe_path(info) or _safe_path(_strip_decoration(before))
        if path is None:
            path = f"{owner}/snippet-{n}.{EXTENSIONS.get(lang.lower(), 'txt')}"
        blocks.append((path, code))
    return blocks


def _strip_decoration(line: str) -> str:
    line = line.strip().strip("*_`#>:- ")
    for prefix in ("File", "file", "Path", "path", "Filename", "filename"):
        line = line.removeprefix(prefix).strip().lstrip(":").strip().strip("*_`")
    return line


def _safe_path(candidate: str) -> str | None:
    """A relative path inside the run folder, or None (absolute paths and '..' are refused)."""
    candidate = candidate.strip().strip("`'\"")
    if not candidate or not PATHLIKE.match(candidate):
        return None
    path = PurePosixPath(candidate)
    if path.is_absolute() or ".." in path.parts:
        return None
    return str(path)


def _write(folder: Path, relative: str, text: str) -> str:
    target = folder / relative
    if target.parent != folder:  # the run folder itself exists already
        target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text if text.endswith("\n") else text + "\n", "utf-8")
    return relative


def _qa_markdown(spec: WorkflowSpec, state: CrewState) -> str:
    lines = ["# Review", ""]
    for reviewer, raw in state.get("verdicts", {}).items():
        lines += [f"## {reviewer}", ""]
        for part, verdict in Verdict.model_validate(raw).parts.items():
            mark = "approved" if verdict.approved else "changes requested"
            lines.append(f"- **{part}**: {mark}")
            lines += [f"  - {f}" for f in verdict.findings]
        lines.append("")
    return "\n".join(lines)
