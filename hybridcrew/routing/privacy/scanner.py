"""Run detectors over text wherever it sits (code, JSON, YAML, logs, diffs, markdown, traces)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence

import re2

from hybridcrew.routing.policy import PrivacyPolicy
from hybridcrew.routing.privacy.detectors import PII_DETECTORS, SECRET_DETECTORS, WORD, Detector
from hybridcrew.routing.privacy.findings import Finding

_WORD_BYTES = frozenset(WORD.encode())
_CACHE_SIZE = 512
# RE2 builds its DFA lazily; a Set that runs out of DFA memory reports no match, so give it room.
_DFA_MEMORY = 256 << 20


def _options() -> re2.Options:
    options = re2.Options()
    options.max_mem = _DFA_MEMORY
    return options


class PrivacyScanner:
    """Finds secrets and PII; results for recently seen texts are cached (prompts repeat)."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        options = _options()
        self._set = re2.Set.SearchSet(options)
        self._compiled = []
        self._groups: list[int] = []
        for det in self.detectors:
            self._set.Add(det.prefilter().encode())
            compiled = re2.compile(det.pattern.encode(), options)
            self._compiled.append(compiled)
            group = det.group
            self._groups.append(compiled.groupindex[group.encode()] if isinstance(group, str)
                                else group)
        self._set.Compile()
        self._tails = [frozenset(det.tail.encode()) for det in self.detectors]
        self._leads = [_WORD_BYTES | frozenset(det.not_after.encode()) for det in self.detectors]
        self._cache: OrderedDict[str, tuple[Finding, ...]] = OrderedDict()

    @classmethod
    def from_policy(cls, policy: PrivacyPolicy) -> PrivacyScanner:
        """Built-in secret detectors, PII detectors unless disabled, and the user's patterns."""
        custom = [Detector(p.name, p.regex, sensitivity=p.sensitivity, word_start=False)
                  for p in policy.patterns]
        pii = PII_DETECTORS if policy.detect_pii else ()
        return cls([*SECRET_DETECTORS, *pii, *custom])

    def scan(self, text: str, part: str = "prompt") -> list[Finding]:
        """All findings in ``text``, ordered by position, tagged with ``part``."""
        cached = self._cache.get(text)
        if cached is None:
            cached = tuple(sorted(self._scan(text), key=lambda f: (f.start, f.detector)))
            self._cache[text] = cached
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(text)
        if part == "prompt":
            return list(cached)
        return [Finding(f.detector, f.start, f.end, f.sensitivity, part) for f in cached]

    def _scan(self, text: str) -> Iterator[Finding]:
        data = text.encode("utf-8", "surrogatepass")
        fired = self._set.Match(data)
        if not fired:
            return
        ascii_only = text.isascii()
        for index in sorted(fired):
            det = self.detectors[index]
            for begin, finish in self._spans(index, det, data):
                if ascii_only:
                    yield Finding(det.name, begin, finish, det.sensitivity)
                else:
                    yield Finding(det.name, _char_offset(data, begin), _char_offset(data, finish),
                                  det.sensitivity)

    def _spans(self, index: int, det: Detector, data: bytes) -> Iterator[tuple[int, int]]:
        tail, lead = self._tails[index], self._leads[index]
        for match in self._compiled[index].finditer(data):
            begin, finish = match.span()
            if det.word_start and begin > 0 and data[begin - 1] in lead:
                continue
            if tail and finish < len(data) and data[finish] in tail:
                continue
            if det.validate is not None:
                groups = {k.decode(): v.decode("utf-8", "replace") for k, v in
                          match.groupdict().items() if v is not None}
                groups["0"] = match.group(0).decode("utf-8", "replace")
                if not det.validate(groups):
                    continue
            yield match.span(self._groups[index])


def _char_offset(data: bytes, byte_offset: int) -> int:
    return len(data[:byte_offset].decode("utf-8", "ignore"))


def redact(text: str, findings: Iterable[Finding]) -> str:
    """Replace every finding's span with ``[REDACTED:detector]`` (overlaps merged)."""
    out: list[str] = []
    cursor = 0
    for start, end, name in sorted((f.start, f.end, f.detector) for f in findings):
        if end <= cursor:
            continue
        out.append(text[cursor:max(start, cursor)])
        out.append(f"[REDACTED:{name}]")
        cursor = end
    out.append(text[cursor:])
    return "".join(out)
