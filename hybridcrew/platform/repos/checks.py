"""A repository's checks: which command runs its tests, and what its output says.

Detected when the registration names none: pytest (``pyproject.toml``, ``setup.cfg``,
``pytest.ini`` or a ``tests/`` folder of Python files), ``npm test`` (a ``test`` script in
``package.json``), ``go test ./...``, ``cargo test``, ``make test``. Results are read from
pytest's and Node's test runner summaries; any other command counts as one check that passes
when it exits 0.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from hybridcrew.platform.repos.sandbox import Outcome

_PYTEST_COUNTS = re.compile(r"(\d+) (passed|failed|error|errors)\b")
_PYTEST_FAILED = re.compile(r"^(?:FAILED|ERROR) (\S+)", re.MULTILINE)
_NODE_COUNT = re.compile(r"^(?:#|\N{INFORMATION SOURCE}) (pass|fail) (\d+)", re.MULTILINE)
_NODE_FAILED = re.compile(r"^\s*not ok \d+ - (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Counts:
    """Tests that passed and failed, and the names of those that failed."""

    passed: int
    failed: int
    failing: tuple[str, ...]


def detect_test_command(root: Path) -> str | None:
    """The command that runs ``root``'s tests, if a known layout says which."""
    if (root / "package.json").is_file():
        try:
            scripts = json.loads((root / "package.json").read_text("utf-8")).get("scripts", {})
        except (ValueError, OSError):
            scripts = {}
        if "test" in scripts:
            return "npm test --silent"
    if any((root / name).is_file() for name in ("pytest.ini", "pyproject.toml", "setup.cfg")) \
            or any((root / "tests").glob("*.py")):
        return "python -m pytest -q -rfE -p no:cacheprovider"
    if (root / "go.mod").is_file():
        return "go test ./..."
    if (root / "Cargo.toml").is_file():
        return "cargo test --offline"
    makefile = root / "Makefile"
    if makefile.is_file() and re.search(r"^test:", makefile.read_text("utf-8", "replace"),
                                        re.MULTILINE):
        return "make test"
    return None


def read_counts(command: str, outcome: Outcome) -> Counts:
    """Passed/failed tests from the output of ``command``."""
    text = outcome.output
    found = _PYTEST_COUNTS.findall(text)
    if found and "pytest" in command:
        passed = sum(int(n) for n, what in found if what == "passed")
        failed = sum(int(n) for n, what in found if what != "passed")
        names = tuple(dict.fromkeys(_PYTEST_FAILED.findall(text)))
        return Counts(passed, failed, names or (() if failed == 0 else (command,)))
    node = dict(_NODE_COUNT.findall(text))
    if node:
        names = tuple(dict.fromkeys(n.strip() for n in _NODE_FAILED.findall(text)))
        failed = int(node.get("fail", 0))
        return Counts(int(node.get("pass", 0)), failed,
                      names or (() if failed == 0 else (command,)))
    ok = outcome.exit_code == 0 and outcome.stopped is None
    return Counts(int(ok), int(not ok), () if ok else (command,))
