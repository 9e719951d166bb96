"""The end of a run, for people (a closing table) and for machines (one JSON document)."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hybridcrew.graphs.lifecycle import RunStatus
from hybridcrew.graphs.report import totals
from hybridcrew.platform.crew import Crew
from hybridcrew.platform.outcomes import RunOutcome
from hybridcrew.routing.decision import REASON_LABELS


def outcome_json(outcome: RunOutcome, crew: Crew) -> dict[str, Any]:
    """Everything ``print_outcome`` shows, as data."""
    report: dict[str, Any] = dict(outcome.report or {})
    return {
        "run_id": outcome.run_id,
        "status": outcome.status,
        "exit_code": outcome.exit_code,
        "approved": report.get("approved"),
        "parts": report.get("parts"),
        "steps": outcome.steps,
        "totals": totals(outcome.steps),
        "artifacts_dir": outcome.folder,
        "artifacts": report.get("artifacts", []),
        "repo": report.get("repo"),
        "pending": outcome.pending,
        "error": outcome.error,
    }


def print_outcome(console: Console, outcome: RunOutcome, crew: Crew) -> None:
    """The closing table, totals with the all-cloud counterfactual, verdicts, and what next."""
    table = Table(title=f"run {outcome.run_id}", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, collapse_padding=True)
    for name in ("step", "agent", "model", "where"):
        table.add_column(name, no_wrap=True)
    table.add_column("why", ratio=1, overflow="fold")  # on a narrow terminal, the one that wraps
    for name in ("tokens", "cost", "s"):
        table.add_column(name, justify="right", no_wrap=True)
    for s in outcome.steps:
        why = REASON_LABELS.get(s["reasons"][0], s["reasons"][0]) if s["reasons"] else ""
        forced = [r.removeprefix("excluded:").replace("_", " ") for r in s["reasons"][1:]]
        if forced:
            why += f" ({', '.join(forced)})"
        if s["notes"]:
            why += " · " + "; ".join(s["notes"])
        table.add_row(s["key"], s["agent"], s["model"], s["location"], Text(why),
                      f"{s['input_tokens']}+{s['output_tokens']}", f"${s['cost_usd']:.4f}",
                      f"{s['seconds']:.1f}")
    console.print(table)
    spent = totals(outcome.steps)
    console.print(
        f"this run cost ${spent['cost_usd']:.4f}; all on Claude it would have cost "
        f"${spent['all_cloud_cost_usd']:.4f} · {spent['local_steps']}/{spent['steps']} steps "
        f"local · {spent['input_tokens'] + spent['output_tokens']} tokens · "
        f"{spent['seconds']:.1f}s of model time", highlight=False)
    _print_status(console, outcome)


def _print_status(console: Console, outcome: RunOutcome) -> None:
    if outcome.status == RunStatus.FINISHED and outcome.report:
        for part, verdict in outcome.report["parts"].items():
            mark = Text("approved", style="green") if verdict["approved"] else Text(
                "not approved", style="red")
            console.print(Text(f"{part}: ").append(mark).append(
                "" if verdict["approved"] else " — " + "; ".join(verdict["findings"])))
        console.print(f"artifacts: {outcome.folder} ({len(outcome.report['artifacts'])} files)",
                      highlight=False)
        if repo := outcome.report.get("repo"):
            console.print(f"branch {repo['branch']}: {repo['files_changed']} files changed, "
                          f"+{repo['insertions']} -{repo['deletions']}; apply it with: "
                          f"hybridcrew runs apply {outcome.run_id}", highlight=False)
    elif outcome.status == RunStatus.WAITING and outcome.pending:
        console.print(Text(f"waiting: {outcome.pending.get('question')}", style="magenta"))
        console.print(f"answer with: hybridcrew runs resume {outcome.run_id} --approve | "
                      "--reject | --local", highlight=False)
    elif outcome.error:
        console.print(Text(f"{outcome.status}: {outcome.error}", style="red"))
        console.print(f"fix it, then: hybridcrew runs resume {outcome.run_id}", highlight=False)
