"""The Typer application, shared options, and the one place CLI errors become messages."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import click
import typer
from rich.console import Console
from rich.markup import escape

from hybridcrew import __version__
from hybridcrew.errors import ConfigError, HybridCrewError
from hybridcrew.routing.config import (
    CONFIG_FILENAME,
    LoadedConfig,
    load_config,
    packaged_default_text,
    resolve_config_path,
)
from hybridcrew.settings import Settings, load_settings

app = typer.Typer(
    name="hybridcrew",
    help="A crew of software agents whose every step runs on Claude or on a local model.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

EXIT_USAGE = 2
P = ParamSpec("P")
R = TypeVar("R")


@dataclass
class CliState:
    """Options given before the sub-command."""

    config_path: Path | None = None


state = CliState()


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn hybridcrew errors into one clear message and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_USAGE) from None
        except HybridCrewError as exc:
            errors.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort, click.ClickException):
            raise
        except Exception as exc:
            if os.environ.get("HYBRIDCREW_DEBUG"):
                raise
            errors.print(f"[bold red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} "
                         "(set HYBRIDCREW_DEBUG=1 for the traceback, and please report it)",
                         highlight=False)
            raise typer.Exit(1) from None

    return wrapper


def settings_and_config() -> tuple[Settings, LoadedConfig]:
    """Settings from the environment, and the config.

    The config comes from --config, HYBRIDCREW_CONFIG, ./hybridcrew.yaml or the packaged default,
    in that order.
    """
    settings = load_settings()
    path = resolve_config_path(state.config_path or settings.config)
    return settings, load_config(path)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"hybridcrew {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_print_version, is_eager=True, help="show the version and exit")
    ] = False,
    config: Annotated[Path | None, typer.Option(
        "--config", "-c", help=f"{CONFIG_FILENAME} to use (default: ./{CONFIG_FILENAME}, else the "
        "packaged default)", envvar="HYBRIDCREW_CONFIG", show_envvar=True)] = None,
) -> None:
    state.config_path = config


@app.command()
@friendly_errors
def init(
    path: Annotated[Path, typer.Argument(help="where to write it")] = Path(CONFIG_FILENAME),
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Write an editable copy of the default hybridcrew.yaml."""
    if path.exists() and not force:
        raise ConfigError.single(str(path), "", "already exists",
                                 "edit it, or pass --force to overwrite it")
    path.write_text(packaged_default_text(), "utf-8")
    console.print(f"wrote {path}; edit it, then try: hybridcrew route explain --agent backend "
                  "--prompt 'Add rate limiting to the orders API'")
