"""Step events: persisted in the run store and fanned out to live listeners (progress display)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hybridcrew.platform.store import Event, Store

Listener = Callable[[Event], None]


class EventSink:
    """Where nodes report what they do. Listeners must be quick; they run on the caller's thread."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.listeners: list[Listener] = []

    def emit(self, run_id: str, kind: str, node: str | None = None,
             data: dict[str, Any] | None = None,
             decision: tuple[str, dict[str, Any]] | None = None, **fields: Any) -> None:
        """Persist an event (``data`` and ``fields`` merged) and tell every listener."""
        event = self.store.append_event(run_id, kind, node, {**(data or {}), **fields},
                                        decision)
        self._tell(event)

    def end(self, run_id: str, status: str, summary: dict[str, Any], kind: str,
            data: dict[str, Any]) -> bool:
        """End an active run: final status and terminal event together, told to listeners.

        False when the run had ended already (e.g. cancelled while its last step ran).
        """
        event = self.store.end_run(run_id, status, summary, kind, data)
        if event is None:
            return False
        self._tell(event)
        return True

    def _tell(self, event: Event) -> None:
        for listener in self.listeners:
            listener(event)
