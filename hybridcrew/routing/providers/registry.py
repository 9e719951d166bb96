"""Provider registry: adding a provider is one module, one line here, and one test file."""

from __future__ import annotations

from hybridcrew.routing.providers.anthropic import AnthropicProvider
from hybridcrew.routing.providers.base import ModelProvider
from hybridcrew.routing.providers.embedded import EmbeddedProvider
from hybridcrew.routing.providers.ollama import OllamaProvider
from hybridcrew.routing.providers.openai_compatible import OpenAICompatibleProvider
from hybridcrew.routing.providers.scripted import ScriptedProvider

PROVIDERS: dict[str, ModelProvider] = {
    p.name: p
    for p in (
        AnthropicProvider(),
        OllamaProvider(),
        OpenAICompatibleProvider(),
        EmbeddedProvider(),
        ScriptedProvider(),
    )
}
