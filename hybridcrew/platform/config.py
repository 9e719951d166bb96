"""Load hybridcrew.yaml into a validated :class:`CrewConfig`, or fail with one clear message."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, Field, ValidationError

from hybridcrew.agents.spec import AgentSpec, Assignment
from hybridcrew.errors import ConfigError, ConfigProblem
from hybridcrew.platform.yaml_lines import line_index, nearest_line
from hybridcrew.routing.catalog import CatalogEntry, ModelSpec, StrictModel
from hybridcrew.routing.policy import RoutingPolicy
from hybridcrew.routing.privacy.default import scrub
from hybridcrew.routing.providers.registry import PROVIDERS

CONFIG_FILENAME = "hybridcrew.yaml"
PACKAGED_SOURCE = "<packaged default>"


class CrewConfig(StrictModel):
    """The whole of hybridcrew.yaml."""

    models: dict[str, ModelSpec] = Field(min_length=1)
    agents: dict[str, AgentSpec] = Field(min_length=1)
    routing: RoutingPolicy = RoutingPolicy()


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration, its source, and its models resolved into a catalog."""

    source: str
    config: CrewConfig
    catalog: dict[str, CatalogEntry]

    def agent(self, name: str) -> AgentSpec:
        """The named agent, or a :class:`ConfigError` listing the known ones."""
        try:
            return self.config.agents[name]
        except KeyError:
            raise ConfigError.single(
                self.source, f"agents.{name}", f"no agent named '{name}'",
                _choose_from(name, self.config.agents),
            ) from None


def packaged_default_text() -> str:
    """The default hybridcrew.yaml shipped inside the package."""
    return resources.files("hybridcrew.platform").joinpath(CONFIG_FILENAME).read_text("utf-8")


def resolve_config_path(explicit: Path | None) -> Path | None:
    """``explicit`` if given, else ./hybridcrew.yaml if present, else None (packaged default)."""
    if explicit is not None:
        return explicit
    local = Path(CONFIG_FILENAME)
    return local if local.is_file() else None


def load_config(path: Path | None = None) -> LoadedConfig:
    """Load and validate a config file (or the packaged default when ``path`` is None)."""
    if path is None:
        return parse_config(packaged_default_text(), PACKAGED_SOURCE)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError.single(
            str(path), "", "file not found",
            "create it with `hybridcrew init`, or point HYBRIDCREW_CONFIG / --config at it",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError.single(str(path), "", f"cannot read file: {exc}",
                                 "check the file's permissions and encoding (UTF-8)") from None
    return parse_config(text, str(path))


def parse_config(text: str, source: str) -> LoadedConfig:
    """Validate YAML text; every mistake is reported with its key path and line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = str(getattr(exc, "problem", None) or exc).strip()
        raise ConfigError.single(source, "", f"YAML syntax error: {problem}",
                                 "fix the YAML at that line (indentation, quotes, colons)",
                                 line) from None
    if not isinstance(data, dict):
        raise ConfigError.single(source, "", "the file must be a mapping with models, agents, "
                                 "routing", "start from `hybridcrew init`")
    lines = line_index(text)
    try:
        config = CrewConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_from_validation(exc, lines, CrewConfig)) from None
    problems = list(_cross_check(config))
    if problems:
        raise ConfigError(source, [
            ConfigProblem(p.path, p.problem, p.fix, nearest_line(lines, p.path)) for p in problems
        ])
    catalog = {
        name: CatalogEntry(
            name=name, spec=spec, location=spec.location or PROVIDERS[spec.provider].location
        )
        for name, spec in config.models.items()
    }
    return LoadedConfig(source=source, config=config, catalog=catalog)


def with_agents(loaded: LoadedConfig, agents: dict[str, AgentSpec], source: str) -> LoadedConfig:
    """The configuration plus extra agents (a workflow's own), checked like hybridcrew.yaml's."""
    if not agents:
        return loaded
    config = loaded.config.model_copy(update={"agents": {**loaded.config.agents, **agents}})
    problems = [ConfigProblem(p.path, p.problem, p.fix)
                for name, agent in agents.items() for p in _check_agent(name, agent, config)]
    if problems:
        raise ConfigError(source, problems)
    return LoadedConfig(source=loaded.source, config=config, catalog=loaded.catalog)


def with_assignments(loaded: LoadedConfig, assignments: dict[str, dict[str, Any]], source: str
                     ) -> LoadedConfig:
    """The configuration with agents' model assignments replaced, checked like the YAML.

    Assignments for agents this configuration does not have are ignored: a persisted
    assignment may be meant for an agent of another workflow.
    """
    agents: dict[str, AgentSpec] = {}
    problems: list[ConfigProblem] = []
    for name, raw in assignments.items():
        agent = loaded.config.agents.get(name)
        if agent is None:
            continue
        try:
            assignment = Assignment.model_validate(raw)
        except ValidationError as exc:
            problems += [ConfigProblem(f"agents.{name}.{p.path}", p.problem, p.fix)
                         for p in problems_from_validation(exc, {}, Assignment)]
            continue
        agents[name] = agent.model_copy(update=assignment.model_dump())
    if problems:
        raise ConfigError(source, problems)
    return with_agents(loaded, agents, source)


def problems_from_validation(exc: ValidationError, lines: dict[str, int],
                             root: type[BaseModel]) -> list[ConfigProblem]:
    """Pydantic errors as problems with key paths, lines and fixes."""
    return [_problem_from_pydantic(err, lines, root) for err in exc.errors()]


def _cross_check(config: CrewConfig) -> Iterator[ConfigProblem]:
    """Rules that span sections: providers exist, agents name real models, privacy fits."""
    for name, spec in config.models.items():
        if spec.provider not in PROVIDERS:
            yield ConfigProblem(f"models.{name}.provider", f"unknown provider '{spec.provider}'",
                                _choose_from(spec.provider, PROVIDERS))
    for name, agent in config.agents.items():
        yield from _check_agent(name, agent, config)


def _check_agent(name: str, agent: AgentSpec, config: CrewConfig) -> Iterator[ConfigProblem]:
    base = f"agents.{name}"
    if agent.is_auto and not agent.candidates:
        yield ConfigProblem(f"{base}.candidates", "model: auto needs at least one candidate",
                            f"list models to choose from, e.g. candidates: [{_first(config)}]")
    if not agent.is_auto and agent.candidates:
        yield ConfigProblem(f"{base}.candidates", "candidates only apply to model: auto",
                            "remove candidates, or set model: auto")
    refs = [("model", agent.model)] if not agent.is_auto else []
    refs += [(f"candidates[{i}]", m) for i, m in enumerate(agent.candidates)]
    refs += [(f"fallbacks[{i}]", m) for i, m in enumerate(agent.fallbacks)]
    for key, model in refs:
        if model not in config.models:
            yield ConfigProblem(f"{base}.{key}", f"model '{model}' does not exist",
                                _choose_from(model, config.models, "a model defined under models:"))
    pinned = config.models.get(agent.model)
    if pinned is not None and pinned.clearance < agent.privacy:
        yield ConfigProblem(
            f"{base}.model",
            f"pinned model '{agent.model}' has clearance {pinned.clearance.label} but this agent's "
            f"privacy level is {agent.privacy.label}",
            "pin a model cleared for that level (a local one), use model: auto, "
            "or lower the agent's privacy",
        )
    unknown_labels = [label for label in agent.labels if label not in config.routing.privacy.labels]
    for label in unknown_labels:
        yield ConfigProblem(f"{base}.labels", f"label '{label}' is not defined",
                            _choose_from(label, config.routing.privacy.labels,
                                         "a label under routing.privacy.labels"))


def _problem_from_pydantic(err: Any, lines: dict[str, int], root: type[BaseModel]
                           ) -> ConfigProblem:
    loc = tuple(err["loc"])
    path = _dotted(loc)
    kind = err["type"]
    msg = str(err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        valid = sorted(parent.model_fields) if parent else []
        return ConfigProblem(path, f"unknown key '{loc[-1]}'",
                             _choose_from(str(loc[-1]), valid, "remove it"),
                             nearest_line(lines, path))
    if kind == "missing":
        return ConfigProblem(path, "required key is missing", "add it",
                             nearest_line(lines, path))
    got = err.get("input")
    # A value typed at the wrong key may be a credential: never echo one back.
    problem = msg if isinstance(got, dict | list) else f"{msg} (got {scrub(repr(got))})"
    fix = _FIXES.get(kind, "see the commented example that `hybridcrew init` writes")
    return ConfigProblem(path, problem, fix, nearest_line(lines, path))


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


def _choose_from(value: str, options: Any, default: str = "") -> str:
    names = sorted(options)
    close = difflib.get_close_matches(value, names, n=1)
    listed = ", ".join(names)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"{hint}use one of: {listed}" if names else default


def _first(config: CrewConfig) -> str:
    return next(iter(config.models))
