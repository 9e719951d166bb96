"""Step events: persisted in the run log and fanned out to live listeners (progress, metrics)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hybridcrew.graphs.lifecycle import ENDING_EVENT, Event, EventKind, RunStatus
from hybridcrew.graphs.ports import RecordedDecision, RunLog

Listener = Callable[[Event], None]


class EventSink:
    """Where nodes report what they do. Listeners must be quick; they run on the caller's thread."""

    def __init__(self, log: RunLog) -> None:
        self.log = log
        self.listeners: list[Listener] = []

    def emit(self, run_id: str, kind: EventKind, node: str | None = None,
             data: dict[str, Any] | None = None,
             decision: RecordedDecision | None = None, **fields: Any) -> None:
        """Persist an event (``data`` and ``fields`` merged) and tell every listener."""
        event = self.log.append_event(run_id, kind, node, {**(data or {}), **fields}, decision)
        self._tell(event)

    def end(self, run_id: str, status: RunStatus, summary: dict[str, Any],
            data: dict[str, Any]) -> bool:
        """End an active run: final status and its terminal event together, told to listeners.

        False when the run had ended already (e.g. cancelled while its last step ran).
        """
        event = self.log.end_run(run_id, status, summary, ENDING_EVENT[status], data)
        if event is None:
            return False
        self._tell(event)
        return True

    def _tell(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)
