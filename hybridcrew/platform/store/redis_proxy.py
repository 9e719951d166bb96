"""What the compatible endpoints keep in Redis: rate windows and conversations' sensitivity."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, cast

import redis

from hybridcrew.platform.store.base import KEPT_S

_RATE_KEPT_S = 180
"""Rate windows are minutes: a counter outlives its window and the next one."""
_RAISE = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
"""


class RedisProxyLog(ABC):
    """The compatible endpoints' part of :class:`RedisStore`."""

    r: redis.Redis
    p: str

    @abstractmethod
    def _script(self, name: str, source: str) -> Any:
        """A registered Lua script (provided by the store)."""

    # -- rate limits ---------------------------------------------------------------------------

    def add_to_window(self, name: str, window: int, amount: int) -> int:
        """``INCRBY`` the window's counter; it expires after two windows' worth of its number."""
        key = f"{self.p}rate:{name}:{window}"
        pipe = self.r.pipeline()
        pipe.incrby(key, amount)
        pipe.expire(key, _RATE_KEPT_S)
        return int(pipe.execute()[0])

    # -- conversations -------------------------------------------------------------------------

    def conversation_taint(self, tenant: str, conversation: str) -> int:
        """The highest sensitivity the conversation has carried (0 when unknown)."""
        return int(cast(str | None, self.r.get(self._conversation(tenant, conversation)))
                   or 0)

    def taint_conversation(self, tenant: str, conversation: str, level: int) -> None:
        """Raise the conversation's sensitivity to at least ``level`` (kept 30 days)."""
        self._script("raise", _RAISE)(keys=[self._conversation(tenant, conversation)],
                                      args=[level, KEPT_S])

    def _conversation(self, tenant: str, conversation: str) -> str:
        return f"{self.p}conversation:{tenant}:{conversation}"
