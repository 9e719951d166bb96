"""The backends: ``hybridcrew models``, ``hybridcrew doctor`` and ``hybridcrew pull``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hybridcrew.platform.cli.app import console, friendly_errors, settings_and_config
from hybridcrew.platform.cli.render import checks_table, gpu_line, models_table
from hybridcrew.platform.doctor import run_checks
from hybridcrew.platform.inventory import models_inventory
from hybridcrew.routing.providers.ollama import INSTALL_FIX, ollama_host, pull_model
from hybridcrew.routing.runtime import RoutingRuntime


@friendly_errors
def models(
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """List configured models with live availability, GPU headroom and prices."""
    settings, config = settings_and_config()
    runtime = RoutingRuntime(config, settings)
    signals = runtime.signals.refresh()
    if as_json:
        console.print_json(json.dumps(models_inventory(config, signals)))
        return
    console.print(models_table(runtime, signals))
    console.print(gpu_line(signals))


@friendly_errors
def doctor() -> None:
    """Check every backend: found or not, and exactly how to fix it."""
    settings, config = settings_and_config()
    runtime = RoutingRuntime(config, settings)
    checks = run_checks(runtime, runtime.signals.refresh())
    console.print(checks_table(checks))
    if not all(c.ok for c in checks if c.required):
        raise typer.Exit(1)


@friendly_errors
def pull(
    timeout: Annotated[float, typer.Option(help="seconds one pull may take")] = 3600.0,
) -> None:
    """Pull every Ollama model the configuration names (chat models and the memory embedder).

    What `ollama pull` does, for each; models already there are not downloaded again.
    """
    settings, config = settings_and_config()
    wanted = {(ollama_host(e, settings), e.spec.model) for e in config.catalog.values()
              if e.provider == "ollama"}
    if settings.memory and settings.memory_embedder.startswith("ollama:"):
        wanted.add((settings.ollama_host.rstrip("/"), settings.memory_embedder.split(":", 1)[1]))
    if not wanted:
        console.print("no Ollama models in the configuration: nothing to pull")
        return
    failed = 0
    for host, model in sorted(wanted):
        problem = pull_model(host, model, timeout)
        if problem is None:
            console.print(f"[green]pulled[/] {model} on {host}")
        else:
            failed += 1
            console.print(f"[red]not pulled[/] {model} on {host}: {problem}")
    if failed:
        console.print(f"fix: {INSTALL_FIX}, and check the model names in the configuration")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add these commands to the root app."""
    app.command()(models)
    app.command()(doctor)
    app.command()(pull)
