"""Auditors: the exchange log's state, and decrypted bodies, each access itself logged."""

from __future__ import annotations

import base64
import unicodedata
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from sqlalchemy import select

from gateway.api.answers import Body, Reads, SignedHead, Verification, answer
from gateway.core.clients import Principal
from gateway.core.errors import FieldError, InvalidInput, NotFound
from gateway.core.local_time import FIRST_DAY, LAST_DAY
from gateway.core.log.audit import head_record, verify_database
from gateway.core.log.exchange_log import Crossing
from gateway.core.log.reads import access_detail, audit_reads
from gateway.core.store.db import Checkpoint, ExchangeEntry
from gateway.core.web.deps import GatewayDep, require_scope
from gateway.core.web.headers import header_text

router = APIRouter(prefix="/v1/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require_scope("audit:read"))]


@router.get(
    "/verify",
    operation_id="audit-verify",
    response_model=None,
    responses={200: answer(Verification)},
)
async def verify(gw: GatewayDep, _auditor: Auditor) -> dict[str, Any]:
    """Recompute the hash chain now, and check its anchors (as ``lgsp audit verify``)."""
    report = await verify_database(
        gw.db,
        gw.public_key,
        authenticator=gw.cipher.entries,
        tsa=gw.anchorer.trust if gw.anchorer is not None else None,
        max_anchor_delay_seconds=gw.settings.audit.max_anchor_delay_seconds,
    )
    return report.as_dict()


TEXT_HEADERS = (
    "raw UTF-8, percent-encoded UTF-8, or as {name}* in the RFC 8187 form "
    "(UTF-8''<percent-encoded>)"
)


def _check_text(name: str, value: str | None, low: int, high: int, what: str) -> FieldError | None:
    text = (value or "").strip()
    if not low <= len(text) <= high:
        return FieldError(name, f"{what} ({low}-{high} characters)")
    if any(unicodedata.category(c) == "Cc" for c in text):
        return FieldError(name, "control characters are not allowed")
    return None


@router.get(
    "/head", operation_id="audit-head", response_model=None, responses={200: answer(SignedHead)}
)
async def head(gw: GatewayDep, _auditor: Auditor) -> dict[str, Any]:
    """The latest signed checkpoint (``seq``, ``head_hash``, ``key_id``, ``signature``,
    ``created_at``): an auditor who polls it and keeps every answer (one JSON line each, as in
    ``heads.jsonl``) holds a witness copy; ``lgsp audit verify --since`` checks against it."""
    async with gw.db.reading() as session:
        latest = await session.scalar(select(Checkpoint).order_by(Checkpoint.seq.desc()).limit(1))
    if latest is None:
        raise NotFound("no checkpoint has been signed yet")
    return head_record(latest)


@router.get(
    "/entries/{entry_id}/body",
    operation_id="audit-read-body",
    response_model=None,
    responses={200: answer(Body)},
)
async def read_body(
    entry_id: str,
    request: Request,
    gw: GatewayDep,
    auditor: Auditor,
    which: Annotated[Literal["request", "response"], Query()] = "request",
    reason: Annotated[
        str | None,
        Header(
            alias="X-Audit-Reason",
            description="why the body is read, 5-255 characters: "
            + TEXT_HEADERS.format(name="X-Audit-Reason"),
        ),
    ] = None,
    person: Annotated[
        str | None,
        Header(
            alias="X-Audit-Person",
            description="the person reading, 2-128 characters (not only the client): "
            + TEXT_HEADERS.format(name="X-Audit-Person"),
        ),
    ] = None,
) -> dict[str, Any]:
    """One decrypted body. The reason and the person are required; the access is logged
    before the body is returned, and a refused access is logged too (an ``audit_access``
    entry, chained like every other; see ``GET /v1/audit/reads``)."""
    del reason, person  # declared for the contract; read as text below (Vietnamese)
    reason_text = header_text(request, "X-Audit-Reason")
    person_text = header_text(request, "X-Audit-Person")
    problems = [
        p
        for p in (
            _check_text("X-Audit-Reason", reason_text, 5, 255, "say why"),
            _check_text("X-Audit-Person", person_text, 2, 128, "name the person reading"),
        )
        if p is not None
    ]
    crossing = Crossing(
        kind="audit_access",
        operation=f"read_body:{which}",
        outcome="refused" if problems else "granted",
        client=auditor.name,
        parent_id=entry_id,
        purpose=(reason_text or "").strip()[:255] or None,
        detail=access_detail(
            (person_text or "").strip()[:128] or None,
            "; ".join(f"{p.loc}: {p.msg}" for p in problems) or None,
        ),
    )
    if problems:
        await gw.record(crossing)
        refusal = InvalidInput("the read needs a reason and a person", errors=problems)
        refusal.exchange_id = crossing.entry_id
        raise refusal
    async with gw.db.reading() as session:
        entry = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == entry_id)
        )
    if entry is None:
        raise NotFound(f"no exchange-log entry {entry_id}")
    crossing.ma_ho_so = entry.ma_ho_so
    await gw.record(crossing)
    body = gw.log.open_body(entry, which)
    return {
        "entry_id": entry_id,
        "which": which,
        "digest": entry.request_digest if which == "request" else entry.response_digest,
        "body_base64": None if body is None else base64.b64encode(body).decode(),
    }


@router.get(
    "/reads", operation_id="audit-reads", response_model=None, responses={200: answer(Reads)}
)
async def reads(
    gw: GatewayDep,
    _auditor: Auditor,
    start: Annotated[
        date | None,
        Query(alias="from", description="first day, YYYY-MM-DD", ge=FIRST_DAY, le=LAST_DAY),
    ] = None,
    end: Annotated[
        date | None,
        Query(alias="to", description="last day, YYYY-MM-DD", ge=FIRST_DAY, le=LAST_DAY),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
) -> dict[str, Any]:
    """Who read which body, when and why, granted or refused, newest first (Việt Nam days)."""
    if start is not None and end is not None and end < start:
        raise InvalidInput("to is before from", errors=[FieldError("to", "before from")])
    return {"reads": await audit_reads(gw.db, start=start, end=end, limit=limit)}
