"""The one interface every model provider implements.

A provider turns a catalog entry into a langchain ``BaseChatModel``, probes whether its backend is
usable (off the hot path, from the signal refresher), explains how to fix it when it is not, and
maps its client library's exceptions onto hybridcrew's small typed error set.

Plain calls go to the chat model's own ``_generate``/``_agenerate`` (:func:`generate`,
:func:`agenerate`), the methods every langchain chat model implements, not through
``invoke``: around them ``invoke`` adds callbacks, tracing, a cache and a rate limiter, which
hybridcrew does not use (its decision records, accounting and metrics are its own) and which
cost 0.2 ms per call on a 2.3 GHz Xeon, eight times what the scripted model itself takes.
"""

from __future__ import annotations

import functools
import json
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatResult
from pydantic import BaseModel, ValidationError

from hybridcrew.errors import (
    AuthFailed,
    BadRequest,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    Unavailable,
)
from hybridcrew.http_client import shared_client
from hybridcrew.routing.catalog import CatalogEntry, Location
from hybridcrew.routing.privacy.default import scrub

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

    from hybridcrew.settings import Settings

_STATUS_ERRORS: dict[int, type[ProviderError]] = {
    400: BadRequest, 401: AuthFailed, 403: AuthFailed, 404: BadRequest, 408: ProviderTimeout,
    413: BadRequest, 422: BadRequest, 429: RateLimited, 503: Overloaded, 529: Overloaded,
}
_SERVER_ERROR = 500
JSON_OBJECT = "json_object"
"""The structured-output method of llama.cpp (see :attr:`ModelProvider.structured_method`)."""
STRUCTURED_MODELS = 256
"""Structured-output runnables kept (model x schema x method); the least recently used goes."""
_structured_models: OrderedDict[tuple[int, type[BaseModel], str],
                         tuple[BaseChatModel, Runnable[Any, Any]]] = OrderedDict()
_structured_models_lock = threading.Lock()


@dataclass(frozen=True)
class Reply:
    """A model's answer.

    The raw message carries usage; with a schema, ``parsed`` holds the object or ``invalid`` says
    why the reply could not be parsed.
    """

    message: AIMessage
    parsed: BaseModel | None = None
    invalid: str | None = None


@functools.cache
def json_schema_of(schema: type[BaseModel]) -> dict[str, Any]:
    """The JSON schema of a model class (generated once: it is asked for on every call)."""
    return schema.model_json_schema()


def generate(model: BaseChatModel, messages: Sequence[BaseMessage], **options: Any
             ) -> AIMessage:
    """The model's reply to ``messages``, from its own ``_generate`` (see the module docstring).

    ``options`` are call options (``stop``, ``response_format``, bound tools, ...).
    """
    return _message(model._generate(list(messages), **options))


async def agenerate(model: BaseChatModel, messages: Sequence[BaseMessage], **options: Any
                    ) -> AIMessage:
    """:func:`generate` for a step on the event loop.

    A model with an async client awaits it on the loop; one without (the embedded model) runs
    on the loop's bounded worker pool, as langchain's ``ainvoke`` would run it.
    """
    return _message(await model._agenerate(list(messages), **options))


def _message(result: ChatResult) -> AIMessage:
    message = result.generations[0].message
    return message if isinstance(message, AIMessage) else AIMessage(message.text)


def _invoke_json_object(model: BaseChatModel, messages: Sequence[BaseMessage],
                        schema: type[BaseModel]) -> Reply:
    """Structured output the llama.cpp way.

    ``response_format`` is ``json_object`` plus the schema, which llama.cpp turns into a grammar
    that constrains decoding.
    """
    return parse_json_reply(generate(model, messages, response_format=_json_object(schema)),
                            schema)


async def _ainvoke_json_object(model: BaseChatModel, messages: Sequence[BaseMessage],
                               schema: type[BaseModel]) -> Reply:
    """:func:`_invoke_json_object` for a step on the event loop."""
    return parse_json_reply(
        await agenerate(model, messages, response_format=_json_object(schema)), schema)


def _json_object(schema: type[BaseModel]) -> dict[str, Any]:
    return {"type": "json_object", "schema": json_schema_of(schema)}


def structured_model(model: BaseChatModel, schema: type[BaseModel], method: str
                     ) -> Runnable[Any, Any]:
    """``model.with_structured_output(schema, method=method, include_raw=True)``, built once.

    Building it converts the schema each time: 0.8 ms (``json_schema``) to 1.5 ms (tool use) on
    a 2-core Xeon, paid on the event loop by every plan and review step. The runnable holds no
    per-call state, so calls share it.
    """
    key = (id(model), schema, method)  # the entry holds the model: its id is not reused
    with _structured_models_lock:
        if (entry := _structured_models.get(key)) is not None:
            _structured_models.move_to_end(key)
            return entry[1]
    runnable = model.with_structured_output(schema, method=method, include_raw=True)
    with _structured_models_lock:
        _structured_models[key] = (model, runnable)
        while len(_structured_models) > STRUCTURED_MODELS:
            _structured_models.popitem(last=False)
    return runnable


def parse_json_reply(message: AIMessage, schema: type[BaseModel]) -> Reply:
    """Validate a JSON reply against ``schema``."""
    text = message.text.strip()
    if not text:
        return Reply(message, invalid="the reply was empty")
    try:
        # strict=False: small models put raw newlines inside JSON strings; the content is fine.
        data = json.loads(text, strict=False)
    except json.JSONDecodeError as exc:
        return Reply(message, invalid=f"not valid JSON ({exc.msg} at character {exc.pos})")
    try:
        return Reply(message, parsed=schema.model_validate(data))
    except ValidationError as exc:
        return Reply(message, invalid=_validation_summary(exc))


def _validation_summary(exc: ValidationError) -> str:
    problems = [f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}"
                for e in exc.errors()[:5]]
    return "; ".join(problems)


def _structured(out: Any) -> Reply:
    """The reply of ``with_structured_output(..., include_raw=True)``: parsed, or why not."""
    assert isinstance(out, dict)
    raw = out["raw"]
    if out.get("parsing_error") is not None:
        error = out["parsing_error"]
        detail = _validation_summary(error) if isinstance(error, ValidationError) else str(error)
        return Reply(raw, invalid=detail)
    if out.get("parsed") is None:
        return Reply(raw, invalid="no structured reply was given")
    return Reply(raw, parsed=out["parsed"])


@dataclass(frozen=True)
class Probe:
    """What a health probe learned about one model's backend."""

    up: bool
    detail: str
    fix: str = ""


class ModelProvider(ABC):
    """Base class of the provider modules under ``hybridcrew.routing.providers``."""

    name: ClassVar[str]
    location: ClassVar[Location]
    structured_method: ClassVar[str] = "json_schema"
    """The ``method`` of langchain's ``with_structured_output`` for this provider, or
    ``json_object``: the schema goes to the model as ``response_format`` (llama.cpp makes it a
    grammar) and the reply is validated here."""
    json_mode_kwargs: ClassVar[dict[str, Any] | None] = None
    """Call options that ask this provider's model for a JSON object; None: it has no JSON mode."""

    @abstractmethod
    def chat_model(self, entry: CatalogEntry, settings: Settings, max_tokens: int
                   ) -> BaseChatModel:
        """Build the langchain chat model that serves ``entry``."""

    @abstractmethod
    def probe(self, entry: CatalogEntry, settings: Settings) -> Probe:
        """Check the backend (blocking I/O; only the background refresher calls this)."""

    def structured_method_for(self, entry: CatalogEntry) -> str:
        """How ``entry`` gives structured output: :attr:`structured_method`, unless it chooses."""
        return self.structured_method

    def invoke(self, entry: CatalogEntry, model: BaseChatModel, messages: Sequence[BaseMessage],
               schema: type[BaseModel] | None) -> Reply:
        """Call the model; with a schema, use the provider's native structured output."""
        if schema is None:
            return Reply(generate(model, messages))
        method = self.structured_method_for(entry)
        if method == JSON_OBJECT:
            return _invoke_json_object(model, messages, schema)
        return _structured(structured_model(model, schema, method).invoke(list(messages)))

    async def ainvoke(self, entry: CatalogEntry, model: BaseChatModel,
                      messages: Sequence[BaseMessage], schema: type[BaseModel] | None) -> Reply:
        """:meth:`invoke` for a step on the event loop.

        Network clients await their reply on the loop; a model without an async client (the
        embedded one) runs on the loop's bounded worker pool.
        """
        if schema is None:
            return Reply(await agenerate(model, messages))
        method = self.structured_method_for(entry)
        if method == JSON_OBJECT:
            return await _ainvoke_json_object(model, messages, schema)
        return _structured(await structured_model(model, schema, method).ainvoke(list(messages)))

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
    return shared_client().get(url, timeout=timeout, headers=headers or {})
