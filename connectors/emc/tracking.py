"""Where EMC's dossier events come from: computed from what the gateway already knows.

The DVCQG connector syncs dossiers through the outbox (connector ``dvcqg``, operation
``sync_dossier``; the payload is the canonical dossier, encrypted). This module never imports
that connector: it reads the core's tables (``outbox``, ``events``) and the canonical field
names (``connectors/dvcqg/models.py`` ``HoSo``), tolerantly (:class:`DossierSync`).

:func:`scan_syncs` (the periodic job ``emc_track_syncs``, also ``POST /v1/emc/tracking/scan``)
turns each newly **delivered** sync into one ``track_dossier`` outbox item when the dossier's
status changed since the last event (one event per dossier and status change), enriched from
the events table: ``payment.paid`` -> paid online (FormsPayments "1"), ``dvcqg.dossier.received``
-> came through the national portal (IsFromDVCQG "1"), a ``postal.*`` event of the ``delivery``
flow -> result by post (IsDVCBC "1").

Crash safety: one round is one transaction: the items it queues (with their exchange-log
entries), the syncs it marks seen (:class:`~connectors.emc.tables.EmcSeenSync`), the dossiers'
last status (:class:`~connectors.emc.tables.EmcDossier`) and the cursor commit together or not
at all; a round that dies is repeated whole. The cursor (:class:`~connectors.emc.tables.
EmcCursor`) only passes syncs that are settled (delivered, skipped) and seen, and never a sync
younger than ``settle_seconds`` (an id taken by a transaction that has not committed yet);
syncs delivered past a pending one are picked up by the seen-table, so a dead sync holds no one.

:func:`record_event` is shared with the explicit intake (``POST /v1/emc/events``).
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError
from sqlalchemy import delete, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.emc.codes import FormsPayments, KenhNop, MucDo, TraKetQua, TrangThaiHoSo
from connectors.emc.config import EmcConfig
from connectors.emc.mapping import SuKienHoSo, masked_id
from connectors.emc.tables import EmcCursor, EmcDossier, EmcSeenSync
from gateway.core import events
from gateway.core.delivery import outbox
from gateway.core.log.exchange_log import Crossing
from gateway.core.runtime import Gateway
from gateway.core.store.db import Event, OutboxItem, utcnow

__all__ = [
    "CONNECTOR",
    "CURSOR",
    "SCAN_CLIENT",
    "TRACK",
    "DossierSync",
    "ScanResult",
    "record_event",
    "scan_syncs",
]

log = structlog.get_logger("gateway.emc")

CONNECTOR = "emc"
TRACK = "track_dossier"
#: the client named on the exchange-log entries of the events the scan queues
SCAN_CLIENT = "lgsp-emc-scan"
CURSOR = "dvcqg-sync-dossier"
#: what the scan reads (the DVCQG connector's slug and operation, as the outbox holds them)
SOURCE_CONNECTOR, SOURCE_OPERATION = "dvcqg", "sync_dossier"
FINISHED = (TrangThaiHoSo.da_xu_ly, TrangThaiHoSo.da_tra_ket_qua)


class DossierSync(BaseModel):
    """The fields of a delivered ``sync_dossier`` payload the events need (the canonical
    ``HoSo`` of ``connectors/dvcqg/models.py``; other fields ignored)."""

    model_config = ConfigDict(extra="ignore")

    ma_ho_so: str
    ma_tthc: str
    ten_tthc: str
    trang_thai: TrangThaiHoSo
    kenh_thuc_hien: KenhNop
    so_giay_to_chu_ho_so: str
    ngay_tiep_nhan: AwareDatetime | None = None
    ngay_hen_tra: AwareDatetime | None = None
    ngay_tra: AwareDatetime | None = None
    ngay_ket_thuc_xu_ly: AwareDatetime | None = None


class ScanResult(BaseModel):
    """One round of the scan: syncs seen, events queued (a status change), syncs whose status
    EMC already has, payloads that could not be read, the cursor after the round, and the
    exchange ids of the events queued."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "seen": 3,
                    "queued": 2,
                    "unchanged": 1,
                    "unreadable": 0,
                    "cursor": 41,
                    "exchange_ids": [
                        "6f1f8a52-3c55-4e0c-9d0e-1c2b8f6f2a10",
                        "0b8f3c1e-5d2a-4f7e-9a61-3c2d1e0f4a5b",
                    ],
                }
            ]
        }
    )

    seen: int = 0
    queued: int = 0
    unchanged: int = 0
    unreadable: int = 0
    cursor: int = 0
    exchange_ids: list[str] = []


async def record_event(
    session: AsyncSession,
    gw: Gateway,
    config: EmcConfig,
    event: SuKienHoSo,
    *,
    source: str,
    client: str,
    request_body: bytes,
    exchange_id: str | None = None,
    learned_at: datetime | None = None,
) -> str:
    """Queue ``track_dossier`` for ``event`` (its level resolved now, so that a redelivery
    sends the same packet), with its exchange-log entry, and note the dossier's status, in
    the caller's transaction; returns the exchange id."""
    exchange_id = exchange_id or str(uuid.uuid4())
    level = event.muc_do or config.level_of(event.ma_tthc)
    # ``Data`` is free: without the caller's, it carries the event's exchange id, so that a
    # repeated status (processing, supplement, processing) is a new event for EMC while a
    # redelivery of the same item is byte for byte the same packet
    du_lieu = event.du_lieu or json.dumps({"exchange_id": exchange_id}, separators=(",", ":"))
    payload = event.model_copy(update={"muc_do": level, "du_lieu": du_lieu}).model_dump(mode="json")
    session.add(
        gw.log.build(
            Crossing(
                kind="inbound",
                entry_id=exchange_id,
                connector=CONNECTOR,
                operation=TRACK,
                outcome="accepted",
                client=client,
                ma_ho_so=event.ma_ho_so,
                status_code=202,
                request=request_body,
                detail=f"{event.ma_ho_so} {event.trang_thai.value} "
                f"(owner {masked_id(event.so_giay_to_chu_ho_so)}) from {source}",
            )
        )
    )
    session.add(
        outbox.build(
            gw.cipher,
            exchange_id=exchange_id,
            connector=CONNECTOR,
            operation=TRACK,
            ordering_key=f"{CONNECTOR}:{event.ma_ho_so}",
            payload=payload,
            ma_ho_so=event.ma_ho_so,
        )
    )
    await _note_dossier(session, event, level, source, exchange_id, learned_at or utcnow())
    return exchange_id


async def _note_dossier(
    session: AsyncSession,
    event: SuKienHoSo,
    level: MucDo,
    source: str,
    exchange_id: str,
    at: datetime,
) -> None:
    row = await session.get(EmcDossier, event.ma_ho_so)
    finished = event.ngay_ket_thuc
    if finished is None and event.trang_thai in FINISHED:
        finished = at  # finished, with no date given: when the gateway learned it
    if row is None:
        session.add(
            EmcDossier(
                ma_ho_so=event.ma_ho_so,
                ma_tthc=event.ma_tthc,
                muc_do=level.value,
                kenh_thuc_hien=event.kenh_thuc_hien.value,
                trang_thai=event.trang_thai.value,
                tu_dvcqg=event.tu_dvcqg,
                ngay_tiep_nhan=event.ngay_tiep_nhan,
                ngay_hen_tra=event.ngay_hen_tra,
                ngay_ket_thuc=finished if event.trang_thai in FINISHED else None,
                source=source,
                last_exchange_id=exchange_id,
                events=1,
                updated_at=utcnow(),
            )
        )
        return
    row.ma_tthc = event.ma_tthc
    row.muc_do = level.value
    row.kenh_thuc_hien = event.kenh_thuc_hien.value
    row.trang_thai = event.trang_thai.value
    row.tu_dvcqg = row.tu_dvcqg or event.tu_dvcqg
    row.ngay_tiep_nhan = event.ngay_tiep_nhan or row.ngay_tiep_nhan
    row.ngay_hen_tra = event.ngay_hen_tra or row.ngay_hen_tra
    if event.trang_thai in FINISHED:
        # the first finish known is when processing ended; a later "returned" keeps it
        row.ngay_ket_thuc = row.ngay_ket_thuc or finished
    else:
        row.ngay_ket_thuc = None  # reopened (supplement asked, stopped ...)
    row.source = source
    row.last_exchange_id = exchange_id
    row.events += 1
    row.updated_at = utcnow()


# --- the scan ---------------------------------------------------------------------------------


def _sync_items() -> Any:
    return (OutboxItem.connector == SOURCE_CONNECTOR) & (OutboxItem.operation == SOURCE_OPERATION)


@dataclass(frozen=True, slots=True)
class Known:
    """What the core events say of a batch's dossiers (read once per round: ``events`` is
    indexed by type, not by subject)."""

    paid: frozenset[str] = frozenset()
    from_portal: frozenset[str] = frozenset()
    by_post: frozenset[str] = frozenset()


PAID_TYPES = ("payment.paid",)
PORTAL_TYPES = ("dvcqg.dossier.received", "dvcqg.dossier.updated")


async def known_of(session: AsyncSession, gw: Gateway, subjects: set[str]) -> Known:
    """Which of ``subjects`` were paid online, came through the portal, have a result by post."""
    if not subjects:
        return Known()
    flagged = (
        await session.execute(
            select(Event.type, Event.subject).where(
                Event.type.in_(PAID_TYPES + PORTAL_TYPES), Event.subject.in_(subjects)
            )
        )
    ).all()
    postal = (
        await session.scalars(
            select(Event).where(Event.type.like("postal.%"), Event.subject.in_(subjects))
        )
    ).all()
    by_post = set()
    for row in postal:
        try:
            payload = json.loads(
                gw.cipher.decrypt(row.payload_sealed, events.payload_aad(row.event_id))
            )
        except ValueError:
            continue
        if isinstance(payload, dict) and payload.get("flow") == "delivery" and row.subject:
            by_post.add(row.subject)
    return Known(
        paid=frozenset(subject for t, subject in flagged if t in PAID_TYPES and subject),
        from_portal=frozenset(subject for t, subject in flagged if t in PORTAL_TYPES and subject),
        by_post=frozenset(by_post),
    )


def event_of_sync(sync: DossierSync, known: Known) -> SuKienHoSo:
    """The EMC event of a delivered dossier sync, enriched from the core events."""
    code = sync.ma_ho_so
    return SuKienHoSo(
        ma_ho_so=code,
        ma_tthc=sync.ma_tthc,
        ten_tthc=sync.ten_tthc,
        trang_thai=sync.trang_thai,
        kenh_thuc_hien=sync.kenh_thuc_hien,
        hinh_thuc_thanh_toan=(
            FormsPayments.truc_tuyen if code in known.paid else FormsPayments.khong_thanh_toan
        ),
        tu_dvcqg=code in known.from_portal,
        tra_ket_qua=TraKetQua.buu_chinh if code in known.by_post else TraKetQua.truc_tiep,
        so_giay_to_chu_ho_so=sync.so_giay_to_chu_ho_so,
        ngay_tiep_nhan=sync.ngay_tiep_nhan,
        ngay_hen_tra=sync.ngay_hen_tra,
        ngay_ket_thuc=sync.ngay_ket_thuc_xu_ly or sync.ngay_tra,
    )


async def scan_syncs(
    gw: Gateway, config: EmcConfig, *, limit: int | None = None, now: datetime | None = None
) -> ScanResult:
    """One round: queue the events of newly delivered dossier syncs, advance the cursor."""
    moment = now or utcnow()
    batch = limit or config.scan_batch_size

    async def work(session: AsyncSession) -> ScanResult:
        result = ScanResult()
        cursor = await session.get(EmcCursor, CURSOR)
        position = cursor.position if cursor is not None else 0
        items = (
            await session.scalars(
                select(OutboxItem)
                .where(
                    _sync_items(),
                    OutboxItem.id > position,
                    OutboxItem.status == "delivered",
                    ~exists().where(EmcSeenSync.outbox_id == OutboxItem.id),
                )
                .order_by(OutboxItem.id)
                .limit(batch)
            )
        ).all()
        syncs: list[tuple[OutboxItem, DossierSync | None]] = []
        for item in items:
            session.add(EmcSeenSync(outbox_id=item.id, seen_at=moment))
            result.seen += 1
            try:
                syncs.append(
                    (item, DossierSync.model_validate(outbox.decode_payload(gw.cipher, item)))
                )
            except (ValueError, ValidationError) as exc:
                # a payload this scan cannot read never will: noted, not retried forever
                syncs.append((item, None))
                log.warning("emc_sync_unreadable", outbox_id=item.id, error=type(exc).__name__)
        known = await known_of(session, gw, {s.ma_ho_so for _, s in syncs if s is not None})
        for item, sync in syncs:
            try:
                event = event_of_sync(sync, known) if sync is not None else None
            except ValidationError as exc:
                log.warning("emc_sync_unreadable", outbox_id=item.id, error=type(exc).__name__)
                event = None
            if event is None:
                result.unreadable += 1
                continue
            last = await session.get(EmcDossier, event.ma_ho_so)
            if last is not None and last.trang_thai == event.trang_thai.value:
                result.unchanged += 1
                continue
            exchange_id = await record_event(
                session,
                gw,
                config,
                event,
                source="scan",
                client=SCAN_CLIENT,
                request_body=json.dumps(
                    {"outbox_id": item.id, "exchange_id": item.exchange_id}
                ).encode(),
                learned_at=item.delivered_at or moment,
            )
            await session.flush()
            result.queued += 1
            result.exchange_ids.append(exchange_id)
        result.cursor = await _advance(
            session, position, moment - timedelta(seconds=config.settle_seconds)
        )
        return result

    result = await gw.db.grouped(work)
    if result.queued:
        gw.wakeup.set()
        log.info("emc_scan", queued=result.queued, seen=result.seen, cursor=result.cursor)
    return result


async def _advance(session: AsyncSession, position: int, settled_before: datetime) -> int:
    """Move the cursor over the syncs that are settled, seen, and old enough; forget the seen
    marks it passed."""
    await session.flush()
    limits = [
        # the first sync still pending (or dead: it may be replayed and delivered)
        await session.scalar(
            select(func.min(OutboxItem.id)).where(
                _sync_items(), OutboxItem.id > position, OutboxItem.status.in_(outbox.HOLDING)
            )
        ),
        # the first delivered sync not yet seen (a full batch left it for the next round)
        await session.scalar(
            select(func.min(OutboxItem.id)).where(
                _sync_items(),
                OutboxItem.id > position,
                OutboxItem.status == "delivered",
                ~exists().where(EmcSeenSync.outbox_id == OutboxItem.id),
            )
        ),
        # the first sync too young to be sure that nothing below it is still to commit
        await session.scalar(
            select(func.min(OutboxItem.id)).where(
                _sync_items(), OutboxItem.id > position, OutboxItem.created_at > settled_before
            )
        ),
    ]
    newest = await session.scalar(
        select(func.max(OutboxItem.id)).where(_sync_items(), OutboxItem.id > position)
    )
    if newest is None:
        return position
    bounds = [b - 1 for b in limits if b is not None]
    target = min([newest, *bounds])
    if target <= position:
        return position
    cursor = await session.get(EmcCursor, CURSOR)
    if cursor is None:
        session.add(EmcCursor(name=CURSOR, position=target, updated_at=utcnow()))
    else:
        cursor.position = target
        cursor.updated_at = utcnow()
    await session.execute(delete(EmcSeenSync).where(EmcSeenSync.outbox_id <= target))
    return target
