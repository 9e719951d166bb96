"""Step events: persisted in the run log and fanned out to live listeners (progress, metrics)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, Protocol

from hybridcrew.graphs.lifecycle import ENDING_EVENT, Event, EventKind, RunStatus
from hybridcrew.graphs.ports import RecordedDecision, RunLog

Listener = Callable[[Event], None]


class Recorder(Protocol):
    """Writes something of its own with an event, in the event's transaction."""

    def active(self) -> bool:
        """Whether it may write anything now (cheap: asked before every event)."""

    def record(self, event: Event) -> None:
        """Write what the event calls for (inside its transaction)."""


class EventSink:
    """Where nodes report what they do. Listeners must be quick; they run on the caller's thread."""

    def __init__(self, log: RunLog) -> None:
        self.log = log
        self.listeners: list[Listener] = []
        self.recorders: list[Recorder] = []
        """Told of each event inside its transaction: what they write commits with it."""
        self._held = threading.local()  # events of this thread's open transaction

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Events and other writes inside commit together (one commit where the store can).

        Listeners hear of the events once they are committed, never before; nothing when the
        block fails. Never ``await`` inside.
        """
        if getattr(self._held, "events", None) is not None:  # nested: part of the outer one
            yield
            return
        held: list[Event] = []
        self._held.events = held
        try:
            with self.log.transaction():
                yield
        finally:
            self._held.events = None
        for event in held:
            self._tell(event)

    def emit(self, run_id: str, kind: EventKind, node: str | None = None,
             data: dict[str, Any] | None = None,
             decision: RecordedDecision | None = None, **fields: Any) -> None:
        """Persist an event (``data`` and ``fields`` merged) and tell every listener."""
        with self._unit():
            event = self.log.append_event(run_id, kind, node, {**(data or {}), **fields},
                                          decision)
            self._appended(event)

    def end(self, run_id: str, status: RunStatus, summary: dict[str, Any],
            data: dict[str, Any]) -> bool:
        """End an active run: final status and its terminal event together, told to listeners.

        False when the run had ended already (e.g. cancelled while its last step ran).
        """
        with self._unit():
            event = self.log.end_run(run_id, status, summary, ENDING_EVENT[status], data)
            if event is None:
                return False
            self._appended(event)
        return True

    def _unit(self) -> AbstractContextManager[None]:
        # With an active recorder, an event and what it writes are one transaction.
        return self.transaction() if any(r.active() for r in self.recorders) else nullcontext()

    def _appended(self, event: Event) -> None:
        for recorder in self.recorders:
            recorder.record(event)
        self._told(event)

    def _told(self, event: Event) -> None:
        held: list[Event] | None = getattr(self._held, "events", None)
        if held is None:
            self._tell(event)
        else:
            held.append(event)

    def _tell(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)
