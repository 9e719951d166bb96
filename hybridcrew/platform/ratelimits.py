"""Per-key rate limits of the compatible endpoints: requests and tokens per minute.

Counted in the store, per minute window, so every gateway sharing a store (Redis) shares the
count. Requests are counted as they arrive; tokens once a call has been served (input and
output), and a key whose minute is spent is refused until the next one. A refusal says which
limit and when to come back (``Retry-After``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from hybridcrew.errors import HybridCrewError
from hybridcrew.platform.store import Store

WINDOW_S = 60


class RateLimitExceeded(HybridCrewError):
    """A key made as many calls, or used as many tokens, as it may this minute."""

    def __init__(self, limit: str, retry_after_s: int) -> None:
        self.limit, self.retry_after_s = limit, retry_after_s
        super().__init__(f"this key reached its limit of {limit} (HYBRIDCREW_PROXY_"
                         f"{'REQUESTS' if 'requests' in limit else 'TOKENS'}_PER_MINUTE); "
                         f"retry in {retry_after_s} s")


class RateLimits:
    """The limits of one gateway's compatible endpoints (0: no limit)."""

    def __init__(self, store: Store, requests_per_minute: int, tokens_per_minute: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock
        self.requests, self.tokens = requests_per_minute, tokens_per_minute

    def admit(self, key: str) -> None:
        """Count a call of ``key``, or refuse it (:class:`RateLimitExceeded`)."""
        window, retry = self._window()
        if self.tokens and self.store.add_to_window(f"tpm:{key}", window, 0) >= self.tokens:
            raise RateLimitExceeded(f"{self.tokens} tokens per minute", retry)
        if self.requests and self.store.add_to_window(f"rpm:{key}", window, 1) > self.requests:
            raise RateLimitExceeded(f"{self.requests} requests per minute", retry)

    def used(self, key: str, tokens: int) -> None:
        """A served call of ``key`` used ``tokens`` (in and out)."""
        if self.tokens:
            self.store.add_to_window(f"tpm:{key}", self._window()[0], tokens)

    def _window(self) -> tuple[int, int]:
        """This minute's number, and the whole seconds until the next one starts."""
        now = self.clock()
        return int(now // WINDOW_S), max(1, math.ceil(WINDOW_S - now % WINDOW_S))
