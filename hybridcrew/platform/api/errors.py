"""The one place where errors become HTTP answers: a status code and a JSON :class:`ErrorBody`.

Error bodies name the field and the rule, never a submitted value: a secret pasted into the
wrong field, used as a label or as a map key must not come back in a 4xx body (or land in a
client's logs). Names the operator configured (agents, models, labels, workflows) and the API's
own field names are shown; anything else a client sent is replaced by ``<value>`` or ``<key>``.
Server paths never appear. Store faults (disk full, a corrupt page, a lock held too long, Redis
gone) answer 503 with the reason; an unexpected error answers 500 without a traceback (it goes
to the log).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from hybridcrew.errors import AllCandidatesFailed, ConfigError, HybridCrewError, StepBlocked
from hybridcrew.platform.keys import AuthError
from hybridcrew.platform.outcomes import RunStateError
from hybridcrew.platform.ratelimits import RateLimitExceeded
from hybridcrew.platform.store import RunExists, RunNotFound
from hybridcrew.platform.store.faults import DRIVER_ERRORS

log = logging.getLogger(__name__)
_LOCATIONS = frozenset({"body", "query", "path", "header", "cookie"})
_QUOTED = re.compile(r"'([^'\n]*)'")
_GOT = re.compile(r"\s*\(got [^)]*\)")
_INDEXED = re.compile(r"^(\w+)\[\d+\]$")


class Forbidden(HybridCrewError):
    """The caller's role does not allow this."""

    def __init__(self, needed: str, has: str) -> None:
        super().__init__(f"this needs the {needed} role; your key has {has}")


class SignInRequired(HybridCrewError):
    """A console page was asked for without a valid session: the browser goes to sign in."""


class BadCsrfToken(HybridCrewError):
    """A console form was posted without the browser's CSRF token."""


class ServiceUnavailable(HybridCrewError):
    """A backend this request needs is off or cannot be reached."""


class NotFound(HybridCrewError):
    """Something other than a run (an agent, an artifact) does not exist."""


class TooManyStreams(HybridCrewError):
    """The caller's key holds as many open event streams as it may."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"this key has {limit} event streams open already "
                         "(HYBRIDCREW_MAX_STREAMS_PER_KEY): close one, or reuse a stream")


# Most specific first: the first matching class decides.
_STATUS: list[tuple[type[Exception], int, str]] = [
    (AuthError, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (BadCsrfToken, 403, "bad_csrf_token"),
    (RunNotFound, 404, "not_found"),
    (NotFound, 404, "not_found"),
    (RunStateError, 409, "conflict"),
    (RunExists, 409, "conflict"),
    (ConfigError, 422, "invalid"),
    (TooManyStreams, 429, "too_many_streams"),
    (RateLimitExceeded, 429, "rate_limited"),
    (AllCandidatesFailed, 502, "upstream_failed"),
    (ServiceUnavailable, 503, "unavailable"),
]


class Redactor:
    """Keeps what the server defined in error texts and replaces what a client sent."""

    def __init__(self, known: Iterable[str]) -> None:
        self.known = frozenset(known)

    def segment(self, part: object, placeholder: str = "<key>") -> str:
        """One part of a field path (``name[3]`` is kept when ``name`` is)."""
        if isinstance(part, int) or part in _LOCATIONS or part in self.known:
            return str(part)
        indexed = _INDEXED.match(str(part))
        if indexed is not None and indexed.group(1) in self.known:
            return str(part)
        return placeholder

    def path(self, parts: Iterable[object]) -> str:
        """A dotted field path with client-chosen keys replaced."""
        return ".".join(self.segment(p) for p in parts)

    def text(self, message: str) -> str:
        """A message with quoted values that are not known names replaced."""
        message = _GOT.sub("", message)
        return _QUOTED.sub(lambda m: m.group(0) if m.group(1) in self.known else "'<value>'",
                           message)


# Why a call was blocked → its status: privacy is a refusal, money is payment, the rest capacity.
_BLOCKED = {"privacy": (403, "blocked_by_privacy"), "budget": (402, "over_budget")}
# A prompt too long for every candidate is the request's fault, and retrying cannot help (a 503
# makes clients such as Claude Code retry for minutes); APIs call it a bad request.
_TOO_LONG = (400, "context_length_exceeded")
OPENAI_PREFIX = "/openai/"
ANTHROPIC_PREFIX = "/v1/messages"
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                    402: "billing_error", 403: "permission_error", 404: "not_found_error",
                    413: "request_too_large", 422: "invalid_request_error",
                    429: "rate_limit_error", 503: "overloaded_error"}


def _answer(status: int, error: str, detail: Any, headers: dict[str, str] | None = None,
            request: Request | None = None) -> JSONResponse:
    if request is not None and request.url.path.startswith(OPENAI_PREFIX):
        return _openai_answer(status, error, detail, headers)
    if request is not None and request.url.path.startswith(ANTHROPIC_PREFIX):
        return _anthropic_answer(status, detail, headers)
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _message(detail: Any) -> str:
    if isinstance(detail, dict):
        return str(detail.get("message", detail))
    if isinstance(detail, list):
        return "; ".join(f"{d['field']}: {d['problem']}" for d in detail)
    return str(detail)


def _openai_answer(status: int, error: str, detail: Any, headers: dict[str, str] | None
                   ) -> JSONResponse:
    """OpenAI's error body, which its SDKs and the tools built on them show to their users."""
    kind = "invalid_request_error" if status in {400, 404, 422} else error
    return JSONResponse({"error": {"message": _message(detail), "type": kind, "param": None,
                                   "code": error}}, status_code=status, headers=headers)


def _anthropic_answer(status: int, detail: Any, headers: dict[str, str] | None
                      ) -> JSONResponse:
    """Anthropic's error body (the anthropic SDK and Claude Code read its type and message)."""
    kind = _ANTHROPIC_TYPES.get(status, "api_error")
    return JSONResponse({"type": "error", "error": {"type": kind, "message": _message(detail)}},
                        status_code=status, headers=headers)


def _blocked(request: Request, exc: StepBlocked) -> JSONResponse:
    whys = [r.why for r in exc.decision.rejected] or ["no_candidates"]
    status, error = _BLOCKED.get(max(set(whys), key=whys.count), (503, "no_model_available"))
    if set(whys) == {"context_window"}:
        status, error = _TOO_LONG
    headers = {"x-hybridcrew-reasons": ",".join(sorted(set(whys)))}
    if exc.call_id is not None:
        headers["x-hybridcrew-decision-id"] = exc.call_id
    return _answer(status, error, redactor_of(request).text(str(exc)), headers, request)


def redactor_of(request: Request) -> Redactor:
    """The app's redactor: configured names and the API's own field names are kept."""
    redactor: Redactor = request.app.state.redactor
    return redactor


async def _domain(request: Request, exc: Exception) -> Response:
    if isinstance(exc, StepBlocked):
        return _blocked(request, exc)
    if isinstance(exc, SignInRequired):  # a console page: the browser goes to the sign-in form
        return RedirectResponse("/ui/login", status_code=303)
    for kind, status, error in _STATUS:
        if isinstance(exc, kind):
            detail: Any = redactor_of(request).text(str(exc))
            if isinstance(exc, ConfigError):
                detail = _config_detail(redactor_of(request), exc)
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None  # noqa: PLR2004
            if isinstance(exc, RateLimitExceeded):
                headers = {"Retry-After": str(exc.retry_after_s)}
            return _answer(status, error, detail, headers, request)
    return await _unexpected(request, exc)


def problem_lines(redactor: Redactor, exc: ConfigError | ValidationError) -> list[str]:
    """What is wrong, a line each (field: problem, and the fix when there is one).

    Without submitted values or the server's file paths: for pages and tool results, which
    show the API's words in prose.
    """
    if isinstance(exc, ConfigError):
        return [f"{p['path']}: {p['problem']}. Fix: {p['fix']}" if p["path"]
                else f"{p['problem']}. Fix: {p['fix']}"
                for p in _config_detail(redactor, exc)["problems"]]
    return [f"{redactor.path(e['loc'])}: {redactor.text(e['msg'])}"
            for e in exc.errors(include_input=False)]


def _config_detail(redactor: Redactor, exc: ConfigError) -> dict[str, Any]:
    """The problems without the source (a server file path) and without submitted values."""
    problems = [{"path": redactor.path(p.path.split(".")) if p.path else "",
                 "problem": redactor.text(p.problem), "fix": redactor.text(p.fix)}
                for p in exc.problems]
    message = "; ".join(f"{p['path']}: {p['problem']}" if p["path"] else p["problem"]
                        for p in problems)
    return {"message": message, "problems": problems}


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for that class only
    redactor = redactor_of(request)
    fields = []
    for err in exc.errors():
        loc = list(err["loc"])
        if err["type"] == "json_invalid":
            fields.append({"field": "body", "problem": "the body is not valid JSON"})
            continue
        last = loc.pop() if err["type"] == "extra_forbidden" and loc else None
        field = redactor.path(loc) + (f".{redactor.segment(last, '<unknown>')}"
                                      if last is not None else "")
        problem = redactor.text(str(err["msg"]))
        if err["type"] == "string_pattern_mismatch":  # the API's own rule: say it
            problem = f"must match the pattern {err['ctx']['pattern']}"
        fields.append({"field": field, "problem": problem})
    return _answer(422, "invalid_request", fields, request=request)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # registered for that class only
    if exc.status_code == 400:  # noqa: PLR2004 - FastAPI's "error parsing the body"
        return _answer(422, "invalid_request", [
            {"field": "body", "problem": "the body is not valid JSON in UTF-8"}],
            request=request)
    names = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
    return _answer(exc.status_code, names.get(exc.status_code, "error"), exc.detail,
                   dict(exc.headers) if exc.headers else None, request)


async def _store_fault(request: Request, exc: Exception) -> JSONResponse:
    reason = request.app.state.service.crew.faults.record(exc)
    if reason is None:
        return await _unexpected(request, exc)
    log.error("store fault: %s (%s)", reason, type(exc).__name__)
    return _answer(503, "unavailable", f"the store cannot be used: {reason}",
                   {"Retry-After": "5"}, request)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return _answer(500, "internal", "internal error; the gateway's log has the details",
                   request=request)


def install_error_handlers(app: FastAPI, known_names: Iterable[str]) -> None:
    """Map every error the API can meet to its answer.

    ``known_names`` are the configured names error texts may show; the API's field and
    parameter names are added from the OpenAPI document.
    """
    app.state.redactor = Redactor([*known_names, *_schema_names(app)])
    app.add_exception_handler(HybridCrewError, _domain)
    # Not the catch-all: Starlette re-raises from that one after answering, which resets the
    # connection; these answer 503 and stop there.
    for driver_error in DRIVER_ERRORS:
        app.add_exception_handler(driver_error, _store_fault)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


def _schema_names(app: FastAPI) -> set[str]:
    document = app.openapi()
    names: set[str] = set()
    for schema in document.get("components", {}).get("schemas", {}).values():
        names.update(schema.get("properties", {}))
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            names.update(p["name"] for p in operation.get("parameters", []))
    return names
