"""How the console renders: its templates (autoescaped), helpers they use, redirects."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from hybridcrew.platform.api.console.session import csrf_token, remember_csrf
from hybridcrew.platform.api.errors import Forbidden
from hybridcrew.platform.keys import Caller
from hybridcrew.platform.store import Role
from hybridcrew.routing.decision import REASON_LABELS
from hybridcrew.routing.privacy.default import scrub

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
# Texts a person or a model wrote (tasks, questions, notes, findings) are shown with every
# secret or personal datum the privacy scanner finds replaced by its detector's name.
templates.env.filters["masked"] = scrub
templates.env.globals.update(
    money=lambda v: "—" if v is None else f"${v:.4f}",
    when=lambda ts: time.strftime("%Y-%m-%d %H:%M", time.localtime(ts)),
    reasons=lambda codes: ", ".join(REASON_LABELS.get(c, c) for c in codes))


def page(request: Request, name: str, caller: Caller | None, status_code: int = 200,
         **context: Any) -> HTMLResponse:
    """A template rendered for ``caller``, with this browser's CSRF token for its forms."""
    response = templates.TemplateResponse(
        request, name, {"caller": caller, "csrf": csrf_token(request), **context},
        status_code=status_code)
    remember_csrf(request, response)
    return response


def back(url: str) -> RedirectResponse:
    """After a form post: see the result at ``url`` (a reload does not post again)."""
    return RedirectResponse(url, status_code=303)


def needs(caller: Caller, role: Role) -> None:
    """Refuse a caller below ``role`` (the page hides the form; a forged post lands here)."""
    if not caller.can(role):
        raise Forbidden(role, caller.role)
