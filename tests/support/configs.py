"""Build configurations for tests through the real loader (YAML text in, LoadedConfig out)."""

from __future__ import annotations

from typing import Any

import yaml

from hybridcrew.routing.config import LoadedConfig, parse_config
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.settings import Settings, load_settings


def config_from(data: dict[str, Any], source: str = "test.yaml") -> LoadedConfig:
    """Validate a config given as a Python structure."""
    return parse_config(yaml.safe_dump(data, sort_keys=False), source)


def model(provider: str, name: str, **fields: Any) -> dict[str, Any]:
    """One ``models:`` entry."""
    return {"provider": provider, "model": name, **fields}


def runtime_for(data: dict[str, Any], **settings: Any) -> RoutingRuntime:
    """A routing runtime over a test config and test settings."""
    return RoutingRuntime(config_from(data), load_settings(**settings))


def settings(**overrides: Any) -> Settings:
    """Settings from the (isolated) environment plus overrides."""
    return load_settings(**overrides)
