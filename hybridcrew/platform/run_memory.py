"""Long-term memory as runs use it.

Opened on first use, recalled at a run's start and written at its end, off the run loop
(embedding is CPU work).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any, cast

from hybridcrew.graphs.recall import recall, remember
from hybridcrew.graphs.state import CrewState, RecalledItem
from hybridcrew.graphs.workflow import WorkflowSpec
from hybridcrew.platform.memory import VectorMemory, open_memory
from hybridcrew.platform.store import RunRow
from hybridcrew.settings import Settings

log = logging.getLogger(__name__)


class RunMemory:
    """The crew's long-term memory: ``memory`` given, or opened from settings when enabled."""

    def __init__(self, settings: Settings, memory: VectorMemory | None = None) -> None:
        self.settings = settings
        self._memory = memory
        self._wanted = memory is not None or settings.memory
        self._tried = memory is not None or not settings.memory
        self._lock = threading.Lock()

    @property
    def memory(self) -> VectorMemory | None:
        """Long-term memory, opened on first use; None when off or unavailable (logged)."""
        with self._lock:
            if not self._tried:
                self._tried = True
                try:
                    self._memory = open_memory(self.settings)
                except Exception as exc:  # noqa: BLE001 - runs go on without memory, say why
                    log.warning("memory unavailable (%s: %s); runs go on without it. Local "
                                "mode serves one process: for gateways and workers together "
                                "set HYBRIDCREW_QDRANT_URL", type(exc).__name__, exc)
        return self._memory

    async def recall(self, row: RunRow) -> list[RecalledItem]:
        """What earlier runs of the tenant left that bears on this run's task."""
        if not self._wanted or not self.settings.memory_items:
            return []
        # Embedding the task (and opening memory, the first time) is CPU work: off the loop.
        return await asyncio.get_running_loop().run_in_executor(None, self._recall, row)

    async def remember(self, spec: WorkflowSpec, result: dict[str, Any]) -> None:
        """Keep a finished run's plan, artifacts and findings for later runs."""
        if self._wanted:  # embeds the run's artifacts: off the loop
            await asyncio.get_running_loop().run_in_executor(None, self._remember, spec,
                                                             result)

    def _recall(self, row: RunRow) -> list[RecalledItem]:
        memory = self.memory
        if memory is None:
            return []
        try:
            return recall(memory, row.task, row.tenant, row.id, self.settings.memory_items)
        except Exception:  # memory helps a run; it must not stop one
            log.exception("recall for run %s failed; it goes on without memory", row.id)
            return []

    def _remember(self, spec: WorkflowSpec, result: dict[str, Any]) -> None:
        memory = self.memory
        if memory is None:
            return
        try:
            remember(memory, spec, cast(CrewState, result))
        except Exception:  # the run is done; only later runs lose this memory
            log.exception("could not remember run %s", result.get("run_id"))
