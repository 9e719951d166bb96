"""A run's events in words: one line each, for the CLI's live view and log, and MCP progress."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hybridcrew.graphs.lifecycle import Event, EventKind
from hybridcrew.routing.decision import REASON_LABELS


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
    EventKind.TOOLS_CALLED: lambda d: f"{d['key']} called "
    + ", ".join(f"{c['tool']} ({c['seconds']:.1f}s{'' if c['ok'] else ', failed'})"
                for c in d["calls"])
    + f"; next call on {d.get('model') or 'no model'}"
    + (f" ({d['location']})" if d.get("location") else ""),
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
"""One line per kind of event."""


def describe(event: Event) -> str:
    """The event as one line of text."""
    return RENDERINGS[event.kind](event.data)
