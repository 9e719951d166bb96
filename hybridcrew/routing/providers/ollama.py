"""Local models served by Ollama, through langchain-ollama."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.providers.base import ModelProvider, Probe, http_probe

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from hybridcrew.settings import Settings

INSTALL_FIX = "install Ollama and run `ollama serve`, or set HYBRIDCREW_OLLAMA_HOST"


def same_model(wanted: str, served: str) -> bool:
    """Ollama names without a tag mean ``:latest``."""
    def norm(name: str) -> str:
        return name if ":" in name else f"{name}:latest"

    return norm(wanted) == norm(served)


def ollama_host(entry: CatalogEntry, settings: Settings) -> str:
    """The model's endpoint, else ``HYBRIDCREW_OLLAMA_HOST``."""
    return (entry.spec.endpoint or settings.ollama_host).rstrip("/")


def pull_model(host: str, model: str, timeout_s: float) -> str | None:
    """Have the Ollama at ``host`` pull ``model`` (a no-op when it has it); None, or why not."""
    import ollama  # noqa: PLC0415 - the client comes with langchain-ollama; needed only here

    try:
        ollama.Client(host=host, timeout=timeout_s).pull(model, stream=False)
    except ollama.ResponseError as exc:
        return f"Ollama refused: {exc.error}"
    except (ConnectionError, httpx.HTTPError) as exc:
        return f"no Ollama at {host} ({type(exc).__name__})"
    return None


class OllamaProvider(ModelProvider):
    """An Ollama server (local GPU or CPU)."""

    name = "ollama"
    location = "local"
    json_mode_kwargs = {"format": "json"}  # noqa: RUF012 - ClassVar

    def endpoint(self, entry: CatalogEntry, settings: Settings) -> str:
        """One breaker per Ollama server."""
        return f"{self.name}:{ollama_host(entry, settings)}"

    def chat_model(self, entry: CatalogEntry, settings: Settings, max_tokens: int
                   ) -> BaseChatModel:
        """A ``ChatOllama`` bound to the configured host."""
        from langchain_ollama import ChatOllama  # noqa: PLC0415 - heavy import, on demand

        return ChatOllama(
            model=entry.spec.model,
            base_url=ollama_host(entry, settings),
            num_predict=max_tokens,
            num_ctx=entry.spec.context_window,
            client_kwargs={"timeout": self.timeout(entry, settings)},
            **entry.spec.options,
        )

    def probe(self, entry: CatalogEntry, settings: Settings) -> Probe:
        """``GET /api/tags``: the server answers and the model is pulled."""
        host = ollama_host(entry, settings)
        try:
            response = http_probe(f"{host}/api/tags", settings.probe_timeout_s)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            return Probe(False, f"no Ollama at {host} ({type(exc).__name__})", fix=INSTALL_FIX)
        names = frozenset(m.get("name", "") for m in response.json().get("models", []))
        if not any(same_model(entry.spec.model, n) for n in names):
            return Probe(False, f"model {entry.spec.model} is not pulled",
                         fix=f"ollama pull {entry.spec.model}")
        return Probe(True, f"served by {host}")
