"""What driving a run yields: where it stands, its exit code, and why it may not be driven."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hybridcrew.errors import HybridCrewError
from hybridcrew.graphs.lifecycle import RunStatus
from hybridcrew.graphs.state import Report, StepRecord

EXIT_OK, EXIT_FAILED, EXIT_NOT_APPROVED, EXIT_WAITING = 0, 1, 3, 4

AskHuman = Callable[[dict[str, Any]], dict[str, str] | None]
"""Given an interrupt's question, return ``{"choice": ..., "comment": ...}``, or None to leave
the run waiting."""


@dataclass
class RunOutcome:
    """Where a run stands after this process worked on it."""

    run_id: str
    status: RunStatus
    folder: str
    report: Report | None = None
    steps: list[StepRecord] = field(default_factory=list)
    pending: dict[str, Any] | None = None
    error: str | None = None

    @property
    def exit_code(self) -> int:
        """0 approved, 3 finished but not approved, 4 waiting for a human, 1 failed/blocked."""
        if self.status == RunStatus.FINISHED:
            return EXIT_OK if self.report and self.report["approved"] else EXIT_NOT_APPROVED
        return EXIT_WAITING if self.status == RunStatus.WAITING else EXIT_FAILED


class RunStateError(HybridCrewError):
    """The run is not in a state that allows this (e.g. resuming a finished run)."""

    def __init__(self, run_id: str, status: RunStatus, detail: str) -> None:
        self.run_id, self.status = run_id, status
        super().__init__(f"run {run_id} is {status}: {detail}")
