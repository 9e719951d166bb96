"""A langchain chat model over llama-cpp-python, running the GGUF in this process."""

from __future__ import annotations

import atexit
import ctypes
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import PrivateAttr

_LOADED: dict[tuple[str, int], tuple[Any, threading.Lock]] = {}
_LOAD_LOCK = threading.Lock()
CPU_TOPOLOGY = Path("/sys/devices/system/cpu")
CGROUP = Path("/sys/fs/cgroup")


def usable_cores(topology: Path = CPU_TOPOLOGY, cgroup: Path = CGROUP) -> int | None:
    """Physical cores this process may use; None if the CPU topology is unknown.

    Hyperthread siblings count once, only CPUs in the process's affinity count, and a
    container's CPU quota caps the number. llama.cpp generates fastest on one thread per such
    core (its own CLI's default). llama-cpp-python instead takes half the logical CPUs, which
    assumes two threads per core: on machines without SMT, as many cloud VMs present their
    vCPUs, that leaves half the cores idle (``benchmarks/embedded_generation.py``);
    in a container limited to fewer CPUs than the host has, it runs more threads than it may.
    """
    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(
        os.cpu_count() or 1)
    cores = set()
    for cpu in allowed:
        try:
            siblings = (topology / f"cpu{cpu}" / "topology" / "thread_siblings_list").read_text()
        except OSError:
            return None  # no sysfs (macOS, some containers): keep the library's default
        cores.add(siblings.strip())
    quota = _cpu_quota(cgroup)
    return min(len(cores), quota) if quota else len(cores)


def _cpu_quota(cgroup: Path) -> int | None:
    """CPUs the cgroup may use, rounded up; None if unlimited or unknown.

    cgroup v2 says so in ``cpu.max``, v1 in its CFS quota and period.
    """
    try:
        if (cgroup / "cpu.max").is_file():
            quota, period = (cgroup / "cpu.max").read_text().split()[:2]
        else:
            quota = (cgroup / "cpu" / "cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu" / "cpu.cfs_period_us").read_text().strip()
        if quota in {"max", "-1"}:
            return None
        return math.ceil(int(quota) / int(period))
    except (OSError, ValueError, ZeroDivisionError):
        return None


def load_llama(path: Path, n_ctx: int, chat_format: str, n_threads: int | None
               ) -> tuple[Any, threading.Lock]:
    """One loaded model per (file, context size) per process, with its lock.

    llama.cpp contexts are not safe for concurrent use, so calls on one model are serialized.
    """
    # Optional dependency, loaded on demand.
    from hybridcrew.routing.providers.llama_sampling import GrammarLastLlama  # noqa: PLC0415

    key = (str(path), n_ctx)
    with _LOAD_LOCK:
        _quiet_llama_logs()
        if key not in _LOADED:
            threads = n_threads or usable_cores()
            # Prompts are read on as many threads as tokens are generated on, as llama.cpp's
            # CLI does (the library would take every logical CPU, beyond a container's quota).
            llm = GrammarLastLlama(model_path=str(path), n_ctx=n_ctx, chat_format=chat_format,
                                   n_threads=threads, n_threads_batch=threads, verbose=False)
            if not _LOADED:
                atexit.register(_close_all)
            _LOADED[key] = (llm, threading.Lock())
        return _LOADED[key]


def _close_all() -> None:
    # At exit, before interpreter teardown: left to the garbage collector, llama-cpp-python
    # frees its models after its own module globals are gone, and prints a TypeError.
    with _LOAD_LOCK:
        for llm, _ in _LOADED.values():
            llm.close()
        _LOADED.clear()


def _ignore_log(level: int, text: bytes, user_data: object) -> None:
    return None


# Kept at module level: llama.cpp holds the pointer for the life of the process.
_DROP_LOG = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(_ignore_log)


def _quiet_llama_logs() -> None:
    """llama.cpp writes to stderr even with ``verbose=False``; its output is not ours to show."""
    import llama_cpp  # noqa: PLC0415 - optional dependency

    llama_cpp.llama_log_set(_DROP_LOG, ctypes.c_void_p(0))


def to_chat_messages(messages: Sequence[BaseMessage], *, fold_system: bool
                     ) -> list[dict[str, str]]:
    """OpenAI-style role/content dicts for llama.cpp.

    With ``fold_system`` the system text goes into the first user turn: Gemma has no system
    role, and llama-cpp-python's ``gemma`` chat format silently drops system messages, so this
    is what Gemma's own chat template does.
    """
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    out = [{"role": roles.get(m.type, "user"), "content": str(m.content)} for m in messages]
    if not fold_system:
        return out
    system = "\n\n".join(m["content"] for m in out if m["role"] == "system")
    out = [m for m in out if m["role"] != "system"]
    if system:
        if out and out[0]["role"] == "user":
            out[0]["content"] = f"{system}\n\n{out[0]['content']}"
        else:
            out.insert(0, {"role": "user", "content": system})
    return out


class LlamaCppChatModel(BaseChatModel):
    """Chat completions from llama.cpp in process; usage comes from llama.cpp's own counts."""

    model_path: Path
    model_name: str
    n_ctx: int = 4096
    n_threads: int | None = None
    chat_format: str = "gemma"
    max_tokens: int = 512
    temperature: float = 0.2
    repeat_penalty: float = 1.3
    _llm: Any = PrivateAttr(default=None)

    @property
    def _llm_type(self) -> str:
        return "hybridcrew-llama-cpp"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        llm, lock = load_llama(self.model_path, self.n_ctx, self.chat_format, self.n_threads)
        payload = to_chat_messages(messages, fold_system=self.chat_format == "gemma")
        with lock:
            response = llm.create_chat_completion(
                messages=payload, max_tokens=kwargs.get("max_tokens", self.max_tokens),
                temperature=self.temperature, repeat_penalty=self.repeat_penalty, stop=stop,
                response_format=kwargs.get("response_format"),
            )
        usage = response["usage"]
        message = AIMessage(
            content=response["choices"][0]["message"]["content"] or "",
            usage_metadata={"input_tokens": usage["prompt_tokens"],
                            "output_tokens": usage["completion_tokens"],
                            "total_tokens": usage["total_tokens"]},
            response_metadata={"model_name": self.model_name,
                               "finish_reason": response["choices"][0].get("finish_reason")},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])
