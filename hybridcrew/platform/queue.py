"""The run queue for scale-out: a Redis stream read by workers through one consumer group.

A worker claims a job, keeps it alive while it works (``extend`` resets the job's idle time),
and acknowledges it when the run stops (finished, failed, waiting for a human, cancelled). A job
left idle longer than the visibility timeout belongs to a worker that died: the next worker to
ask claims it and resumes the run from its Redis checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, cast

import redis

STREAM = "hc:queue:runs"
GROUP = "workers"


@dataclass(frozen=True)
class Job:
    """One queued piece of work: run (or continue) ``run_id``, with ``reply`` if answering."""

    id: str
    run_id: str
    reply: dict[str, str] | None


class RunQueue:
    """Producer and consumer side of the queue."""

    def __init__(self, url: str, visibility_s: float) -> None:
        self.r: redis.Redis = redis.Redis.from_url(url, decode_responses=True)
        self.visibility_ms = int(visibility_s * 1000)
        try:
            self.r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):  # the group exists already: fine
                raise

    def enqueue(self, run_id: str, reply: dict[str, str] | None = None) -> str:
        """Queue a run for the next free worker."""
        return str(self.r.xadd(STREAM, {"run_id": run_id, "reply": json.dumps(reply)}))

    def claim(self, consumer: str, block_s: float) -> Job | None:
        """A job abandoned by a dead worker, else a new one (waiting up to ``block_s``)."""
        _, abandoned, _ = self.r.xautoclaim(STREAM, GROUP, consumer, self.visibility_ms, "0-0",
                                            count=1)
        entries = [e for e in abandoned if e and e[1]]
        if not entries:
            fresh = cast(list[Any], self.r.xreadgroup(GROUP, consumer, {STREAM: ">"}, count=1,
                                                      block=max(1, int(block_s * 1000))))
            entries = fresh[0][1] if fresh else []
        if not entries:
            return None
        job_id, fields = entries[0]
        return Job(job_id, fields["run_id"], json.loads(fields["reply"]))

    def extend(self, job: Job, consumer: str) -> None:
        """Still working on ``job``: reset its idle time so no other worker takes it."""
        self.r.xclaim(STREAM, GROUP, consumer, 0, [job.id], justid=True)

    def ack(self, job: Job) -> None:
        """Done with ``job``."""
        self.r.xack(STREAM, GROUP, job.id)
        self.r.xdel(STREAM, job.id)

    def depth(self) -> int:
        """Jobs not yet acknowledged (waiting or being worked on)."""
        return int(self.r.xlen(STREAM))  # acknowledged jobs are deleted

    def waiting(self) -> int:
        """Jobs no worker has taken yet: the number to scale workers on."""
        pipe = self.r.pipeline(transaction=True)  # both counts at one instant
        pipe.xlen(STREAM)
        pipe.xpending(STREAM, GROUP)
        length, pending = pipe.execute()
        return max(0, int(length) - int(pending["pending"]))

    def close(self) -> None:
        """Release the connection pool."""
        self.r.close()
