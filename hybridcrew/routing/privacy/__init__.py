"""Privacy detectors: secrets and PII found by name and span, never by value."""

from hybridcrew.routing.privacy.findings import Finding
from hybridcrew.routing.privacy.scanner import PrivacyScanner, redact

__all__ = ["Finding", "PrivacyScanner", "redact"]
