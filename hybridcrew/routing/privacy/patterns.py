"""What a detector is: a named RE2 pattern plus the checks RE2 cannot express.

Patterns are RE2 syntax: the scanner runs all of them in one DFA pass (an RE2 ``Set``) and only
then extracts spans for the detectors that fired, so a 50 KB prompt costs one linear scan.
RE2 has no look-around; what a pattern must not touch (``word_start``, ``tail``), checksums
(Luhn, mod-97, national ID check digits) and placeholders are checked in Python on each
candidate. Counted repeats of wide classes multiply the DFA's states: prefer fixed prefixes and
unbounded runs whose length is checked in Python.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from hybridcrew.routing.privacy.checks import is_placeholder
from hybridcrew.sensitivity import Sensitivity

SECRET = Sensitivity.SECRET
PII = Sensitivity.CONFIDENTIAL

WORD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
TOKEN_TAIL = WORD + "-"
DIGIT_TAIL = "0123456789-"

Validator = Callable[[dict[str, str]], bool]
"""Receives the match's named groups plus ``"0"`` for the whole match."""


@dataclass(frozen=True)
class Detector:
    """A named RE2 pattern; the reported span is ``group`` of a match that passes every check."""

    name: str
    pattern: str
    sensitivity: Sensitivity = SECRET
    group: int | str = 0
    word_start: bool = True
    not_after: str = ""
    """With ``word_start``: more characters that may not come just before a match."""
    tail: str = ""
    validate: Validator | None = None
    anchor: str | None = None
    """A pattern every match contains, for the prefilter instead of the whole pattern.

    For detectors whose matches start with a broad class (an email's local part, a token
    made of any alphanumerics): the prefilter looks for the distinctive part (``@domain``,
    ``.atlasv1.``) and the automaton does not keep a match in progress through every word."""
    loose_prefilter: bool = True
    """Let the one-pass prefilter use the pattern with counted repeats made open-ended.

    A superset, so nothing is missed (the exact pattern then runs only where it fired); it
    keeps the combined DFA small. Off where the loose form fires on ordinary text (digit runs,
    dotted names): there the exact pattern's lengths are the cheaper filter."""

    def prefilter(self) -> str:
        """The pattern the scanner's single pass (an RE2 Set) looks for.

        A ``word_start`` detector's matches can only begin after a non-word character: saying
        so in the prefilter keeps the automaton from starting a match inside every word.
        """
        if self.anchor is not None:
            return self.anchor
        pattern = self.pattern
        if self.loose_prefilter:
            pattern = _COUNTED.sub(lambda m: ("*" if m.group(1) == "0" else "+") + m.group(2),
                                   pattern)
        if self.word_start:
            flags, body = (pattern[:4], pattern[4:]) if pattern.startswith("(?i)") else (
                "", pattern)
            pattern = f"{flags}(?:^|[^\\w{re.escape(self.not_after)}])(?:{body})"
        return pattern


_COUNTED = re.compile(r"(?<!\\)\{(\d+)(?:,\d*)?\}(\??)")

def not_placeholder(groups: dict[str, str]) -> bool:
    """Documentation keys (``...EXAMPLE``, ``XXXX``, ``REPLACE_ME``) are not secrets."""
    return not is_placeholder(groups.get("key") or groups["0"])


def token(name: str, pattern: str) -> Detector:
    """A provider token with a fixed prefix, not glued to surrounding word characters."""
    return Detector(name, pattern, tail=TOKEN_TAIL, validate=not_placeholder)


def keyed(name: str, context: str, value: str, *, tail: str = TOKEN_TAIL) -> Detector:
    """A value that only means a credential next to its name: ``context``, then ``=``/``:``.

    The reported span is the value (group ``key``).
    """
    pattern = (rf"(?i){context}[\w.\-]*[\"']?[ \t]*(?:=|:|=>|:=)[ \t]*[\"'`]?"
               rf"(?P<key>{value})")
    return Detector(name, pattern, group="key", word_start=False, tail=tail,
                    validate=not_placeholder)
