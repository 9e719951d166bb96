"""The ``hybridcrew`` command line (Typer + Rich)."""

from __future__ import annotations

from hybridcrew.platform.cli import learn as _learn  # noqa: F401 - adds route train/eval/status
from hybridcrew.platform.cli.app import app
from hybridcrew.platform.cli.backends import register as _register_backends
from hybridcrew.platform.cli.keys import register as _register_keys
from hybridcrew.platform.cli.mcp import register as _register_mcp
from hybridcrew.platform.cli.route import route_app
from hybridcrew.platform.cli.run import register as _register_runs
from hybridcrew.platform.cli.serve import register as _register_serve
from hybridcrew.platform.cli.webhooks import register as _register_webhooks

app.add_typer(route_app, name="route")
_register_backends(app)
_register_keys(app)
_register_mcp(app)
_register_runs(app)
_register_serve(app)
_register_webhooks(app)


def main() -> None:
    """Console-script entry point."""
    app()


__all__ = ["app", "main"]
