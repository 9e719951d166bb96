"""What the agents see of a repository: its map, and the files most relevant to a query.

Only files git would track (``.gitignore`` applies), that are text, not too large and not
deny-listed ever enter the map, the index or a prompt. Relevance blends keyword matching
(BM25 over path and content) with embedding similarity. Embeddings come from the data dir's
vector cache (keyed by content): a file is embedded once per content, whatever the run.
"""

from __future__ import annotations

import ast
import fnmatch
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from hybridcrew.graphs.workspace import RepoContext, SourceFile
from hybridcrew.platform.memory.vector_cache import VectorCache
from hybridcrew.platform.repos.git import git

MAX_FILE_BYTES = 200_000
MAX_OFFERED_CHARS = 8_000
EMBEDDED_CHARS = 2_000
"""The start of a file that is embedded (about the embedder's window)."""
"""Characters of one file offered to a step (its start)."""
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]+")
_JS_SYMBOL = re.compile(
    r"^(?:export\s+(?:default\s+)?)?(?:async\s+)?(?:function\*?|class|const|let|var)\s+"
    r"([A-Za-z_$][\w$]*)", re.MULTILINE)
_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx")

@dataclass(frozen=True)
class _File:
    path: str
    blob: str
    text: str
    words: Counter[str]


def denied(path: str, deny: Sequence[str]) -> bool:
    """Whether ``path`` (or any folder on its way) matches a deny pattern."""
    parts = path.split("/")
    candidates = [path, *parts, *("/".join(parts[:i]) for i in range(1, len(parts)))]
    return any(fnmatch.fnmatch(c, pattern) for c in candidates for pattern in deny)


def tracked_files(root: Path, deny: Sequence[str]) -> dict[str, str]:
    """``path → blob id`` of every file git tracks or would (not ignored), minus the denied."""
    listed = git(root, "ls-files", "-s", "--cached").splitlines()
    blobs = {line.split("\t", 1)[1]: line.split()[1] for line in listed if "\t" in line}
    for path in git(root, "ls-files", "--others", "--exclude-standard").splitlines():
        blobs[path] = git(root, "hash-object", "--", path).strip()
    return {p: b for p, b in blobs.items() if not denied(p, deny)}


class RepoIndex:
    """The files of one checkout, searchable; ranked by embeddings too when given ``vectors``."""

    def __init__(self, root: Path, deny: Sequence[str],
                 vectors: VectorCache | None = None) -> None:
        self.root = root
        self.files: dict[str, _File] = {}
        for path, blob in sorted(tracked_files(root, deny).items()):
            text = _read_text(root / path)
            if text is not None:
                self.files[path] = _File(path, blob, text, Counter(_words(f"{path} {text}")))
        self._vectors: dict[str, NDArray[np.float32]] = {}
        if vectors is not None and self.files:
            found = vectors.vectors([f"{f.path}\n{f.text[:EMBEDDED_CHARS]}"
                                     for f in self.files.values()])
            self._vectors = dict(zip(self.files, found, strict=True))
        self._embedder = vectors.embedder if vectors is not None else None
        self._df = Counter(w for f in self.files.values() for w in f.words)

    def repo_map(self) -> str:
        """One line per file: its path and top-level symbols."""
        return "\n".join(f"{p}: {', '.join(syms)}" if (syms := _symbols(p, f.text)) else p
                         for p, f in self.files.items())

    def search(self, query: str, limit: int) -> list[str]:
        """The paths most relevant to ``query``, best first."""
        if not self.files:
            return []
        keyword = self._bm25(query)
        top = max(keyword.values(), default=0.0) or 1.0
        scores = {p: keyword.get(p, 0.0) / top for p in self.files}
        if self._vectors and self._embedder is not None:
            q = self._embedder.query(query)
            for path, vector in self._vectors.items():
                scores[path] += max(0.0, float(vector @ q))
        ranked = sorted(scores, key=lambda p: (-scores[p], p))
        return [p for p in ranked[:limit] if scores[p] > 0]

    def context(self, query: str, limit: int) -> RepoContext:
        """The map and the ``limit`` most relevant files (each cut to its start)."""
        return RepoContext(map=self.repo_map(), files=[
            SourceFile(p, self.files[p].text[:MAX_OFFERED_CHARS])
            for p in self.search(query, limit)])

    def _bm25(self, query: str, k1: float = 1.2, b: float = 0.75) -> dict[str, float]:
        terms = set(_words(query))
        n = len(self.files)
        avg = sum(sum(f.words.values()) for f in self.files.values()) / n or 1.0
        out: dict[str, float] = {}
        for path, f in self.files.items():
            length = sum(f.words.values()) or 1
            score = 0.0
            for term in terms & f.words.keys():
                idf = math.log(1 + (n - self._df[term] + 0.5) / (self._df[term] + 0.5))
                tf = f.words[term]
                score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * length / avg))
            if score:
                out[path] = score
        return out


def _read_text(path: Path) -> str | None:
    if path.is_symlink():
        return None  # it may point anywhere on the machine: never followed
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if len(data) > MAX_FILE_BYTES or b"\0" in data[:8192]:
        return None  # large or binary: never offered
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _symbols(path: str, text: str) -> list[str]:
    if path.endswith(".py"):
        try:
            tree = ast.parse(text)
        except SyntaxError:
            return []
        return [n.name for n in tree.body
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
    if path.endswith(_JS_SUFFIXES):
        return list(dict.fromkeys(_JS_SYMBOL.findall(text)))
    return []


def _words(text: str) -> list[str]:
    """Lower-case words, identifiers also split at ``_`` and camel case."""
    out: list[str] = []
    for word in _WORD.findall(text):
        out.append(word.lower())
        pieces = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", word)
        if len(pieces) > 1:
            out += [p.lower() for p in pieces]
    return out
