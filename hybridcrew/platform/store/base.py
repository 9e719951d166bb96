"""The store: shared short-term state behind one interface.

Runs, their events and routing decisions, budgets with atomic spend, router feedback (QA
verdicts per model and agent), agent assignment overrides, API keys, and a semaphore for local
model slots. The SQLite backend serves one machine; the Redis backend serves many workers. Both
pass one conformance suite (``tests/platform/store``).
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, ParamSpec, TypedDict, TypeVar

from anyio import to_thread

from hybridcrew.errors import HybridCrewError
from hybridcrew.graphs.lifecycle import Event, EventKind, RunStatus
from hybridcrew.graphs.ports import DEFAULT_TENANT, JudgedStep, RecordedDecision, StepText
from hybridcrew.platform.store.webhooks import WebhookLog
from hybridcrew.routing.decision import DecisionRecord

LEASE_PREFIX = "run-lease:"
Role = Literal["admin", "operator", "viewer"]
ROLES: tuple[Role, ...] = ("admin", "operator", "viewer")


class RunNotFound(HybridCrewError):
    """No run with that id (or not one the caller's tenant may see)."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run '{run_id}' (list runs with `hybridcrew runs list`)")


class RunExists(HybridCrewError):
    """A run with that id is registered already: nothing was written."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"a run '{run_id}' exists already (submit it again for a new id)")


class WouldWait(Exception):
    """The write lock is taken (another thread or process): nothing was written."""


class RunOptions(TypedDict, total=False):
    """How a run was asked for, kept with it so a resume anywhere runs it the same way.

    Runs stored by earlier versions may lack keys: readers give each its default.
    """

    labels: list[str]
    gate: bool
    """Wait for a human before the final report."""
    assignments: dict[str, dict[str, Any]]
    """Agent → model assignment in force when the run was submitted."""
    privacy: int
    """The least sensitivity of everything in the run."""
    budget_usd: float | None
    repo: dict[str, Any] | None
    """The repository the run changes (a :class:`~hybridcrew.agents.repos.RepoSpec`)."""
    request_digest: str
    """SHA-256 of the request that started it under an idempotency key (only then)."""


@dataclass(frozen=True)
class RunRow:
    """A run as stored."""

    id: str
    task: str
    workflow: str
    status: RunStatus
    created_at: float
    updated_at: float
    folder: str
    options: RunOptions
    summary: dict[str, Any]
    tenant: str = DEFAULT_TENANT


@dataclass(frozen=True)
class KeyLimits:
    """A key's own rate limits on the compatible endpoints; ``None`` keeps the gateway's."""

    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None


@dataclass(frozen=True)
class ApiKey:
    """An API key as stored: only the SHA-256 of its secret part is kept."""

    id: str
    digest: str
    tenant: str
    role: Role
    name: str
    created_at: float
    revoked_at: float | None = None
    limits: KeyLimits = KeyLimits()


KEPT_S = 30 * 24 * 3600
"""How long the Redis store keeps records that would otherwise grow without end: conversations'
taint, webhook deliveries, learning outcomes."""

P = ParamSpec("P")
T = TypeVar("T")


class Store(WebhookLog, ABC):
    """Every backend keeps these promises; the conformance suite checks them."""

    local_reads: ClassVar[bool] = False
    """Reads are answered on this machine without waiting on writers (SQLite in WAL mode)."""

    async def aread(self, read: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call one of this store's reads from an event loop.

        In place when reads are local (tens of microseconds, less than a hop to a thread and
        back); on a worker thread when they cross the network, so a slow server never stalls
        the loop.
        """
        if self.local_reads:
            return read(*args, **kwargs)
        return await to_thread.run_sync(functools.partial(read, *args, **kwargs))

    async def awrite(self, write: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Call ``write`` from an event loop: what it writes commits as one transaction.

        In place when the backend can begin that transaction without waiting (SQLite: neither
        another thread of this process nor another process is writing); otherwise on a worker
        thread, which waits for the lock as long as the backend's writes do, so a lock held
        elsewhere never stalls the loop. ``write`` runs once: the attempt in place gives up
        before calling it.
        """
        try:
            transaction = self.begin_without_waiting()
        except WouldWait:
            return await to_thread.run_sync(functools.partial(self._in_transaction, write,
                                                              *args, **kwargs))
        with transaction:
            return write(*args, **kwargs)

    def begin_without_waiting(self) -> AbstractContextManager[None]:
        """A transaction begun now, or :class:`WouldWait` if that needs waiting for a lock.

        The default (a network store): always :class:`WouldWait`, since even an uncontended
        write waits for a round trip.
        """
        raise WouldWait

    def _in_transaction(self, write: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        with self.transaction():
            return write(*args, **kwargs)

    # -- runs --------------------------------------------------------------------------------

    @abstractmethod
    def create_run(self, run: RunRow) -> None:
        """Register a new run; :class:`RunExists` if its id is taken (the stored run stays)."""

    @abstractmethod
    def set_status(self, run_id: str, status: RunStatus, summary: dict[str, Any] | None = None
                   ) -> bool:
        """Update a run's status (and its summary when given); False if the run has ended.

        Terminal states are final: ``finished`` and ``cancelled`` never change again, and
        ``failed`` or ``blocked`` only go back to ``running`` (an explicit resume).
        """

    @abstractmethod
    def end_run(self, run_id: str, status: RunStatus, summary: dict[str, Any], kind: EventKind,
                data: dict[str, Any]) -> Event | None:
        """Give an active run its final ``status`` and terminal event, in one transaction.

        None (and nothing written) when the run had ended already: a run has one terminal
        event, and whoever ends it first (a cancel, the last step) wins.
        """

    @abstractmethod
    def get_run(self, run_id: str, tenant: str | None = None) -> RunRow:
        """One run; :class:`RunNotFound` if unknown or (with ``tenant``) another tenant's."""

    @abstractmethod
    def list_runs(self, *, tenant: str | None = None, status: RunStatus | None = None,
                  limit: int = 50, offset: int = 0) -> list[RunRow]:
        """Most recent first, optionally one tenant's and one status's."""

    def transaction(self) -> AbstractContextManager[None]:
        """Writes made inside commit together, as one commit, where the backend can.

        SQLite commits them all or none. Redis writes each at once (every write is atomic on
        its own), so this is the default: nothing to batch. Never ``await`` inside: the
        transaction belongs to the calling thread.
        """
        return nullcontext()

    # -- events and decisions ------------------------------------------------------------------

    @abstractmethod
    def append_event(self, run_id: str, kind: EventKind, node: str | None, data: dict[str, Any],
                     decision: RecordedDecision | None = None) -> Event:
        """Append an event with the next sequence number of its run.

        ``decision`` is saved atomically with the event, first write wins: a step's routing
        decision is durable before its model is called, and a replayed step keeps the original.
        """

    @abstractmethod
    def events(self, run_id: str, after: int = 0, limit: int | None = None) -> list[Event]:
        """Events of a run with ``seq > after``, in order."""

    @abstractmethod
    def decision(self, run_id: str, step_key: str) -> DecisionRecord | None:
        """The recorded decision of a step, if any."""

    @abstractmethod
    def record_decision(self, run_id: str, step_key: str, decision: DecisionRecord) -> None:
        """Keep a decision no event carries (a proxied call's); the first write wins."""

    # -- conversations through the compatible endpoints ----------------------------------------

    @abstractmethod
    def conversation_taint(self, tenant: str, conversation: str) -> int:
        """The highest sensitivity a conversation has carried so far (0 when unknown)."""

    @abstractmethod
    def taint_conversation(self, tenant: str, conversation: str, level: int) -> None:
        """Raise a conversation's sensitivity to at least ``level``; it never goes down."""

    # -- budgets ----------------------------------------------------------------------------------

    @abstractmethod
    def spend(self, scope: str, amount_usd: float, cap_usd: float | None = None,
              charge_id: str | None = None) -> bool:
        """Atomically add ``amount_usd`` to ``scope`` unless that would pass ``cap_usd``.

        Returns whether it was added. Concurrent spenders never overshoot the cap together.
        With ``charge_id``, a charge already recorded under that id is not added again (and
        True is returned): a step replayed after a crash is charged once.
        """

    @abstractmethod
    def spent(self, scope: str) -> float:
        """What ``scope`` has spent so far (0 if nothing)."""

    # -- router feedback -----------------------------------------------------------------------

    @abstractmethod
    def record_verdict(self, model: str, agent: str, approved: bool, weight: int = 1) -> None:
        """Count a QA verdict on work ``model`` did for ``agent``, as ``weight`` verdicts.

        A verdict grounded in a repository's checks weighs more than an opinion.
        """

    @abstractmethod
    def verdicts(self) -> dict[tuple[str, str], tuple[int, int]]:
        """(model, agent) → (approved, total) over every recorded verdict."""

    @abstractmethod
    def record_step_text(self, run_id: str, key: str, outcome: StepText) -> None:
        """Keep a step's text (its first ``OUTCOME_CHARS``) until it is judged.

        A step run again after a crash replaces it, unjudged.
        """

    @abstractmethod
    def record_outcome(self, run_id: str, key: str, success: bool, weight: int = 1) -> None:
        """Judge a kept step, once; a step never kept or already judged is left alone."""

    @abstractmethod
    def judged_steps(self) -> list[JudgedStep]:
        """Every judged step kept (at most ``MAX_OUTCOMES`` of the newest steps)."""

    @abstractmethod
    def judged_total(self) -> int:
        """How many steps were ever judged, whatever is kept.

        Grows by one per judgement; cheap: asked at every signal refresh.
        """

    # -- agent assignment overrides --------------------------------------------------------------

    @abstractmethod
    def set_assignment(self, agent: str, assignment: dict[str, Any]) -> None:
        """Persist an agent's model assignment (already validated), replacing any earlier one."""

    @abstractmethod
    def assignments(self) -> dict[str, dict[str, Any]]:
        """Every persisted assignment override, by agent."""

    # -- API keys ------------------------------------------------------------------------------

    @abstractmethod
    def add_key(self, key: ApiKey) -> None:
        """Store a new key."""

    @abstractmethod
    def get_key(self, key_id: str) -> ApiKey | None:
        """A key by id (revoked ones included), or None."""

    @abstractmethod
    def list_keys(self, tenant: str | None = None) -> list[ApiKey]:
        """Keys, oldest first, optionally one tenant's."""

    @abstractmethod
    def revoke_key(self, key_id: str, at: float) -> bool:
        """Revoke a key; False if there is no such key."""

    @abstractmethod
    def set_key_limits(self, key_id: str, limits: KeyLimits) -> bool:
        """Replace a key's own rate limits; False if there is no such key."""

    # -- rate limits ----------------------------------------------------------------------------

    @abstractmethod
    def add_to_window(self, name: str, window: int, amount: int) -> int:
        """Add ``amount`` to counter ``name`` in time window ``window``; the window's new total.

        Windows are numbered by the caller (e.g. the minute since the epoch); a counter is
        kept at least until the next window ends, then forgotten.
        """

    # -- local model slots ------------------------------------------------------------------------

    @abstractmethod
    def acquire_slot(self, name: str, holder: str, limit: int, ttl_s: float) -> bool:
        """Take one of ``limit`` slots of ``name`` for ``holder``, without waiting.

        A slot whose holder died is free again after ``ttl_s``; acquiring again refreshes it.
        """

    @abstractmethod
    def release_slot(self, name: str, holder: str) -> None:
        """Give a slot back (nothing happens if ``holder`` holds none)."""

    @abstractmethod
    def slots_in_use(self, name: str) -> int:
        """How many live holders ``name`` has."""

    # -- run leases (one executor per run) ------------------------------------------------------
    # A lease is a one-holder slot: the same atomic, expiring primitive, judged on one clock.

    def take_lease(self, run_id: str, owner: str, ttl_s: float) -> bool:
        """Become (or stay) the one executor of ``run_id`` for ``ttl_s`` seconds.

        False while another owner's lease is live; renewing one's own lease returns True.
        """
        return self.acquire_slot(LEASE_PREFIX + run_id, owner, 1, ttl_s)

    @abstractmethod
    def renew_leases(self, run_ids: Iterable[str], owner: str, ttl_s: float) -> set[str]:
        """Renew several of ``owner``'s leases in one round trip; returns the runs still held.

        A lease that lapsed is not renewed (another process may have taken the run over
        since): it is lost.
        """

    def drop_lease(self, run_id: str, owner: str) -> None:
        """Give up the lease (nothing happens unless ``owner`` holds it)."""
        self.release_slot(LEASE_PREFIX + run_id, owner)

    def leased(self, run_id: str) -> bool:
        """Whether some process holds a live lease on ``run_id``."""
        return self.slots_in_use(LEASE_PREFIX + run_id) > 0

    @abstractmethod
    def orphaned_runs(self, stale_after_s: float, limit: int = 500) -> list[RunRow]:
        """Runs that need an executor and have none, oldest first (one query or round trip).

        A ``running`` run without a live lease lost its executor. A ``queued`` run counts once
        it has waited ``stale_after_s`` unleased: before that, the queue may still deliver it.
        """

    # -- lifecycle ---------------------------------------------------------------------------------

    @abstractmethod
    def ping(self) -> None:
        """Raise if the backend cannot be reached or cannot write (readiness)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
