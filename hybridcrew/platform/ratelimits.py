"""Per-key rate limits of the compatible endpoints: requests and tokens per minute.

Each key counts on its own, against its own limits (``hybridcrew keys create --requests-per-minute
N``) or, where it sets none, the gateway's (``HYBRIDCREW_PROXY_*_PER_MINUTE``). Counted in the
store, per minute window, so every gateway sharing a store (Redis) shares the count. Requests
are counted as they arrive; tokens once a call has been served (input and output), and a key
whose minute is spent is refused until the next one. A refusal says which limit and when to
come back (``Retry-After``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from hybridcrew.errors import HybridCrewError
from hybridcrew.platform.store import KeyLimits, Store

WINDOW_S = 60


class RateLimitExceeded(HybridCrewError):
    """A key made as many calls, or used as many tokens, as it may this minute."""

    def __init__(self, limit: str, retry_after_s: int) -> None:
        self.limit, self.retry_after_s = limit, retry_after_s
        super().__init__(f"this key reached its limit of {limit}; retry in {retry_after_s} s")


class RateLimits:
    """The limits of one gateway's compatible endpoints (0: no limit)."""

    def __init__(self, store: Store, requests_per_minute: int, tokens_per_minute: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.store, self.clock = store, clock
        self.requests, self.tokens = requests_per_minute, tokens_per_minute

    def admit(self, key: str, own: KeyLimits) -> bool:
        """Count a call of ``key``, or refuse it (:class:`RateLimitExceeded`).

        Returns whether the key's tokens are limited (then :meth:`used` counts them).
        """
        requests = self.requests if own.requests_per_minute is None else own.requests_per_minute
        tokens = self.tokens if own.tokens_per_minute is None else own.tokens_per_minute
        window, retry = self._window()
        if tokens and self.store.add_to_window(f"tpm:{key}", window, 0) >= tokens:
            raise RateLimitExceeded(f"{tokens} tokens per minute", retry)
        if requests and self.store.add_to_window(f"rpm:{key}", window, 1) > requests:
            raise RateLimitExceeded(f"{requests} requests per minute", retry)
        return bool(tokens)

    def used(self, key: str, tokens: int) -> None:
        """A served call of ``key``, whose tokens are limited, used ``tokens`` (in and out)."""
        self.store.add_to_window(f"tpm:{key}", self._window()[0], tokens)

    def _window(self) -> tuple[int, int]:
        """This minute's number, and the whole seconds until the next one starts."""
        now = self.clock()
        return int(now // WINDOW_S), max(1, math.ceil(WINDOW_S - now % WINDOW_S))
