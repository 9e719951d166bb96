"""YAML documents: text → validated model, or errors that name file, line, key path and fix.

Every YAML file hybridcrew reads (the configuration, workflows) goes through
:func:`parse_document`, so every one reports mistakes the same way. Errors name the key and
the rule, never the value written there: a value typed at the wrong key may be a credential.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, TypeVar, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from hybridcrew.errors import ConfigError, ConfigProblem


class StrictModel(BaseModel):
    """Base for configuration models: unknown keys are mistakes, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


Document = TypeVar("Document", bound=BaseModel)


def parse_document(text: str, source: str, model: type[Document], *, fix: str
                   ) -> tuple[Document, dict[str, int]]:
    """``text`` validated as ``model``, and the line of every key path (for later checks).

    ``fix`` says how to start over when the file is not a mapping at all.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = str(getattr(exc, "problem", None) or exc).strip()
        raise ConfigError.single(source, "", f"YAML syntax error: {problem}",
                                 "fix the YAML at that line (indentation, quotes, colons)",
                                 mark.line + 1 if mark is not None else None) from None
    if not isinstance(data, dict):
        keys = ", ".join(model.model_fields)
        raise ConfigError.single(source, "", f"the file must be a mapping with keys such as "
                                 f"{keys}", fix)
    lines = line_index(text)
    try:
        return model.model_validate(data), lines
    except ValidationError as exc:
        raise ConfigError(source, problems_from_validation(exc, lines, model)) from None


def with_lines(problems: Iterable[ConfigProblem], lines: dict[str, int]) -> list[ConfigProblem]:
    """``problems`` with the line of their key path filled in."""
    return [ConfigProblem(p.path, p.problem, p.fix, nearest_line(lines, p.path))
            for p in problems]


def problems_from_validation(exc: ValidationError, lines: dict[str, int],
                             root: type[BaseModel]) -> list[ConfigProblem]:
    """Pydantic errors as problems with key paths, lines and fixes."""
    return [_problem_from_pydantic(err, lines, root) for err in exc.errors()]


def choose_from(value: str, options: Iterable[str], default: str = "") -> str:
    """A fix listing ``options``, with the closest to ``value`` suggested first."""
    names = sorted(options)
    close = difflib.get_close_matches(value, names, n=1)
    listed = ", ".join(names)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}use one of: {listed}" if names else default


def line_index(text: str) -> dict[str, int]:
    """``{"agents.qa.model": 42, "agents.qa.candidates[0]": 43, ...}`` (1-based lines)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    index: dict[str, int] = {}
    _walk(root, "", index)
    return index


def nearest_line(index: dict[str, int], path: str) -> int | None:
    """The line of ``path``, or of its closest ancestor present in the document."""
    while path:
        if path in index:
            return index[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return None


def _walk(node: yaml.Node | None, path: str, index: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = f"{path}.{key_node.value}" if path else str(key_node.value)
            index[child] = key_node.start_mark.line + 1
            _walk(value_node, child, index)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            child = f"{path}[{i}]"
            index[child] = item.start_mark.line + 1
            _walk(item, child, index)


def _problem_from_pydantic(err: Any, lines: dict[str, int], root: type[BaseModel]
                           ) -> ConfigProblem:
    loc = tuple(err["loc"])
    path = _dotted(loc)
    kind = err["type"]
    line = nearest_line(lines, path)
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        valid = sorted(parent.model_fields) if parent else []
        return ConfigProblem(path, f"unknown key '{loc[-1]}'",
                             choose_from(str(loc[-1]), valid, "remove it"), line)
    if kind == "missing":
        return ConfigProblem(path, "required key is missing", "add it", line)
    problem = str(err["msg"]).removeprefix("Value error, ")
    fix = _FIXES.get(kind, "see the commented example that `hybridcrew init` writes")
    return ConfigProblem(path, problem, fix, line)


_FIXES = {
    "greater_than_equal": "use a value that is not negative",
    "greater_than": "use a positive value",
    "less_than_equal": "use a smaller value",
    "float_parsing": "give a number, e.g. 0.5",
    "float_type": "give a number, e.g. 0.5",
    "int_parsing": "give a whole number, e.g. 4096",
    "int_type": "give a whole number, e.g. 4096",
    "string_type": "give text (quote it if YAML reads it as something else)",
    "bool_parsing": "give true or false",
    "bool_type": "give true or false",
    "dict_type": "give a mapping (key: value lines)",
    "list_type": "give a list, e.g. [a, b]",
    "literal_error": "use one of the values listed",
    "value_error": "use a valid value",
    "string_pattern_mismatch": "use lower-case letters, digits, '-' and '_'",
    "too_short": "add at least one entry",
}


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that owns the keys at ``loc`` (dict keys and list indexes skipped)."""
    model: type[BaseModel] | None = root
    expect_key = False
    for part in loc:
        if model is None:
            return None
        if expect_key:
            expect_key = False
            continue
        field = model.model_fields.get(str(part))
        if field is None:
            return None
        annotation = field.annotation
        inner = [a for a in get_args(annotation)
                 if isinstance(a, type) and issubclass(a, BaseModel)]
        if inner and get_origin(annotation) in (dict, list):
            model, expect_key = inner[-1], True  # the next part is a key or an index
        elif inner:
            model = inner[0]  # Optional[Model]
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            model = None
    return model
