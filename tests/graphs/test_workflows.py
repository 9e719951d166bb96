"""YAML workflows: the shipped ones run; every declaration mistake is caught at load time."""

from __future__ import annotations

import json
import re

import pytest

from hybridcrew.errors import ConfigError
from hybridcrew.graphs.library import available_workflows
from hybridcrew.graphs.workflow import parse_workflow
from hybridcrew.platform.outcomes import EXIT_OK
from hybridcrew.routing.config import parse_config
from tests.support.configs import config_from
from tests.support.crew import crew_config, make_crew

SECURITY_OK = {"parts": {"backend": {"approved": True, "findings": []},
                         "frontend": {"approved": True, "findings": []}}}


def test_shipped_workflows_are_listed() -> None:
    assert available_workflows() == ["delivery", "change", "secure-delivery"]


def test_secure_delivery_runs_with_its_own_security_agent() -> None:
    data = crew_config()
    # The packaged workflow names real models; point its agent at a scripted one instead.
    data["models"]["qwen-coder"] = {"provider": "scripted", "model": "qwen", "endpoint": "q",
                                    "options": {"rules": [{"match": "security problems only",
                                                           "reply": json.dumps(SECURITY_OK)}]}}
    for name in ("claude-haiku", "gemma-embedded"):
        data["models"][name] = {"provider": "scripted", "model": name, "endpoint": name}
    crew = make_crew(data)
    assert "security" not in crew.config.agents, "declared only in the workflow"
    outcome = crew.start("Add rate limiting", workflow="secure-delivery")
    assert outcome.exit_code == EXIT_OK, outcome.error
    keys = [s["key"] for s in outcome.steps]
    assert set(keys) == {"plan@0", "backend@0", "frontend@0", "security@0", "qa@0"}
    security = next(s for s in outcome.steps if s["node"] == "security")
    assert security["agent"] == "security"
    assert security["model"] == "qwen-coder"
    assert set(crew.state(outcome.run_id)["verdicts"]) == {"security", "qa"}


def test_security_findings_reach_the_authors_in_the_next_round() -> None:
    flagged = {"parts": {"backend": {"approved": False, "findings": [
        "SQL built by string concatenation in orders.py"]},
        "frontend": {"approved": True, "findings": []}}}
    qa_reject = {"parts": {"backend": {"approved": False, "findings": ["no tests"]},
                           "frontend": {"approved": True, "findings": []}}}
    data = crew_config(qa_rules=[{"match": "Review round 1", "reply": json.dumps(qa_reject)}])
    data["models"]["qwen-coder"] = {"provider": "scripted", "model": "qwen", "endpoint": "q",
                                    "options": {"rules": [{"match": "Review round 1",
                                                           "reply": json.dumps(flagged)}]}}
    for name in ("claude-haiku", "gemma-embedded"):
        data["models"][name] = {"provider": "scripted", "model": name, "endpoint": name}
    data["models"]["author"]["options"]["rules"].insert(
        0, {"match": "SQL built by string concatenation", "reply": "fixed:\n```python\n"
            "query = sql.bind()\n```\n"})
    crew = make_crew(data)
    outcome = crew.start("Add rate limiting", workflow="secure-delivery")
    rework = next(s for s in outcome.steps if s["key"] == "backend@1")
    assert rework["output_tokens"] > 0
    assert crew.state(outcome.run_id)["results"]["backend"].startswith("fixed:")


GOOD = """\
name: review-chain
nodes:
  plan: {agent: cto, kind: plan}
  backend: {agent: backend, depends_on: [plan]}
  frontend: {agent: frontend, depends_on: [plan]}
  qa:
    agent: qa
    kind: review
    depends_on: [backend, frontend]
    prompt: "Check {backend.result} and {frontend.result} against {plan}."
review: {reviewer: qa, authors: [backend, frontend]}
"""


def config_from_text(text: str) -> object:
    return parse_config(text, "team.yaml")


def _error(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_workflow(text, "flows/team.yaml", config_from(crew_config()))
    return str(caught.value)


def test_a_valid_custom_workflow_loads() -> None:
    spec, _ = parse_workflow(GOOD, "flows/team.yaml", config_from(crew_config()))
    assert spec.parts() == ["backend", "frontend"]
    assert spec.sinks() == ["qa"]


@pytest.mark.parametrize(("old", "new", "expected"), [
    ("depends_on: [plan]}\n  frontend", "depends_on: [plan, qa]}\n  frontend",
     r"flows/team\.yaml:\d+: nodes\.\w+\.depends_on: cycle \w+ -> .* Fix: remove a dependency; "
     r"only a review loop"),
    ("{agent: backend,", "{agent: dba,",
     r"nodes\.backend\.agent: unknown agent 'dba'\. Fix: declare it under agents:"),
    ("{frontend.result}", "{frontend.output}",
     r"nodes\.qa\.prompt: unknown placeholder \{frontend\.output\}"),
    ("{frontend.result}", "{deploy.result}",
     r"nodes\.qa\.prompt: unknown placeholder \{deploy\.result\} \('deploy' is not a node\)"),
    ("reviewer: qa,", "reviewer: lead,", r"review\.reviewer: reviewer 'lead' is not a node"),
    ("review: {reviewer: qa, authors: [backend, frontend]}", "review: {authors: [backend]}",
     r"review\.reviewer: required key is missing"),
    ("depends_on: [backend, frontend]", "depends_on: [backend]",
     r"review\.authors\[1\]: the reviewer does not depend on 'frontend'"),
    ("  plan: {agent: cto, kind: plan}", "  plan: {agent: cto, kind: planning}",
     r"nodes\.plan\.kind: Input should be 'plan', 'implement' or 'review'"),
    ("depends_on: [plan]}\n  frontend", "depends_on: [plann]}\n  frontend",
     r"nodes\.backend\.depends_on\[0\]: unknown node 'plann'"),
    ("  backend: {agent: backend", "  _finish: {agent: backend",
     r"nodes\._finish: invalid node name '_finish'"),
])
def test_mistakes_name_file_node_and_fix(old: str, new: str, expected: str) -> None:
    assert old in GOOD
    message = _error(GOOD.replace(old, new, 1))
    assert re.search(expected, message), message
    assert "flows/team.yaml" in message


@pytest.mark.parametrize("text", ["- plan\n- build\n", "just words\n", ""])
def test_a_workflow_file_that_is_not_a_mapping_says_so_like_the_configuration(text: str
                                                                              ) -> None:
    message = _error(text)
    assert re.search(r"flows/team\.yaml: the file must be a mapping with keys such as name, "
                     r"description, agents, nodes.*\. Fix: ", message), message
    with pytest.raises(ConfigError, match=r"the file must be a mapping with keys such as "
                                          r"models, agents, routing"):
        config_from_text(text)


def test_yaml_syntax_errors_name_the_line_in_workflows_too() -> None:
    message = _error(GOOD.replace("review: {reviewer", "review: {reviewer: [", 1))
    assert re.search(r"flows/team\.yaml:\d+: YAML syntax error", message), message


def test_unknown_workflow_name_lists_the_choices() -> None:
    crew = make_crew(crew_config())
    with pytest.raises(ConfigError, match=r"no such workflow.*delivery, change, secure-delivery"):
        crew.start("x", workflow="deploy-everything")


def test_workflow_from_a_file_runs(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "chain.yaml"
    path.write_text(GOOD)
    crew = make_crew(crew_config())
    outcome = crew.start("Add rate limiting", workflow=str(path))
    assert outcome.exit_code == EXIT_OK
    assert crew.store.get_run(outcome.run_id).workflow == str(path)


def test_workflow_agents_share_the_crews_backends() -> None:
    data = crew_config()
    data["models"]["qwen-coder"] = {"provider": "scripted", "model": "q", "endpoint": "q"}
    for name in ("claude-haiku", "gemma-embedded"):
        data["models"][name] = {"provider": "scripted", "model": name, "endpoint": name}
    crew = make_crew(data)
    runtime = crew.workflow("secure-delivery").context.runtime
    assert "security" in runtime.config.agents
    assert runtime.gate is crew.runtime.gate
    assert runtime.breakers is crew.runtime.breakers
    assert runtime.pool is crew.runtime.pool
    assert runtime.signals is crew.runtime.signals
