"""The configuration reference, generated from the settings class and the YAML schema.

The README carries its output between two markers; a test fails when they differ. Regenerate
with ``python -m hybridcrew.platform.reference --write README.md``.
"""

from __future__ import annotations

import argparse
import enum
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from hybridcrew.routing.config import CrewConfig
from hybridcrew.routing.providers.registry import PROVIDERS
from hybridcrew.sensitivity import Sensitivity
from hybridcrew.settings import ENV_PREFIX, Settings

BEGIN = "<!-- configuration reference: generated, do not edit -->"
END = "<!-- end of configuration reference -->"


def env_names(name: str, field: FieldInfo) -> list[str]:
    """The environment variables a settings field is read from."""
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return [str(choice) for choice in alias.choices]
    return [ENV_PREFIX + name.upper()]


def settings_env_names() -> set[str]:
    """Every environment variable :class:`Settings` reads."""
    return {env for name, field in Settings.model_fields.items() for env in env_names(name, field)}


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is not None:
        return _generic_name(origin, typing.get_args(annotation))
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return " \\| ".join(_scalar(m) for m in annotation)
    if annotation is SecretStr:
        return "secret"
    return getattr(annotation, "__name__", str(annotation))


def _generic_name(origin: Any, args: tuple[Any, ...]) -> str:
    args = tuple(a for a in args if a is not type(None))  # optional: the default says so
    if origin is typing.Literal:
        return " \\| ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is dict:
        return f"map of {_type_name(args[1])}"
    # list/tuple: of the item type; Annotated: the annotated type itself.
    return ("list of " if origin in (list, tuple) else "") + _type_name(args[0])


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value: Any = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, BaseModel) or value in (None, [], {}):
        return ""
    if isinstance(value, dict):
        return "`" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "`"
    return f"`{_scalar(value)}`"


def _scalar(value: Any) -> str:
    """A value as YAML and the environment spell it (sensitivities by their label)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, enum.Enum):
        return str(getattr(value, "label", value.value))
    return str(value)


def _model_of(annotation: Any) -> tuple[type[BaseModel], str] | None:
    """The nested model of a field and the path step to it (``.x``, ``.<name>``, ``[]``)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, ""
    if origin is dict and isinstance(args[1], type) and issubclass(args[1], BaseModel):
        return args[1], ".<name>"
    if origin is list and isinstance(args[0], type) and issubclass(args[0], BaseModel):
        return args[0], "[]"
    return None


def _yaml_rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str, str]]:
    for name, field in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        nested = _model_of(field.annotation)
        if nested is not None:
            yield from _yaml_rows(nested[0], path + nested[1])
            continue
        meaning = field.description or ""
        yield path, _type_name(field.annotation), _default(field), meaning


def render() -> str:
    """The reference as Markdown (between the README's markers)."""
    lines = [BEGIN, "", "#### Environment (`HYBRIDCREW_*`: where things run)", "",
             "| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        variables = " or ".join(f"`{env}`" for env in env_names(name, field))
        lines.append(f"| {variables} | {_type_name(field.annotation)} | {_default(field)} | "
                     f"{field.description or ''} |")
    lines += ["", "#### hybridcrew.yaml (what the crew does)", "",
              "| Key | Type | Default | Meaning |", "|---|---|---|---|"]
    lines += [f"| `{path}` | {kind} | {default} | {meaning} |"
              for path, kind, default, meaning in _yaml_rows(CrewConfig, "")]
    providers = ", ".join(f"`{name}`" for name in sorted(PROVIDERS))
    lines += ["", f"Providers: {providers}. Sensitivities, least to most: "
              + ", ".join(f"`{s.label}`" for s in Sensitivity) + "."]
    return "\n".join([*lines, "", END])


def splice(text: str, reference: str) -> str:
    """``text`` with the part between the markers replaced by ``reference``."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the markers are missing: add {BEGIN!r} and {END!r}")
    return text[:start] + reference + text[end + len(END):]


def main(argv: list[str] | None = None) -> int:
    """Print the reference, or ``--write`` it into a file between the markers."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--write", type=Path, help="a Markdown file with the markers (README.md)")
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(render() + "\n")
        return 0
    try:
        args.write.write_text(splice(args.write.read_text(), render()))
    except (OSError, ValueError) as exc:
        parser.error(f"{args.write}: {exc}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
