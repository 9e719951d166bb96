"""The one place where errors become HTTP answers: a status code and a JSON :class:`ErrorBody`.

Nothing here echoes a request's credentials, and an unexpected error answers 500 without a
traceback (it goes to the log).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from hybridcrew.errors import ConfigError, HybridCrewError
from hybridcrew.platform.crew import RunStateError
from hybridcrew.platform.keys import AuthError
from hybridcrew.platform.store import RunNotFound

log = logging.getLogger(__name__)


class Forbidden(HybridCrewError):
    """The caller's role does not allow this."""

    def __init__(self, needed: str, has: str) -> None:
        super().__init__(f"this needs the {needed} role; your key has {has}")


class Unavailable(HybridCrewError):
    """A backend this request needs is off or cannot be reached."""


class NotFound(HybridCrewError):
    """Something other than a run (an agent, an artifact) does not exist."""


# Most specific first: the first matching class decides.
_STATUS: list[tuple[type[Exception], int, str]] = [
    (AuthError, 401, "unauthorized"),
    (Forbidden, 403, "forbidden"),
    (RunNotFound, 404, "not_found"),
    (NotFound, 404, "not_found"),
    (RunStateError, 409, "conflict"),
    (ConfigError, 422, "invalid"),
    (Unavailable, 503, "unavailable"),
]


def _answer(status: int, error: str, detail: Any, headers: dict[str, str] | None = None
            ) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


async def _domain(_: Request, exc: Exception) -> JSONResponse:
    for kind, status, error in _STATUS:
        if isinstance(exc, kind):
            detail: Any = str(exc)
            if isinstance(exc, ConfigError):
                detail = {"message": str(exc), "problems": [
                    {"path": p.path, "problem": p.problem, "fix": p.fix} for p in exc.problems]}
            headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None  # noqa: PLR2004
            return _answer(status, error, detail, headers)
    log.error("unhandled %s: %s", type(exc).__name__, exc)
    return _answer(500, "internal", "internal error; the gateway's log has the details")


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)  # registered for that class only
    fields = [{"field": ".".join(str(p) for p in err["loc"]), "problem": err["msg"]}
              for err in exc.errors()]
    return _answer(422, "invalid_request", fields)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)  # registered for that class only
    names = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
    return _answer(exc.status_code, names.get(exc.status_code, "error"), exc.detail,
                   dict(exc.headers) if exc.headers else None)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return _answer(500, "internal", "internal error; the gateway's log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the API can meet to its answer."""
    app.add_exception_handler(HybridCrewError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
