"""The shared store: Redis, for several gateways and workers on several hosts.

Layout (every key under one prefix): a hash per run with sorted-set indexes by tenant and status;
a list per run's events, whose length after ``RPUSH`` is the event's sequence number (atomic, no
gaps); a hash of decisions per run written with ``HSETNX`` in the same transaction; budgets as
float counters changed by a script that checks the cap; slots as a sorted set of holders scored by
expiry, judged on the server's clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any, cast

import redis
from redis.typing import EncodableT, FieldT

from hybridcrew.graphs.lifecycle import (
    ACTIVE_STATUSES,
    EXECUTABLE_STATUSES,
    REOPENABLE_STATUSES,
    Event,
    EventKind,
    RunStatus,
)
from hybridcrew.graphs.ports import (
    RecordedDecision,
)
from hybridcrew.platform.store.base import (
    LEASE_PREFIX,
    ApiKey,
    KeyLimits,
    Role,
    RunExists,
    RunNotFound,
    RunRow,
    Store,
)
from hybridcrew.platform.store.redis_feedback import RedisFeedbackLog
from hybridcrew.platform.store.redis_proxy import RedisProxyLog
from hybridcrew.platform.store.redis_webhooks import RedisWebhookLog
from hybridcrew.routing.decision import DecisionRecord


def _lua_any(statuses: frozenset[RunStatus]) -> str:
    return " or ".join(f"old == '{s}'" for s in sorted(statuses))


# Keys are derived inside the scripts from the run hash: fine on one Redis (not on a cluster).
# Final statuses never change, except failed/blocked back to running (an explicit resume);
# ARGV[5] = '1' ends the run: only an active one, with its terminal event (ARGV[6]) appended.
_SET_STATUS = f"""
local old = redis.call('HGET', KEYS[1], 'status')
if not old then return 0 end
local active = {_lua_any(ACTIVE_STATUSES)}
local reopen = ({_lua_any(REOPENABLE_STATUSES)}) and ARGV[2] == '{RunStatus.RUNNING}'
if not active and (ARGV[5] == '1' or not reopen) then return 0 end
local id = redis.call('HGET', KEYS[1], 'id')
local tenant = redis.call('HGET', KEYS[1], 'tenant')
local created = redis.call('HGET', KEYS[1], 'created_at')
local p = ARGV[1]
redis.call('ZREM', p .. 'runs:s:' .. old, id)
redis.call('ZREM', p .. 'runs:t:' .. tenant .. ':s:' .. old, id)
redis.call('ZADD', p .. 'runs:s:' .. ARGV[2], created, id)
redis.call('ZADD', p .. 'runs:t:' .. tenant .. ':s:' .. ARGV[2], created, id)
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated_at', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'summary', ARGV[4]) end
if ARGV[5] == '1' then return redis.call('RPUSH', KEYS[2], ARGV[6]) end
return 1
"""
_SPEND = """
if ARGV[3] ~= '' and redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return 1 end
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[2] ~= '' and spent + tonumber(ARGV[1]) > tonumber(ARGV[2]) + 1e-12 then return 0 end
redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
if ARGV[3] ~= '' then redis.call('SADD', KEYS[2], ARGV[3]) end
return 1
"""
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2])
then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  return 1
end
return 0
"""
_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local kept = {}
for _, key in ipairs(KEYS) do
  local expires = redis.call('ZSCORE', key, ARGV[1])
  if expires and tonumber(expires) > now then
    redis.call('ZADD', key, now + tonumber(ARGV[2]), ARGV[1])
    table.insert(kept, key)
  end
end
return kept
"""
_IN_USE = """
local t = redis.call('TIME')
return redis.call('ZCOUNT', KEYS[1], '(' .. (tonumber(t[1]) + tonumber(t[2]) / 1e6), '+inf')
"""


class RedisStore(RedisFeedbackLog, RedisProxyLog, RedisWebhookLog, Store):
    """The shared backend (``HYBRIDCREW_REDIS_URL``)."""

    def __init__(self, url: str, prefix: str = "hc:") -> None:
        self.url, self.p = url, prefix
        self.r: redis.Redis = redis.Redis.from_url(url, decode_responses=True)
        self._set_status = self.r.register_script(_SET_STATUS)
        self._spend = self.r.register_script(_SPEND)
        self._acquire = self.r.register_script(_ACQUIRE)
        self._in_use = self.r.register_script(_IN_USE)
        self._renew = self.r.register_script(_RENEW)
        self._scripts: dict[str, Any] = {}

    def _script(self, name: str, source: str) -> Any:
        if name not in self._scripts:
            self._scripts[name] = self.r.register_script(source)
        return self._scripts[name]

    # -- runs --------------------------------------------------------------------------------

    def create_run(self, run: RunRow) -> None:
        """Register a new run with its index entries, in one transaction."""
        fields: dict[Any, str] = {"id": run.id, "task": run.task, "workflow": run.workflow,
                  "status": run.status, "created_at": repr(run.created_at),
                  "updated_at": repr(run.updated_at), "folder": run.folder,
                  "options": json.dumps(run.options), "summary": json.dumps(run.summary),
                  "tenant": run.tenant}
        if not self.r.hsetnx(self._run_key(run.id), "id", run.id):
            raise RunExists(run.id)
        pipe = self.r.pipeline()
        pipe.hset(self._run_key(run.id), mapping=fields)
        for index in (f"{self.p}runs", f"{self.p}runs:s:{run.status}",
                      f"{self.p}runs:t:{run.tenant}",
                      f"{self.p}runs:t:{run.tenant}:s:{run.status}"):
            pipe.zadd(index, {run.id: run.created_at})
        pipe.execute()

    def set_status(self, run_id: str, status: RunStatus, summary: dict[str, Any] | None = None
                   ) -> bool:
        """Update status, indexes and summary atomically, unless the run has ended."""
        return bool(self._set_status(keys=[self._run_key(run_id), self._events_key(run_id)],
                                     args=[self.p, status, repr(time.time()),
                                           "" if summary is None else json.dumps(summary),
                                           "0", ""]))

    def end_run(self, run_id: str, status: RunStatus, summary: dict[str, Any], kind: EventKind,
                data: dict[str, Any]) -> Event | None:
        """Final status and terminal event in one script, only for an active run."""
        ts = time.time()
        seq = int(self._set_status(
            keys=[self._run_key(run_id), self._events_key(run_id)],
            args=[self.p, status, repr(ts), json.dumps(summary), "1",
                  json.dumps({"ts": ts, "kind": kind, "node": None, "data": data})]))
        return Event(run_id, seq, ts, kind, None, data) if seq else None

    def get_run(self, run_id: str, tenant: str | None = None) -> RunRow:
        """One run, or :class:`RunNotFound`."""
        fields = cast(dict[str, str], self.r.hgetall(self._run_key(run_id)))
        if not fields or (tenant is not None and fields["tenant"] != tenant):
            raise RunNotFound(run_id)
        return _run(fields)

    def list_runs(self, *, tenant: str | None = None, status: RunStatus | None = None,
                  limit: int = 50, offset: int = 0) -> list[RunRow]:
        """Most recent first, from the matching index."""
        index = f"{self.p}runs" + (f":t:{tenant}" if tenant else "") + (
            f":s:{status}" if status else "")
        ids = cast(list[str], self.r.zrevrange(index, offset, offset + limit - 1))
        pipe = self.r.pipeline()
        for run_id in ids:
            pipe.hgetall(self._run_key(run_id))
        return [_run(f) for f in pipe.execute() if f]

    def _run_key(self, run_id: str) -> str:
        return f"{self.p}run:{run_id}"

    def _events_key(self, run_id: str) -> str:
        return f"{self.p}events:{run_id}"

    # -- events and decisions ------------------------------------------------------------------

    def append_event(self, run_id: str, kind: EventKind, node: str | None, data: dict[str, Any],
                     decision: RecordedDecision | None = None) -> Event:
        """``RPUSH`` gives the sequence number; the decision rides in the same transaction."""
        ts = time.time()
        pipe = self.r.pipeline()
        pipe.rpush(self._events_key(run_id),
                   json.dumps({"ts": ts, "kind": kind, "node": node, "data": data}))
        if decision is not None:
            pipe.hsetnx(f"{self.p}decisions:{run_id}", decision[0], json.dumps(decision[1]))
        seq = int(pipe.execute()[0])
        return Event(run_id, seq, ts, kind, node, data)

    def events(self, run_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        """Events with ``seq > after``, in order."""
        stop = -1 if limit is None else after + limit - 1
        items = cast(list[str], self.r.lrange(self._events_key(run_id), after, stop))
        events = []
        for seq, item in enumerate(items, start=after + 1):
            e = json.loads(item)
            events.append(Event(run_id, seq, e["ts"], EventKind(e["kind"]), e["node"], e["data"]))
        return events

    def decision(self, run_id: str, step_key: str) -> DecisionRecord | None:
        """The recorded decision of a step, if any."""
        raw = cast(str | None, self.r.hget(f"{self.p}decisions:{run_id}", step_key))
        return cast(DecisionRecord, json.loads(raw)) if raw else None

    def record_decision(self, run_id: str, step_key: str, decision: DecisionRecord) -> None:
        """Keep a decision no event carries; the first write wins."""
        self.r.hsetnx(f"{self.p}decisions:{run_id}", step_key, json.dumps(decision))

    # -- budgets ----------------------------------------------------------------------------------

    def spend(self, scope: str, amount_usd: float, cap_usd: float | None = None,
              charge_id: str | None = None) -> bool:
        """Check the charge id and the cap, and add, in one script."""
        done = self._spend(keys=[f"{self.p}budget:{scope}", f"{self.p}charges:{scope}"],
                           args=[repr(amount_usd), "" if cap_usd is None else repr(cap_usd),
                                 charge_id or ""])
        return bool(done)

    def spent(self, scope: str) -> float:
        """What ``scope`` has spent so far."""
        raw = cast(str | None, self.r.get(f"{self.p}budget:{scope}"))
        return float(raw) if raw else 0.0

    # -- agent assignment overrides --------------------------------------------------------------

    def set_assignment(self, agent: str, assignment: dict[str, Any]) -> None:
        """Persist an agent's assignment."""
        self.r.hset(f"{self.p}assignments", agent, json.dumps(assignment))

    def assignments(self) -> dict[str, dict[str, Any]]:
        """Every persisted override."""
        raw = cast(dict[str, str], self.r.hgetall(f"{self.p}assignments"))
        return {agent: json.loads(value) for agent, value in raw.items()}

    # -- API keys ------------------------------------------------------------------------------

    def add_key(self, key: ApiKey) -> None:
        """Store a new key."""
        pipe = self.r.pipeline()
        pipe.hset(f"{self.p}key:{key.id}", mapping={
            "id": key.id, "digest": key.digest, "tenant": key.tenant, "role": key.role,
            "name": key.name, "created_at": repr(key.created_at),
            "revoked_at": "" if key.revoked_at is None else repr(key.revoked_at),
            **_limit_fields(key.limits)})
        pipe.zadd(f"{self.p}keys", {key.id: key.created_at})
        pipe.execute()

    def get_key(self, key_id: str) -> ApiKey | None:
        """A key by id."""
        fields = cast(dict[str, str], self.r.hgetall(f"{self.p}key:{key_id}"))
        return _key(fields) if fields else None

    def list_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Keys, oldest first."""
        pipe = self.r.pipeline()
        for key_id in cast(list[str], self.r.zrange(f"{self.p}keys", 0, -1)):
            pipe.hgetall(f"{self.p}key:{key_id}")
        keys = [_key(f) for f in pipe.execute() if f]
        return [k for k in keys if tenant is None or k.tenant == tenant]

    def revoke_key(self, key_id: str, at: float) -> bool:
        """Revoke a key (the first revocation time stays)."""
        key = self.get_key(key_id)
        if key is None:
            return False
        if key.revoked_at is None:
            self.r.hset(f"{self.p}key:{key_id}", "revoked_at", repr(at))
        return True

    def set_key_limits(self, key_id: str, limits: KeyLimits) -> bool:
        """Replace a key's own rate limits."""
        if not self.r.exists(f"{self.p}key:{key_id}"):
            return False
        self.r.hset(f"{self.p}key:{key_id}", mapping=_limit_fields(limits))
        return True

    # -- local model slots ------------------------------------------------------------------------

    def acquire_slot(self, name: str, holder: str, limit: int, ttl_s: float) -> bool:
        """Take a slot if fewer than ``limit`` live holders have one."""
        return bool(self._acquire(keys=[f"{self.p}slot:{name}"],
                                  args=[holder, limit, repr(ttl_s)]))

    def release_slot(self, name: str, holder: str) -> None:
        """Give a slot back."""
        self.r.zrem(f"{self.p}slot:{name}", holder)

    def slots_in_use(self, name: str) -> int:
        """Live holders of ``name``."""
        return int(self._in_use(keys=[f"{self.p}slot:{name}"]))

    # -- run leases: one round trip each for renewal and for the orphan scan --------------------

    def renew_leases(self, run_ids: Iterable[str], owner: str, ttl_s: float) -> set[str]:
        """Extend every live lease of ``owner`` among ``run_ids`` in one script."""
        keys = [self._lease_key(r) for r in run_ids]
        if not keys:
            return set()
        kept = cast(list[str], self._renew(keys=keys, args=[owner, repr(ttl_s)]))
        return {k.removeprefix(self._lease_key("")) for k in kept}

    def orphaned_runs(self, stale_after_s: float, limit: int = 500) -> list[RunRow]:
        """Runs from the status indexes, each with its lease count, in one pipeline."""
        ids = [i for status in EXECUTABLE_STATUSES
               for i in cast(list[str], self.r.zrange(f"{self.p}runs:s:{status}", 0, limit - 1))]
        pipe = self.r.pipeline(transaction=False)
        for run_id in ids:
            pipe.hgetall(self._run_key(run_id))
            pipe.zcount(self._lease_key(run_id), f"({time.time()}", "+inf")
        answers = pipe.execute()
        cutoff = time.time() - stale_after_s
        rows = [_run(f) for f, leases in zip(answers[::2], answers[1::2], strict=True)
                if f and not leases]
        orphans = [r for r in rows if r.status == RunStatus.RUNNING or (
            r.status == RunStatus.QUEUED and r.updated_at < cutoff)]
        return sorted(orphans, key=lambda r: r.created_at)[:limit]

    def _lease_key(self, run_id: str) -> str:
        return f"{self.p}slot:{LEASE_PREFIX}{run_id}"

    # -- lifecycle ---------------------------------------------------------------------------------

    def ping(self) -> None:
        """One write: readiness means the store can write (a read-only replica cannot)."""
        self.r.set(f"{self.p}health", repr(time.time()))

    def close(self) -> None:
        """Release the connection pool."""
        self.r.close()


def _run(f: dict[str, str]) -> RunRow:
    return RunRow(f["id"], f["task"], f["workflow"], RunStatus(f["status"]), float(f["created_at"]),
                  float(f["updated_at"]), f["folder"], json.loads(f["options"]),
                  json.loads(f["summary"]), f["tenant"])


def _key(f: dict[str, str]) -> ApiKey:
    rpm, tpm = f.get("requests_per_minute"), f.get("tokens_per_minute")
    return ApiKey(f["id"], f["digest"], f["tenant"], cast(Role, f["role"]), f["name"],
                  float(f["created_at"]), float(f["revoked_at"]) if f["revoked_at"] else None,
                  KeyLimits(int(rpm) if rpm else None, int(tpm) if tpm else None))


def _limit_fields(limits: KeyLimits) -> dict[FieldT, EncodableT]:
    """A key's limits as hash fields ("" when it keeps the gateway's)."""
    return {name: "" if value is None else str(value)
            for name, value in (("requests_per_minute", limits.requests_per_minute),
                                ("tokens_per_minute", limits.tokens_per_minute))}
