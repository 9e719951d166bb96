"""Where the crew may work: git repositories registered for runs (``repos:`` in hybridcrew.yaml).

Over HTTP a client names a registered repository; it never passes a path of the server.
"""

from __future__ import annotations

from pydantic import Field

from hybridcrew.documents import StrictModel

DEFAULT_DENY = (".env", ".env.*", "*.env", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks",
                "*.keystore", "id_rsa*", "id_ecdsa*", "id_ed25519*", ".netrc", ".npmrc",
                ".pypirc", "secrets", ".secrets", "secret", "credentials*", ".ssh", ".aws",
                ".gnupg", ".git")
"""Never read, indexed, offered to a model or edited (a path or any folder on its way)."""


class RepoSpec(StrictModel):
    """One entry of ``repos:`` in hybridcrew.yaml (``hybridcrew run --repo PATH`` makes one)."""

    path: str = Field(min_length=1, description="a git checkout on this machine (any branch)")
    test_command: str | None = Field(
        None, description="runs the tests; detected when absent (pytest, npm test, go test, "
                          "cargo test, make test)")
    checks: list[str] = Field(default_factory=list,
                              description="more commands that must pass (lint, type checks)")
    allowed_paths: list[str] = Field(default_factory=lambda: ["*"],
                                     description="globs of the paths the crew may change")
    deny: list[str] = Field(default_factory=lambda: list(DEFAULT_DENY),
                            description="globs never read, indexed, offered or edited")
    timeout_s: float = Field(300.0, gt=0, le=3600, description="wall time of one check")
