"""The route side of accepting work: Idempotency-Key handling around
:mod:`gateway.core.delivery.intake`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gateway.core.clients import Principal
from gateway.core.delivery.intake import accept_delivery
from gateway.core.runtime import Gateway
from gateway.core.store import idempotency


class AcceptedLinks(BaseModel):
    self: str = Field(description="where to follow the delivery: GET /v1/exchanges/{id}")


class Accepted(BaseModel):
    """The answer to work accepted into the outbox (202): delivered asynchronously, in order
    per dossier; the same answer again for a repeat with the same ``Idempotency-Key``."""

    exchange_id: str = Field(examples=["6f1f8a52-3c55-4e0c-9d0e-1c2b8f6f2a10"])
    status: Literal["queued"]
    connector: str = Field(description="the slug of the connector that will deliver it")
    operation: str = Field(description="what it will do on the platform")
    links: AcceptedLinks


#: the 202 of a route that accepts work, for its ``responses=``
ACCEPTED_ANSWER: dict[int | str, dict[str, Any]] = {
    202: {
        "model": Accepted,
        "description": "accepted into the outbox; follow `links.self` (also in `Location`)",
        "headers": {
            "Location": {
                "description": "the exchange: GET it for the delivery's state",
                "schema": {"type": "string"},
            },
            "Idempotent-Replayed": {
                "description": "`true` when this is the stored answer to a repeated "
                "Idempotency-Key (nothing was accepted again)",
                "schema": {"type": "string", "enum": ["true"]},
            },
        },
    }
}


async def reserve_key(
    request: Request, gw: Gateway, client: Principal
) -> tuple[str | None, JSONResponse | None]:
    """The request's ``Idempotency-Key`` (None without one), reserved for this client, and the
    answer to replay when this key and body were answered before (else None). A caller that
    reserved releases the key if it fails before doing any work
    (:func:`gateway.core.store.idempotency.release`)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None, None
    raw: bytes = getattr(request.state, "raw_body", b"")
    stored = await idempotency.reserve(
        gw.db, gw.cipher, client=client.name, key=key, request_body=raw
    )
    if stored is None:
        return key, None
    # the same answer as the first time, its Location included
    headers = {"Idempotent-Replayed": "true"}
    link = stored.body.get("links", {}).get("self")
    if isinstance(link, str):
        headers["Location"] = link
    return key, JSONResponse(stored.body, status_code=stored.status, headers=headers)


async def accept(
    request: Request,
    gw: Gateway,
    client: Principal,
    *,
    connector: str,
    operation: str,
    ordering_key: str,
    payload: Mapping[str, Any],
    ma_ho_so: str | None = None,
) -> JSONResponse:
    """Accept a delivery (202 + exchange id), honouring ``Idempotency-Key``."""
    raw: bytes = getattr(request.state, "raw_body", b"")
    key, replay = await reserve_key(request, gw, client)
    if replay is not None:
        return replay
    try:
        accepted = await accept_delivery(
            gw,
            client=client.name,
            connector=connector,
            operation=operation,
            ordering_key=ordering_key,
            payload=payload,
            request_body=raw,
            ma_ho_so=ma_ho_so,
            idempotency_key=key,
        )
    except BaseException:
        if key is not None:
            await idempotency.release(gw.db, client=client.name, key=key)
        raise
    return JSONResponse(
        accepted.body,
        status_code=accepted.status,
        headers={"Location": accepted.body["links"]["self"]},
    )
