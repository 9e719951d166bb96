"""Run leases: exactly one executor per run, in every process kind and every store.

Before a process executes a run (a gateway thread, a worker, ``hybridcrew runs resume``) it takes
the run's lease in the store. One heartbeat thread per process renews every lease the process
holds; a process that dies stops renewing, and once ``HYBRIDCREW_LEASE_S`` has passed any other
process may take the run over and resume it from its checkpoint. A lease that could not be
renewed (the store was unreachable longer than a lease) is reported as lost, so the process stops
starting steps of a run that may already have a new executor.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable

from hybridcrew.platform.store import Store

log = logging.getLogger(__name__)


def process_owner() -> str:
    """A name unique to this process: host, pid and a random suffix (pids are reused)."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Leases:
    """The leases this process holds, and the thread that keeps them alive."""

    def __init__(self, store: Store, ttl_s: float, heartbeat_s: float,
                 owner: str | None = None) -> None:
        self.store, self.ttl_s, self.heartbeat_s = store, ttl_s, heartbeat_s
        self.owner = owner or process_owner()
        self.on_lost: list[Callable[[str], None]] = []
        self.on_beat: list[Callable[[], None]] = []
        """Called on the heartbeat thread after each renewal round (e.g. look for orphans)."""
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, run_id: str) -> bool:
        """Take (or renew) ``run_id``'s lease; False while another process holds it."""
        if not self.store.take_lease(run_id, self.owner, self.ttl_s):
            return False
        with self._lock:
            self._held.add(run_id)
        self._ensure_heartbeat()
        return True

    def release(self, run_id: str) -> None:
        """Give the lease back: the run may be taken by anyone now."""
        with self._lock:
            held = run_id in self._held
            self._held.discard(run_id)
        if held:
            self.store.drop_lease(run_id, self.owner)

    def held(self) -> set[str]:
        """The runs whose lease this process holds."""
        with self._lock:
            return set(self._held)

    def stop(self) -> None:
        """Stop the heartbeat (leases still held lapse after their time)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.heartbeat_s + 5)

    def _ensure_heartbeat(self) -> None:
        with self._lock:
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(target=self._beat, daemon=True,
                                                name="hybridcrew-leases")
                self._thread.start()

    def start(self) -> None:
        """Start the heartbeat now (it also starts with the first lease taken)."""
        self._ensure_heartbeat()

    def _beat(self) -> None:
        while not self._stop.wait(self.heartbeat_s):
            self.renew()
            for callback in self.on_beat:
                try:
                    callback()
                except Exception:  # the next beat tries again; the log says why
                    log.exception("lease heartbeat task failed")

    def renew(self) -> None:
        """Renew every held lease (one store round trip); a lapsed one is reported lost."""
        held = self.held()
        try:
            kept = self.store.renew_leases(held, self.owner, self.ttl_s)
        except Exception:  # the store is unreachable: try again at the next beat
            log.exception("could not renew %d run leases", len(held))
            return
        with self._lock:  # a run released meanwhile is not lost
            lost = (held - kept) & self._held
            self._held -= lost
        for run_id in sorted(lost):
            log.warning("lost the lease of run %s: it may have another executor now", run_id)
            for callback in self.on_lost:
                callback(run_id)
