"""Recorded outcomes: one JSON object per line, checked line by line."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from hybridcrew.documents import choose_from
from hybridcrew.errors import ConfigError, ConfigProblem

MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Outcome:
    """Whether ``model`` succeeded on ``prompt`` for ``agent``."""

    prompt: str
    agent: str
    model: str
    success: bool
    step: str = "default"


def read_outcomes(path: Path, *, models: Collection[str], agents: Collection[str],
                  agent: str | None = None) -> list[Outcome]:
    """Every line of ``path`` as an :class:`Outcome`; all mistakes at once, by line."""
    source = str(path)
    try:
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        raise ConfigError.single(source, "", "cannot read the outcomes file",
                                 "give a readable UTF-8 JSONL file") from None
    if agent is not None and agent not in agents:
        raise ConfigError.single("--agent", "", "not a configured agent",
                                 choose_from(agent, agents))
    found: list[Outcome] = []
    problems: list[ConfigProblem] = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            found.append(_outcome(line, models, agents, agent))
        except ValueError as exc:
            path_key, problem, fix = exc.args
            problems.append(ConfigProblem(path_key, problem, fix, number))
            if len(problems) >= MAX_PROBLEMS:
                break
    if problems:
        raise ConfigError(source, problems)
    if not found:
        raise ConfigError.single(source, "", "no outcomes in the file",
                                 'add lines like {"prompt": "...", "agent": "backend", '
                                 '"model": "qwen-coder", "success": true}')
    return found


def _outcome(line: str, models: Collection[str], agents: Collection[str],
             default_agent: str | None) -> Outcome:
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        raise ValueError("", "not a JSON object", "write one JSON object per line") from None
    if not isinstance(data, dict):
        raise ValueError("", "not a JSON object", "write one JSON object per line")
    prompt, success = data.get("prompt"), data.get("success")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt", "missing or empty", "give the step's prompt as text")
    if not isinstance(success, bool):
        raise ValueError("success", "must be true or false", "give true or false")
    model = data.get("model")
    if model not in models:
        raise ValueError("model", "not a configured model",
                         choose_from(str(model), models) if isinstance(model, str)
                         else "name a model defined under models:")
    agent = data.get("agent", default_agent)
    if agent not in agents:
        raise ValueError("agent", "missing or not a configured agent",
                         "add \"agent\" to the line or pass --agent; use one of: "
                         + ", ".join(sorted(agents)))
    step = data.get("step", "default")
    return Outcome(prompt, str(agent), str(model), success, str(step))
