"""``hybridcrew pull``: the Ollama models the config names, through the real ollama client."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hybridcrew.platform.cli import app
from tests.support.configs import model
from tests.support.crew import crew_config, write_config
from tests.support.replay import ReplayServer, closed_port_url, recorded

runner = CliRunner()


def _config(tmp_path: Path, **endpoints: str) -> str:
    data = {"models": {name: model("ollama", name, endpoint=url)
                       for name, url in endpoints.items()},
            "agents": {"backend": {"role": "backend engineer", "model": "auto",
                                   "candidates": list(endpoints)}}}
    return str(write_config(tmp_path / "crew.yaml", data))


def test_pulls_chat_models_and_the_ollama_embedder(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    with ReplayServer() as server:
        server.route("POST", "/api/pull", recorded("ollama", "pull_ok"))
        monkeypatch.setenv("HYBRIDCREW_OLLAMA_HOST", server.url)
        monkeypatch.setenv("HYBRIDCREW_MEMORY", "true")
        monkeypatch.setenv("HYBRIDCREW_MEMORY_EMBEDDER", "ollama:nomic-embed-text")
        result = runner.invoke(app, ["--config", _config(tmp_path, **{"qwen2.5-coder:7b":
                                                                       server.url}), "pull"])
        pulled = sorted(c.body["model"] for c in server.calls("POST", "/api/pull"))
    assert result.exit_code == 0, result.output
    assert pulled == ["nomic-embed-text", "qwen2.5-coder:7b"]
    assert "pulled qwen2.5-coder:7b" in result.output


def test_a_failed_pull_names_the_model_and_the_fix(tmp_path: Path) -> None:
    with ReplayServer() as good, ReplayServer() as bad:
        good.route("POST", "/api/pull", recorded("ollama", "pull_ok"))
        bad.route("POST", "/api/pull", recorded("ollama", "pull_unknown"))
        config = _config(tmp_path, **{"llama3.2:3b": good.url, "qwen-typo:7b": bad.url,
                                      "gone:1b": closed_port_url()})
        result = runner.invoke(app, ["--config", config, "pull"], env={"COLUMNS": "250"})
    assert result.exit_code == 1
    assert "pulled llama3.2:3b" in result.output
    assert "not pulled qwen-typo:7b" in result.output
    assert "pull model manifest: file does not exist" in result.output
    assert "not pulled gone:1b" in result.output
    assert "no Ollama at" in result.output
    assert "Traceback" not in result.output


def test_nothing_to_pull_without_ollama_models(tmp_path: Path) -> None:
    config = str(write_config(tmp_path / "crew.yaml", crew_config()))
    result = runner.invoke(app, ["--config", config, "pull"])
    assert result.exit_code == 0
    assert "nothing to pull" in result.output
