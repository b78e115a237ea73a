"""Auditors: the exchange log's state, and decrypted bodies, each access itself logged."""

from __future__ import annotations

import base64
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from sqlalchemy import select

from gateway.core.clients import Principal
from gateway.core.errors import FieldError, InvalidInput, NotFound
from gateway.core.log.audit import verify_database
from gateway.core.log.exchange_log import Crossing
from gateway.core.store.db import ExchangeEntry
from gateway.core.web.deps import GatewayDep, require_scope

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require_scope("audit:read"))]


@router.get("/verify", operation_id="audit-verify")
async def verify(gw: GatewayDep, _auditor: Auditor) -> dict[str, Any]:
    """Recompute the hash chain now (as ``lgsp audit verify``)."""
    report = await verify_database(gw.db, gw.public_key, authenticator=gw.cipher.entries)
    return report.as_dict()


@router.get("/entries/{entry_id}/body", operation_id="audit-read_body")
async def read_body(
    entry_id: str,
    gw: GatewayDep,
    auditor: Auditor,
    which: Annotated[Literal["request", "response"], Query()] = "request",
    reason: Annotated[str | None, Header(alias="X-Audit-Reason")] = None,
) -> dict[str, Any]:
    """One decrypted body. The reason is required and the access is logged before the body
    is returned (an ``audit_access`` entry, chained like every other)."""
    if reason is None or len(reason.strip()) < 5:
        raise InvalidInput(
            "a reason is required to read a body",
            errors=[FieldError("X-Audit-Reason", "say why (at least 5 characters)")],
        )
    async with gw.db.reading() as session:
        entry = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == entry_id)
        )
    if entry is None:
        raise NotFound(f"no exchange-log entry {entry_id}")
    await gw.record(
        Crossing(
            kind="audit_access",
            operation=f"read_body:{which}",
            outcome="granted",
            client=auditor.name,
            parent_id=entry_id,
            purpose=reason.strip()[:255],
            ma_ho_so=entry.ma_ho_so,
        )
    )
    body = gw.log.open_body(entry, which)
    return {
        "entry_id": entry_id,
        "which": which,
        "digest": entry.request_digest if which == "request" else entry.response_digest,
        "body_base64": None if body is None else base64.b64encode(body).decode(),
    }
