"""The configuration reference in the README is generated, complete and current."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridcrew.platform.reference import BEGIN, END, main, render, settings_env_names, splice
from hybridcrew.routing.config import CrewConfig

README = Path(__file__).parents[2] / "README.md"


def test_the_readme_reference_is_current() -> None:
    text = README.read_text()
    current = text[text.index(BEGIN):text.index(END) + len(END)]
    assert current == render(), (
        "the configuration reference in README.md is stale: run "
        "`python -m hybridcrew.platform.reference --write README.md`")


def test_every_setting_and_yaml_key_is_documented() -> None:
    reference = render()
    for env in settings_env_names():
        assert f"`{env}`" in reference
    assert "`ANTHROPIC_API_KEY`" in reference  # accepted without the prefix
    for section, model in CrewConfig.model_fields.items():
        assert f"`{section}." in reference, model
    for key in ("models.<name>.price.input", "routing.privacy.patterns[].regex",
                "routing.budgets.daily_usd", "agents.<name>.fallbacks"):
        assert f"`{key}`" in reference


def test_write_replaces_only_the_marked_part(tmp_path: Path) -> None:
    target = tmp_path / "doc.md"
    target.write_text(f"intro\n{BEGIN}\nold\n{END}\noutro\n")
    assert main(["--write", str(target)]) == 0
    assert target.read_text() == f"intro\n{render()}\noutro\n"


def test_missing_markers_are_a_clear_error(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="the markers are missing"):
        splice("no markers", render())
    target = tmp_path / "doc.md"
    target.write_text("no markers\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["--write", str(target)])
    assert exit_info.value.code == 2
    assert "the markers are missing" in capsys.readouterr().err
    assert target.read_text() == "no markers\n", "nothing lost"
