"""Circuit breakers per endpoint: closed, open after repeated failures, half-open, closed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from hybridcrew.routing.policy import BreakerPolicy


class BreakerState(StrEnum):
    """Standard circuit-breaker states."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass
class _Breaker:
    failures: int = 0
    opened_at: float | None = None


class BreakerBoard:
    """Breaker state for every endpoint; reading a state is pure CPU (no I/O, no waiting)."""

    def __init__(self, policy: BreakerPolicy, clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy
        self.clock = clock
        self._breakers: dict[str, _Breaker] = {}
        self._lock = threading.Lock()

    def state(self, endpoint: str, now: float | None = None) -> BreakerState:
        """CLOSED, OPEN, or HALF_OPEN once the cooldown has passed (one trial is allowed)."""
        breaker = self._breakers.get(endpoint)
        if breaker is None or breaker.opened_at is None:
            return BreakerState.CLOSED
        now = self.clock() if now is None else now
        if now - breaker.opened_at >= self.policy.cooldown_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def record_success(self, endpoint: str) -> None:
        """A call succeeded: the breaker closes."""
        with self._lock:
            self._breakers.pop(endpoint, None)

    def record_failure(self, endpoint: str) -> None:
        """A call failed: open after ``failure_threshold`` in a row, or at once when half-open."""
        with self._lock:
            breaker = self._breakers.setdefault(endpoint, _Breaker())
            now = self.clock()
            half_open = (breaker.opened_at is not None
                         and now - breaker.opened_at >= self.policy.cooldown_s)
            breaker.failures += 1
            if half_open or breaker.failures >= self.policy.failure_threshold:
                breaker.opened_at = now

    def snapshot(self) -> dict[str, BreakerState]:
        """Every endpoint that is not closed, with its state."""
        return {ep: self.state(ep) for ep in list(self._breakers)
                if self.state(ep) is not BreakerState.CLOSED}
