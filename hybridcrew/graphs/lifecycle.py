"""A run's life: the statuses it passes through and the events it reports on the way.

A run is ``queued`` until an executor takes it, ``running`` while one drives it, ``waiting``
while a question waits for a human, and ends ``finished``, ``failed``, ``blocked`` or
``cancelled``: each final status is written together with its terminal event. Every event
persists in the run log with a gapless sequence number; its payload has the shape named here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypedDict

from hybridcrew.graphs.state import Served, StepRecord


class RunStatus(StrEnum):
    """Where a run is in its life (the stored and displayed value is the lower-case name)."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    FINISHED = "finished"
    FAILED = "failed"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = frozenset({RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.WAITING})
FINAL_STATUSES = frozenset(set(RunStatus) - ACTIVE_STATUSES)
EXECUTABLE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)
"""Statuses whose run needs an executor; ``waiting`` runs need a human first."""
REOPENABLE_STATUSES = frozenset({RunStatus.FAILED, RunStatus.BLOCKED})
"""Final statuses an explicit resume takes back to ``running``; the others never change."""


class EventKind(StrEnum):
    """What an event reports (the SSE ``event:`` field and the stored kind)."""

    RUN_STARTED = "run_started"
    RUN_RESUMED = "run_resumed"
    STEP_STARTED = "step_started"
    STEP_QUEUED = "step_queued"
    STEP_FINISHED = "step_finished"
    TOOLS_CALLED = "tools_called"
    VERDICT = "verdict"
    CHECKS_RAN = "checks_ran"
    FEEDBACK = "feedback"
    WAITING = "waiting"
    ANSWERED = "answered"
    RUN_FINISHED = "run_finished"
    RUN_FAILED = "run_failed"
    RUN_BLOCKED = "run_blocked"
    RUN_CANCELLED = "run_cancelled"
    CALL_FINISHED = "call_finished"
    """A call through a compatible endpoint was served (logged under ``proxy:<tenant>``)."""


ENDING_EVENT: dict[RunStatus, EventKind] = {
    RunStatus.FINISHED: EventKind.RUN_FINISHED,
    RunStatus.FAILED: EventKind.RUN_FAILED,
    RunStatus.BLOCKED: EventKind.RUN_BLOCKED,
    RunStatus.CANCELLED: EventKind.RUN_CANCELLED,
}
"""The terminal event written with each final status."""
TERMINAL_EVENTS = frozenset(ENDING_EVENT.values())
assert set(ENDING_EVENT) == FINAL_STATUSES


@dataclass(frozen=True)
class Event:
    """One step or run event; ``seq`` counts from 1 within its run, without gaps."""

    run_id: str
    seq: int
    ts: float
    kind: EventKind
    node: str | None
    data: dict[str, Any]


# Payloads, by kind. Stored as JSON: readers cast ``Event.data`` to the kind's shape.

class RunStartedData(TypedDict):
    """``run_started`` and ``run_resumed`` (the latter with the human's ``reply``, if any)."""

    workflow: str
    tenant: str


class StepStartedData(TypedDict):
    """``step_started``: the routing decision the step runs on."""

    key: str
    agent: str
    model: str | None
    location: str | None
    reasons: list[str]
    replayed: bool
    """A resumed step replays the decision recorded before the crash (already counted)."""
    sensitivity: str
    rejected_for: list[str]


class StepQueuedData(TypedDict):
    """``step_queued``: the step waits for a slot of a local model."""

    key: str
    model: str


StepFinishedData = StepRecord
"""``step_finished``: the accounted step."""


class ToolCallData(TypedDict):
    """One tool call of a step: which, how long, whether it gave a result."""

    server: str
    tool: str
    seconds: float
    ok: bool


class ToolsCalledData(TypedDict):
    """``tools_called``: a step's model called tools; where the step's next call goes, and why.

    The next call's decision record is kept under ``<key>#<round>``.
    """

    key: str
    round: int
    calls: list[ToolCallData]
    model: str | None
    location: str | None
    reasons: list[str]
    sensitivity: str


class VerdictData(TypedDict):
    """``verdict``: a reviewer judged one part, evidence about the model that wrote it."""

    part: str
    agent: str
    model: str
    approved: bool


class ChecksRanData(TypedDict):
    """``checks_ran``: a repository's checks ran on the run's branch, before a review."""

    command: str
    passed: int
    failed: int
    new_failures: list[str]
    ok: bool
    stopped: str | None
    isolation: str


class FeedbackData(TypedDict):
    """``feedback``: a human judged the run's result (every step's model learns from it)."""

    good: bool
    comment: str


class RunFinishedData(TypedDict):
    """``run_finished``: whether the review approved everything, and the run's totals."""

    approved: bool
    totals: dict[str, Any]


class RunStoppedData(TypedDict, total=False):
    """``run_failed``, ``run_blocked`` (with the blocked ``agent`` and the main ``reason``)."""

    error: str
    agent: str
    reason: str


class CallFinishedData(Served):
    """``call_finished``: a call through a compatible endpoint was served and accounted."""

    decision_id: str
    tenant: str


EVENT_PAYLOADS: dict[EventKind, type[Any]] = {
    EventKind.RUN_STARTED: RunStartedData,
    EventKind.RUN_RESUMED: RunStartedData,
    EventKind.STEP_STARTED: StepStartedData,
    EventKind.STEP_QUEUED: StepQueuedData,
    EventKind.STEP_FINISHED: StepFinishedData,
    EventKind.TOOLS_CALLED: ToolsCalledData,
    EventKind.VERDICT: VerdictData,
    EventKind.CHECKS_RAN: ChecksRanData,
    EventKind.FEEDBACK: FeedbackData,
    EventKind.WAITING: dict,  # the question asked: its keys depend on the gate
    EventKind.ANSWERED: dict,  # {"reply": the human's answer}
    EventKind.RUN_FINISHED: RunFinishedData,
    EventKind.RUN_FAILED: RunStoppedData,
    EventKind.RUN_BLOCKED: RunStoppedData,
    EventKind.RUN_CANCELLED: RunStoppedData,
    EventKind.CALL_FINISHED: CallFinishedData,
}
"""The payload shape of every kind (documentation for readers; JSON on the wire)."""
