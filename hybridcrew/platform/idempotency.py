"""A run submitted at most once per client key: the ``Idempotency-Key`` request header.

A client whose ``POST /v1/runs`` timed out cannot know whether the run started; retrying without
a key would start (and pay for) a second one. With a key, the run's id is derived from the
tenant and the key, so the store's refusal of a taken id (:class:`RunExists`) is what makes
the submission happen once, across threads, processes and gateways sharing the store. A repeat
of the same request gets the run it started; the same key with a different request is refused,
as the IETF draft "The Idempotency-Key HTTP Header Field" says.

A key stays bound to its run for as long as the run is stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hybridcrew.errors import ConfigError

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
"""Set on the answer to a repeat: the run it names was started by an earlier request."""
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
"""1-255 visible ASCII characters (a UUID, a ULID, a hash of the client's own job id)."""
RUN_ID_PREFIX = "keyed-"


class KeyReused(ConfigError):
    """A key was sent again with a different request."""


@dataclass(frozen=True)
class IdempotencyKey:
    """A client's key for one submission and the digest of what that submission asked for."""

    run_id: str
    digest: str

    @classmethod
    def of(cls, tenant: str, key: str, request: Mapping[str, Any]) -> IdempotencyKey:
        """The run id ``key`` stands for in ``tenant``, and the digest of ``request``.

        The tenant is part of the id: two tenants choosing the same key get two runs.
        """
        # A NUL cannot occur in a tenant name or a key: ("a", "b\0c") and ("a\0b", "c") differ.
        run_id = RUN_ID_PREFIX + hashlib.sha256(f"{tenant}\0{key}".encode()).hexdigest()[:24]
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
        return cls(run_id, hashlib.sha256(canonical.encode()).hexdigest())

    def reused(self) -> KeyReused:
        """The error for a key sent again with a different request (never shows either)."""
        return KeyReused.single(
            "request", HEADER, "this key started a run for a different request",
            "send a new Idempotency-Key for a new run; repeat the first request unchanged to "
            "get the run it started")
