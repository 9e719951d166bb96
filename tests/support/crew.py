"""Scripted crews for tests: real config loader, real graphs, real SQLite; scripted models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from hybridcrew.platform.crew import Crew
from hybridcrew.settings import load_settings
from tests.support.configs import config_from

APPROVE_ALL = {"parts": {"frontend": {"approved": True, "findings": []},
                         "backend": {"approved": True, "findings": []}}}
REJECT_BACKEND = {"parts": {"frontend": {"approved": True, "findings": []},
                            "backend": {"approved": False,
                                        "findings": ["no tests for the limiter"]}}}
BACKEND_CODE = ("Here is the limiter.\n\n`app/limiter.py`\n```python\nclass Limiter:\n"
                "    pass\n```\n")
FRONTEND_CODE = "**web/banner.tsx**\n```tsx\nexport const Banner = () => null;\n```\n"


def scripted(endpoint: str, *, rules: list[dict[str, str]] | None = None, latency: float = 0.0,
             call_log: Path | None = None, slots: int = 4, **fields: Any) -> dict[str, Any]:
    """A scripted model entry on its own endpoint (so it has its own slot gate)."""
    options: dict[str, Any] = {"rules": rules or [], "latency_s": latency}
    if call_log is not None:
        options["call_log"] = str(call_log)
    return {"provider": "scripted", "model": endpoint, "endpoint": endpoint, "slots": slots,
            "options": options, **fields}


def author_rules() -> list[dict[str, str]]:
    return [{"match": "Your part: backend", "reply": BACKEND_CODE},
            {"match": "Your part: frontend", "reply": FRONTEND_CODE}]


def crew_config(*, qa_rules: list[dict[str, str]] | None = None, latency: float = 0.0,
                call_log: Path | None = None, author_slots: int = 4,
                extra_models: dict[str, Any] | None = None,
                agents: dict[str, Any] | None = None,
                routing: dict[str, Any] | None = None) -> dict[str, Any]:
    """The default crew's agents, each pinned to a scripted model."""
    qa = qa_rules if qa_rules is not None else [{"match": "Review round",
                                                 "reply": json.dumps(APPROVE_ALL)}]
    models = {
        "planner": scripted("planner", latency=latency, call_log=call_log, price={"input": 2,
                                                                               "output": 4}),
        "author": scripted("author", rules=author_rules(), latency=latency, call_log=call_log,
                           slots=author_slots),
        "reviewer": scripted("reviewer", rules=qa, latency=latency, call_log=call_log),
        **(extra_models or {}),
    }
    base_agents = {
        "cto": {"role": "You are the CTO.", "model": "planner"},
        "frontend": {"role": "You are a frontend engineer.", "model": "author"},
        "backend": {"role": "You are a backend engineer.", "model": "author"},
        "qa": {"role": "You are the QA lead.", "model": "reviewer"},
    }
    return {"models": models, "agents": {**base_agents, **(agents or {})},
            "routing": routing or {}}


def make_crew(data: dict[str, Any], **crew_options: Any) -> Crew:
    crew = Crew(config_from(data), load_settings(), **crew_options)
    crew.runtime.signals.refresh()
    return crew


def write_config(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path
