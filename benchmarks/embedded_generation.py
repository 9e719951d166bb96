"""Tokens per second of the embedded model (the packaged Gemma 3 270M, llama.cpp in process).

Compares how hybridcrew runs llama.cpp (one thread per usable physical core; a JSON schema's
grammar checks the sampled token, see ``llama_sampling``) with llama-cpp-python's defaults
(half the logical CPUs; the grammar filters the whole vocabulary first), alternately, for free
text and for a JSON schema (how plans and verdicts are generated). Greedy decoding.

    python benchmarks/embedded_generation.py [--rounds 2] [--tokens 120]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from llama_cpp import Llama
from machine import describe

from hybridcrew.routing.providers.embedded import packaged_gguf
from hybridcrew.routing.providers.llama_chat import usable_cores
from hybridcrew.routing.providers.llama_sampling import GrammarLastLlama

PROMPT: Any = [{"role": "user", "content": "Plan the work for: add rate limiting to the orders "
                "API. Say what the frontend and the backend each do, with acceptance criteria."}]
PART = {"type": "object", "required": ["summary", "criteria"], "properties": {
    "summary": {"type": "string", "maxLength": 200},
    "criteria": {"type": "array", "maxItems": 4, "items": {"type": "string", "maxLength": 120}}}}
PLAN: Any = {"type": "json_object", "schema": {
    "type": "object", "required": ["frontend", "backend"],
    "properties": {"frontend": PART, "backend": PART}}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=120)
    args = parser.parse_args()
    library_default = max((os.cpu_count() or 1) // 2, 1)
    ours = usable_cores() or library_default
    setups: dict[str, tuple[type[Llama], int]] = {
        "hybridcrew": (GrammarLastLlama, ours), "library defaults": (Llama, library_default)}
    with tempfile.TemporaryDirectory() as folder:
        path = packaged_gguf(Path(folder))
        models = {name: kind(model_path=str(path), n_ctx=2048, chat_format="gemma",
                             n_threads=n, n_threads_batch=n, verbose=False)
                  for name, (kind, n) in setups.items()}
        rates: dict[tuple[str, str], list[float]] = {}
        for _ in range(args.rounds):
            for mode, response_format in (("free text", None), ("JSON schema", PLAN)):
                for name, llm in models.items():
                    rates.setdefault((name, mode), []).append(
                        _rate(llm, response_format, args.tokens))
        for llm in models.values():
            llm.close()
    print(f"machine: {describe()}")
    print(f"{args.rounds} rounds, alternating; up to {args.tokens} tokens per call, greedy")
    print(f"{'llama.cpp as run by':<30} {'free text tok/s':>16} {'JSON schema tok/s':>18}")
    for name, (_, n) in setups.items():
        free = statistics.median(rates[(name, "free text")])
        schema = statistics.median(rates[(name, "JSON schema")])
        print(f"{name + f' ({n} threads)':<30} {free:16.1f} {schema:18.1f}")


def _rate(llm: Llama, response_format: Any, tokens: int) -> float:
    started = time.perf_counter()
    reply: Any = llm.create_chat_completion(messages=PROMPT, max_tokens=tokens,
                                            temperature=0.0, repeat_penalty=1.3,
                                            response_format=response_format)
    elapsed = time.perf_counter() - started
    return float(reply["usage"]["completion_tokens"]) / elapsed


if __name__ == "__main__":
    main()
