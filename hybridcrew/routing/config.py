"""Load hybridcrew.yaml into a validated :class:`CrewConfig`, or fail with one clear message."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError

from hybridcrew.agents.repos import RepoSpec
from hybridcrew.agents.spec import AgentSpec, Assignment
from hybridcrew.agents.tools import McpServerSpec
from hybridcrew.documents import (
    StrictModel,
    choose_from,
    parse_document,
    problems_from_validation,
    with_lines,
)
from hybridcrew.errors import ConfigError, ConfigProblem
from hybridcrew.routing.catalog import CatalogEntry, ModelSpec
from hybridcrew.routing.policy import RoutingPolicy
from hybridcrew.routing.providers.registry import PROVIDERS

CONFIG_FILENAME = "hybridcrew.yaml"
PACKAGED_SOURCE = "<packaged default>"


class CrewConfig(StrictModel):
    """The whole of hybridcrew.yaml."""

    models: dict[str, ModelSpec] = Field(min_length=1)
    agents: dict[str, AgentSpec] = Field(min_length=1)
    routing: RoutingPolicy = RoutingPolicy()
    repos: dict[str, RepoSpec] = Field(default_factory=dict,
                                       description="repositories runs may name, by name")
    mcp_servers: dict[str, McpServerSpec] = Field(
        default_factory=dict, description="MCP servers whose tools agents may call, by name")


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration, its source, and its models resolved into a catalog."""

    source: str
    document: CrewConfig
    catalog: dict[str, CatalogEntry]

    @property
    def agents(self) -> dict[str, AgentSpec]:
        """The agents by name."""
        return self.document.agents

    @property
    def policy(self) -> RoutingPolicy:
        """The ``routing:`` section."""
        return self.document.routing

    def pays(self, agent: str) -> bool:
        """Whether any model ``agent`` may use costs something (else spend need not be read)."""
        return any(self.catalog[m].spec.price.input or self.catalog[m].spec.price.output
                   for m in self.agents[agent].model_names() if m in self.catalog)

    def agent(self, name: str) -> AgentSpec:
        """The named agent, or a :class:`ConfigError` listing the known ones."""
        try:
            return self.agents[name]
        except KeyError:
            raise ConfigError.single(
                self.source, f"agents.{name}", f"no agent named '{name}'",
                choose_from(name, self.agents),
            ) from None


def packaged_default_text() -> str:
    """The default hybridcrew.yaml shipped inside the package."""
    return resources.files("hybridcrew.agents").joinpath(CONFIG_FILENAME).read_text("utf-8")


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
    config, lines = parse_document(text, source, CrewConfig, fix="start from `hybridcrew init`")
    problems = with_lines(_cross_check(config), lines)
    if problems:
        raise ConfigError(source, problems)
    catalog = {
        name: CatalogEntry(
            name=name, spec=spec, location=spec.location or PROVIDERS[spec.provider].location
        )
        for name, spec in config.models.items()
    }
    return LoadedConfig(source=source, document=config, catalog=catalog)


def with_agents(loaded: LoadedConfig, agents: dict[str, AgentSpec], source: str) -> LoadedConfig:
    """The configuration plus extra agents (a workflow's own), checked like hybridcrew.yaml's."""
    if not agents:
        return loaded
    config = loaded.document.model_copy(update={"agents": {**loaded.agents, **agents}})
    problems = [ConfigProblem(p.path, p.problem, p.fix)
                for name, agent in agents.items() for p in _check_agent(name, agent, config)]
    if problems:
        raise ConfigError(source, problems)
    return LoadedConfig(source=loaded.source, document=config, catalog=loaded.catalog)


def with_assignments(loaded: LoadedConfig, assignments: dict[str, dict[str, Any]], source: str
                     ) -> LoadedConfig:
    """The configuration with agents' model assignments replaced, checked like the YAML.

    Assignments for agents this configuration does not have are ignored: a persisted
    assignment may be meant for an agent of another workflow.
    """
    agents: dict[str, AgentSpec] = {}
    problems: list[ConfigProblem] = []
    for name, raw in assignments.items():
        agent = loaded.agents.get(name)
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


def _cross_check(config: CrewConfig) -> Iterator[ConfigProblem]:
    """Rules that span sections: providers exist, agents name real models, privacy fits."""
    for name, spec in config.models.items():
        if spec.provider not in PROVIDERS:
            yield ConfigProblem(f"models.{name}.provider", f"unknown provider '{spec.provider}'",
                                choose_from(spec.provider, PROVIDERS))
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
                                choose_from(model, config.models, "a model defined under models:"))
    pinned = config.models.get(agent.model)
    if pinned is not None and pinned.clearance < agent.privacy:
        yield ConfigProblem(
            f"{base}.model",
            f"pinned model '{agent.model}' has clearance {pinned.clearance.label} but this agent's "
            f"privacy level is {agent.privacy.label}",
            "pin a model cleared for that level (a local one), use model: auto, "
            "or lower the agent's privacy",
        )
    for i, grant in enumerate(agent.tools):
        if grant.server not in config.mcp_servers:
            yield ConfigProblem(f"{base}.tools[{i}].server",
                                f"MCP server '{grant.server}' is not defined",
                                choose_from(grant.server, config.mcp_servers,
                                            "a server under mcp_servers:"))
    unknown_labels = [label for label in agent.labels if label not in config.routing.privacy.labels]
    for label in unknown_labels:
        yield ConfigProblem(f"{base}.labels", f"label '{label}' is not defined",
                            choose_from(label, config.routing.privacy.labels,
                                         "a label under routing.privacy.labels"))


def _first(config: CrewConfig) -> str:
    return next(iter(config.models))
