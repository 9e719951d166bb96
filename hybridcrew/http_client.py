"""One synchronous HTTP client per process, for the short calls threads make (probes, embeddings).

Making an ``httpx.Client`` (what every ``httpx.get`` does) loads a TLS context: ~50 ms of CPU on
a 2-core Xeon, with the interpreter lock held. The health and GPU probes made one per backend
every refresh (15 s), and each stalled the gateway's requests by as much; made once, a probe of a
loopback server costs about a millisecond. httpx clients may be shared between threads; this one
also keeps connections alive between calls.
"""

from __future__ import annotations

import threading

import httpx

_lock = threading.Lock()
_client: list[httpx.Client] = []  # at most one, made at first use


def shared_client() -> httpx.Client:
    """The process's client (each call passes its own timeout and headers)."""
    with _lock:
        if not _client:
            _client.append(httpx.Client())
        return _client[0]
