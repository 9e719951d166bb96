"""``hybridcrew route explain``: show (or what-if) the router's decision for a prompt."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from hybridcrew.errors import ConfigError
from hybridcrew.platform.cli.app import console, friendly_errors, settings_and_config
from hybridcrew.platform.cli.render import decision_panel
from hybridcrew.routing.router import RouteRequest
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.routing.signals import Signals
from hybridcrew.routing.whatif import apply_overrides

route_app = typer.Typer(help="Inspect routing decisions.", no_args_is_help=True)

SignalOption = Annotated[list[str] | None, typer.Option(
    "--signal", "-s", help="override a live signal, e.g. anthropic=down, gpu_free_gb=2, "
    "budget_left_usd=0.01 (repeatable)")]


@route_app.command()
@friendly_errors
def explain(
    agent: Annotated[str | None, typer.Option(help="agent whose step is routed")] = None,
    prompt: Annotated[str | None, typer.Option(help="the step's prompt")] = None,
    prompt_file: Annotated[Path | None, typer.Option(help="read the prompt from a file")] = None,
    batch: Annotated[Path | None, typer.Option(
        help='JSON Lines of {"agent", "prompt"[, "step", "labels"]}; one decision per line out')
    ] = None,
    step: Annotated[str, typer.Option(help="step kind: plan, implement, review, ...")] = "default",
    label: Annotated[list[str] | None, typer.Option(help="privacy label of the run")] = None,
    signal: SignalOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the decision JSON")] = False,
) -> None:
    """Explain which model would run a step, and why (pure what-if: nothing is called)."""
    settings, config = settings_and_config()
    runtime = RoutingRuntime(config, settings)
    signals = apply_overrides(runtime.signals.refresh(), signal or [], config.catalog,
                              runtime.endpoints)
    if batch is not None:
        if agent or prompt or prompt_file:
            raise ConfigError.single("options", "--batch", "--batch takes agents and prompts "
                                     "from the file", "drop --agent/--prompt/--prompt-file")
        _explain_batch(runtime, signals, batch)
        return
    text = _prompt_text(prompt, prompt_file)
    if agent is None:
        raise ConfigError.single("options", "--agent", "missing --agent",
                                 "name one of: " + ", ".join(config.agents))
    request = RouteRequest.for_prompt(agent, text, step=step, labels=tuple(label or ()))
    decision = runtime.decide(request, signals)
    if as_json:
        console.print_json(json.dumps(decision.to_dict()))
    else:
        console.print(decision_panel(decision))


def _prompt_text(prompt: str | None, prompt_file: Path | None) -> str:
    if (prompt is None) == (prompt_file is None):
        raise ConfigError.single("options", "--prompt", "give exactly one of --prompt and "
                                 "--prompt-file", "e.g. --prompt 'Add rate limiting'")
    if prompt_file is None:
        return str(prompt)
    try:
        return prompt_file.read_text("utf-8", errors="replace")
    except OSError as exc:
        raise ConfigError.single(str(prompt_file), "", f"cannot read: {exc.strerror}",
                                 "check the path") from None


def _explain_batch(runtime: RoutingRuntime, signals: Signals, batch: Path) -> None:
    try:
        lines = batch.read_text("utf-8").splitlines()
    except OSError as exc:
        raise ConfigError.single(str(batch), "", f"cannot read: {exc.strerror}",
                                 "check the path") from None
    requests = [_batch_request(batch, number, line) for number, line in enumerate(lines, 1)
                if line.strip()]
    for request in requests:  # all lines validated before any output
        typer.echo(json.dumps(runtime.decide(request, signals).to_dict()))


def _batch_request(batch: Path, number: int, line: str) -> RouteRequest:
    where = f"{batch}:{number}"
    try:
        item: Any = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ConfigError.single(where, "", f"not JSON ({exc.msg})",
                                 'write one object per line: {"agent": "...", "prompt": "..."}'
                                 ) from None
    if not isinstance(item, dict) or not isinstance(item.get("agent"), str) \
            or not isinstance(item.get("prompt"), str):
        raise ConfigError.single(where, "", 'needs string fields "agent" and "prompt"',
                                 'write {"agent": "backend", "prompt": "..."}')
    return RouteRequest.for_prompt(item["agent"], item["prompt"],
                                   step=str(item.get("step", "default")),
                                   labels=tuple(item.get("labels", ())))
