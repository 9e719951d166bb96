"""Claude through langchain-anthropic."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from hybridcrew.errors import AuthFailed
from hybridcrew.routing.catalog import CatalogEntry
from hybridcrew.routing.providers.base import ModelProvider, Probe, http_probe

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from hybridcrew.settings import Settings

DEFAULT_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
KEY_FIX = "export ANTHROPIC_API_KEY=... (or HYBRIDCREW_ANTHROPIC_API_KEY)"


class AnthropicProvider(ModelProvider):
    """Anthropic's Messages API."""

    name = "anthropic"
    location = "cloud"
    structured_method = "function_calling"  # tool use: the schema is a tool Claude must call

    def base_url(self, entry: CatalogEntry, settings: Settings) -> str:
        """Model endpoint, else ``HYBRIDCREW_ANTHROPIC_BASE_URL``, else the public API."""
        return (entry.spec.endpoint or settings.anthropic_base_url or DEFAULT_URL).rstrip("/")

    def endpoint(self, entry: CatalogEntry, settings: Settings) -> str:
        """Health is tracked per API base URL."""
        return f"{self.name}:{self.base_url(entry, settings)}"

    def chat_model(self, entry: CatalogEntry, settings: Settings, max_tokens: int
                   ) -> BaseChatModel:
        """A ``ChatAnthropic`` with retries left to hybridcrew's fallback logic."""
        from langchain_anthropic import ChatAnthropic  # noqa: PLC0415 - heavy import, on demand

        if settings.anthropic_api_key is None:
            raise AuthFailed(provider=self.name, model=entry.spec.model,
                             detail=f"no API key; {KEY_FIX}")
        return ChatAnthropic(
            model=entry.spec.model,
            api_key=settings.anthropic_api_key,
            base_url=self.base_url(entry, settings),
            max_tokens=max_tokens,
            max_retries=settings.max_retries,
            timeout=self.timeout(entry, settings),
        )

    def probe(self, entry: CatalogEntry, settings: Settings) -> Probe:
        """``GET /v1/models``: free, and proves both reachability and the key."""
        if settings.anthropic_api_key is None:
            return Probe(False, "no API key", fix=KEY_FIX)
        url = f"{self.base_url(entry, settings)}/v1/models"
        headers = {"x-api-key": settings.anthropic_api_key.get_secret_value(),
                   "anthropic-version": API_VERSION}
        try:
            response = http_probe(url, settings.probe_timeout_s, headers)
        except httpx.HTTPError as exc:
            return Probe(False, f"unreachable ({type(exc).__name__})",
                         fix=f"check network access to {self.base_url(entry, settings)}")
        if response.status_code in {401, 403}:
            return Probe(False, f"API key rejected (HTTP {response.status_code})",
                         fix="create a new key in the Anthropic console; " + KEY_FIX)
        if response.status_code != 200:  # noqa: PLR2004
            return Probe(False, f"HTTP {response.status_code}", fix="retry later")
        return Probe(True, "API key accepted")
