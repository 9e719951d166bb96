"""Typed dependencies: the service, the authenticated caller, role checks, a caller's run."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hybridcrew.graphs.ports import DEFAULT_TENANT
from hybridcrew.platform.api.errors import Forbidden
from hybridcrew.platform.keys import AuthError, Caller, authenticate, is_loopback
from hybridcrew.platform.service import RunService
from hybridcrew.platform.store import Role, RunRow

SESSION_COOKIE = "hc_session"
"""The console's session cookie (set by ``/ui/login``)."""
SAFE_METHODS = frozenset({"GET", "HEAD"})
_bearer = HTTPBearer(auto_error=False, description="an API key from `hybridcrew keys create`")


# Dependencies are ``async`` so FastAPI does not hop to its thread pool for each of them: runs
# execute on the same event loop. Store reads go through ``Store.aread`` (in place when local).


async def get_service(request: Request) -> RunService:
    """The app's run service."""
    service: RunService = request.app.state.service
    return service


ServiceDep = Annotated[RunService, Depends(get_service)]


async def get_caller(request: Request, service: ServiceDep,
                     credentials: Annotated[HTTPAuthorizationCredentials | None,
                                            Depends(_bearer)]) -> Caller:
    """The caller behind the request's bearer key (or, for reads, the console's session).

    With no key configured, only loopback clients are served, as the default tenant's admin.
    The console's session cookie (SameSite=Strict, HttpOnly) stands for its key on reads only:
    never on the JSON API's writes (the console's own form posts check it with a CSRF token).
    """
    if credentials is not None:
        return await service.store.aread(authenticate, service.store, credentials.credentials)
    session = request.cookies.get(SESSION_COOKIE)
    if session and request.method in SAFE_METHODS:
        return await service.store.aread(authenticate, service.store, session)
    required = service.auth_known_required()
    if required is None:
        required = await service.store.aread(service.auth_required)
    if required:
        raise AuthError("this gateway needs an API key: send 'Authorization: Bearer hc_...'")
    client = request.client.host if request.client else ""
    if not is_loopback(client):
        raise AuthError("no API key exists, so only loopback clients are served; create one "
                        "with `hybridcrew keys create --tenant NAME --role admin`")
    return Caller(DEFAULT_TENANT, "admin")


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_tool_caller(request: Request, service: ServiceDep,
                          credentials: Annotated[HTTPAuthorizationCredentials | None,
                                                 Depends(_bearer)]) -> Caller:
    """The caller of a compatible endpoint, as an operator at least.

    Its key comes as ``Authorization: Bearer`` (OpenAI clients) or ``x-api-key`` (Anthropic
    clients). With no key configured, loopback clients are served whatever key they send:
    those SDKs insist on sending one.
    """
    token = credentials.credentials if credentials else request.headers.get("x-api-key")
    required = service.auth_known_required()
    if required is None:
        required = await service.store.aread(service.auth_required)
    if not required:
        return await get_caller(request, service, None)
    if not token:
        raise AuthError("this gateway needs an API key: send 'Authorization: Bearer hc_...' or "
                        "'x-api-key: hc_...'")
    caller = await service.store.aread(authenticate, service.store, token)
    if not caller.can("operator"):
        raise Forbidden("operator", caller.role)
    return caller


ToolCaller = Annotated[Caller, Depends(get_tool_caller)]
"""Who calls a model through a compatible endpoint (operator or admin)."""


def role(needed: Role) -> object:
    """A dependency that admits callers with at least role ``needed``."""

    async def check(caller: CallerDep) -> Caller:
        if not caller.can(needed):
            raise Forbidden(needed, caller.role)
        return caller

    return Depends(check)


Viewer = Annotated[Caller, role("viewer")]
Operator = Annotated[Caller, role("operator")]
Admin = Annotated[Caller, role("admin")]


async def get_run(run_id: Annotated[str, Path(max_length=100)], caller: Viewer,
                  service: ServiceDep) -> RunRow:
    """The run ``run_id`` if the caller's tenant owns it (404 otherwise, never 403)."""
    return await service.store.aread(service.store.get_run, run_id, caller.tenant)


RunDep = Annotated[RunRow, Depends(get_run)]

