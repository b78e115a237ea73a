"""Feedback, ratings and questions citizens send through the national portal: received, kept,
announced, answered back, and reported.

* :func:`receive`: validated packets of one kind (pushed or pulled), each stored once by its
  id (``MaPhanAnh``, ``MaDanhGia``, ``MaCauHoi``): ``accepted`` (stored, and the event
  ``dvcqg.<kind>.received`` published in the same transaction), ``duplicate`` (the same
  content again) or ``conflict`` (the same id with other content: the first stands, alerted).
  Feedback gets its answer deadline, ``feedback_answer_working_days`` working days after the
  day it was sent (seed 003 Điều 15, seed 004 Điều 27; see :mod:`gateway.core.workdays`).
* :func:`answer`: the case system's answer to feedback or a question is accepted into the
  outbox (the connector sends it back to the portal, with its publication flag) in the same
  transaction that marks the item answered; an item is answered once (409 after).
* :func:`feedback_report`: open, overdue and answered feedback with their deadlines.
* :func:`ratings_report`: ratings per agency and per officer over a period (seed 004 Điều 26).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import structlog
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from connectors.dvcqg.portal_dossiers import CONNECTOR, RECEIVED, Outcome
from connectors.dvcqg.tables import PortalItem
from gateway.core import events
from gateway.core.delivery import outbox
from gateway.core.errors import Conflict, FieldError, NotFound
from gateway.core.http.recording import current_attempt
from gateway.core.log.exchange_log import Crossing, new_exchange_id
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow
from gateway.core.workdays import VN, WorkCalendar
from schemas.dvcqg import WIRE_DATETIME_FORMAT, CauHoi, DanhGia, PhanAnhKienNghi
from schemas.wire_time import wire_format

__all__ = [
    "KINDS",
    "Kind",
    "PortalItemAnswered",
    "PortalItemUnknown",
    "answer",
    "feedback_report",
    "ratings_report",
    "receive",
]

log = structlog.get_logger("gateway.portal_items")

Kind = Literal["feedback", "rating", "question"]
#: the portal's name of each kind (``Loai``), and the field holding an item's id
KINDS: dict[Kind, tuple[str, str]] = {
    "feedback": ("PhanAnhKienNghi", "MaPhanAnh"),
    "rating": ("DanhGia", "MaDanhGia"),
    "question": ("HoiDap", "MaCauHoi"),
}
#: the outbox operation that sends an answer of each answerable kind back to the portal
ANSWER_OPERATIONS: dict[Kind, str] = {"feedback": "answer_feedback", "question": "answer_question"}
MUC_DO = {1: "rat_hai_long", 2: "hai_long", 3: "khong_hai_long"}


class PortalItemUnknown(NotFound):
    type_slug = "dvcqg-item-unknown"
    title = "No such feedback or question"


class PortalItemAnswered(Conflict):
    type_slug = "dvcqg-item-answered"
    title = "Already answered"


def _aad(kind: str, item_id: str) -> bytes:
    return f"portal-item:{kind}:{item_id}".encode()


def _sent_at(packet: BaseModel) -> datetime:
    stamp = getattr(packet, "NgayGui", None) or getattr(packet, "NgayDanhGia", None)
    stamp = stamp or packet.NgayHoi  # type: ignore[attr-defined]
    return datetime.strptime(stamp, WIRE_DATETIME_FORMAT).replace(tzinfo=VN)


async def receive(
    gw: Gateway,
    kind: Kind,
    packets: Sequence[PhanAnhKienNghi | DanhGia | CauHoi],
    *,
    via: str,
) -> list[Outcome]:
    """Receive ``packets`` of ``kind`` (see the module docstring); each outcome once stored.
    ``Outcome.phien_ban`` is 1 (items have no versions)."""
    calendar = WorkCalendar(gw.settings.calendar.holidays, gw.settings.calendar.working_days)
    outcomes = []
    for packet in packets:
        item_id = str(getattr(packet, KINDS[kind][1]))
        canonical = json.dumps(
            packet.model_dump(mode="json"), ensure_ascii=False, sort_keys=True
        ).encode()
        digest = hashlib.sha256(canonical).hexdigest()
        result = await _receive_one(gw, kind, item_id, packet, canonical, digest, via, calendar)
        RECEIVED.labels(via, f"{kind}:{result}").inc()
        if result == "conflict":
            log.warning("portal_item_conflict", alert=True, kind=kind, item_id=item_id)
        outcomes.append(Outcome(item_id, 1, result))
    if any(o.ket_qua == "accepted" for o in outcomes):
        gw.wakeup.set()
    return outcomes


async def _receive_one(
    gw: Gateway,
    kind: Kind,
    item_id: str,
    packet: PhanAnhKienNghi | DanhGia | CauHoi,
    canonical: bytes,
    digest: str,
    via: str,
    calendar: WorkCalendar,
) -> Literal["accepted", "duplicate", "conflict"]:
    async with gw.db.reading() as session:
        known = await session.scalar(
            select(PortalItem.digest).where(PortalItem.kind == kind, PortalItem.item_id == item_id)
        )
    if known is not None:
        return "duplicate" if known == digest else "conflict"
    sent = _sent_at(packet)
    due = (
        calendar.due_date(sent, gw.settings.calendar.feedback_answer_working_days)
        if kind == "feedback"
        else None
    )
    within = current_attempt()
    try:
        async with gw.db.transaction() as session:
            session.add(
                PortalItem(
                    kind=kind,
                    item_id=item_id,
                    via=via,
                    ma_co_quan=packet.MaCoQuan,
                    ma_ho_so=getattr(packet, "MaHoSo", None),
                    ma_can_bo=getattr(packet, "MaCanBo", None),
                    muc_do=getattr(packet, "MucDo", None),
                    digest=digest,
                    packet_sealed=gw.cipher.encrypt(canonical, _aad(kind, item_id)),
                    sent_at=sent,
                    received_at=utcnow(),
                    due_on=due,
                    answered_at=None,
                    answer_exchange_id=None,
                    published=None,
                )
            )
            await session.flush()
            payload: dict[str, Any] = {
                "loai": kind,
                "ma": item_id,
                "noi_dung": json.loads(canonical),
            }
            if due is not None:
                payload["han_tra_loi"] = due.isoformat()
            await events.publish(
                session,
                gw.cipher,
                type=f"dvcqg.{kind}.received",
                source=CONNECTOR,
                subject=item_id,
                payload=payload,
            )
            session.add(
                gw.log.build(
                    Crossing(
                        kind="callback",
                        parent_id=within.parent_id if within is not None else None,
                        connector=CONNECTOR,
                        operation=f"portal_{kind}",
                        outcome="accepted",
                        ma_ho_so=getattr(packet, "MaHoSo", None),
                        status_code=200,
                        request=canonical,
                        detail=f"{kind} {item_id} via {via}"
                        + (f", answer due {due.isoformat()}" if due else ""),
                    )
                )
            )
    except IntegrityError:  # stored concurrently (a push and a pull crossing)
        return "duplicate"
    return "accepted"


# --- answers ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answered:
    exchange_id: str
    answered_at: datetime
    on_time: bool | None  # feedback: answered by its deadline


async def answer(
    gw: Gateway,
    kind: Kind,
    item_id: str,
    *,
    client: str,
    noi_dung: str,
    co_quan: str,
    cong_khai: bool,
) -> Answered:
    """Queue the answer to feedback or a question for the portal (see the module docstring)."""
    operation = ANSWER_OPERATIONS.get(kind)
    if operation is None:
        raise PortalItemUnknown(f"{kind} is not answered back")
    now = utcnow()
    payload = {
        "Ma": item_id,
        "NoiDungTraLoi": noi_dung,
        "CoQuanTraLoi": co_quan,
        "NgayTraLoi": wire_format(now.astimezone(VN), WIRE_DATETIME_FORMAT),
        "CongKhai": 1 if cong_khai else 0,
    }
    exchange_id = new_exchange_id()
    async with gw.db.transaction() as session:
        item = await session.scalar(
            select(PortalItem)
            .where(PortalItem.kind == kind, PortalItem.item_id == item_id)
            .with_for_update()
        )
        if item is None:
            raise PortalItemUnknown(f"no {kind} {item_id} was received")
        if item.answered_at is not None:
            raise PortalItemAnswered(
                f"{kind} {item_id} was answered at {events.iso(item.answered_at)}",
                errors=[FieldError("item_id", "already answered")],
            )
        item.answered_at = now
        item.answer_exchange_id = exchange_id
        item.published = cong_khai
        body = json.dumps(payload, ensure_ascii=False).encode()
        session.add(
            gw.log.build(
                Crossing(
                    kind="inbound",
                    entry_id=exchange_id,
                    connector=CONNECTOR,
                    operation=operation,
                    outcome="accepted",
                    client=client,
                    ma_ho_so=item.ma_ho_so,
                    status_code=202,
                    request=body,
                )
            )
        )
        session.add(
            outbox.build(
                gw.cipher,
                exchange_id=exchange_id,
                connector=CONNECTOR,
                operation=operation,
                ordering_key=f"{kind}:{item_id}",
                payload=payload,
                ma_ho_so=item.ma_ho_so,
            )
        )
        on_time = None if item.due_on is None else now <= WorkCalendar.end_of(item.due_on)
    gw.wakeup.set()
    return Answered(exchange_id, now, on_time)


# --- reports ----------------------------------------------------------------------------------


async def feedback_report(
    gw: Gateway, *, status: Literal["open", "overdue", "answered", "all"] = "all"
) -> list[dict[str, Any]]:
    """Feedback with its deadline, oldest first: ``open`` (unanswered), ``overdue`` (unanswered
    past its deadline), ``answered``, or all; each says whether it is or was late."""
    now = utcnow()
    async with gw.db.reading() as session:
        rows = (
            await session.scalars(
                select(PortalItem)
                .where(PortalItem.kind == "feedback")
                .order_by(PortalItem.sent_at, PortalItem.id)
            )
        ).all()
    out = []
    for row in rows:
        assert row.due_on is not None
        deadline = WorkCalendar.end_of(row.due_on)
        late = (row.answered_at or now) > deadline
        state = "answered" if row.answered_at is not None else ("overdue" if late else "open")
        if status != "all" and state != status and not (status == "open" and state == "overdue"):
            continue
        out.append(
            {
                "ma_phan_anh": row.item_id,
                "ma_co_quan": row.ma_co_quan,
                "ma_ho_so": row.ma_ho_so,
                "gui_luc": events.iso(row.sent_at),
                "han_tra_loi": row.due_on.isoformat(),
                "trang_thai": state,
                "tre_han": late,
                "tra_loi_luc": events.iso(row.answered_at) if row.answered_at else None,
                "cong_khai": row.published,
            }
        )
    return out


async def ratings_report(gw: Gateway, *, start: date, end: date) -> dict[str, Any]:
    """Ratings sent from ``start`` to ``end`` (inclusive, local days) per agency and per
    officer: counts of very satisfied, satisfied and not satisfied, and the satisfied share."""
    lower = datetime.combine(start, datetime.min.time(), tzinfo=VN)
    upper = datetime.combine(end, datetime.max.time(), tzinfo=VN)
    async with gw.db.reading() as session:
        rows = (
            await session.execute(
                select(PortalItem.ma_co_quan, PortalItem.ma_can_bo, PortalItem.muc_do).where(
                    PortalItem.kind == "rating",
                    PortalItem.sent_at >= lower,
                    PortalItem.sent_at <= upper,
                )
            )
        ).all()
    agencies: dict[str, dict[str, int]] = {}
    officers: dict[tuple[str, str], dict[str, int]] = {}
    for agency, officer, level in rows:
        label = MUC_DO[int(level)]
        _count(agencies.setdefault(agency, {}), label)
        if officer:
            _count(officers.setdefault((agency, officer), {}), label)
    return {
        "tu_ngay": start.isoformat(),
        "den_ngay": end.isoformat(),
        "tong": len(rows),
        "co_quan": [{"ma_co_quan": a, **_summary(c)} for a, c in sorted(agencies.items())],
        "can_bo": [
            {"ma_co_quan": a, "ma_can_bo": o, **_summary(c)}
            for (a, o), c in sorted(officers.items())
        ],
    }


def _count(counter: dict[str, int], label: str) -> None:
    counter[label] = counter.get(label, 0) + 1


def _summary(counts: dict[str, int]) -> dict[str, Any]:
    full = {label: counts.get(label, 0) for label in MUC_DO.values()}
    total = sum(full.values())
    satisfied = full["rat_hai_long"] + full["hai_long"]
    return {**full, "tong": total, "ty_le_hai_long": round(satisfied / total, 4) if total else None}
