"""``hybridcrew models`` and ``hybridcrew doctor``."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hybridcrew.platform.cli.app import console, friendly_errors, settings_and_config
from hybridcrew.platform.cli.render import checks_table, gpu_line, models_table
from hybridcrew.platform.doctor import run_checks
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
        rows = [{
            "name": name, "provider": e.provider, "model": e.spec.model, "location": e.location,
            "up": signals.health_of(name).up, "detail": signals.health_of(name).detail,
            "price_per_mtok": e.spec.price.model_dump(), "context_window": e.spec.context_window,
            "vram_gb": e.spec.vram_gb, "clearance": e.spec.clearance.label,
        } for name, e in config.catalog.items()]
        gpu = {"free_gb": signals.gpu.free_gb, "total_gb": signals.gpu.total_gb,
               "loaded": sorted(signals.gpu.loaded), "source": signals.gpu.source}
        console.print_json(json.dumps({"models": rows, "gpu": gpu}))
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
