"""Online dossiers from the national portal (seed 003 Điều 3.2, Điều 12; seed 000 Điều 7-8):
received, kept, announced, and only then acknowledged.

:func:`receive` takes validated :class:`~schemas.dvcqg.HoSoTrucTuyen` packets however they
came (pushed by the portal, or pulled on a schedule) and, for each, decides:

* ``duplicate``: this version (``MaHoSo`` + ``PhienBan``) is already stored with the same
  content. Nothing changes; it is acknowledged again (the portal lost our answer).
* ``conflict``: this version is stored with *other* content. The first one stands; the
  portal's bug is alerted (``lgsp_portal_dossiers_total{outcome="conflict"}``).
* ``stale``: a later version is already stored (versions arrived out of order). It is kept
  for the record, never becomes current, and nothing is announced.
* ``accepted``: a new current version. Its documents are fetched first, outside any
  transaction, each bounded (``max_attachment_bytes``; larger ones are recorded
  ``too_large`` with their declared size and not read) and digested (SHA-256; a declared
  ``MaBam`` that differs is ``digest_mismatch``); one the portal no longer has is ``missing``,
  one on a host the gateway does not fetch from ``not_allowed``. Only ``kept`` documents are
  stored; the others are listed, so the case system can ask the citizen again. Then in one
  transaction: the version and its documents (contents sealed), earlier versions marked
  superseded, the exchange-log entry of the receipt, and the event
  ``dvcqg.dossier.received`` (first version) or ``dvcqg.dossier.updated`` to the case system.

Only after that commit does the caller acknowledge to the portal (the push's HTTP answer, or
``XacNhanHoSoTrucTuyen`` after a pull), so a crash between receipt and acknowledgement loses
nothing: the portal offers the version again and it is a ``duplicate``. A failure fetching a
document (the portal's file server down) raises before anything is stored, so the version
is not acknowledged and comes again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from prometheus_client import Counter
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from connectors.dvcqg.tables import PortalAttachment, PortalDossier
from gateway.core import events
from gateway.core.errors import NotFound
from gateway.core.http.recording import current_attempt
from gateway.core.log.exchange_log import Crossing, new_exchange_id
from gateway.core.metrics import REGISTRY
from gateway.core.runtime import Gateway
from gateway.core.store.db import utcnow
from schemas.dvcqg import HoSoTrucTuyen, KetQuaNhan, TepHoSoTrucTuyen

__all__ = [
    "CONNECTOR",
    "RECEIVED",
    "Fetch",
    "FetchedFile",
    "Outcome",
    "PortalDossierUnknown",
    "attachment",
    "dossier_view",
    "receive",
]

log = structlog.get_logger("gateway.portal_dossiers")

CONNECTOR = "dvcqg"

RECEIVED = Counter(
    "lgsp_portal_dossiers_total",
    "Online dossier versions received from the national portal, by outcome",
    ["via", "outcome"],
    registry=REGISTRY,
)


@dataclass(frozen=True, slots=True)
class FetchedFile:
    """A document as read from the portal: its bytes, or why there are none (``status``:
    ``too_large`` past the bound, ``missing`` on the portal, ``not_allowed`` from a host the
    gateway does not fetch from)."""

    content: bytes | None
    size: int  # bytes read (the bound, when cut off)
    status: str = "kept"


#: reads a document from the portal's file server: (url, bound in bytes) -> the file
Fetch = Callable[[str, int], Awaitable[FetchedFile]]


@dataclass(frozen=True, slots=True)
class Outcome:
    ma_ho_so: str
    phien_ban: int
    ket_qua: KetQuaNhan

    def as_ack(self) -> dict[str, Any]:
        return {"MaHoSo": self.ma_ho_so, "PhienBan": self.phien_ban, "KetQua": self.ket_qua}


class PortalDossierUnknown(NotFound):
    type_slug = "dvcqg-online-dossier-unknown"
    title = "No such online dossier"


def _canonical(packet: HoSoTrucTuyen) -> bytes:
    return json.dumps(
        packet.model_dump(mode="json"), ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


def _packet_aad(ma_ho_so: str, phien_ban: int) -> bytes:
    return f"portal-dossier:{ma_ho_so}:{phien_ban}".encode()


def _file_aad(ma_ho_so: str, phien_ban: int, tep_id: str) -> bytes:
    return f"portal-file:{ma_ho_so}:{phien_ban}:{tep_id}".encode()


async def receive(
    gw: Gateway,
    packets: Sequence[HoSoTrucTuyen],
    *,
    via: str,
    fetch: Fetch,
    max_attachment_bytes: int,
) -> list[Outcome]:
    """Receive ``packets`` (see the module docstring); the outcomes, in order, once every
    accepted version is durably stored."""
    outcomes = []
    for packet in packets:
        outcome = await _receive_one(
            gw, packet, via=via, fetch=fetch, max_attachment_bytes=max_attachment_bytes
        )
        RECEIVED.labels(via, outcome.ket_qua).inc()
        if outcome.ket_qua == "conflict":
            log.warning(
                "portal_dossier_conflict",
                alert=True,
                ma_ho_so=packet.MaHoSo,
                phien_ban=packet.PhienBan,
                detail="the portal sent this version again with other content; the first stands",
            )
        outcomes.append(outcome)
    if any(o.ket_qua == "accepted" for o in outcomes):
        gw.wakeup.set()  # the events' deliveries are queued
    return outcomes


async def _known(gw: Gateway, packet: HoSoTrucTuyen, digest: str) -> KetQuaNhan | None:
    """What an already stored version makes of ``packet`` (None: it is new and current)."""
    async with gw.db.reading() as session:
        same = await session.scalar(
            select(PortalDossier.digest).where(
                PortalDossier.ma_ho_so == packet.MaHoSo,
                PortalDossier.phien_ban == packet.PhienBan,
            )
        )
        if same is not None:
            return "duplicate" if same == digest else "conflict"
        latest = await session.scalar(
            select(func.max(PortalDossier.phien_ban)).where(PortalDossier.ma_ho_so == packet.MaHoSo)
        )
    return "stale" if latest is not None and latest > packet.PhienBan else None


async def _receive_one(
    gw: Gateway, packet: HoSoTrucTuyen, *, via: str, fetch: Fetch, max_attachment_bytes: int
) -> Outcome:
    canonical = _canonical(packet)
    digest = hashlib.sha256(canonical).hexdigest()
    known = await _known(gw, packet, digest)
    if known in ("duplicate", "conflict"):
        return Outcome(packet.MaHoSo, packet.PhienBan, known)
    files = []
    if known is None:  # documents are fetched for a version that becomes current
        files = [await _fetch(doc, fetch, max_attachment_bytes) for doc in packet.TaiLieuNop]
    try:
        await _store(gw, packet, canonical, digest, files, via=via, stale=known == "stale")
    except IntegrityError:
        # the same version stored concurrently (a push and a pull crossing): decide again
        again = await _known(gw, packet, digest)
        return Outcome(packet.MaHoSo, packet.PhienBan, again or "duplicate")
    return Outcome(packet.MaHoSo, packet.PhienBan, known or "accepted")


@dataclass(frozen=True, slots=True)
class _Document:
    doc: TepHoSoTrucTuyen
    status: str
    size: int
    sha256: str | None
    content: bytes | None


async def _fetch(doc: TepHoSoTrucTuyen, fetch: Fetch, bound: int) -> _Document:
    if doc.KichThuoc > bound:  # declared too large: not even asked for
        return _Document(doc, "too_large", doc.KichThuoc, None, None)
    got = await fetch(doc.DuongDanTaiTepTin, bound)
    if got.content is None:
        return _Document(doc, got.status, got.size or doc.KichThuoc, None, None)
    sha = hashlib.sha256(got.content).hexdigest()
    if doc.MaBam is not None and doc.MaBam != sha:
        return _Document(doc, "digest_mismatch", len(got.content), sha, None)
    return _Document(doc, "kept", len(got.content), sha, got.content)


async def _store(
    gw: Gateway,
    packet: HoSoTrucTuyen,
    canonical: bytes,
    digest: str,
    files: list[_Document],
    *,
    via: str,
    stale: bool,
) -> None:
    now = utcnow()
    exchange_id = new_exchange_id()
    within = current_attempt()
    async with gw.db.transaction() as session:
        row = PortalDossier(
            ma_ho_so=packet.MaHoSo,
            phien_ban=packet.PhienBan,
            status="stale" if stale else "current",
            via=via,
            ma_tthc=packet.MaTTHC,
            ma_co_quan=packet.MaCoQuan,
            digest=digest,
            packet_sealed=gw.cipher.encrypt(canonical, _packet_aad(packet.MaHoSo, packet.PhienBan)),
            exchange_id=exchange_id,
            event_id=None,
            received_at=now,
        )
        session.add(row)
        await session.flush()  # the unique version is claimed here (IntegrityError)
        for file in files:
            session.add(
                PortalAttachment(
                    dossier_id=row.id,
                    tep_dinh_kem_id=file.doc.TepDinhKemId,
                    ten=file.doc.TenTepDinhKem,
                    ma_thanh_phan=file.doc.MaThanhPhanHoSo,
                    url=file.doc.DuongDanTaiTepTin,
                    status=file.status,
                    size=file.size,
                    sha256=file.sha256,
                    content_sealed=(
                        gw.cipher.encrypt(
                            file.content,
                            _file_aad(packet.MaHoSo, packet.PhienBan, file.doc.TepDinhKemId),
                        )
                        if file.content is not None
                        else None
                    ),
                )
            )
        if not stale:
            await session.execute(
                update(PortalDossier)
                .where(
                    PortalDossier.ma_ho_so == packet.MaHoSo,
                    PortalDossier.id != row.id,
                    PortalDossier.status == "current",
                )
                .values(status="superseded")
            )
            first = packet.PhienBan == 1 or not await session.scalar(
                select(func.count())
                .select_from(PortalDossier)
                .where(PortalDossier.ma_ho_so == packet.MaHoSo, PortalDossier.id != row.id)
            )
            row.event_id = await events.publish(
                session,
                gw.cipher,
                type="dvcqg.dossier.received" if first else "dvcqg.dossier.updated",
                source=CONNECTOR,
                subject=packet.MaHoSo,
                payload=_event_payload(packet, files),
            )
        session.add(
            gw.log.build(
                Crossing(
                    kind="callback",
                    entry_id=exchange_id,
                    # under the push or the pull round that brought it, when there is one
                    parent_id=within.parent_id if within is not None else None,
                    connector=CONNECTOR,
                    operation="online_dossier",
                    outcome="stale" if stale else "accepted",
                    ma_ho_so=packet.MaHoSo,
                    status_code=200,
                    request=canonical,
                    detail=(
                        f"version {packet.PhienBan} via {via}; "
                        + ", ".join(f"{f.doc.TepDinhKemId}: {f.status}" for f in files)
                    )[:500],
                )
            )
        )


def _event_payload(packet: HoSoTrucTuyen, files: list[_Document]) -> dict[str, Any]:
    link = f"/v1/dvcqg/online-dossiers/{packet.MaHoSo}"
    return {
        "ma_ho_so": packet.MaHoSo,
        "phien_ban": packet.PhienBan,
        "ho_so": packet.model_dump(mode="json", exclude={"TaiLieuNop"}),
        "tai_lieu": [
            {
                "tep_dinh_kem_id": f.doc.TepDinhKemId,
                "ten": f.doc.TenTepDinhKem,
                "ma_thanh_phan": f.doc.MaThanhPhanHoSo,
                "trang_thai": f.status,
                "kich_thuoc": f.size,
                "sha256": f.sha256,
                "link": f"{link}/files/{f.doc.TepDinhKemId}" if f.status == "kept" else None,
            }
            for f in files
        ],
    }


# --- reading back -----------------------------------------------------------------------------


async def dossier_view(gw: Gateway, ma_ho_so: str) -> dict[str, Any]:
    """The current version of an online dossier (the packet as received), its documents and
    every version's status; :class:`PortalDossierUnknown` when none was received."""
    async with gw.db.reading() as session:
        versions = (
            await session.scalars(
                select(PortalDossier)
                .where(PortalDossier.ma_ho_so == ma_ho_so)
                .order_by(PortalDossier.phien_ban)
            )
        ).all()
        current = next((v for v in versions if v.status == "current"), None)
        if current is None:
            raise PortalDossierUnknown(f"no online dossier {ma_ho_so} was received")
        files = (
            await session.scalars(
                select(PortalAttachment)
                .where(PortalAttachment.dossier_id == current.id)
                .order_by(PortalAttachment.id)
            )
        ).all()
    packet = json.loads(
        gw.cipher.decrypt(current.packet_sealed, _packet_aad(ma_ho_so, current.phien_ban))
    )
    return {
        "ma_ho_so": ma_ho_so,
        "phien_ban": current.phien_ban,
        "received_at": events.iso(current.received_at),
        "via": current.via,
        "exchange_id": current.exchange_id,
        "ho_so": packet,
        "tai_lieu": [
            {
                "tep_dinh_kem_id": f.tep_dinh_kem_id,
                "ten": f.ten,
                "trang_thai": f.status,
                "kich_thuoc": f.size,
                "sha256": f.sha256,
            }
            for f in files
        ],
        "versions": [
            {"phien_ban": v.phien_ban, "status": v.status, "via": v.via} for v in versions
        ],
    }


async def attachment(gw: Gateway, ma_ho_so: str, tep_id: str) -> tuple[str, str, bytes]:
    """A kept document of the current version: (name, sha256, bytes)."""
    async with gw.db.reading() as session:
        found = (
            await session.execute(
                select(PortalDossier.phien_ban, PortalAttachment)
                .join(PortalAttachment, PortalAttachment.dossier_id == PortalDossier.id)
                .where(
                    PortalDossier.ma_ho_so == ma_ho_so,
                    PortalDossier.status == "current",
                    PortalAttachment.tep_dinh_kem_id == tep_id,
                )
            )
        ).first()
    if found is None or found[1].content_sealed is None or found[1].sha256 is None:
        raise PortalDossierUnknown(f"no kept document {tep_id} of online dossier {ma_ho_so}")
    phien_ban, file = found
    content = gw.cipher.decrypt(file.content_sealed, _file_aad(ma_ho_so, phien_ban, tep_id))
    return file.ten, file.sha256, content
