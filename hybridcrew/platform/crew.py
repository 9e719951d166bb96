"""Run workflows durably: SQLite checkpoints, interrupts for humans, resume after a crash.

A run is a LangGraph thread whose id is the run id. Every completed step is checkpointed, so
``resume`` continues where the run stopped: after a crash, after a human's answer, or after an
error was fixed. Completed steps never run again and their cost is never counted twice.
"""

from __future__ import annotations

import functools
import logging
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from langgraph.types import Command

from hybridcrew.agents.repos import RepoSpec
from hybridcrew.errors import ConfigError, HybridCrewError, StepBlocked
from hybridcrew.graphs.events import EventSink
from hybridcrew.graphs.library import BUILTIN
from hybridcrew.graphs.lifecycle import ACTIVE_STATUSES, EventKind, RunStatus
from hybridcrew.graphs.ports import DEFAULT_TENANT
from hybridcrew.graphs.steps import CrewContext, ExecutionStopped, RunCancelled
from hybridcrew.platform.checkpoints import open_checkpointer
from hybridcrew.platform.compiled import CompiledWorkflow, CompiledWorkflows
from hybridcrew.platform.idempotency import IdempotencyKey
from hybridcrew.platform.learning import relearn
from hybridcrew.platform.leases import Leases
from hybridcrew.platform.mcp_tools import AgentTools, McpServers
from hybridcrew.platform.memory import VectorMemory
from hybridcrew.platform.memory.vector_cache import vector_cache
from hybridcrew.platform.outcomes import AskHuman, RunOutcome, RunStateError
from hybridcrew.platform.repos.workspace import RepoWorkspaces, open_checkout
from hybridcrew.platform.run_memory import RunMemory
from hybridcrew.platform.runloop import run_loop
from hybridcrew.platform.store import RunRow, Store, open_store
from hybridcrew.platform.store.base import RunOptions
from hybridcrew.platform.store.faults import Faults
from hybridcrew.platform.webhooks import Webhooks
from hybridcrew.routing.config import LoadedConfig
from hybridcrew.routing.runtime import RoutingRuntime
from hybridcrew.sensitivity import Sensitivity
from hybridcrew.settings import Settings

log = logging.getLogger(__name__)


class Crew:
    """Submits, runs, resumes and cancels runs in this process."""

    def __init__(self, config: LoadedConfig, settings: Settings, store: Store | None = None,
                 memory: VectorMemory | None = None) -> None:
        self.config, self.settings = config, settings
        # routing.budgets.on_exceed: ask → a step held back by a budget asks a human.
        self.budget_gate = config.policy.budgets.on_exceed == "ask"
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = store or open_store(settings)
        self.events = EventSink(self.store)
        # Run events of subscribed kinds are queued for webhooks with the event itself.
        self.webhooks = Webhooks(self.store, timeout_s=settings.webhook_timeout_s,
                                 first_retry_s=settings.webhook_first_retry_s,
                                 retry_hours=settings.webhook_retry_hours)
        self.events.recorders.append(self.webhooks)
        self.checkpointer = open_checkpointer(settings)
        # With Redis, local-model slots are shared by every worker (one GPU box, many workers).
        self.runtime = RoutingRuntime(config, settings,
                                      self.store if settings.redis_url else None)
        self.runtime.feedback = self.store.verdicts  # what every process's runs learned
        # The judged steps of every process's runs retrain the learned router (no command).
        self.runtime.relearn = functools.partial(relearn, self.store, settings.data_dir)
        self.runtime.history.update(self.store.verdicts())
        self.cancelled: set[str] = set()
        self.handed_over: set[str] = set()
        self.stopping = threading.Event()
        self.faults = Faults()
        self.leases = Leases(self.store, settings.lease_s, settings.heartbeat_s)
        self.leases.on_lost.append(self.handed_over.add)
        self.leases.on_beat.append(self._notice_cancellations)
        # Repository retrieval ranks by embeddings too, cached under the data dir, when enabled.
        vectors = vector_cache(settings.data_dir) if settings.repo_embeddings else None
        self.workspaces = RepoWorkspaces(settings.data_dir, vectors,
                                         require_isolation=settings.sandbox == "require")
        self.run_memory = RunMemory(settings, memory)
        self.mcp = McpServers(config.document.mcp_servers)
        self.compiled = CompiledWorkflows(config, self.runtime, self.mcp, self.checkpointer,
                                          self._context)
        if any(a.tools for a in config.agents.values()):  # reported now, not at the first step
            problems = run_loop().run(self.mcp.check(config.agents))
            if problems:
                log.warning("%s", ConfigError(config.source, problems))

    @property
    def memory(self) -> VectorMemory | None:
        """Long-term memory, opened on first use; None when off or unavailable (logged)."""
        return self.run_memory.memory

    def workflow(self, name: str, assignments: dict[str, dict[str, Any]] | None = None
                 ) -> CompiledWorkflow:
        """The compiled graph for a workflow: its own agents added, ``assignments`` applied."""
        return self.compiled.get(name, assignments)

    def _context(self, runtime: RoutingRuntime, tools: AgentTools | None) -> CrewContext:
        return CrewContext(runtime, self.store, self.events, self.budget_gate,
                           cancelled=self.cancelled, handed_over=self.handed_over,
                           stopping=self.stopping, workspaces=self.workspaces,
                           repo_files=self.settings.repo_files, toolbox=tools)

    def submit(self, task: str, **options: Any) -> RunRow:
        """Check and register a run (status ``queued``); :meth:`resume` executes it.

        ``options`` are :meth:`new_run`'s.
        """
        row = self.new_run(task, **options)
        self.store.create_run(row)
        return row

    def new_run(self, task: str, *, workflow: str = BUILTIN, labels: list[str] | None = None,
                gate: bool = False, tenant: str = DEFAULT_TENANT,
                assignments: dict[str, dict[str, Any]] | None = None,
                privacy: Sensitivity | None = None, budget_usd: float | None = None,
                repo: RepoSpec | None = None, once: IdempotencyKey | None = None) -> RunRow:
        """Check a run and make its row (status ``queued``), unregistered: :meth:`submit`.

        The agent assignments in force now (persisted overrides, then this run's own) are kept
        with the run, so a resume elsewhere compiles the same graph. ``privacy`` is the least
        sensitivity of everything in the run; ``budget_usd`` replaces the policy's run budget;
        ``repo`` is the git checkout the run changes (on its own branch); ``once`` gives the run
        the id of a client's idempotency key (registering it twice fails: ``RunExists``).
        """
        if not task.strip():
            raise ConfigError.single("task", "", "the task is empty",
                                     'describe the work, e.g. hybridcrew run "Add rate limiting"')
        known = self.config.policy.privacy.labels
        for label in labels or []:
            if label not in known:
                raise ConfigError.single(
                    "labels", label, f"unknown label '{label}'",
                    "use a label defined under routing.privacy.labels"
                    + (f": {', '.join(sorted(known))}" if known else " (none are defined)"))
        if repo is not None:
            open_checkout(repo, "repo", self.settings.data_dir)
        in_force = {**self.store.assignments(), **(assignments or {})}
        # Unknown workflows and bad assignments fail here.
        agents = self.workflow(workflow, in_force).context.runtime.config.agents
        if unknown := sorted(set(assignments or {}) - set(agents)):
            raise ConfigError.single(
                "assignments", "assignments",
                f"{len(unknown)} assignment(s) name an agent the workflow does not have",
                f"assign only its agents: {', '.join(sorted(agents))}")
        # 48 random bits: a busy gateway registers hundreds of runs a second (24 bits clashed).
        run_id = once.run_id if once else f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(6)}"
        folder = self.settings.data_dir / "runs" / run_id
        now = time.time()
        options = RunOptions(labels=labels or [], gate=gate, assignments=in_force,
                             privacy=int(privacy or 0), budget_usd=budget_usd,
                             repo=repo.model_dump() if repo else None)
        if once is not None:
            options["request_digest"] = once.digest
        return RunRow(run_id, task, workflow, RunStatus.QUEUED, now, now, str(folder), options,
                      {}, tenant)

    def start(self, task: str, *, workflow: str = BUILTIN, labels: list[str] | None = None,
              gate: bool = False, answer: AskHuman | None = None,
              repo: RepoSpec | None = None) -> RunOutcome:
        """Submit a run and drive it as far as it goes."""
        row = self.submit(task, workflow=workflow, labels=labels, gate=gate, repo=repo)
        return self.resume(row.id, answer=answer)

    def resume(self, run_id: str, *, reply: dict[str, str] | None = None,
               answer: AskHuman | None = None) -> RunOutcome:
        """Execute a queued run, or continue one, on this process's run loop; wait for it.

        Continue after a crash, or with the ``reply`` to the question the run waits on.
        """
        return run_loop().run(self.aresume(run_id, reply=reply, answer=answer))

    async def aresume(self, run_id: str, *, reply: dict[str, str] | None = None,
                      answer: AskHuman | None = None) -> RunOutcome:
        """:meth:`resume` on the run loop (``answer`` is asked there)."""
        row = self.store.get_run(run_id)
        if row.status == RunStatus.CANCELLED:
            raise RunStateError(run_id, RunStatus.CANCELLED, "a cancelled run cannot be resumed")
        if row.status == RunStatus.FINISHED:
            raise RunStateError(run_id, RunStatus.FINISHED,
                                f"nothing to resume; see `hybridcrew runs show {run_id}`")
        if not self.leases.take(run_id):
            raise RunStateError(run_id, row.status, "another process is executing it; if that "
                                "process died, its runs are taken over automatically within "
                                f"{self.settings.lease_s:g} s (HYBRIDCREW_LEASE_S)")
        self.handed_over.discard(run_id)
        try:
            return await self._resume(row, reply, answer)
        finally:
            self.leases.release(run_id)
            self.workspaces.close(run_id)  # reopened from its files if the run goes on

    async def _resume(self, row: RunRow, reply: dict[str, str] | None, answer: AskHuman | None
                ) -> RunOutcome:
        run_id = row.id
        loaded = self._for(row)
        snapshot = loaded.graph.get_state(_thread(run_id))
        pending = _pending(snapshot)
        if not snapshot.next and snapshot.values.get("report") is not None:
            # Its executor died after the last step, before marking it finished: do that now.
            await self.run_memory.remember(loaded.spec, snapshot.values)
            return self._finish(run_id, row.folder, snapshot.values)
        if pending is not None and reply is None:
            reply = answer(pending) if answer else None
            # Not yet waiting: its executor died before saying so.
            if reply is None and row.status != RunStatus.WAITING:
                return self._wait(run_id, row.folder, pending, snapshot.values)
            if reply is None:
                raise RunStateError(run_id, RunStatus.WAITING,
                                    f"it asks: {pending.get('question')} "
                                    "Answer with --approve, --reject or --local")
        if pending is None and reply is not None:
            raise RunStateError(run_id, row.status, "it is not waiting for an answer; resume "
                                "it without --approve/--reject/--local")
        if not self.store.set_status(run_id, RunStatus.RUNNING):
            ended = self.store.get_run(run_id).status
            raise RunStateError(run_id, ended, "it ended while it was being resumed")
        if repo := row.options.get("repo"):  # its worktree, created by its first executor
            self.workspaces.open(run_id, RepoSpec.model_validate(repo))
        if row.status == RunStatus.QUEUED:
            Path(row.folder).mkdir(parents=True, exist_ok=True)
            self.events.emit(run_id, EventKind.RUN_STARTED, None, task=row.task,
                             workflow=row.workflow, tenant=row.tenant)
        else:
            self.events.emit(run_id, EventKind.RUN_RESUMED, None, reply=reply,
                             workflow=row.workflow, tenant=row.tenant)
            loaded.context.resuming.add(run_id)
        payload: Any = Command(resume=reply) if reply is not None else None
        if not snapshot.values:  # queued, or killed before its first checkpoint: start it
            payload = _initial_state(row) | {"memory": await self.run_memory.recall(row)}
        return await self._drive(run_id, loaded, payload, answer, row.folder)

    def execute(self, run_id: str, reply: dict[str, str] | None = None) -> RunOutcome | None:
        """:meth:`aexecute` on this process's run loop, waited for (a worker's job)."""
        return run_loop().run(self.aexecute(run_id, reply))

    async def aexecute(self, run_id: str, reply: dict[str, str] | None = None
                       ) -> RunOutcome | None:
        """:meth:`aresume` for a background executor (gateway, worker): never raises.

        A run that may not be driven (finished or cancelled meanwhile) is left alone; an
        unexpected error is logged and marks the run failed.
        """
        try:
            return await self.aresume(run_id, reply=reply)
        except RunStateError as exc:
            log.info("run %s not driven: %s", run_id, exc)
        except Exception as exc:  # the run's status says it failed; the log has the details
            log.exception("run %s stopped with an unexpected error", run_id)
            reason = self.faults.record(exc) or "internal error; see the log"
            try:  # failed, not lost: `runs resume` continues it once the cause is fixed
                self.events.end(run_id, RunStatus.FAILED, {"error": reason},
                                {"error": reason})
            except Exception:  # the store itself fails: the lease lapses, recovery retries
                log.exception("could not mark run %s failed", run_id)
        return None

    def cancel(self, run_id: str, tenant: str | None = None) -> RunRow:
        """Stop a queued, running or waiting run; a running step finishes, no further one starts."""
        row = self.store.get_run(run_id, tenant)
        ended = row.status not in ACTIVE_STATUSES or not self.events.end(
            run_id, RunStatus.CANCELLED, {**row.summary, "error": "cancelled"}, {})
        if ended:  # it ended first (maybe a moment ago): the first ending stands
            raise RunStateError(run_id, self.store.get_run(run_id).status,
                                "only queued, running or waiting runs can be cancelled")
        self.cancelled.add(run_id)
        return self.store.get_run(run_id)

    def feedback(self, run_id: str, *, good: bool, comment: str = "",
                 tenant: str | None = None) -> None:
        """A human's judgement of a run: every model that served one of its steps learns."""
        row = self.store.get_run(run_id, tenant)
        steps = self.state(run_id).get("steps", [])
        for model, agent in dict.fromkeys((s["model"], s["agent"]) for s in steps):
            self.store.record_verdict(model, agent, good)
            self.runtime.record_verdict(model, agent, good)
        for step in steps:  # steps no review judged learn from the person's word
            self.store.record_outcome(row.id, step["key"], good)
        self.events.emit(row.id, EventKind.FEEDBACK, None, good=good, comment=comment)

    def _notice_cancellations(self) -> None:
        """Heartbeat task: a run cancelled through another process starts no further step."""
        for run_id in self.leases.held():
            if self.store.get_run(run_id).status == RunStatus.CANCELLED:
                self.cancelled.add(run_id)

    def state(self, run_id: str) -> dict[str, Any]:
        """The checkpointed state of a run (empty before its first step)."""
        return dict(self._for(self.store.get_run(run_id)).graph.get_state(
            _thread(run_id)).values)

    def _for(self, row: RunRow) -> CompiledWorkflow:
        return self.workflow(row.workflow, row.options.get("assignments"))

    async def _drive(self, run_id: str, loaded: CompiledWorkflow, payload: Any,
                     answer: AskHuman | None, folder: str) -> RunOutcome:
        while True:
            try:
                # "sync": each superstep's checkpoint is on disk before the next one starts.
                result = await loaded.graph.ainvoke(payload, _thread(run_id), durability="sync")
            except (RunCancelled, ExecutionStopped) as exc:
                steps = self.state(run_id).get("steps", [])
                status = self.store.get_run(run_id).status
                return RunOutcome(run_id, status, folder, steps=steps, error=str(exc))
            except StepBlocked as exc:
                # Why each candidate was excluded; the most common reason labels the metric.
                whys = [r.why for r in exc.decision.rejected] or ["no_candidates"]
                return self._stop(run_id, folder, RunStatus.BLOCKED, str(exc), {
                    "agent": exc.decision.agent, "reason": max(set(whys), key=whys.count)})
            except HybridCrewError as exc:  # AllCandidatesFailed, InvalidOutput, ...
                return self._stop(run_id, folder, RunStatus.FAILED, str(exc))
            interrupts = result.get("__interrupt__") or []
            if not interrupts:
                await self.run_memory.remember(loaded.spec, result)
                return self._finish(run_id, folder, result)
            question = dict(interrupts[0].value)
            reply = answer(question) if answer else None
            if reply is None:
                return self._wait(run_id, folder, question, result)
            self.events.emit(run_id, EventKind.WAITING, question.get("node"), data=question)
            self.events.emit(run_id, EventKind.ANSWERED, question.get("node"), reply=reply)
            payload = Command(resume=reply)

    def _wait(self, run_id: str, folder: str, question: dict[str, Any],
              state: dict[str, Any]) -> RunOutcome:
        """The run waits for a human's answer to ``question`` (no executor until then)."""
        if not self.store.set_status(run_id, RunStatus.WAITING, {"pending": question}):
            return self._ended(run_id, folder)
        self.events.emit(run_id, EventKind.WAITING, question.get("node"), data=question)
        return RunOutcome(run_id, RunStatus.WAITING, folder, steps=state.get("steps", []),
                          pending=question)

    def _finish(self, run_id: str, folder: str, result: dict[str, Any]) -> RunOutcome:
        report = result["report"]
        if not self.events.end(run_id, RunStatus.FINISHED, report,
                               {"approved": report["approved"], "totals": report["totals"]}):
            return self._ended(run_id, folder)  # cancelled while the last step ran
        return RunOutcome(run_id, RunStatus.FINISHED, folder, report=report, steps=result["steps"])

    def _stop(self, run_id: str, folder: str, status: RunStatus, error: str,
              details: dict[str, Any] | None = None) -> RunOutcome:
        if not self.events.end(run_id, status, {"error": error},
                               {"error": error, **(details or {})}):
            return self._ended(run_id, folder)
        steps = self.state(run_id).get("steps", [])
        return RunOutcome(run_id, status, folder, steps=steps, error=error)

    def _ended(self, run_id: str, folder: str) -> RunOutcome:
        """The outcome of a run someone else ended first (a cancel wins over the last step)."""
        row = self.store.get_run(run_id)
        return RunOutcome(run_id, row.status, folder, steps=self.state(run_id).get("steps", []),
                          error=row.summary.get("error"))


def _initial_state(row: RunRow) -> dict[str, Any]:
    return {"run_id": row.id, "folder": row.folder, "task": row.task,
            "labels": list(row.options.get("labels", [])), "gate": bool(row.options.get("gate")),
            "taint": int(row.options.get("privacy", 0)), "tenant": row.tenant,
            "budget_usd": row.options.get("budget_usd"),
            "generation": 0, "review_done": False, "local_only": False}


def _thread(run_id: str) -> Any:
    return {"configurable": {"thread_id": run_id}, "recursion_limit": 200}


def _pending(snapshot: Any) -> dict[str, Any] | None:
    for task in snapshot.tasks:
        for item in getattr(task, "interrupts", ()):
            return dict(item.value)
    return None


