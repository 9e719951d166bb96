"""``hybridcrew run`` and ``hybridcrew runs list|show|resume``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.prompt import Prompt
from rich.table import Table
from rich.text import Text

from hybridcrew.agents.repos import RepoSpec
from hybridcrew.errors import ConfigError
from hybridcrew.graphs.library import BUILTIN, available_workflows
from hybridcrew.graphs.lifecycle import RunStatus
from hybridcrew.graphs.narration import describe
from hybridcrew.platform.cli.app import console, friendly_errors, settings_and_config
from hybridcrew.platform.cli.progress import LiveProgress
from hybridcrew.platform.cli.summary import outcome_json, print_outcome
from hybridcrew.platform.crew import Crew
from hybridcrew.platform.outcomes import AskHuman, RunOutcome
from hybridcrew.platform.repos.workspace import apply_to_checkout
from hybridcrew.platform.store import open_store
from hybridcrew.routing.signals import Signals

runs_app = typer.Typer(help="List, inspect and resume runs.", no_args_is_help=True)

WorkflowOption = Annotated[str, typer.Option(
    "--workflow", "-w", help=f"a workflow name ({', '.join(available_workflows())}) or a .yaml "
    "file")]
JsonOption = Annotated[bool, typer.Option("--json", help="print one JSON document")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="approve whatever the run asks")]


def _crew() -> Crew:
    settings, config = settings_and_config()
    crew = Crew(config, settings)
    crew.runtime.signals.refresh()
    crew.runtime.signals.start()
    return crew


def _answerer(yes: bool, progress: LiveProgress | None) -> AskHuman | None:
    if yes:
        return lambda question: {"choice": "approve", "comment": "--yes"}
    if not sys.stdin.isatty():
        return None

    def ask(question: dict[str, Any]) -> Any:
        if progress is not None:
            progress.pause()
        choices = ["approve", "local"] if question.get("kind") == "budget" else ["approve",
                                                                                   "reject"]
        choice = Prompt.ask(str(question.get("question")), choices=choices, console=console)
        comment = "" if choice != "reject" else Prompt.ask("why", default="", console=console)
        if progress is not None:
            progress.unpause()
        return {"choice": choice, "comment": comment}

    return ask


@friendly_errors
def run(
    task: Annotated[str, typer.Argument(help="what the crew should deliver")],
    workflow: WorkflowOption = BUILTIN,
    label: Annotated[list[str] | None, typer.Option(help="privacy label of the run")] = None,
    gate: Annotated[bool, typer.Option(help="ask for approval before the final report")] = False,
    yes: YesOption = False,
    repo: Annotated[str | None, typer.Option(
        help="a git checkout to change (a path, or a name under repos: in hybridcrew.yaml): "
             "the run works on its own branch hybridcrew/<run-id>")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the crew on a task: every step routed, accounted, checkpointed."""
    crew = _crew()
    spec = None if repo is None else crew.config.document.repos.get(repo) or RepoSpec(path=repo)
    try:
        if not as_json:
            _print_backends(crew.runtime.signals.current, crew)
        shown = console if not as_json else Console(quiet=True)
        with LiveProgress(shown, f"hybridcrew · {task[:60]}") as progress:
            crew.events.listeners.append(progress.on_event)
            outcome = crew.start(task, workflow=workflow, labels=list(label or []), gate=gate,
                                 answer=_answerer(yes, progress), repo=spec)
    finally:
        crew.runtime.signals.stop()
    _finish(outcome, crew, as_json)


@runs_app.command("list")
@friendly_errors
def list_runs(
    status: Annotated[RunStatus | None, typer.Option(help="only runs with this status")] = None,
    as_json: JsonOption = False,
) -> None:
    """Recent runs, newest first."""
    settings, config = settings_and_config()
    crew = Crew(config, settings)
    rows = crew.store.list_runs(status=status)
    if as_json:
        console.print_json(json.dumps([{"id": r.id, "status": r.status, "workflow": r.workflow,
                                        "task": r.task, "created_at": r.created_at,
                                        "cost_usd": r.summary.get("totals", {}).get("cost_usd")}
                                       for r in rows]))
        return
    table = Table("run", "status", "workflow", "task", "cost", title="runs")
    for r in rows:
        cost = r.summary.get("totals", {}).get("cost_usd")
        table.add_row(r.id, r.status, r.workflow, Text(r.task[:50]),
                      "" if cost is None else f"${cost:.4f}")
    console.print(table)


@runs_app.command("show")
@friendly_errors
def show_run(run_id: str, as_json: JsonOption = False) -> None:
    """A run's steps (model, why, tokens, cost, time), verdicts and totals."""
    settings, config = settings_and_config()
    crew = Crew(config, settings)
    row = crew.store.get_run(run_id)
    state = crew.state(run_id)
    outcome = RunOutcome(run_id, row.status, row.folder, report=state.get("report"),
                         steps=state.get("steps", []), pending=row.summary.get("pending"),
                         error=row.summary.get("error"))
    _finish(outcome, crew, as_json, exit_with_status=False)


@runs_app.command("events")
@friendly_errors
def run_events(run_id: str, as_json: JsonOption = False) -> None:
    """A run's event log, oldest first: routing, steps, verdicts, questions, the ending."""
    settings, _ = settings_and_config()
    store = open_store(settings)
    store.get_run(run_id)  # an unknown run is an error, not an empty log
    events = store.events(run_id)
    if as_json:
        console.print_json(json.dumps([{"seq": e.seq, "ts": e.ts, "kind": e.kind,
                                        "node": e.node, "data": e.data} for e in events]))
        return
    for event in events:
        when = time.strftime("%H:%M:%S", time.localtime(event.ts))
        console.print(f"{event.seq:>4}  {when}  {describe(event)}", highlight=False)


@runs_app.command("apply")
@friendly_errors
def apply_run(run_id: str) -> None:
    """Apply a finished repository run's patch to your checkout (its working tree only)."""
    settings, _ = settings_and_config()
    row = open_store(settings).get_run(run_id)
    repo = row.options.get("repo")
    if not repo:
        raise ConfigError.single("runs apply", "", "this run did not work on a repository",
                                 "only runs started with --repo (or repo over HTTP) have a patch")
    stat = apply_to_checkout(RepoSpec.model_validate(repo), Path(row.folder), run_id)
    console.print(f"applied to {repo['path']}:\n{stat}", highlight=False)


@runs_app.command("feedback")
@friendly_errors
def feedback_run(
    run_id: str,
    good: Annotated[bool, typer.Option("--good/--bad", help="was the result right?")],
    comment: Annotated[str, typer.Option(help="what was right or wrong")] = "",
) -> None:
    """Tell the router whether a run's result was right: every model of its steps learns."""
    settings, config = settings_and_config()
    crew = Crew(config, settings)
    crew.feedback(run_id, good=good, comment=comment)
    console.print(f"recorded: {'good' if good else 'bad'}", highlight=False)


@runs_app.command("resume")
@friendly_errors
def resume_run(
    run_id: str,
    approve: Annotated[bool, typer.Option(help="answer the pending question: approve")] = False,
    reject: Annotated[bool, typer.Option(help="answer the pending question: reject")] = False,
    local: Annotated[bool, typer.Option(help="budget question: continue on local models")
                     ] = False,
    comment: Annotated[str, typer.Option(help="a comment with your answer")] = "",
    yes: YesOption = False,
    as_json: JsonOption = False,
) -> None:
    """Finish a run: after a crash, or by answering the question it waits on."""
    chosen = [name for name, flag in (("approve", approve), ("reject", reject), ("local", local))
              if flag]
    if len(chosen) > 1:
        raise ConfigError.single("options", "--approve/--reject/--local", "give at most one answer",
                                 "pick one of --approve, --reject, --local")
    crew = _crew()
    try:
        shown = console if not as_json else Console(quiet=True)
        with LiveProgress(shown, f"resuming {run_id}") as progress:
            crew.events.listeners.append(progress.on_event)
            reply = {"choice": chosen[0], "comment": comment} if chosen else None
            outcome = crew.resume(run_id, reply=reply, answer=_answerer(yes, progress))
    finally:
        crew.runtime.signals.stop()
    _finish(outcome, crew, as_json)


def _print_backends(signals: Signals, crew: Crew) -> None:
    """Which backends were found, which were not, and how to add them."""
    found, missing = [], []
    by_provider: dict[str, list[str]] = {}
    for name, entry in crew.config.catalog.items():
        by_provider.setdefault(entry.provider, []).append(name)
    for provider, names in by_provider.items():
        up = [n for n in names if signals.health_of(n).up]
        if up:
            found.append(f"{provider} ({', '.join(up)})")
        else:
            health = signals.health_of(names[0])
            missing.append(f"{provider}: {health.detail}" + (f" → {health.fix}" if health.fix
                                                               else ""))
    console.print(Text("backends found: " + (", ".join(found) or "none"), style="green"))
    for line in missing:
        console.print(Text(f"not found: {line}", style="yellow"))


def _finish(outcome: RunOutcome, crew: Crew, as_json: bool, *, exit_with_status: bool = True
            ) -> None:
    if as_json:
        typer.echo(json.dumps(outcome_json(outcome, crew)))
    else:
        print_outcome(console, outcome, crew)
    if exit_with_status and outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def register(app: typer.Typer) -> None:
    """Add ``run`` and ``runs`` to the root app."""
    app.command()(run)
    app.add_typer(runs_app, name="runs")
