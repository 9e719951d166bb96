"""The README's main-job line, end to end, on embedded defaults (real llama.cpp tokens)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_main_job() -> list[str]:
    """The command after ``&&`` on the README's set-up line that runs ``hybridcrew``."""
    line = next(ln for ln in README.read_text().splitlines()
                if re.match(r"^pip install .*&& hybridcrew ", ln))
    return shlex.split(line.split("&&", 1)[1])


@pytest.mark.llama
def test_main_job_on_embedded_defaults(isolated_env: Path) -> None:
    command = readme_main_job()
    assert command[:2] == ["hybridcrew", "run"]
    done = subprocess.run([sys.executable, "-m", "hybridcrew", *command[1:], "--json"],
                          capture_output=True, text=True, timeout=900, check=False)
    assert done.returncode in (0, 3), done.stderr  # 3: finished, QA did not approve every part
    result = json.loads(done.stdout)
    assert result["status"] == "finished"
    steps = result["steps"]
    assert {s["node"] for s in steps} >= {"plan", "frontend", "backend", "qa"}
    for step in steps:
        assert step["model"] == "gemma-embedded"
        assert step["location"] == "local"
        assert step["input_tokens"] > 0
        assert step["output_tokens"] > 0, f"{step['key']} produced no tokens"
        assert step["cost_usd"] == 0.0
    totals = result["totals"]
    assert totals["output_tokens"] == sum(s["output_tokens"] for s in steps)
    assert totals["all_cloud_cost_usd"] > 0, "the counterfactual prices the same tokens on Claude"
    assert (Path(result["artifacts_dir"]) / "plan.md").is_file()
