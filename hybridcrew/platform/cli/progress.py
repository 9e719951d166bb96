"""Live progress of a run (Rich), fed by step events from worker threads."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from hybridcrew.graphs.lifecycle import Event, EventKind
from hybridcrew.routing.decision import REASON_LABELS

STATUS_STYLE = {"queued": "yellow", "running": "cyan", "done": "green", "failed": "red",
                "waiting": "magenta"}


def _step_finished(d: dict[str, Any]) -> str:
    tokens = d["input_tokens"] + d["output_tokens"]
    return (f"{d['key']} done on {d['model']} ({d['location']}): {tokens} tok "
            f"${d['cost_usd']:.4f} {d['seconds']:.1f}s")


RENDERINGS: dict[EventKind, Callable[[dict[str, Any]], str]] = {
    EventKind.RUN_STARTED: lambda d: f"run started ({d.get('workflow', '')} workflow)",
    EventKind.RUN_RESUMED: lambda d: "run resumed"
    + (f" with answer '{d['reply']['choice']}'" if d.get("reply") else ""),
    EventKind.STEP_STARTED: lambda d: f"{d['key']} → {d.get('model') or 'no model'}"
    + (f" ({d['location']})" if d.get("location") else "")
    + (f", {REASON_LABELS.get(d['reasons'][0], d['reasons'][0])}" if d.get("reasons") else ""),
    EventKind.STEP_QUEUED: lambda d: f"{d['key']} waits for a slot on {d['model']}",
    EventKind.STEP_FINISHED: _step_finished,
    EventKind.VERDICT: lambda d: f"{d['part']} {'approved' if d['approved'] else 'rejected'} "
    f"(work of {d['model']})",
    EventKind.CHECKS_RAN: lambda d: f"checks {'pass' if d['ok'] else 'FAIL'}: "
    f"{d['passed']} passed, {d['failed']} failed"
    + (f" (new: {', '.join(d['new_failures'][:3])})" if d.get("new_failures") else "")
    + (f", stopped: {d['stopped']}" if d.get("stopped") else ""),
    EventKind.FEEDBACK: lambda d: f"feedback: {'good' if d['good'] else 'bad'}"
    + (f" ({d['comment']})" if d.get("comment") else ""),
    EventKind.WAITING: lambda d: f"waiting: {d.get('question', 'a human answer')}",
    EventKind.ANSWERED: lambda d: f"answered: {(d.get('reply') or {}).get('choice', '')}",
    EventKind.RUN_FINISHED: lambda d: "finished, "
    + ("approved" if d.get("approved") else "not approved"),
    EventKind.RUN_FAILED: lambda d: f"failed: {d.get('error', '')}",
    EventKind.RUN_BLOCKED: lambda d: f"blocked: {d.get('error', '')}",
    EventKind.RUN_CANCELLED: lambda d: "cancelled",
    EventKind.CALL_FINISHED: lambda d: f"call served by {d['model']} ({d['location']}), "
    f"{d['input_tokens']}+{d['output_tokens']} tokens, ${d['cost_usd']:.4f}",
}
"""One line per kind of event: the live view's caption and ``hybridcrew runs events``."""


def describe(event: Event) -> str:
    """The event as one line of text."""
    return RENDERINGS[event.kind](event.data)


class LiveProgress:
    """A table of steps that updates as events arrive; plain lines when not on a terminal."""

    def __init__(self, console: Console, title: str) -> None:
        self.console, self.title = console, title
        self.rows: dict[str, dict[str, Any]] = {}
        self.spent = 0.0
        self.last = ""
        self._lock = threading.Lock()
        self._live: Live | None = None

    def __enter__(self) -> LiveProgress:
        if self.console.is_terminal:
            self._live = Live(self, console=self.console, refresh_per_second=4, transient=True)
            self._live.start()
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()

    def pause(self) -> None:
        """Stop redrawing (before asking the user a question)."""
        if self._live is not None:
            self._live.stop()

    def unpause(self) -> None:
        """Resume redrawing."""
        if self._live is not None:
            self._live.start()

    def on_event(self, event: Event) -> None:
        """Event listener: update the row of the event's step."""
        data = event.data
        key = data.get("key") or event.node or event.kind
        with self._lock:
            self.last = describe(event)
            row = self.rows.setdefault(key, {"node": event.node, "status": "running"})
            if event.kind == "step_queued":
                row.update(status="queued", model=data.get("model"))
            elif event.kind == "step_started":
                row.update(status="running", agent=data.get("agent"), model=data.get("model"),
                           location=data.get("location"))
            elif event.kind == "step_finished":
                row.update(status="done", model=data["model"], location=data["location"],
                           tokens=data["input_tokens"] + data["output_tokens"],
                           cost=data["cost_usd"], seconds=data["seconds"])
                self.spent += data["cost_usd"]
            else:
                self.rows.pop(key, None)
                return
        if self._live is None and event.kind == "step_finished":
            self.console.print(f"  {key:<14} {data['model']} ({data['location']}) "
                               f"{row['tokens']} tok ${data['cost_usd']:.4f} "
                               f"{data['seconds']:.1f}s", highlight=False)

    def __rich__(self) -> RenderableType:
        table = Table(title=self.title, title_justify="left", expand=False)
        for column in ("step", "agent", "status", "model", "where", "tokens", "cost", "s"):
            table.add_column(column)
        with self._lock:
            for key, row in self.rows.items():
                table.add_row(key, row.get("agent") or "", Text(row["status"], style=STATUS_STYLE
                              .get(row["status"], "")), row.get("model") or "",
                              row.get("location") or "", str(row.get("tokens", "")),
                              f"${row['cost']:.4f}" if "cost" in row else "",
                              f"{row['seconds']:.1f}" if "seconds" in row else "")
            spent, last = self.spent, self.last
        return Group(table, Text(f"spent so far: ${spent:.4f}  ·  {last}", style="dim"))
