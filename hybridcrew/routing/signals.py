"""Live signals the router reads: backend health, GPU headroom, queues, spend, QA history.

A :class:`Signals` value is an immutable snapshot. The :class:`SignalHub` refreshes it in a
background thread (probes do I/O) and swaps it in atomically, so a decision never waits.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from hybridcrew.routing.gpu import GpuState

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """Whether a model's backend answered its last probe; ``up=None`` means not probed yet."""

    up: bool | None
    detail: str = ""
    fix: str = ""


UNKNOWN = Health(None, "not probed yet")


@dataclass(frozen=True)
class Signals:
    """One consistent view of the world for routing decisions."""

    health: Mapping[str, Health] = field(default_factory=dict)
    gpu: GpuState = field(default_factory=GpuState)
    queue_depth: Mapping[str, int] = field(default_factory=dict)
    budget_left_usd: float | None = None
    history: Mapping[tuple[str, str], tuple[int, int]] = field(default_factory=dict)
    taken_at: float = 0.0

    def health_of(self, model: str) -> Health:
        """Health of a model (UNKNOWN if never probed)."""
        return self.health.get(model, UNKNOWN)

    def replace(self, **changes: object) -> Signals:
        """A copy with some fields changed (what-if analysis, tests)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


class SignalHub:
    """Holds the current snapshot and refreshes it off the hot path."""

    def __init__(self, collect: Callable[[], Signals], interval_s: float,
                 initial: Signals | None = None) -> None:
        self._collect = collect
        self.interval_s = interval_s
        self._current = initial or Signals()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def current(self) -> Signals:
        """The latest snapshot (an atomic reference read)."""
        return self._current

    def refresh(self) -> Signals:
        """Collect now (blocking I/O) and publish the result."""
        snapshot = self._collect()
        self._current = dataclasses.replace(snapshot, taken_at=time.time())
        return self._current

    def start(self) -> None:
        """Refresh in a daemon thread every ``interval_s`` seconds."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="hybridcrew-signals", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the background refresh."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # a failed probe round must not kill the refresher
                log.exception("signal refresh failed; keeping the previous snapshot")
            self._stop.wait(self.interval_s)
