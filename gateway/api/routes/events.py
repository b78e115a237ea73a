"""Events to the case system: webhook subscriptions (scope ``events:admin``) and the pull inbox
(scope ``events:read``) for case systems that cannot receive webhooks.

A subscription's secret is shown once, in the answer that creates it (or rotates it), and only
when the gateway generated it; it is never returned afterwards, and a refused request's body is
recorded with the secret blanked. Generated secrets are Standard Webhooks ones (``whsec_`` +
base64), verifiable with the official ``standardwebhooks`` libraries as shown.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gateway.api.answers import (
    Acknowledged,
    Inbox,
    NewSecret,
    Subscription,
    Subscriptions,
    answer,
)
from gateway.core import events
from gateway.core.clients import Principal
from gateway.core.web.deps import GatewayDep, require_scope
from gateway.core.web.redaction import redacting_route

Admin = Annotated[Principal, Depends(require_scope("events:admin"))]
Reader = Annotated[Principal, Depends(require_scope("events:read"))]
Name = Annotated[str, Path(max_length=64, description="the subscription's name")]


class Subscribe(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        max_length=64,
        description="lower-case letters, digits, . _ - (2-64 chars)",
        examples=["motcua-webhooks"],
    )
    endpoint: str = Field(
        max_length=2048,
        description="the case system's URL receiving the signed POSTs",
        examples=["https://motcua.example.gov.vn/lgsp/events"],
    )
    event_types: list[str] = Field(
        default_factory=list,
        max_length=100,
        description="the event types delivered; empty: every type",
        examples=[["payment.settled", "dvcqg.dossier.received"]],
    )
    secret: SecretStr | None = Field(
        None,
        description=(
            "the secret: whsec_ + base64 of 24-64 bytes (Standard Webhooks), or any 24-256 "
            "chars whose UTF-8 bytes are the HMAC key (legacy); when absent the gateway "
            "generates a whsec_ one and shows it once in the answer"
        ),
        examples=["<your webhook secret>"],
    )


class Rotate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_hours: int = Field(
        int(events.DEFAULT_GRACE.total_seconds() // 3600),
        ge=0,
        le=int(events.MAX_GRACE.total_seconds() // 3600),
        description="how long the previous secret keeps signing too; 0: cut over at once",
    )


class Ack(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: int = Field(ge=0, description="the ``next`` (or an event's ``cursor``) processed")


router = APIRouter(prefix="/v1/events", tags=["events"], route_class=redacting_route("secret"))


@router.post(
    "/subscriptions",
    status_code=201,
    operation_id="events-subscribe",
    response_model=None,
    responses={201: answer(NewSecret, "subscribed")},
)
async def subscribe(body: Subscribe, gw: GatewayDep, _client: Admin) -> dict[str, Any]:
    """Subscribe an endpoint to events, delivered as signed webhooks (Standard Webhooks:
    ``webhook-id`` = the event id, ``webhook-timestamp``, ``webhook-signature: v1,<base64
    HMAC-SHA256(key, "{id}.{timestamp}.{body}")>``, the key being the base64-decoded part of
    the ``whsec_`` secret)."""
    view, generated = await events.subscribe(
        gw.db,
        gw.cipher,
        name=body.name,
        endpoint=body.endpoint,
        event_types=body.event_types,
        secret=body.secret.get_secret_value() if body.secret else None,
    )
    out = view.as_dict()
    if generated is not None:
        out["secret"] = generated  # shown this once
    return out


@router.get(
    "/subscriptions",
    operation_id="events-list-subscriptions",
    response_model=None,
    responses={200: answer(Subscriptions)},
)
async def list_subscriptions(
    gw: GatewayDep,
    _client: Admin,
    include_inactive: Annotated[bool, Query(description="also the deactivated ones")] = False,
) -> dict[str, Any]:
    """The subscriptions, by name (their secrets are never shown)."""
    views = await events.list_subscriptions(gw.db, include_inactive=include_inactive)
    return {"items": [v.as_dict() for v in views]}


@router.delete(
    "/subscriptions/{name}",
    operation_id="events-unsubscribe",
    response_model=None,
    responses={200: answer(Subscription, "deactivated")},
)
async def unsubscribe(name: Name, gw: GatewayDep, _client: Admin) -> dict[str, Any]:
    """Deactivate a subscription; its deliveries still queued are dead-lettered."""
    return (await events.unsubscribe(gw.db, name)).as_dict()


@router.post(
    "/subscriptions/{name}/rotate-secret",
    operation_id="events-rotate-secret",
    response_model=None,
    responses={200: answer(NewSecret, "rotated: the new secret, once")},
)
async def rotate_secret(
    name: Name, gw: GatewayDep, _client: Admin, body: Rotate | None = None
) -> dict[str, Any]:
    """Give a subscription a new generated ``whsec_`` secret, shown once in the answer; for
    ``grace_hours`` (24 by default) deliveries are signed with the previous secret too, so the
    case system can switch without refusing any."""
    grace = timedelta(hours=(body or Rotate()).grace_hours)
    view, generated = await events.rotate_secret(gw.db, gw.cipher, name, grace=grace)
    out = view.as_dict()
    out["secret"] = generated  # shown this once
    return out


@router.get("", operation_id="events-inbox", response_model=None, responses={200: answer(Inbox)})
async def inbox(
    gw: GatewayDep,
    client: Reader,
    after: Annotated[
        int | None,
        Query(ge=0, description="read after this cursor; default: your acknowledged cursor"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=events.MAX_PAGE)] = 100,
    types: Annotated[
        str | None, Query(max_length=2000, description="comma-separated event types")
    ] = None,
) -> dict[str, Any]:
    """The pull inbox: events oldest first, each with its ``cursor``; ``next`` is the cursor
    to read after next time (and to acknowledge once processed)."""
    wanted = [t.strip() for t in (types or "").split(",") if t.strip()]
    page = await events.read_inbox(
        gw.db, gw.cipher, client=client.name, after=after, limit=limit, types=wanted
    )
    return {"events": page.events, "next": page.next}


@router.post(
    "/ack", operation_id="events-ack", response_model=None, responses={200: answer(Acknowledged)}
)
async def ack(body: Ack, gw: GatewayDep, client: Reader) -> dict[str, Any]:
    """Acknowledge the inbox up to ``cursor`` (it never moves backwards)."""
    stored = await events.acknowledge(gw.db, client=client.name, cursor=body.cursor)
    return {"cursor": stored}
