"""The console's sign-in, CSRF protection and Content-Security-Policy.

Signing in keeps the API key in an HttpOnly, SameSite=Strict cookie (never in a URL or in the
page's storage); the JSON API accepts that cookie for reads only (the run page's event stream),
so a cookie alone never changes anything. Every form post carries a CSRF token that must equal
the ``hc_csrf`` cookie (double submit; the cookie is SameSite=Strict too, so another site can
neither send nor read it). With no key configured, loopback browsers are the default tenant's
admin, as API clients are.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from anyio import to_thread
from fastapi import Depends, Form, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hybridcrew.platform.api.deps import SESSION_COOKIE, ServiceDep, get_caller
from hybridcrew.platform.api.errors import BadCsrfToken, SignInRequired
from hybridcrew.platform.keys import AuthError, Caller, authenticate

CSRF_COOKIE = "hc_csrf"
PREFIX = "/ui"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


async def console_caller(request: Request, service: ServiceDep) -> Caller:
    """The signed-in caller (the session cookie's key), or the loopback admin with no keys.

    On every method: the console's form posts carry a CSRF token besides the cookie.
    """
    session = request.cookies.get(SESSION_COOKIE)
    try:
        if session:
            return await to_thread.run_sync(authenticate, service.store, session)
        return await get_caller(request, service, None)
    except AuthError:
        raise SignInRequired("sign in with an API key") from None


ConsoleCaller = Annotated[Caller, Depends(console_caller)]


def csrf_token(request: Request) -> str:
    """The token forms of this browser carry (its ``hc_csrf`` cookie, made on first visit)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return token


async def checked_csrf(request: Request, csrf: Annotated[str, Form(max_length=100)] = ""
                       ) -> None:
    """A form post's token must equal the browser's ``hc_csrf`` cookie."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf.encode()):
        raise BadCsrfToken("the form's CSRF token is missing or stale: reload the page and "
                           "submit it again")


CsrfChecked = Depends(checked_csrf)


def remember_csrf(request: Request, response: Response) -> None:
    """Set the ``hc_csrf`` cookie when this request made the token."""
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(CSRF_COOKIE, new, httponly=True, samesite="strict", path=PREFIX,
                            secure=request.url.scheme == "https")


def sign_in(request: Request, response: Response, token: str) -> None:
    """Keep the key in the session cookie."""
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")


def sign_out(response: Response) -> None:
    """Forget the session."""
    response.delete_cookie(SESSION_COOKIE, path="/")


class ConsoleHeaders:
    """Adds the console's strict security headers to everything under ``/ui``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers to a console response's start."""
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"content-security-policy", CSP.encode()),
                                      (b"x-content-type-options", b"nosniff"),
                                      (b"referrer-policy", b"same-origin"),
                                      (b"x-frame-options", b"DENY")]
            await send(message)

        await self.app(scope, receive, with_headers)
