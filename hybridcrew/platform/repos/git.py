"""The git command line, as the repository code calls it."""

from __future__ import annotations

import subprocess
from pathlib import Path

IDENTITY = ("-c", "user.name=hybridcrew", "-c", "user.email=hybridcrew@localhost",
            "-c", "commit.gpgsign=false")
"""Commits on a run's branch are hybridcrew's, whatever the machine's git configuration."""


def git(root: Path, *args: str) -> str:
    """``git -C root ARGS``'s output; raises ``CalledProcessError`` when it fails."""
    # A fixed program; paths come from the operator's registration or the data dir.
    return subprocess.run(["git", "-C", str(root), *args], check=True,  # noqa: S603, S607
                          capture_output=True, text=True).stdout


def git_ok(root: Path, *args: str) -> bool:
    """Whether ``git -C root ARGS`` succeeds."""
    return subprocess.run(["git", "-C", str(root), *args],  # noqa: S603, S607
                          capture_output=True, check=False).returncode == 0
