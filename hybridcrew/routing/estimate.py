"""Estimated success of a model on a step.

Inputs: role prior, step criticality, prompt complexity, and QA history. Cheap string statistics
only: this runs inside every decision.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

CHARS_PER_TOKEN = 3.5
"""Conservative: code and JSON tokenize denser than prose, so over-count rather than overflow."""

HISTORY_WEIGHT = 10.0
"""How many QA verdicts the prior is worth when blending in observed history."""


def estimate_tokens(chars: int) -> int:
    """Tokens for ``chars`` characters (rounded up)."""
    return math.ceil(chars / CHARS_PER_TOKEN)


COMPLEXITY_WINDOW = 16_000
"""Characters inspected for structure; every signal saturates well within this window."""
# `re` finds a literal by jumping to its first character, twice as fast as str.count's general
# substring search on a 10 KB prompt (this runs in every decision).
_FENCE = re.compile("```")
_LISTED = re.compile("\n-")


def prompt_complexity(texts: Sequence[str]) -> float:
    """0..1 from total length, code blocks and listed requirements across ``texts``."""
    left, fences, listed = COMPLEXITY_WINDOW, 0, 0
    for text in texts:
        if left <= 0:
            break
        head = text[:left]
        fences += len(_FENCE.findall(head))
        listed += len(_LISTED.findall(head))
        left -= len(head)
    length = min(1.0, sum(len(t) for t in texts) / COMPLEXITY_WINDOW)
    return 0.5 * length + 0.25 * min(1.0, fences / 6) + 0.25 * min(1.0, listed / 12)


def difficulty(criticality: float, complexity: float) -> float:
    """How demanding a step is (0..1). Early, plan-shaping steps weigh most."""
    return min(1.0, 0.6 * criticality + 0.4 * complexity)


def estimated_success(prior: float, step_difficulty: float,
                      history: tuple[int, int] | None = None) -> float:
    """P(good result) for a model with this role prior on a step this demanding.

    A weaker model loses more on demanding steps: ``prior * (1 - difficulty * (1 - prior))``,
    then blended with QA pass history (a Beta update worth ``HISTORY_WEIGHT`` verdicts).
    """
    p = prior * (1.0 - step_difficulty * (1.0 - prior))
    if history is not None:
        passes, verdicts = history
        p = (passes + HISTORY_WEIGHT * p) / (verdicts + HISTORY_WEIGHT)
    return p
