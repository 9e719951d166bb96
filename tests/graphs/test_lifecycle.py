"""The run vocabulary: statuses and event kinds are one closed set, and everyone handles all.

Metrics, the progress view and ``runs events`` each handle every kind; a real run reports each
event in the shape :data:`~hybridcrew.graphs.lifecycle.EVENT_PAYLOADS` documents.
"""

from __future__ import annotations

import json
from typing import is_typeddict

from hybridcrew.graphs.lifecycle import (
    ACTIVE_STATUSES,
    ENDING_EVENT,
    EVENT_PAYLOADS,
    FINAL_STATUSES,
    TERMINAL_EVENTS,
    EventKind,
    RunStatus,
)
from hybridcrew.graphs.narration import RENDERINGS, describe
from hybridcrew.platform.metrics import Metrics
from tests.support.crew import APPROVE_ALL, REJECT_BACKEND, crew_config, make_crew

TASK = "Add rate limiting to the orders API"


def test_every_event_kind_has_a_metrics_handler_a_rendering_and_a_payload_shape() -> None:
    assert set(Metrics().handlers) == set(EventKind)
    assert set(RENDERINGS) == set(EventKind)
    assert set(EVENT_PAYLOADS) == set(EventKind)


def test_statuses_split_into_active_and_final_and_each_ending_has_its_event() -> None:
    assert set(RunStatus) == ACTIVE_STATUSES | FINAL_STATUSES
    assert not ACTIVE_STATUSES & FINAL_STATUSES
    assert set(ENDING_EVENT) == FINAL_STATUSES
    assert {EventKind(f"run_{status}") for status in FINAL_STATUSES} == TERMINAL_EVENTS


def test_a_run_reports_every_event_in_its_documented_shape() -> None:
    qa = [{"match": "Review round 1", "reply": json.dumps(REJECT_BACKEND)},
          {"match": "Review round 2", "reply": json.dumps(APPROVE_ALL)}]
    # One author slot and some latency: frontend and backend queue for it.
    crew = make_crew(crew_config(qa_rules=qa, latency=0.2, author_slots=1))
    outcome = crew.start(TASK, gate=True,
                         answer=lambda question: {"choice": "approve", "comment": "ok"})
    assert outcome.status == RunStatus.FINISHED
    crew.feedback(outcome.run_id, good=True, comment="works")
    events = crew.store.events(outcome.run_id)
    # Checks run on repository runs only (tests/platform/repos); the other endings elsewhere;
    # calls through the compatible endpoints are logged apart (tests/platform/api); tool calls
    # where agents have tools (tests/platform/test_mcp_tools.py).
    assert {e.kind for e in events} == set(EventKind) - {
        EventKind.RUN_RESUMED, EventKind.RUN_FAILED, EventKind.RUN_BLOCKED,
        EventKind.RUN_CANCELLED, EventKind.CHECKS_RAN, EventKind.CALL_FINISHED,
        EventKind.TOOLS_CALLED}
    metrics = Metrics()
    for event in events:
        assert isinstance(event.kind, EventKind)
        shape = EVENT_PAYLOADS[event.kind]
        if is_typeddict(shape):
            missing = shape.__required_keys__ - set(event.data)
            assert not missing, f"{event.kind} lacks {sorted(missing)}"
        assert describe(event)
        metrics.observe(event)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[-2].kind == ENDING_EVENT[RunStatus.FINISHED]
