"""Local OpenAI-compatible servers (llama.cpp server, vLLM, LM Studio) via langchain-openai."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx
from langchain_core.language_models import BaseChatModel
from pydantic import SecretStr

from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.providers.base import (
    ModelProvider,
    Probe,
    http_probe,
)

if TYPE_CHECKING:
    from hybridcrew.settings import Settings

STRUCTURED_OPTION = "structured_output"
SERVER_FIX = ("start the server (e.g. `python -m llama_cpp.server --model FILE.gguf`) or set the "
              "model's endpoint / HYBRIDCREW_OPENAI_COMPATIBLE_URL")


class OpenAICompatibleProvider(ModelProvider):
    """Any server that speaks the OpenAI chat-completions API on our own hardware."""

    name = "openai_compatible"
    location = "local"
    json_mode_kwargs = {"response_format": {"type": "json_object"}}  # noqa: RUF012 - ClassVar

    def base_url(self, entry: CatalogEntry, settings: Settings) -> str:
        """The model's endpoint (ending in /v1), else ``HYBRIDCREW_OPENAI_COMPATIBLE_URL``."""
        return (entry.spec.endpoint or settings.openai_compatible_url).rstrip("/")

    def endpoint(self, entry: CatalogEntry, settings: Settings) -> str:
        """One breaker per server."""
        return f"{self.name}:{self.base_url(entry, settings)}"

    def structured_method_for(self, entry: CatalogEntry) -> str:
        """Structured output in the server's dialect.

        ``options.structured_output: json_object`` suits llama.cpp servers (schema + grammar);
        the default ``json_schema`` is OpenAI's, spoken by vLLM and LM Studio.
        """
        return str(entry.spec.options.get(STRUCTURED_OPTION, self.structured_method))

    def chat_model(self, entry: CatalogEntry, settings: Settings, max_tokens: int
                   ) -> BaseChatModel:
        """A ``ChatOpenAI`` pointed at the local server (see :mod:`.openai_client`)."""
        from hybridcrew.routing.providers.openai_client import (  # noqa: PLC0415 - heavy import
            UntypedChatOpenAI,
        )

        key = settings.openai_compatible_api_key
        return UntypedChatOpenAI(
            model=entry.spec.model,
            base_url=self.base_url(entry, settings),
            api_key=key or SecretStr("not-needed"),
            max_retries=settings.max_retries,
            timeout=self.timeout(entry, settings),
            # langchain-openai sends max_completion_tokens, which llama.cpp's server ignores.
            extra_body={"max_tokens": max_tokens},
            **{k: v for k, v in entry.spec.options.items() if k != STRUCTURED_OPTION},
        )

    def probe(self, entry: CatalogEntry, settings: Settings) -> Probe:
        """``GET /models`` answers."""
        url = self.base_url(entry, settings)
        key = settings.openai_compatible_api_key
        headers = {"Authorization": f"Bearer {key.get_secret_value()}"} if key else {}
        try:
            response = http_probe(f"{url}/models", settings.probe_timeout_s, headers)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            return Probe(False, f"no server at {url} ({type(exc).__name__})", fix=SERVER_FIX)
        return Probe(True, f"served by {url}")
