"""The embedded provider: llama.cpp in process with the packaged Gemma GGUF."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from hybridcrew.errors import Unavailable
from hybridcrew.routing.providers.embedded import packaged_gguf
from hybridcrew.routing.providers.llama_chat import load_llama, usable_cores
from hybridcrew.routing.runtime import RoutingRuntime
from tests.support.configs import model, runtime_for

pytestmark = pytest.mark.llama


def _runtime(**options: object) -> RoutingRuntime:
    return runtime_for({
        "models": {"gemma": model("embedded", "gemma-3-270m-q4_k_m", context_window=2048,
                                  options=options)},
        "agents": {"qa": {"role": "QA", "model": "gemma"}},
    })


def test_generates_real_tokens_and_counts_usage(models_dir: Path) -> None:
    runtime = _runtime(temperature=0.0)
    plain = runtime.pool.call("gemma", [HumanMessage("List two colours.")], max_tokens=12)
    with_system = runtime.pool.call(
        "gemma", [SystemMessage("You are a terse QA lead."), HumanMessage("List two colours.")],
        max_tokens=12)
    assert plain.text.strip()
    assert 0 < plain.output_tokens <= 12
    assert plain.cost_usd == 0.0
    # Gemma has no system role; the system text must reach the model inside the first user turn.
    assert with_system.input_tokens > plain.input_tokens
    assert (models_dir / "gemma-3-270m-q4_k_m.gguf").is_file()


def test_missing_gguf_file_is_unavailable_with_fix(tmp_path: Path) -> None:
    runtime = _runtime(gguf=str(tmp_path / "nope.gguf"))
    assert runtime.collect_signals().health_of("gemma").up is False
    with pytest.raises(Unavailable, match=r"options\.gguf"):
        runtime.pool.call("gemma", [HumanMessage("hi")], max_tokens=4)


def test_generates_on_one_thread_per_physical_core(models_dir: Path) -> None:
    runtime = _runtime(temperature=0.0)
    runtime.pool.call("gemma", [HumanMessage("Say hi.")], max_tokens=2)
    path = models_dir / "gemma-3-270m-q4_k_m.gguf"
    llm, _ = load_llama(path, 2048, "gemma", None)
    cores = usable_cores()
    if cores is not None:
        assert (llm.n_threads, llm.n_threads_batch) == (cores, cores)


def test_the_grammar_judging_the_sampled_token_picks_what_filtering_every_token_picks(
        models_dir: Path) -> None:
    # llama-cpp-python's own order (the grammar over the whole vocabulary, then sampling) is
    # the reference: greedy decoding under the same JSON schema must choose the same tokens.
    from llama_cpp import Llama  # (the optional dependency, imported where it is used)

    from hybridcrew.routing.providers.llama_sampling import GrammarLastLlama

    path = packaged_gguf(models_dir)
    schema = {"type": "json_object", "schema": {
        "type": "object", "required": ["approved", "findings"],
        "properties": {"approved": {"type": "boolean"},
                       "findings": {"type": "array", "maxItems": 2,
                                    "items": {"type": "string", "maxLength": 40}}}}}
    ask = [{"role": "user", "content": "Review: def add(a, b): return a - b. Reply in JSON."}]
    replies = []
    for kind in (GrammarLastLlama, Llama):
        llm = kind(model_path=str(path), n_ctx=512, chat_format="gemma", n_threads=2,
                   verbose=False)
        reply = llm.create_chat_completion(messages=ask, max_tokens=48, temperature=0.0,
                                           repeat_penalty=1.3, response_format=schema)
        replies.append(reply["choices"][0]["message"]["content"])
        llm.close()
    assert replies[0] == replies[1]
    assert isinstance(json.loads(replies[0])["approved"], bool)
