"""Infrastructure settings come from HYBRIDCREW_* variables; ANTHROPIC_API_KEY is accepted as is."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridcrew.errors import ConfigError
from hybridcrew.settings import load_settings


def test_prefix_and_plain_anthropic_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-plain")
    monkeypatch.setenv("HYBRIDCREW_OLLAMA_HOST", "http://gpu-box:11434")
    monkeypatch.setenv("HYBRIDCREW_REDIS_URL", "redis://cache:6379/0")
    settings = load_settings()
    assert settings.anthropic_api_key is not None
    assert settings.anthropic_api_key.get_secret_value() == "sk-ant-api03-plain"
    assert settings.ollama_host == "http://gpu-box:11434"
    assert settings.redis_url == "redis://cache:6379/0"
    assert "sk-ant-api03-plain" not in repr(settings), "keys never show in reprs or logs"


def test_prefixed_key_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDCREW_ANTHROPIC_API_KEY", "sk-ant-api03-prefixed")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-plain")
    key = load_settings().anthropic_api_key
    assert key is not None
    assert key.get_secret_value() == "sk-ant-api03-prefixed"


def test_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDCREW_PROBE_INTERVAL_S", "soon")
    with pytest.raises(ConfigError, match=r"HYBRIDCREW_PROBE_INTERVAL_S:.*number.*Fix: correct"
                       ) as caught:
        load_settings()
    assert "soon" not in str(caught.value)  # a value in the wrong variable may be a secret


def test_heartbeat_must_be_shorter_than_the_lease(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HYBRIDCREW_LEASE_S", "5")
    monkeypatch.setenv("HYBRIDCREW_HEARTBEAT_S", "5")
    with pytest.raises(ConfigError, match="HYBRIDCREW_HEARTBEAT_S must be less than"):
        load_settings()


def test_models_dir_defaults_under_data_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYBRIDCREW_MODELS_DIR")
    monkeypatch.setenv("HYBRIDCREW_DATA_DIR", "/srv/crew")
    assert load_settings().model_files_dir() == Path("/srv/crew/models")
