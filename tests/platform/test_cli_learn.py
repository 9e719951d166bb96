"""``route train``, ``route eval`` and ``route status`` on recorded outcomes."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
from typer.testing import CliRunner

from hybridcrew.platform.cli import app
from hybridcrew.settings import load_settings
from tests.support.crew import scripted, write_config
from tests.support.ports import free_port
from tests.support.processes import hybridcrew, kill, serve, until

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def _cli(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    return result.exit_code, result.stdout, result.stderr


def _setup(tmp_path: Path, questions: int = 40) -> tuple[str, Path]:
    models = {"mixtral-8x7b": scripted("local"),
              "gpt-4": {**scripted("cloud"), "location": "cloud", "clearance": "internal"}}
    config = write_config(tmp_path / "crew.yaml", {
        "models": models, "agents": {"solver": {"role": "You solve maths problems.",
                                                "model": "auto",
                                                "candidates": ["mixtral-8x7b", "gpt-4"]}}})
    lines = (ROOT / "benchmarks/routing_data/gsm8k-outcomes.jsonl").read_text().splitlines()
    outcomes = tmp_path / "outcomes.jsonl"
    outcomes.write_text("\n".join(lines[: 2 * questions]) + "\n")
    return str(config), outcomes


def test_train_writes_a_versioned_state_that_status_and_eval_read(tmp_path: Path) -> None:
    config, outcomes = _setup(tmp_path)
    code, out, err = _cli("--config", config, "route", "status")
    assert "nothing learned yet" in out
    code, out, err = _cli("--config", config, "route", "train", str(outcomes), "--agent",
                          "solver")
    assert code == 0, err
    assert "learned router version 1 from 80 outcomes" in out
    state = load_settings().data_dir / "router" / "learned.json"
    assert json.loads(state.read_text())["version"] == 1
    code, out, _ = _cli("--config", config, "route", "train", str(outcomes), "--agent", "solver")
    assert "learned router version 2 from 80 outcomes" in out

    code, out, _ = _cli("--config", config, "route", "status")
    assert code == 0
    assert "mixtral-8x7b" in out
    assert "gpt-4" in out

    plot = tmp_path / "curves.png"
    code, out, err = _cli("--config", config, "route", "eval", str(outcomes), "--agent",
                          "solver", "--local", "mixtral-8x7b", "--cloud", "gpt-4",
                          "--plot", str(plot))
    assert code == 0, err
    assert "40 prompts · learned (version 2)" in out
    for ranking in ("router", "random", "oracle"):
        assert ranking in out
    assert "calibration error (local estimates)" in out
    assert "what each routing.quality_target gives on these prompts" in out
    shares = [int(m[1]) for m in re.finditer(r"(?m)^\W*(?:0\.50|0\.85|1\.00)\W+(\d+)%", out)]
    assert len(shares) == 3, out
    assert shares == sorted(shares, reverse=True), "a higher target keeps less local"
    assert shares[0] > shares[-1], "the target decides: 0.5 keeps more local than 1.0"
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_lines_are_named_by_line_with_the_fix(tmp_path: Path) -> None:
    config, _ = _setup(tmp_path)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "2+2?", "model": "gpt-4", "success": true}\n'
                   'not json\n'
                   '{"prompt": "3+3?", "model": "gpt-5", "success": true, "agent": "solver"}\n'
                   '{"prompt": "", "model": "gpt-4", "success": "yes", "agent": "solver"}\n')
    code, _, err = _cli("--config", config, "route", "train", str(bad))
    assert code == 2
    assert f"{bad}:1: agent: missing or not a configured agent" in err
    assert f"{bad}:2: not a JSON object. Fix: write one JSON object per line" in err
    assert f"{bad}:3: model: not a configured model" in err
    assert "gpt-5" not in err, "the submitted value is not echoed"
    assert f"{bad}:4: prompt: missing or empty" in err
    code, _, err = _cli("--config", config, "route", "train", str(bad), "--agent", "cto")
    assert code == 2
    assert "--agent: not a configured agent" in err
    assert "'cto'" not in err, "the submitted value is not echoed"


def test_a_training_in_one_process_reaches_the_decisions_of_a_running_gateway(
        tmp_path: Path) -> None:
    config, outcomes = _setup(tmp_path, questions=60)
    # The local model failed every one of these questions; the cloud model solved them.
    lines = [json.loads(line) for line in outcomes.read_text().splitlines()]
    outcomes.write_text("".join(json.dumps({**row, "success": row["model"] == "gpt-4"}) + "\n"
                                for row in lines))
    port = free_port()
    gateway = serve(Path(config), port, env={"HYBRIDCREW_PROBE_INTERVAL_S": "0.2"})
    try:
        question = {"agent": "solver", "prompt": lines[0]["prompt"]}
        url = f"http://127.0.0.1:{port}/v1/route/explain"
        before = httpx.post(url, json=question).json()["estimates"]
        trainer = hybridcrew(Path(config), "route", "train", str(outcomes), "--agent", "solver")
        assert trainer.wait(timeout=120) == 0

        def learned() -> bool:
            return httpx.post(url, json=question).json()["estimates"]["mixtral-8x7b"] < 0.3

        until(learned, "the gateway to route on the state the CLI trained", process=gateway)
        assert before["mixtral-8x7b"] > 0.3
    finally:
        kill(gateway)
