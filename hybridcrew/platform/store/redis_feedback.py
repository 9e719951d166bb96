"""What the learned router keeps in Redis: verdict counts, step texts and their judgements."""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from typing import Any, cast

import redis

from hybridcrew.graphs.ports import MAX_OUTCOMES, OUTCOME_CHARS, JudgedStep, StepText
from hybridcrew.platform.store.base import KEPT_S

# A kept step is judged once: its row moves to the judged list (trimmed to the newest).
_JUDGE = """
if redis.call('EXISTS', KEYS[1]) == 0 or redis.call('HEXISTS', KEYS[1], 'success') == 1 then
  return 0
end
redis.call('HSET', KEYS[1], 'success', ARGV[1], 'weight', ARGV[2])
local row = redis.call('HMGET', KEYS[1], 'model', 'agent', 'step', 'text')
redis.call('RPUSH', KEYS[2], cjson.encode({row[1], row[2], row[3], row[4], ARGV[1], ARGV[2]}))
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[3]), -1)
redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


class RedisFeedbackLog(ABC):
    """The router-feedback part of :class:`RedisStore`."""

    r: redis.Redis
    p: str

    @abstractmethod
    def _script(self, name: str, source: str) -> Any:
        """A registered Lua script (provided by the store)."""

    # -- router feedback -----------------------------------------------------------------------

    def record_verdict(self, model: str, agent: str, approved: bool, weight: int = 1) -> None:
        """Count a verdict (two counters, one transaction)."""
        field = json.dumps([model, agent])
        pipe = self.r.pipeline()
        pipe.hincrby(f"{self.p}verdicts:approved", field, int(approved) * weight)
        pipe.hincrby(f"{self.p}verdicts:total", field, weight)
        pipe.execute()

    def verdicts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(model, agent) → (approved, total)."""
        approved = cast(dict[str, str], self.r.hgetall(f"{self.p}verdicts:approved"))
        total = cast(dict[str, str], self.r.hgetall(f"{self.p}verdicts:total"))
        counts: dict[tuple[str, str], tuple[int, int]] = {}
        for field, n in total.items():
            model, agent = json.loads(field)
            counts[(model, agent)] = (int(approved.get(field, 0)), int(n))
        return counts

    def record_step_text(self, run_id: str, key: str, outcome: StepText) -> None:
        """Keep a step's text until it is judged (or for 30 days)."""
        name = f"{self.p}step:{run_id}:{key}"
        pipe = self.r.pipeline()
        pipe.delete(name)
        pipe.hset(name, mapping={"model": outcome.model, "agent": outcome.agent,
                                 "step": outcome.step, "text": outcome.text[:OUTCOME_CHARS]})
        pipe.expire(name, KEPT_S)
        pipe.execute()

    def record_outcome(self, run_id: str, key: str, success: bool, weight: int = 1) -> None:
        """Judge a kept step, once."""
        self._script("judge", _JUDGE)(keys=[f"{self.p}step:{run_id}:{key}", f"{self.p}judged",
                          f"{self.p}judged:total"],
                    args=[int(success), weight, MAX_OUTCOMES, KEPT_S])

    def judged_steps(self) -> list[JudgedStep]:
        """Every judged step kept, oldest first."""
        rows = cast(list[str], self.r.lrange(f"{self.p}judged", 0, -1))
        return [JudgedStep(StepText(model, agent, step, text), success == "1", int(weight))
                for model, agent, step, text, success, weight in map(json.loads, rows)]

    def judged_total(self) -> int:
        """Steps ever judged."""
        return int(cast(str | None, self.r.get(f"{self.p}judged:total")) or 0)
