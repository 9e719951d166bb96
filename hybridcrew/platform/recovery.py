"""Take over runs whose executor is gone: on start, then at every lease heartbeat.

A gateway or worker that dies leaves its runs ``queued`` or ``running`` with a lease that is no
longer renewed. Once the lease has lapsed, the first live process to look takes the lease and
drives the run: a queued run starts, a running one resumes from its last checkpoint (completed
steps are not run again; a step that was in flight replays its recorded routing decision and
is charged once). Waiting runs are left for their human.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from hybridcrew.platform.crew import Crew
from hybridcrew.platform.metrics import Metrics

log = logging.getLogger(__name__)


class Recovery:
    """Finds orphaned runs and hands each one, with its lease taken, to ``take_over``."""

    def __init__(self, crew: Crew, take_over: Callable[[str], None],
                 metrics: Metrics | None = None, ours: Callable[[str], bool] | None = None
                 ) -> None:
        self.crew, self.take_over, self.metrics = crew, take_over, metrics
        self.ours = ours or (lambda _: False)
        """Runs this process already has in hand (queued on its own pool): not orphans."""

    def scan(self, limit: int = 500) -> list[str]:
        """Take over up to ``limit`` orphaned runs; returns their ids."""
        if self.crew.stopping.is_set():
            return []
        orphans = [r for r in self.crew.store.orphaned_runs(
            stale_after_s=self.crew.settings.lease_s) if not self.ours(r.id)]
        if self.metrics is not None:
            self.metrics.orphaned.set(len(orphans))
        taken: list[str] = []
        for row in orphans:
            if len(taken) >= limit or self.crew.stopping.is_set():
                break
            if not self.crew.leases.take(row.id):
                continue  # another process was quicker
            log.warning("run %s was %s without an executor: taking it over", row.id, row.status)
            if self.metrics is not None:
                self.metrics.recovered.labels(row.status).inc()
            taken.append(row.id)
            self.take_over(row.id)
        return taken
