"""Documents sent to document management, the gateway's side: requests, delivery, statuses.

* :func:`open_document`: the document of a dossier (one per ``ma_ho_so`` and DocumentId),
  stored ``queued`` with one recipient row per receiving agency before its delivery is
  accepted into the outbox. The same request again finds it; other content is
  :class:`~connectors.qlvb.errors.QlvbDocumentConflict`. :func:`attach_exchange` records the
  delivery's exchange id (the first wins).
* :func:`mark_sent`: the axis took the package (its DocID); the document becomes ``sent`` and
  the case system hears ``qlvb.sent``, in one transaction.
* :func:`apply_report`: a status package an agency's QLVB reported (pulled or pushed). In one
  transaction: the report kept once (``dedupe_key``), the recipient moved when the status lines
  say so (:func:`moves`: out-of-order reports never regress it), and each change of state
  announced as the event ``qlvb.<state>`` (:func:`gateway.core.events.publish`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

import structlog
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.qlvb.errors import QlvbDocumentConflict, QlvbDocumentUnknown
from connectors.qlvb.mapping import MAIN_FINAL, MAIN_RANK, RECALL, STATUS_BY_CODE, StatusReport
from connectors.qlvb.tables import QlvbDocument, QlvbRecipient, QlvbStatusReport
from gateway.core import events
from gateway.core.errors import FieldError
from gateway.core.log.exchange_log import Crossing
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow

__all__ = [
    "ANSWER_OK",
    "CONNECTOR",
    "Applied",
    "Opened",
    "apply_report",
    "attach_exchange",
    "mark_sent",
    "moves",
    "of_dossier",
    "open_document",
    "request_digest",
]

log = structlog.get_logger("gateway.qlvb")

CONNECTOR = "qlvb"
#: what the push route answers when it took a status package (applied, kept, or a duplicate)
ANSWER_OK: dict[str, str] = {"status": "OK", "ErrorDesc": ""}
Source = Literal["poll", "callback"]


def request_digest(payload: Mapping[str, Any]) -> str:
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def moves(
    current_code: str | None, recall: str | None, code: str
) -> Literal["main", "recall"] | None:
    """Which line a reported ``code`` moves for a recipient at ``current_code`` (processing
    line) and ``recall`` (recall line), or ``None`` when it moves nothing: the processing line
    only goes forward and stops at 02 or 06; the recall line goes 13, then 15 or 16."""
    if code in MAIN_RANK:
        if current_code in MAIN_FINAL:
            return None
        if current_code is not None and MAIN_RANK[code] <= MAIN_RANK[current_code]:
            return None
        return "main"
    if code in RECALL:
        held = next((c for c, s in STATUS_BY_CODE.items() if s == recall), None)
        if held is not None and RECALL[code] <= RECALL[held]:
            return None
        return "recall"
    return None


def _iso(at: datetime | None) -> str | None:
    return events.iso(at) if at is not None else None


async def _view(session: AsyncSession, doc: QlvbDocument) -> dict[str, Any]:
    recipients = (
        await session.scalars(
            select(QlvbRecipient)
            .where(QlvbRecipient.document_pk == doc.id)
            .order_by(QlvbRecipient.id)
        )
    ).all()
    out: list[dict[str, Any]] = []
    for r in recipients:
        history = (
            await session.scalars(
                select(QlvbStatusReport)
                .where(QlvbStatusReport.recipient_pk == r.id)
                .order_by(QlvbStatusReport.id)
            )
        ).all()
        out.append(
            {
                "ma_co_quan_nhan": r.organ_id,
                "status": r.status,
                "status_code": r.status_code,
                "recall": r.recall,
                "last_status_at": _iso(r.last_status_at),
                "history": [
                    {
                        "status_code": h.status_code,
                        "status": h.status,
                        "description": h.description,
                        "at": _iso(h.event_at),
                        "source": h.source,
                        "applied": h.applied,
                        "recorded_at": _iso(h.recorded_at),
                    }
                    for h in history
                ],
            }
        )
    return {
        "ma_ho_so": doc.ma_ho_so,
        "document_id": doc.document_id,
        "trich_yeu": doc.subject,
        "status": doc.status,
        "exchange_id": doc.exchange_id,
        "axis_doc_id": doc.axis_doc_id,
        "sent_at": _iso(doc.sent_at),
        "created_at": _iso(doc.created_at),
        "recipients": out,
    }


@dataclass(frozen=True, slots=True)
class Opened:
    document: dict[str, Any]
    exchange_id: str | None  # the delivery already accepted (None: the caller accepts one)
    created: bool


async def open_document(
    gw: Gateway,
    *,
    ma_ho_so: str,
    document_id: str,
    subject: str,
    recipients: list[str],
    payload: Mapping[str, Any],
) -> Opened:
    """The document of this dossier and DocumentId, stored ``queued`` when new."""
    digest = request_digest(payload)
    now = utcnow()
    values: dict[str, Any] = {
        "ma_ho_so": ma_ho_so,
        "document_id": document_id,
        "subject": subject[:500],
        "request_digest": digest,
        "status": "queued",
        "exchange_id": None,
        "axis_doc_id": None,
        "sent_at": None,
        "created_at": now,
        "updated_at": now,
    }
    stmt: Any = (pg_insert if gw.db.is_postgresql else sqlite_insert)(QlvbDocument).values(**values)
    stmt = stmt.on_conflict_do_nothing(index_elements=["document_id"])
    async with gw.db.transaction() as session:
        inserted = bool((await session.execute(stmt)).rowcount)  # type: ignore[attr-defined]
        doc = await session.scalar(
            select(QlvbDocument).where(QlvbDocument.document_id == document_id)
        )
        assert doc is not None
        if doc.ma_ho_so != ma_ho_so:
            # the axis de-duplicates by DocumentId: this number/notation is another dossier's
            raise QlvbDocumentConflict(
                f"{document_id} was already sent for another dossier",
                errors=[FieldError("so_van_ban", "this number/notation is another dossier's")],
            )
        if doc.request_digest != digest:
            raise QlvbDocumentConflict(
                f"the dossier {ma_ho_so} already sent {document_id} with other content",
                errors=[
                    FieldError("so_van_ban", "this number/notation was sent with other content")
                ],
            )
        if inserted:
            for organ_id in recipients:
                session.add(
                    QlvbRecipient(
                        document_pk=doc.id,
                        organ_id=organ_id,
                        status="queued",
                        status_code=None,
                        recall=None,
                        last_status_at=None,
                        updated_at=now,
                    )
                )
            await session.flush()
        return Opened(await _view(session, doc), doc.exchange_id, created=inserted)


async def attach_exchange(
    gw: Gateway,
    *,
    ma_ho_so: str,
    document_id: str,
    exchange_id: str,
    also: Callable[[AsyncSession, str], Awaitable[None]] | None = None,
) -> str:
    """Record the delivery accepted for a document (the first wins); returns the one held.
    ``also(session, held)`` runs in the same transaction (the route's idempotent answer)."""
    where = (QlvbDocument.ma_ho_so == ma_ho_so, QlvbDocument.document_id == document_id)
    async with gw.db.transaction() as session:
        await session.execute(
            update(QlvbDocument)
            .where(*where, QlvbDocument.exchange_id.is_(None))
            .values(exchange_id=exchange_id, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        held = str(await session.scalar(select(QlvbDocument.exchange_id).where(*where)))
        if also is not None:
            await also(session, held)
        return held


async def mark_sent(gw: Gateway, *, ma_ho_so: str, document_id: str, axis_doc_id: str) -> None:
    """The axis took the package: ``sent`` (once), with ``qlvb.sent`` published."""
    now = utcnow()
    async with gw.db.transaction() as session:
        doc = await session.scalar(
            select(QlvbDocument)
            .where(QlvbDocument.ma_ho_so == ma_ho_so, QlvbDocument.document_id == document_id)
            .with_for_update()
        )
        if doc is None or doc.status != "queued":
            return
        doc.status = "sent"
        doc.axis_doc_id = axis_doc_id[:100]
        doc.sent_at = now
        doc.updated_at = now
        await session.execute(
            update(QlvbRecipient)
            .where(QlvbRecipient.document_pk == doc.id, QlvbRecipient.status == "queued")
            .values(status="sent", updated_at=now)
            .execution_options(synchronize_session=False)
        )
        await events.publish(
            session,
            gw.cipher,
            type="qlvb.sent",
            source=CONNECTOR,
            subject=ma_ho_so,
            occurred_at=now,
            payload={
                "ma_ho_so": ma_ho_so,
                "document_id": document_id,
                "axis_doc_id": doc.axis_doc_id,
                "at": events.iso(now),
            },
        )
    gw.wakeup.set()


async def of_dossier(gw: Gateway, ma_ho_so: str) -> list[dict[str, Any]]:
    """The documents a dossier sent, oldest first, each with its recipients' histories."""
    async with gw.db.reading() as session:
        docs = (
            await session.scalars(
                select(QlvbDocument)
                .where(QlvbDocument.ma_ho_so == ma_ho_so)
                .order_by(QlvbDocument.id)
            )
        ).all()
        return [await _view(session, d) for d in docs]


@dataclass(frozen=True, slots=True)
class Applied:
    ma_ho_so: str
    document_id: str
    organ_id: str
    status: str
    outcome: Literal["applied", "recorded", "duplicate"]
    exchange_id: str | None = None


async def apply_report(
    gw: Gateway, report: StatusReport, *, source: Source, raw: bytes | None = None
) -> Applied:
    """Apply one status report (see the module docstring); :class:`QlvbDocumentUnknown` when
    no document/recipient matches (nothing changes). ``raw``: a pushed package, recorded as a
    ``callback`` entry of the exchange log in the same transaction."""
    async with gw.db.transaction() as session:
        applied = await _apply(gw, session, report, source=source)
        if raw is not None:
            crossing = Crossing(
                kind="callback",
                connector=CONNECTOR,
                operation="status",
                outcome=applied.outcome,
                ma_ho_so=applied.ma_ho_so[:64],
                status_code=200,
                request=raw,
                response=json.dumps(ANSWER_OK).encode(),
                detail=f"status {report.code} of {report.document_id} from {report.organ_id}: "
                f"{applied.outcome}",
            )
            session.add(gw.log.build(crossing))
            applied = replace(applied, exchange_id=crossing.entry_id)
    if applied.outcome == "applied":
        gw.wakeup.set()
    return applied


async def _apply(
    gw: Gateway, session: AsyncSession, report: StatusReport, *, source: Source
) -> Applied:
    found = (
        await session.execute(
            select(QlvbRecipient, QlvbDocument)
            .join(QlvbDocument, QlvbDocument.id == QlvbRecipient.document_pk)
            .where(
                QlvbDocument.document_id == report.document_id,
                QlvbRecipient.organ_id == report.organ_id,
            )
            .order_by(QlvbRecipient.id)
            .with_for_update()
        )
    ).first()
    if found is None:
        raise QlvbDocumentUnknown(
            "no document sent to this agency has this DocumentId",
            errors=[FieldError("ResponseFor.DocumentId", "no such document for this agency")],
        )
    recipient, doc = found[0], found[1]
    seen = await session.scalar(
        select(QlvbStatusReport.id).where(QlvbStatusReport.dedupe_key == report.dedupe_key)
    )
    if seen is not None:
        return Applied(
            doc.ma_ho_so, report.document_id, report.organ_id, recipient.status, "duplicate"
        )
    line = moves(recipient.status_code, recipient.recall, report.code)
    now = utcnow()
    session.add(
        QlvbStatusReport(
            recipient_pk=recipient.id,
            status_code=report.code,
            status=report.status,
            description=report.description[:500],
            event_at=report.at,
            source=source,
            dedupe_key=report.dedupe_key[:320],
            applied=line is not None,
            recorded_at=now,
        )
    )
    recipient.updated_at = now
    if line is None:
        return Applied(
            doc.ma_ho_so, report.document_id, report.organ_id, recipient.status, "recorded"
        )
    previous = recipient.status if line == "main" else recipient.recall
    if line == "main":
        recipient.status_code = report.code
        recipient.status = report.status
    else:
        recipient.recall = report.status
    recipient.last_status_at = report.at
    if previous != report.status:
        await events.publish(
            session,
            gw.cipher,
            type=f"qlvb.{report.status}",
            source=CONNECTOR,
            subject=doc.ma_ho_so,
            occurred_at=report.at,
            payload={
                "ma_ho_so": doc.ma_ho_so,
                "document_id": doc.document_id,
                "ma_co_quan_nhan": report.organ_id,
                "ten_co_quan_nhan": report.organ_name,
                "status": report.status,
                "status_code": report.code,
                "previous_status": previous,
                "description": report.description,
                "at": events.iso(report.at),
                "source": source,
            },
        )
    log.info(
        "qlvb_status",
        document_id=doc.document_id,
        organ_id=report.organ_id,
        code=report.code,
        status=report.status,
        source=source,
    )
    return Applied(doc.ma_ho_so, report.document_id, report.organ_id, recipient.status, "applied")
