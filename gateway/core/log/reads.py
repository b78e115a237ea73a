"""Who read what and why: the auditors' reads of decrypted bodies, from the exchange log.

Every read, granted or refused, is an ``audit_access`` entry (chained like every other):
``client`` the auditor's API client, ``detail`` the person behind it (``auditor: <name>``, and
``refused: <why>`` when refused), ``purpose`` the reason given, ``parent_id`` the entry read,
``operation`` ``read_body:<request|response>``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from gateway.core.local_time import day_start
from gateway.core.store.db import Database, ExchangeEntry

__all__ = ["access_detail", "audit_reads"]

_DETAIL = re.compile(r"^auditor: (?P<person>.*?)(?:; refused: (?P<refused>.*))?$", re.DOTALL)


def access_detail(person: str | None, refused: str | None = None) -> str:
    """The ``detail`` of an ``audit_access`` entry."""
    text = f"auditor: {person or '-'}"
    return f"{text}; refused: {refused}" if refused else text


def _view(entry: ExchangeEntry) -> dict[str, Any]:
    match = _DETAIL.match(entry.detail or "")
    person = match.group("person") if match else None
    return {
        "exchange_id": entry.entry_id,
        "at": entry.started_at.isoformat() if isinstance(entry.started_at, datetime) else None,
        "client": entry.client,
        "person": None if person in (None, "-") else person,
        "entry_id": entry.parent_id,
        "which": entry.operation.partition(":")[2] or None,
        "reason": entry.purpose,
        "outcome": entry.outcome,
        "refused": match.group("refused") if match else None,
    }


async def audit_reads(
    db: Database, *, start: date | None = None, end: date | None = None, limit: int = 1000
) -> list[dict[str, Any]]:
    """The reads of days ``start..end`` (Việt Nam time, inclusive), newest first."""
    query = select(ExchangeEntry).where(ExchangeEntry.kind == "audit_access")
    if start is not None:
        query = query.where(ExchangeEntry.started_at >= day_start(start))
    if end is not None:
        query = query.where(
            ExchangeEntry.started_at < day_start(date.fromordinal(end.toordinal() + 1))
        )
    async with db.reading() as session:
        rows = (await session.scalars(query.order_by(ExchangeEntry.id.desc()).limit(limit))).all()
    return [_view(e) for e in rows]
