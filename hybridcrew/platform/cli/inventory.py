"""``hybridcrew models`` and ``hybridcrew doctor``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hybridcrew.platform.cli.app import console, friendly_errors, settings_and_config
from hybridcrew.platform.cli.render import checks_table, gpu_line, models_table
from hybridcrew.platform.doctor import run_checks
from hybridcrew.platform.inventory import models_inventory
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


def register(app: typer.Typer) -> None:
    """Add these commands to the root app."""
    app.command()(models)
    app.command()(doctor)
