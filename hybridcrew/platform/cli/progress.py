"""Live progress of a run (Rich), fed by step events from worker threads."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from hybridcrew.graphs.lifecycle import Event
from hybridcrew.graphs.narration import describe

STATUS_STYLE = {"queued": "yellow", "running": "cyan", "done": "green", "failed": "red",
                "waiting": "magenta"}


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
