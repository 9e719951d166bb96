"""The third-party clients the README's recipes name, where ``.ci/run`` installs them.

Claude Code (npm) and Aider (a virtualenv of its own: its pinned dependencies are not ours) live
under ``.clients/`` of the checkout. Without them a recipe test is skipped, unless
``REQUIRE_TEST_TOOLS`` is set (``.ci/run`` sets it, so CI cannot skip them silently).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CLIENTS = Path(__file__).resolve().parents[2] / ".clients"
CLAUDE_CODE = CLIENTS / "claude-code" / "node_modules" / ".bin" / "claude"
AIDER = CLIENTS / "aider" / "bin" / "aider"


def installed(path: Path) -> Path:
    """``path`` if it exists; otherwise skip the test (or fail it where clients are required)."""
    if path.exists():
        return path
    how = "install it as .ci/run does"
    if os.environ.get("REQUIRE_TEST_TOOLS"):
        pytest.fail(f"{path.relative_to(CLIENTS.parent)} is missing: {how}")
    pytest.skip(f"{path.relative_to(CLIENTS.parent)} is not installed: {how}")
