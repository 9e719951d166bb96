"""The embedded provider: llama.cpp in process with the packaged Gemma GGUF."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage

from hybridcrew.errors import Unavailable
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
