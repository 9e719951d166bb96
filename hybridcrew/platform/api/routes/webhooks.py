"""``/v1/webhooks``: a tenant's subscriptions to run events, and every delivery attempt.

See :mod:`hybridcrew.platform.webhooks` for how deliveries are queued, signed and retried.
"""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field, field_validator

from hybridcrew.graphs.lifecycle import EventKind
from hybridcrew.platform.api.deps import Admin, ServiceDep
from hybridcrew.platform.api.errors import NotFound
from hybridcrew.platform.api.schemas import Body, ErrorBody
from hybridcrew.platform.store.webhooks import Webhook
from hybridcrew.platform.webhooks import check_secret, check_url, new_secret

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"], responses={
    401: {"model": ErrorBody}, 403: {"model": ErrorBody}})
ALL = "*"


class WebhookCreate(Body):
    """A subscription: where to POST which run events (``*``: every kind)."""

    url: str = Field(max_length=2000, description="http(s) URL of the receiver")
    events: list[EventKind | Literal["*"]] = Field(min_length=1, max_length=32)
    secret: str | None = Field(None, max_length=200, description="whsec_<base64>; generated "
                               "when absent")

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        check_url(value)
        return value

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None:
            check_secret(value)
        return value


class WebhookView(BaseModel):
    """A subscription (its secret only in the answer that created it)."""

    id: str
    url: str
    events: list[str]
    created_at: float
    secret: str | None = Field(None, description="shown once, when the subscription is created")


class AttemptView(BaseModel):
    """One attempt: when, the receiver's HTTP status (null: no answer), why it failed."""

    number: int
    at: float
    status_code: int | None
    error: str
    seconds: float


class DeliveryView(BaseModel):
    """One event for the subscription: its idempotency id, state and attempts."""

    id: str = Field(description="the webhook-id header of every attempt")
    event: str
    status: Literal["pending", "delivered", "failed"]
    created_at: float
    next_attempt_at: float | None
    attempts: list[AttemptView]


def _view(hook: Webhook, with_secret: bool = False) -> WebhookView:
    return WebhookView(id=hook.id, url=hook.url, events=list(hook.events),
                       created_at=hook.created_at, secret=hook.secret if with_secret else None)


@router.post("", status_code=201, response_model=WebhookView,
             responses={422: {"model": ErrorBody}})
def create_webhook(body: WebhookCreate, caller: Admin, service: ServiceDep) -> WebhookView:
    """Subscribe a receiver to the tenant's run events (answers with the signing secret)."""
    hook = Webhook("wh_" + secrets.token_hex(8), caller.tenant, body.url,
                   tuple(dict.fromkeys(str(e) for e in body.events)),
                   body.secret or new_secret(), time.time())
    service.store.add_webhook(hook)
    service.crew.webhooks.forget_subscriptions()
    return _view(hook, with_secret=True)


@router.get("", response_model=list[WebhookView])
def list_webhooks(caller: Admin, service: ServiceDep) -> list[WebhookView]:
    """The tenant's subscriptions (never their secrets)."""
    return [_view(h) for h in service.store.webhooks(caller.tenant)]


@router.delete("/{webhook_id}", status_code=204, responses={404: {"model": ErrorBody}})
def delete_webhook(webhook_id: Annotated[str, Path(max_length=100)], caller: Admin,
                   service: ServiceDep) -> Response:
    """Unsubscribe; its pending deliveries are given up."""
    if not service.store.remove_webhook(caller.tenant, webhook_id):
        raise NotFound("no webhook with that id for this tenant; GET /v1/webhooks lists them")
    service.crew.webhooks.forget_subscriptions()
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryView],
            responses={404: {"model": ErrorBody}})
def list_deliveries(webhook_id: Annotated[str, Path(max_length=100)], caller: Admin,
                    service: ServiceDep) -> list[DeliveryView]:
    """The subscription's deliveries, newest first, with every attempt."""
    if not any(h.id == webhook_id for h in service.store.webhooks(caller.tenant)):
        raise NotFound("no webhook with that id for this tenant; GET /v1/webhooks lists them")
    return [DeliveryView(id=d.id, event=d.event, status=d.status, created_at=d.created_at,
                         next_attempt_at=d.next_at if d.status == "pending" else None,
                         attempts=[AttemptView(**vars(a)) for a in d.attempts])
            for d in service.store.deliveries(webhook_id)]
