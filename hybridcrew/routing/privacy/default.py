"""A process-wide scanner with the built-in detectors, for scrubbing errors and logs."""

from __future__ import annotations

from functools import cache

from hybridcrew.routing.policy import PrivacyPolicy
from hybridcrew.routing.privacy.scanner import PrivacyScanner, redact


@cache
def default_scanner() -> PrivacyScanner:
    """The built-in detectors (secrets and PII), compiled once."""
    return PrivacyScanner.from_policy(PrivacyPolicy())


def scrub(text: str) -> str:
    """``text`` with every secret or PII span replaced by ``[REDACTED:detector]``."""
    return redact(text, default_scanner().scan(text))
