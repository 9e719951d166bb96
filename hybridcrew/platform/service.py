"""The crew as a service for the gateway.

Runs submitted over HTTP execute on this process's run loop, at most ``gateway_workers`` at
once (or go to the Redis queue for workers), orphaned runs are taken over, and event streams
share one feed per run.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from anyio import to_thread

from hybridcrew.agents.repos import RepoSpec
from hybridcrew.errors import ConfigError
from hybridcrew.graphs.library import BUILTIN, available_workflows
from hybridcrew.graphs.lifecycle import RunStatus
from hybridcrew.platform.checkpoints import SqliteCheckpoints
from hybridcrew.platform.crew import Crew
from hybridcrew.platform.idempotency import IdempotencyKey
from hybridcrew.platform.keys import has_active_keys
from hybridcrew.platform.metrics import Metrics
from hybridcrew.platform.outcomes import RunStateError
from hybridcrew.platform.proxy import Proxy
from hybridcrew.platform.recovery import Recovery
from hybridcrew.platform.runloop import run_loop
from hybridcrew.platform.store import RunExists, RunNotFound, RunRow, Store
from hybridcrew.platform.store.sqlite import SqliteStore
from hybridcrew.platform.store.sqlite_wal import WalCheckpointer, database_file
from hybridcrew.platform.streams import EventNotifier, RunFeeds, StreamSlots
from hybridcrew.routing.config import CrewConfig, LoadedConfig
from hybridcrew.settings import Settings

if TYPE_CHECKING:
    from hybridcrew.platform.queue import RunQueue

log = logging.getLogger(__name__)
KEYS_RECHECK_S = 2.0
"""A first key created (or the last one revoked) takes effect within this many seconds."""


class RunService:
    """Submits, answers and cancels runs for the gateway; runs execute on the run loop."""

    def __init__(self, config: LoadedConfig, settings: Settings, store: Store | None = None
                 ) -> None:
        self.config, self.settings = config, settings
        self.crew = Crew(config, settings, store)
        self.store = self.crew.store
        self.proxy = Proxy(self.crew)  # calls through the OpenAI/Anthropic-compatible endpoints
        self.notifier = EventNotifier()
        self.crew.events.listeners.append(self.notifier.publish)
        self.feeds = RunFeeds(self.store, self.notifier, settings.event_poll_s)
        self.stream_slots = StreamSlots(settings.max_streams_per_key)
        self.runs = run_loop()
        self._slots = asyncio.Semaphore(settings.gateway_workers)  # runs executing at once
        # With Redis, runs go to the queue and `hybridcrew worker` processes drive them.
        self.queue: RunQueue | None = None
        if settings.redis_url:
            from hybridcrew.platform.queue import RunQueue  # noqa: PLC0415 - optional extra

            self.queue = RunQueue(settings.redis_url, settings.lease_s)
        self._waiting = 0  # runs handed to the executor that have not started yet
        self.metrics = Metrics()
        self.metrics.attach(self.crew.runtime, self.crew.events, self.store,
                            self.queue.waiting if self.queue is not None else lambda: self._waiting)
        try:  # compiled before the first run arrives
            self.crew.workflow(BUILTIN, self.store.assignments())
        except ConfigError as exc:  # e.g. a stored assignment names a model no longer configured
            log.warning("%s (fix it with PUT /v1/agents/{name})", exc)
        self._driving: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._keys_checked = (0.0, False)
        self._sender: Future[None] | None = None  # sends webhook deliveries
        # Runs whose executor died are taken over here; with Redis, workers do it.
        self.recovery = Recovery(self.crew, self._take_over, self.metrics,
                                 ours=lambda run_id: run_id in self._driving)
        self.wal = WalCheckpointer(self._sqlite_files())

    def start(self) -> None:
        """Refresh signals, send webhooks, take over orphaned runs now and at every heartbeat.

        Runs (and webhook deliveries) execute on the run loop's own thread, not on the loop
        that serves HTTP: their store writes are synchronous, and a write that waits for a lock
        another process holds must not stall every request (the request answers 503 instead).
        """
        self._sender = self.runs.submit(self.crew.webhooks.run())
        self.crew.runtime.signals.start()
        self.wal.start()
        if self.queue is None:
            self.crew.leases.on_beat.append(self._scan)
            threading.Thread(target=self._scan, daemon=True,
                             name="hybridcrew-recovery").start()
        self.crew.leases.start()

    def _scan(self) -> None:
        try:
            self.recovery.scan()
        except Exception as exc:  # noqa: BLE001 - the next heartbeat scans again; say why
            log.warning("recovery scan failed: %s", self.crew.faults.record(exc) or exc)

    async def aclose(self) -> None:
        """Shut down gracefully: no new step starts; steps in flight get the grace period.

        Awaited on the server's event loop, which goes on serving while runs end.

        Runs stopped here keep their checkpoint and lose their lease, so another process (or
        this one, restarted) resumes them; runs still in flight after the grace period are taken
        over once their lease lapses.
        """
        self.crew.stopping.set()  # runs waiting for a slot give their lease back at once
        if self._sender is not None:  # queued deliveries wait in the store for the next start
            self._sender.cancel()
        with self._lock:
            driving = [asyncio.wrap_future(f) for f in self._driving.values()]
        if driving:
            await asyncio.wait(driving, timeout=self.settings.shutdown_grace_s)
        await asyncio.get_running_loop().run_in_executor(None, self._stopped)

    def _stopped(self) -> None:
        self.crew.leases.stop()
        self.crew.runtime.signals.stop()
        self.wal.stop()

    def _sqlite_files(self) -> list[Path]:
        """The SQLite databases this process writes to (none with Redis)."""
        files = [self.store.path] if isinstance(self.store, SqliteStore) else []
        saver = self.crew.checkpointer
        if isinstance(saver, SqliteCheckpoints) and (file := database_file(saver.conn)):
            files.append(file)
        return files

    def submit(self, task: str, tenant: str, **options: Any) -> RunRow:
        """Register a run and queue it for execution."""
        return self._queued(self.crew.submit(task, tenant=tenant, **options))

    async def asubmit(self, task: str, tenant: str, *, repo_name: str | None = None,
                      **options: Any) -> RunRow:
        """:meth:`submit` from the server's loop; ``repo_name`` a repository under ``repos:``.

        The common case costs no hop to a thread and back: the run is checked in place and
        registered in place when the store can write at once (else on a worker thread, see
        :meth:`Store.awrite`). All of it goes to a worker thread when the run names a
        repository (its checkout is checked on disk) or assignments of its own (a workflow may
        be compiled for them), or when runs go to the Redis queue.
        """
        if repo_name is not None:
            options["repo"] = self.repo(repo_name)
        if options.get("repo") is not None or options.get("assignments") or self.queue is not None:
            return await to_thread.run_sync(functools.partial(self.submit, task, tenant,
                                                              **options))
        row = self.crew.new_run(task, tenant=tenant, **options)
        await self.store.awrite(self.store.create_run, row)
        return self._queued(row)

    async def asubmit_once(self, once: IdempotencyKey, task: str, tenant: str, **options: Any
                           ) -> tuple[RunRow, bool]:
        """:meth:`asubmit` under a client's idempotency key: the run, and whether it existed.

        A repeat of the request gets the run the first one registered (whatever became of it),
        looked up before the request is checked: a retry finds its run even after the
        configuration changed (a label or repository it named removed). The key with a
        different request is :class:`KeyReused` (a ConfigError naming the header).
        """
        if (existing := await self._replay(once)) is not None:
            return existing, True
        try:
            return await self.asubmit(task, tenant, once=once, **options), False
        except RunExists:  # another request with the key registered it in the meantime
            row = await self._replay(once)
            if row is None:  # runs are never deleted: the run that took the id is there
                raise
            return row, True

    async def _replay(self, once: IdempotencyKey) -> RunRow | None:
        """The run an earlier request under this key started, if any (KeyReused if it differed)."""
        try:
            row = await self.store.aread(self.store.get_run, once.run_id)
        except RunNotFound:
            return None
        if row.options.get("request_digest") != once.digest:
            raise once.reused()
        return row

    def _queued(self, row: RunRow) -> RunRow:
        # A new run is nobody else's: its lease is taken when it starts (one write less on the
        # request path); a queued run older than a lease may be taken by another gateway.
        self._drive(row.id, lease=False)
        return row

    def repo(self, name: str) -> RepoSpec:
        """A repository registered under ``repos:`` (clients name one; never a path)."""
        spec = self.config.document.repos.get(name)
        if spec is None:
            raise ConfigError.single("request", "repo", "no repository registered under that "
                                     "name", "use one of: " + (", ".join(sorted(
                                         self.config.document.repos)) or "(none registered; "
                                         "add repos: to hybridcrew.yaml)"))
        return spec

    def answer(self, run_id: str, tenant: str, reply: dict[str, str]) -> RunRow:
        """Answer the question a waiting run asks; it continues in the background."""
        row = self.store.get_run(run_id, tenant)
        if row.status != RunStatus.WAITING:
            raise RunStateError(run_id, row.status, "only a waiting run takes an answer")
        self._drive(run_id, reply)
        return row

    def cancel(self, run_id: str, tenant: str) -> RunRow:
        """Cancel a queued, running or waiting run."""
        return self.crew.cancel(run_id, tenant)

    def known_names(self) -> set[str]:
        """Names error texts may show: configured agents, models, labels, workflows and keys."""
        config = self.config.document
        schema = CrewConfig.model_json_schema()
        keys = {k for s in [schema, *schema.get("$defs", {}).values()]
                for k in s.get("properties", {})}
        return {*config.agents, *config.models, *config.routing.privacy.labels,
                *available_workflows(), *keys}

    def auth_required(self) -> bool:
        """Whether any active API key exists (re-read at most every two seconds)."""
        checked_at, required = self._keys_checked
        if time.monotonic() - checked_at > KEYS_RECHECK_S:
            required = has_active_keys(self.store)
            self._keys_checked = (time.monotonic(), required)
        return required

    def auth_known_required(self) -> bool | None:
        """The cached answer of :meth:`auth_required` while fresh, else None (no I/O)."""
        checked_at, required = self._keys_checked
        return required if time.monotonic() - checked_at <= KEYS_RECHECK_S else None

    def _drive(self, run_id: str, reply: dict[str, str] | None = None, *, lease: bool = True
               ) -> None:
        if self.queue is not None:
            self.queue.enqueue(run_id, reply)
            return
        with self._lock:
            if run_id in self._driving:
                raise RunStateError(run_id, RunStatus.RUNNING, "it is being executed already")
        # The lease is taken now, so a refusal is the caller's answer (409), not a log line.
        if lease and not self.crew.leases.take(run_id):
            raise RunStateError(run_id, RunStatus.RUNNING, "another process is executing it")
        self._take_over(run_id, reply)

    def _take_over(self, run_id: str, reply: dict[str, str] | None = None) -> None:
        """Execute a run whose lease this process holds, on the run loop."""
        with self._lock:
            if run_id in self._driving:
                return
            self._waiting += 1
            self._driving[run_id] = self.runs.submit(self._execute(run_id, reply))

    async def _execute(self, run_id: str, reply: dict[str, str] | None) -> None:
        waiting = True
        try:
            async with self._slots:
                with self._lock:
                    self._waiting -= 1
                waiting = False
                if self.crew.stopping.is_set():  # shutting down: leave it to the next process
                    self.crew.leases.release(run_id)  # (a no-op when it was never taken)
                    return
                await self.crew.aexecute(run_id, reply)
        finally:
            with self._lock:
                self._waiting -= int(waiting)
                self._driving.pop(run_id, None)
