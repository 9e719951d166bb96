"""The one interface every model provider implements.

A provider turns a catalog entry into a langchain ``BaseChatModel``, probes whether its backend is
usable (off the hot path, from the signal refresher), explains how to fix it when it is not, and
maps its client library's exceptions onto hybridcrew's small typed error set.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import httpx

from hybridcrew.errors import (
    AuthFailed,
    BadRequest,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    Unavailable,
)
from hybridcrew.routing.catalog import CatalogEntry, Location
from hybridcrew.routing.privacy.default import scrub

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

    from hybridcrew.platform.settings import Settings

_STATUS_ERRORS: dict[int, type[ProviderError]] = {
    400: BadRequest, 401: AuthFailed, 403: AuthFailed, 404: BadRequest, 408: ProviderTimeout,
    413: BadRequest, 422: BadRequest, 429: RateLimited, 503: Overloaded, 529: Overloaded,
}
_SERVER_ERROR = 500


@dataclass(frozen=True)
class Probe:
    """What a health probe learned about one model's backend."""

    up: bool
    detail: str
    fix: str = ""
    models: frozenset[str] = field(default_factory=frozenset)


class ModelProvider(ABC):
    """Base class of the provider modules under ``hybridcrew.routing.providers``."""

    name: ClassVar[str]
    location: ClassVar[Location]

    @abstractmethod
    def chat_model(self, entry: CatalogEntry, settings: Settings, max_tokens: int
                   ) -> BaseChatModel:
        """Build the langchain chat model that serves ``entry``."""

    @abstractmethod
    def probe(self, entry: CatalogEntry, settings: Settings) -> Probe:
        """Check the backend (blocking I/O; only the background refresher calls this)."""

    def endpoint(self, entry: CatalogEntry, settings: Settings) -> str:
        """The key under which health and the circuit breaker are tracked."""
        return f"{self.name}:{entry.spec.endpoint or 'default'}"

    def timeout(self, entry: CatalogEntry, settings: Settings) -> float:
        """Per-call timeout: the model's own, else the settings default."""
        return entry.spec.timeout_s or settings.request_timeout_s

    def classify(self, exc: BaseException, entry: CatalogEntry) -> ProviderError | None:
        """Map a client-library exception to the typed set; None means "not a provider error"."""
        return classify_http_error(exc, provider=self.name, model=entry.spec.model)


def classify_http_error(exc: BaseException, *, provider: str, model: str) -> ProviderError | None:
    """Classify by HTTP status, timeout or connection failure, as the SDKs expose them."""
    if isinstance(exc, ProviderError):
        return exc
    name = type(exc).__name__
    detail = _short(exc)
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        cls = _STATUS_ERRORS.get(status, Unavailable if status >= _SERVER_ERROR else BadRequest)
        return cls(provider=provider, model=model, detail=detail, status=status,
                   retry_after_s=_retry_after(exc))
    if isinstance(exc, TimeoutError | httpx.TimeoutException) or "Timeout" in name:
        return ProviderTimeout(provider=provider, model=model, detail=detail)
    if isinstance(exc, ConnectionError | httpx.TransportError) or "Connection" in name:
        return Unavailable(provider=provider, model=model, detail=detail)
    return None


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    value = headers.get("retry-after") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _short(exc: BaseException, limit: int = 300) -> str:
    # Error bodies can echo request content; keep them short and scrub secrets before display.
    text = " ".join(str(exc).split()) or type(exc).__name__
    return scrub(text[:limit])


def http_probe(url: str, timeout: float, headers: dict[str, str] | None = None) -> httpx.Response:
    """GET ``url`` with a short timeout; the caller turns failures into a :class:`Probe`."""
    return httpx.get(url, timeout=timeout, headers=headers or {})
