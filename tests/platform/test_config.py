"""Configuration: the shipped examples load; every mistake names file, key path, line and fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hybridcrew.errors import ConfigError
from hybridcrew.routing.config import load_config, packaged_default_text, parse_config
from hybridcrew.sensitivity import Sensitivity

REPO = Path(__file__).resolve().parents[2]

VALID = """\
models:
  claude:
    provider: anthropic
    model: claude-sonnet-4-6
    price: {input: 3, output: 15}
    clearance: internal
  local:
    provider: ollama
    model: qwen2.5-coder:7b
agents:
  qa:
    role: QA lead
    model: auto
    candidates: [claude, local]
routing:
  quality_target: 0.8
"""


def test_packaged_default_and_repo_example_load_and_agree() -> None:
    packaged = load_config(None)
    example = load_config(REPO / "hybridcrew.yaml")
    assert (REPO / "hybridcrew.yaml").read_text() == packaged_default_text()
    assert example.document == packaged.document
    assert set(packaged.agents) >= {"cto", "frontend", "backend", "qa"}
    providers = {m.provider for m in packaged.document.models.values()}
    assert providers >= {"anthropic", "ollama", "embedded"}
    assert packaged.catalog["claude-sonnet"].location == "cloud"
    assert packaged.catalog["gemma-embedded"].location == "local"


def test_valid_minimal_config_loads_with_defaults() -> None:
    loaded = parse_config(VALID, "team.yaml")
    assert loaded.policy.quality_target == 0.8
    assert loaded.policy.budgets.run_usd == 5.0
    assert loaded.document.models["local"].clearance is Sensitivity.SECRET
    assert loaded.agents["qa"].privacy is Sensitivity.INTERNAL


def _error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "team.yaml")
    return caught.value


@pytest.mark.parametrize(("change", "expected"), [
    # YAML syntax, with the line
    (("    candidates: [claude, local]", "    candidates: [claude, local"),
     r"team\.yaml:\d+: YAML syntax error.*Fix:"),
    # unknown key, with a suggestion
    (("    model: auto\n", "    model: auto\n    candidate: [claude]\n"),
     r"team\.yaml:14: agents\.qa\.candidate: unknown key 'candidate'\. Fix: did you mean "
     r"'candidates'\?"),
    # wrong type
    (("quality_target: 0.8", "quality_target: high"),
     r"team\.yaml:16: routing\.quality_target: .*valid number.*\. Fix: give a number"),
    # an agent naming a model that does not exist
    (("candidates: [claude, local]", "candidates: [claude, lokal]"),
     r"team\.yaml:14: agents\.qa\.candidates\[1\]: model 'lokal' does not exist\. Fix: did you "
     r"mean 'local'\?"),
    # a negative price
    (("price: {input: 3, output: 15}", "price: {input: -3, output: 15}"),
     r"team\.yaml:5: models\.claude\.price\.input: .*greater than or equal to 0\. Fix: use a "
     r"value that is not negative"),
    # a pinned cloud model on an agent whose privacy exceeds its clearance
    (("    model: auto\n    candidates: [claude, local]\n",
      "    model: claude\n    privacy: confidential\n"),
     r"team\.yaml:13: agents\.qa\.model: pinned model 'claude' has clearance internal but this "
     r"agent's privacy level is confidential\. Fix: pin a model cleared"),
    # unknown provider
    (("provider: ollama", "provider: olama"),
     r"models\.local\.provider: unknown provider 'olama'\. Fix: did you mean 'ollama'\?"),
    # bad sensitivity name
    (("clearance: internal", "clearance: topsecret"),
     r"models\.claude\.clearance: must be one of public, internal, confidential, secret"),
    # auto without candidates
    (("    candidates: [claude, local]\n", ""),
     r"agents\.qa\.candidates: model: auto needs at least one candidate"),
    # missing required key
    (("    role: QA lead\n", ""), r"agents\.qa\.role: required key is missing\. Fix: add it"),
    # quality out of range
    (("    clearance: internal\n", "    clearance: internal\n    quality: {default: 1.5}\n"),
     r"models\.claude\.quality\.default: Input should be less than or equal to 1\. Fix"),
])
def test_each_mistake_yields_one_clear_message(change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in VALID
    message = str(_error(VALID.replace(old, new, 1)))
    assert "Traceback" not in message
    assert re.search(expected, message), message


def test_errors_name_the_key_and_rule_never_the_value() -> None:
    """A value typed at the wrong key may be a credential: it is never echoed back."""
    value = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYzq7R2pL9xW"
    for text in (VALID.replace("quality_target: 0.8", f"quality_target: {value}"),
                 VALID.replace("clearance: internal", f"clearance: {value}", 1)):
        message = str(_error(text))
        assert value not in message
        assert "Fix:" in message


def test_several_mistakes_are_reported_together() -> None:
    text = VALID.replace("input: 3", "input: -1").replace("quality_target: 0.8",
                                                           "quality_target: 2")
    error = _error(text)
    assert len(error.problems) == 2
    assert {p.path for p in error.problems} == {"models.claude.price.input",
                                                "routing.quality_target"}


def test_user_pattern_must_be_re2() -> None:
    text = VALID + "  privacy:\n    patterns:\n      - {name: cust, regex: '(?<=x)CUST'}\n"
    message = str(_error(text))
    assert "routing.privacy.patterns[0].regex" in message
    assert "RE2" in message


def test_missing_file_names_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"file not found\. Fix: create it with `hybridcrew"):
        load_config(tmp_path / "absent.yaml")


def test_not_a_mapping() -> None:
    assert "must be a mapping" in str(_error("- just\n- a list\n"))
