"""The command line: explain (single, what-if, batch), models, doctor, init, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hybridcrew.platform.cli import app
from hybridcrew.routing.config import packaged_default_text

runner = CliRunner()
SECRET = "use ghp_" + "a1B2c3D4e5" * 4 + " to push the fix"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.stdout, result.stderr


def explain_json(*args: str) -> dict[str, object]:
    code, out, err = run("route", "explain", "--json", *args)
    assert code == 0, err
    return json.loads(out)  # type: ignore[no-any-return]


def test_explain_on_a_fresh_machine_uses_the_embedded_model() -> None:
    code, out, _ = run("route", "explain", "--agent", "backend", "--prompt",
                       "Add rate limiting to the orders API")
    assert code == 0
    assert "gemma-embedded" in out
    assert "provider_down" in out
    assert "85% of the best candidate's" in out, "the target is relative to the best"


def test_explain_json_fields_and_no_secret_in_output() -> None:
    data = explain_json("--agent", "cto", "--prompt", SECRET, "--signal", "anthropic=up")
    assert data["location"] == "local"
    assert data["sensitivity"] == "secret"
    assert data["findings"][0]["detector"] == "github_token"  # type: ignore[index]
    assert "ghp_" not in json.dumps(data)
    assert {r["why"] for r in data["rejected"]} >= {"privacy"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(("signals", "model", "why"), [
    (["anthropic=up"], "claude-sonnet", None),
    (["anthropic=up", "budget_left_usd=0.001"], "gemma-embedded", "budget"),
    (["ollama=up", "gpu_free_gb=3"], "gemma-embedded", "gpu_full"),
    (["ollama=up", "gpu_free_gb=12"], "qwen-coder", None),
    (["ollama=up", "gpu_free_gb=1", "gpu_loaded=qwen-coder"], "qwen-coder", None),
    (["ollama=up", "queue_depth.ollama=9"], "gemma-embedded", "queue_full"),
    (["ollama=up", "queue_depth=9"], None, "queue_full"),
])
def test_what_if_signals(signals: list[str], model: str | None, why: str | None) -> None:
    args = [a for s in signals for a in ("--signal", s)]
    step = "plan" if "anthropic=up" in signals else "implement"
    agent = "cto" if "anthropic=up" in signals else "backend"
    data = explain_json("--agent", agent, "--step", step, "--prompt", "Plan the work", *args)
    assert data["model"] == model
    if why:
        assert why in {r["why"] for r in data["rejected"]}  # type: ignore[attr-defined]


def test_batch_outputs_one_decision_per_line_in_order(tmp_path: Path) -> None:
    batch = tmp_path / "corpus.jsonl"
    lines = [{"agent": "qa", "prompt": "Review the diff"},
             {"agent": "backend", "prompt": SECRET},
             {"agent": "cto", "prompt": "Plan it", "step": "plan"}]
    batch.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    code, out, err = run("route", "explain", "--batch", str(batch), "--signal", "anthropic=up")
    assert code == 0, err
    decisions = [json.loads(line) for line in out.splitlines()]
    assert [d["agent"] for d in decisions] == ["qa", "backend", "cto"]
    assert decisions[1]["location"] == "local"
    assert decisions[2]["model"] == "claude-sonnet"


@pytest.mark.parametrize(("args", "message"), [
    (["--agent", "cto", "--prompt", "x", "--signal", "gpu=lots"], "unknown signal 'gpu'"),
    (["--agent", "cto", "--prompt", "x", "--signal", "anthropic=maybe"], "takes up or down"),
    (["--agent", "cto", "--prompt", "x", "--signal", "gpu_free_gb=-1"], "must not be negative"),
    (["--agent", "cto", "--prompt", "x", "--signal", "novalue"], "expected KEY=VALUE"),
    (["--agent", "ceo", "--prompt", "x"], "agent: not a configured agent"),
    (["--prompt", "x"], "missing --agent"),
    (["--agent", "cto"], "exactly one of --prompt and --prompt-file"),
    (["--agent", "cto", "--prompt-file", "nope.txt"], "cannot read"),
])
def test_bad_input_is_a_clear_error_not_a_traceback(args: list[str], message: str) -> None:
    code, out, err = run("route", "explain", *args)
    assert code == 2
    assert message in err
    assert "Fix:" in err
    assert "Traceback" not in out + err


def test_bad_batch_line_names_file_and_line(tmp_path: Path) -> None:
    batch = tmp_path / "b.jsonl"
    batch.write_text('{"agent": "qa", "prompt": "ok"}\n{"agent": "qa"}\n')
    code, out, err = run("route", "explain", "--batch", str(batch))
    assert code == 2
    assert f"{batch}:2" in err
    assert out == "", "nothing is printed before the whole batch validates"


def test_config_error_exit_code_and_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(packaged_default_text().replace("claude-haiku, gemma-embedded]",
                                                   "claude-haiku, gemma-embeded]", 1))
    code, _, err = run("--config", str(bad), "models")
    assert code == 2
    assert "agents.frontend.candidates[2]: model 'gemma-embeded' does not exist" in err, (
        "messages are printed literally, not as markup")


def test_models_lists_availability_and_prices() -> None:
    code, out, _ = run("models", "--json")
    data = json.loads(out)
    by_name = {m["name"]: m for m in data["models"]}
    assert code == 0
    assert by_name["gemma-embedded"]["up"] is True
    assert by_name["claude-sonnet"]["up"] is False
    assert by_name["claude-sonnet"]["price_per_mtok"] == {"input": 3.0, "output": 15.0}
    assert data["gpu"]["free_gb"] is None
    code, out, _ = run("models")
    assert code == 0
    assert "ANTHROPIC_API_KEY" in out
    assert "GPU: unknown" in out


def test_doctor_says_what_is_missing_and_how_to_fix_it() -> None:
    code, out, _ = run("doctor")
    assert code == 0, "the embedded model is enough to work"
    assert "ollama serve" in out
    assert "ANTHROPIC_API_KEY" in out
    assert "not configured (optional)" in out


def test_init_writes_an_editable_copy_and_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "hybridcrew.yaml"
    assert run("init", str(target))[0] == 0
    assert target.read_text() == packaged_default_text()
    code, _, err = run("init", str(target))
    assert code == 2
    assert "--force" in err
    assert run("init", str(target), "--force")[0] == 0


def test_local_config_file_is_picked_up(isolated_env: Path) -> None:
    (isolated_env / "hybridcrew.yaml").write_text(
        packaged_default_text().replace("quality_target: 0.85", "quality_target: 0.1"))
    data = explain_json("--agent", "qa", "--prompt", "Review", "--signal", "anthropic=up")
    assert data["quality_target"] == 0.1
