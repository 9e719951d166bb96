"""``hybridcrew worker``: take runs from the Redis queue and drive them, on any host.

While a run is being driven, a heartbeat keeps its job claimed and the run's lease alive, and
notices a cancellation made through the gateway. A worker killed mid-run stops its heartbeat:
after ``HYBRIDCREW_LEASE_S`` another worker claims the job (or finds the run orphaned) and
resumes the run from its Redis checkpoint (completed steps are not run again; a step in flight
replays its recorded routing decision). SIGTERM stops the worker after the step in flight; the
run is resumed by another worker at once.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from prometheus_client import start_http_server

from hybridcrew.errors import ConfigError
from hybridcrew.platform.crew import Crew
from hybridcrew.platform.metrics import Metrics
from hybridcrew.platform.queue import Job, RunQueue
from hybridcrew.platform.recovery import Recovery
from hybridcrew.routing.config import LoadedConfig
from hybridcrew.settings import Settings

log = logging.getLogger(__name__)


def default_name() -> str:
    """Unique per process: host and pid."""
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """One consumer of the run queue."""

    def __init__(self, config: LoadedConfig, settings: Settings, name: str | None = None) -> None:
        if not settings.redis_url:
            raise ConfigError.single(
                "environment", "HYBRIDCREW_REDIS_URL", "workers need a shared Redis",
                "set HYBRIDCREW_REDIS_URL=redis://HOST:6379/0 (without it, runs execute in "
                "the gateway process)")
        self.name = name or default_name()
        self.crew = Crew(config, settings)
        self.queue = RunQueue(settings.redis_url, settings.lease_s)
        self.heartbeat_s = settings.heartbeat_s
        self.stopping = self.crew.stopping  # set by SIGTERM: no further step or job starts
        # Each worker serves its own /metrics (Prometheus adds the series up across targets).
        self.metrics = Metrics()
        self.metrics.attach(self.crew.runtime, self.crew.events, self.crew.store)
        # One orphan per scan, driven inline: a worker drives one run at a time.
        self.recovery = Recovery(self.crew, self._take_over, self.metrics)
        if settings.metrics_port:
            start_http_server(settings.metrics_port, registry=self.metrics.registry)

    def run(self, max_jobs: int | None = None) -> int:
        """Process jobs until stopped (or ``max_jobs`` are done); returns how many were done."""
        self.crew.runtime.signals.start()
        done = 0
        next_scan = 0.0
        try:
            while not self.stopping.is_set() and (max_jobs is None or done < max_jobs):
                if time.monotonic() >= next_scan:
                    next_scan = time.monotonic() + self.heartbeat_s
                    done += len(self.recovery.scan(limit=1))
                    continue
                job = self.queue.claim(self.name, block_s=1.0)
                if job is not None:
                    self.process(job)
                    done += 1
        finally:
            self.crew.leases.stop()
            self.crew.runtime.signals.stop()
        return done

    def _take_over(self, run_id: str) -> None:
        if (outcome := self.crew.execute(run_id)) is not None:
            log.info("run %s (taken over): %s", run_id, outcome.status)

    def process(self, job: Job) -> None:
        """Drive one run as far as it goes, then acknowledge its job."""
        beating = threading.Event()
        heart = threading.Thread(target=self._heartbeat, args=(job, beating), daemon=True,
                                 name=f"heartbeat-{job.run_id}")
        heart.start()
        try:
            if (outcome := self.crew.execute(job.run_id, job.reply)) is not None:
                log.info("run %s: %s", job.run_id, outcome.status)
        finally:
            beating.set()
            heart.join()
            self.queue.ack(job)

    def _heartbeat(self, job: Job, done: threading.Event) -> None:
        # The run's lease (and cancellations) are the crew's heartbeat; this keeps the job.
        while not done.wait(self.heartbeat_s):
            try:
                self.queue.extend(job, self.name)
            except Exception:  # a missed beat is retried; the job stays ours for a while
                log.exception("heartbeat for run %s failed", job.run_id)
