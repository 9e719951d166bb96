"""Grammar-constrained generation the way llama.cpp's own tools sample: the grammar checks last.

llama-cpp-python puts a JSON schema's grammar first in its sampler chain, so every token runs
the grammar over the whole vocabulary: 262,144 candidates for Gemma 3, which made a plan or
a verdict several times slower to generate than free text (``benchmarks/embedded_generation.py``
compares both ways).

llama.cpp's common sampler instead samples as if unconstrained, asks the grammar about that
one token, and only when it is refused samples again with the grammar over every candidate.
The result obeys the grammar either way; greedy decoding picks the same tokens.

This module imports llama-cpp-python (an optional dependency): import it only to load a model.
"""

from __future__ import annotations

import ctypes
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import Llama
from llama_cpp import _internals as internals

_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)


class GrammarLastLlama(Llama):
    """A :class:`llama_cpp.Llama` whose grammar judges the sampled token, not the vocabulary."""

    _grammar: internals.LlamaSampler | None = None

    # llama-cpp-python calls both methods below with keyword arguments only.
    def _init_sampler(self, **kwargs: Any) -> internals.LlamaSampler:  # type: ignore[override]
        grammar = kwargs.pop("grammar", None)
        chain: internals.LlamaSampler = super()._init_sampler(**kwargs, grammar=None)
        self._grammar = None
        if grammar is not None:
            self._grammar = internals.LlamaSampler()  # type: ignore[no-untyped-call]
            self._grammar.add_grammar(self._model, grammar)
            self._token_data = np.empty(self._n_vocab, dtype=_TOKEN_DATA)
            self._token_ids = np.arange(self._n_vocab, dtype=np.intc)
        return chain

    def sample(self, **kwargs: Any) -> int:  # type: ignore[override]
        """The next token: sampled freely, resampled under the grammar if it refuses it."""
        if self._grammar is None or self._sampler is None:
            return int(super().sample(**kwargs))
        idx = kwargs.get("idx")
        row = idx - self.n_tokens if idx is not None else -1
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self._ctx.ctx, row),
                                       shape=(self._n_vocab,))
        chain, grammar = self._sampler.sampler, self._grammar.sampler
        token = self._pick(logits, chain)
        if not self._allowed(token, grammar):
            token = self._pick(logits, grammar, chain)
        llama_cpp.llama_sampler_accept(grammar, token)
        llama_cpp.llama_sampler_accept(chain, token)
        return token

    def _pick(self, logits: np.ndarray[Any, Any], *samplers: Any) -> int:
        """Apply ``samplers`` in order to every candidate; the token the last one selects."""
        data = self._token_data
        data["id"], data["logit"], data["p"] = self._token_ids, logits, 0.0
        candidates = _array(data)
        for sampler in samplers:
            llama_cpp.llama_sampler_apply(sampler, ctypes.byref(candidates))
        return int(data[candidates.selected]["id"])

    @staticmethod
    def _allowed(token: int, grammar: Any) -> bool:
        one = np.array([(token, 1.0, 0.0)], dtype=_TOKEN_DATA)
        llama_cpp.llama_sampler_apply(grammar, ctypes.byref(_array(one)))
        return bool(np.isfinite(one[0]["logit"]))


def _array(data: np.ndarray[Any, Any]) -> Any:
    """llama.cpp's view of ``data`` (which must outlive it)."""
    return llama_cpp.llama_token_data_array(
        data=data.ctypes.data_as(llama_cpp.llama_token_data_p), size=len(data), selected=-1,
        sorted=False)
