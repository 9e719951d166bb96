"""The built-in detectors, assembled: provider tokens, credentials by position, and PII.

See :mod:`hybridcrew.routing.privacy.patterns` for how a detector works and
:mod:`~hybridcrew.routing.privacy.tokens`, :mod:`~hybridcrew.routing.privacy.credentials` and
:mod:`~hybridcrew.routing.privacy.personal` for the detectors themselves.
"""

from __future__ import annotations

from hybridcrew.routing.privacy.credentials import CREDENTIAL_DETECTORS
from hybridcrew.routing.privacy.patterns import WORD, Detector
from hybridcrew.routing.privacy.personal import PII_DETECTORS
from hybridcrew.routing.privacy.tokens import TOKEN_DETECTORS

SECRET_DETECTORS: tuple[Detector, ...] = (*TOKEN_DETECTORS, *CREDENTIAL_DETECTORS)

__all__ = ["PII_DETECTORS", "SECRET_DETECTORS", "WORD", "Detector"]
