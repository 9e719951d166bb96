"""What a run on a repository needs: context for a step, edits applied, checks run.

A run may target a git repository. Its authors then answer with :class:`Edits` (search and
replace blocks, through the structured-output machinery), which the run's workspace applies
on its own branch; before the review, the repository's checks run and the reviewer sees the
results. The workspace itself (a git worktree, a sandbox, a retrieval index) lives in
``platform/``; this module says what the graph asks of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, Field
from typing_extensions import TypedDict


class Edit(BaseModel):
    """Replace ``search`` (which must occur exactly once) with ``replace`` in ``path``.

    An empty ``search`` creates the file (it must not exist) with ``replace`` as its content.
    """

    path: str = Field(min_length=1, max_length=300, description="relative to the repository")
    search: str = Field(max_length=20_000, description="exact text to replace; empty: new file")
    replace: str = Field(max_length=50_000)


class Edits(BaseModel):
    """An author's answer on a repository: what it changes and why."""

    summary: str = Field(min_length=1, max_length=300)
    edits: list[Edit] = Field(min_length=1, max_length=20)


@dataclass(frozen=True)
class SourceFile:
    """A file offered to a step (already filtered: never ignored, binary or deny-listed)."""

    path: str
    text: str


@dataclass(frozen=True)
class RepoContext:
    """What a step sees of the repository: its map and the files most relevant to the query."""

    map: str
    files: list[SourceFile] = field(default_factory=list)


class CheckRecord(TypedDict):
    """The repository's checks on the run's branch, against the baseline before any change."""

    command: str
    passed: int
    failed: int
    failing: list[str]
    """Names of failing tests (or commands), new since the baseline first."""
    new_failures: list[str]
    """Failing now but not before the crew's changes: what the crew is blamed for."""
    baseline_failed: list[str]
    ok: bool
    """No new failure, and nothing was stopped (time, memory, output limits)."""
    stopped: str | None
    """Why the sandbox stopped a command, if it did."""
    isolation: str
    output: str
    """The end of the output, trimmed."""


class WorkspaceReport(TypedDict):
    """The repository part of a run's report."""

    branch: str
    commit: str
    base: str
    files_changed: int
    insertions: int
    deletions: int
    diffstat: str


class Workspace(Protocol):
    """One run's copy of a repository (its own git worktree and branch)."""

    def context(self, query: str, limit: int) -> RepoContext:
        """The repository map and the files most relevant to ``query``."""

    def apply(self, step_key: str, edits: Edits) -> str | None:
        """Apply one step's edits as one commit; the exact error (nothing applied) if not.

        Applying a step's edits again (a resumed run) changes nothing.
        """

    def diff(self, limit: int) -> str:
        """The branch's changes so far, as a unified diff (at most ``limit`` characters)."""

    def check(self) -> CheckRecord:
        """Run the repository's checks on the branch, in the sandbox."""

    def finish(self, folder: str) -> WorkspaceReport:
        """Write ``patch.diff`` into ``folder``; the branch, its head commit and the diff stat."""


class Workspaces(Protocol):
    """The workspaces of the runs this process drives."""

    def for_run(self, run_id: str) -> Workspace | None:
        """The run's workspace, or None for a run without a repository."""
