"""The monthly report: per procedure (``ma_tthc``) and level of service, the month's figures
that EMC computes from the events (``docs/research/issue-23-sources.md`` §3.3: no public monthly
interface exists), computed locally so that a province can check them before anything is sent.

Sources, all in the gateway's own database, the month in local time (Asia/Ho_Chi_Minh,
:func:`gateway.core.local_time.month_bounds`):

* dossiers: :class:`~connectors.emc.tables.EmcDossier`, what EMC was last told of each dossier
  (from delivered DVCQG syncs and explicit events, :mod:`connectors.emc.tracking`);
* online payments: the core events ``payment.paid`` (subject the dossier, payload ``amount``);
* ratings: the core events ``dvcqg.rating.received`` (payload ``noi_dung.MaHoSo`` and
  ``noi_dung.MucDo`` 1 very satisfied, 2 satisfied, 3 not satisfied).

Definitions (this project's reading; EMC's indicator texts were not found):

* received: received (``ngay_tiep_nhan``) in the month, neither refused nor only registered;
* online submissions: those of them submitted online;
* resolved on time / late: processing finished (``da_xu_ly`` / ``da_tra_ket_qua``, at
  ``ngay_ket_thuc``) in the month, on time when not after its due date (no due date: on time);
* in progress: received before the month's end and not finished by then (withdrawn, refused
  or stopped dossiers excluded, by their current status);
* online payments and ratings: those of the month, under their dossier's procedure and level;
  those of a dossier the gateway never told EMC of are counted apart (``unattributed``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, select

from connectors.emc.codes import LEVEL, MucDo, TrangThaiHoSo
from connectors.emc.mapping import local_stamp
from connectors.emc.tables import EmcDossier
from gateway.core import events
from gateway.core.local_time import TZ, month_bounds
from gateway.core.runtime import Gateway
from gateway.core.store.db import Event, utcnow
from schemas import emc as wire

__all__ = ["MonthlyReport", "ReportRow", "Unattributed", "compute", "csv_text", "to_aggregate"]

NOT_RECEIVED = {TrangThaiHoSo.moi_dang_ky.value, TrangThaiHoSo.khong_tiep_nhan.value}
NOT_IN_PROGRESS = NOT_RECEIVED | {
    TrangThaiHoSo.rut_ho_so.value,
    TrangThaiHoSo.dung_xu_ly.value,
}
RATING_EVENT = "dvcqg.rating.received"
PAID_EVENT = "payment.paid"


class ReportRow(BaseModel):
    """One procedure at one level of service."""

    model_config = ConfigDict(extra="forbid")

    ma_tthc: str
    muc_do: MucDo
    tiep_nhan: int = Field(0, description="received in the month")
    dung_han: int = Field(0, description="resolved on time in the month")
    qua_han: int = Field(0, description="resolved late in the month")
    dang_giai_quyet: int = Field(0, description="in progress at the month's end")
    nop_truc_tuyen: int = Field(0, description="received online in the month")
    thanh_toan_truc_tuyen: int = Field(0, description="online payments in the month")
    so_tien_truc_tuyen: int = Field(0, description="their amount, whole VND")
    danh_gia: dict[str, int] = Field(
        default_factory=lambda: {"1": 0, "2": 0, "3": 0},
        description="ratings by level: 1 very satisfied, 2 satisfied, 3 not satisfied",
    )


class Unattributed(BaseModel):
    """Payments and ratings of the month for dossiers EMC was never told of."""

    thanh_toan_truc_tuyen: int = 0
    so_tien_truc_tuyen: int = 0
    danh_gia: dict[str, int] = Field(default_factory=lambda: {"1": 0, "2": 0, "3": 0})


class MonthlyReport(BaseModel):
    """``GET /v1/emc/reports/{month}`` and ``lgsp report emc``: the month's figures."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "month": "2026-11",
                    "ma_don_vi": "000.00.00.H22",
                    "timezone": "Asia/Ho_Chi_Minh",
                    "generated_at": "2026-12-01T08:00:00+07:00",
                    "rows": [
                        {
                            "ma_tthc": "1.001776",
                            "muc_do": "truc_tuyen_toan_trinh",
                            "tiep_nhan": 12,
                            "dung_han": 9,
                            "qua_han": 1,
                            "dang_giai_quyet": 4,
                            "nop_truc_tuyen": 10,
                            "thanh_toan_truc_tuyen": 7,
                            "so_tien_truc_tuyen": 350000,
                            "danh_gia": {"1": 3, "2": 1, "3": 0},
                        }
                    ],
                    "totals": {
                        "ma_tthc": "*",
                        "muc_do": "truc_tuyen_toan_trinh",
                        "tiep_nhan": 12,
                        "dung_han": 9,
                        "qua_han": 1,
                        "dang_giai_quyet": 4,
                        "nop_truc_tuyen": 10,
                        "thanh_toan_truc_tuyen": 7,
                        "so_tien_truc_tuyen": 350000,
                        "danh_gia": {"1": 3, "2": 1, "3": 0},
                    },
                    "unattributed": {
                        "thanh_toan_truc_tuyen": 0,
                        "so_tien_truc_tuyen": 0,
                        "danh_gia": {"1": 0, "2": 0, "3": 0},
                    },
                }
            ]
        },
    )

    month: str = Field(description="YYYY-MM, local time")
    ma_don_vi: str = Field(description="the agency the report is of")
    timezone: str = Field(description="the time zone the month is counted in")
    generated_at: datetime = Field(description="when it was computed")
    rows: list[ReportRow] = Field(description="per procedure and level, sorted")
    totals: ReportRow = Field(description="the rows summed (ma_tthc '*'; muc_do meaningless)")
    unattributed: Unattributed


def _in(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


async def compute(gw: Gateway, *, month: str, ma_don_vi: str) -> MonthlyReport:
    """The report of ``month`` (``YYYY-MM``; anything else is InvalidInput naming it)."""
    start, end = month_bounds(month)
    async with gw.db.reading() as session:
        dossiers = (
            await session.scalars(
                select(EmcDossier).where(
                    or_(EmcDossier.ngay_tiep_nhan.is_(None), EmcDossier.ngay_tiep_nhan < end),
                    or_(EmcDossier.ngay_ket_thuc.is_(None), EmcDossier.ngay_ket_thuc >= start),
                )
            )
        ).all()
        happened = (
            await session.scalars(
                select(Event).where(
                    Event.type.in_((PAID_EVENT, RATING_EVENT)),
                    and_(Event.occurred_at >= start, Event.occurred_at < end),
                )
            )
        ).all()
        decoded = [(e, _payload(gw, e)) for e in happened]
        subjects = {_subject(e, p) for e, p in decoded} - {None}
        known = {d.ma_ho_so: d for d in dossiers}
        missing = [s for s in subjects if s is not None and s not in known]
        if missing:
            for d in (
                await session.scalars(select(EmcDossier).where(EmcDossier.ma_ho_so.in_(missing)))
            ).all():
                known[d.ma_ho_so] = d
    rows: dict[tuple[str, str], ReportRow] = {}
    unattributed = Unattributed()

    def row_of(d: EmcDossier) -> ReportRow:
        key = (d.ma_tthc, d.muc_do)
        if key not in rows:
            rows[key] = ReportRow(ma_tthc=d.ma_tthc, muc_do=MucDo(d.muc_do))
        return rows[key]

    for d in dossiers:
        received = _in(d.ngay_tiep_nhan, start, end) and d.trang_thai not in NOT_RECEIVED
        finished = _in(d.ngay_ket_thuc, start, end)
        in_progress = (
            d.ngay_tiep_nhan is not None
            and d.ngay_tiep_nhan < end
            and d.trang_thai not in NOT_IN_PROGRESS
            and (d.ngay_ket_thuc is None or d.ngay_ket_thuc >= end)
        )
        if not (received or finished or in_progress):
            continue
        row = row_of(d)
        if received:
            row.tiep_nhan += 1
            row.nop_truc_tuyen += d.kenh_thuc_hien == "truc_tuyen"
        if finished:
            late = d.ngay_hen_tra is not None and d.ngay_ket_thuc > d.ngay_hen_tra  # type: ignore[operator]
            row.qua_han += late
            row.dung_han += not late
        if in_progress:
            row.dang_giai_quyet += 1
    for e, payload in decoded:
        subject = _subject(e, payload)
        owner = known.get(subject) if subject else None
        target: ReportRow | Unattributed = row_of(owner) if owner is not None else unattributed
        if e.type == PAID_EVENT:
            target.thanh_toan_truc_tuyen += 1
            amount = payload.get("amount")
            target.so_tien_truc_tuyen += amount if isinstance(amount, int) else 0
        else:
            level = str(payload.get("noi_dung", {}).get("MucDo", ""))
            if level in target.danh_gia:
                target.danh_gia[level] += 1
    ordered = [rows[k] for k in sorted(rows, key=lambda k: (k[0], LEVEL[MucDo(k[1])]))]
    return MonthlyReport(
        month=month,
        ma_don_vi=ma_don_vi,
        timezone=str(TZ),
        generated_at=utcnow().astimezone(TZ),
        rows=ordered,
        totals=_totals(ordered),
        unattributed=unattributed,
    )


def _payload(gw: Gateway, e: Event) -> dict[str, Any]:
    try:
        value = json.loads(gw.cipher.decrypt(e.payload_sealed, events.payload_aad(e.event_id)))
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _subject(e: Event, payload: dict[str, Any]) -> str | None:
    """The dossier an event is of: a payment's subject; a rating's ``noi_dung.MaHoSo``."""
    if e.type == PAID_EVENT:
        return e.subject
    noi_dung = payload.get("noi_dung")
    code = noi_dung.get("MaHoSo") if isinstance(noi_dung, dict) else None
    return code if isinstance(code, str) else None


def _totals(rows: Iterable[ReportRow]) -> ReportRow:
    total = ReportRow(ma_tthc="*", muc_do=MucDo.truc_tuyen_toan_trinh)
    for r in rows:
        for name in (
            "tiep_nhan",
            "dung_han",
            "qua_han",
            "dang_giai_quyet",
            "nop_truc_tuyen",
            "thanh_toan_truc_tuyen",
            "so_tien_truc_tuyen",
        ):
            setattr(total, name, getattr(total, name) + getattr(r, name))
        for level, n in r.danh_gia.items():
            total.danh_gia[level] += n
    return total


def to_aggregate(report: MonthlyReport, *, site_id: int) -> wire.MonthlyAggregate:
    """The aggregate packet of a report (our profile)."""
    return wire.MonthlyAggregate(
        SiteId=site_id,
        MaDonVi=report.ma_don_vi,
        Thang=report.month,
        NgayLap=local_stamp(report.generated_at),
        DuLieu=[
            wire.AggregateRow(
                MaTTHC=r.ma_tthc,
                MucDo=LEVEL[r.muc_do],
                TiepNhan=r.tiep_nhan,
                DaGiaiQuyetDungHan=r.dung_han,
                DaGiaiQuyetQuaHan=r.qua_han,
                DangGiaiQuyet=r.dang_giai_quyet,
                NopTrucTuyen=r.nop_truc_tuyen,
                ThanhToanTrucTuyen=r.thanh_toan_truc_tuyen,
                SoTienThanhToanTrucTuyen=r.so_tien_truc_tuyen,
                DanhGiaRatHaiLong=r.danh_gia["1"],
                DanhGiaHaiLong=r.danh_gia["2"],
                DanhGiaKhongHaiLong=r.danh_gia["3"],
            )
            for r in report.rows
        ],
    )


CSV_COLUMNS = (
    "ma_tthc",
    "muc_do",
    "tiep_nhan",
    "dung_han",
    "qua_han",
    "dang_giai_quyet",
    "nop_truc_tuyen",
    "thanh_toan_truc_tuyen",
    "so_tien_truc_tuyen",
    "danh_gia_1",
    "danh_gia_2",
    "danh_gia_3",
)


def csv_text(report: MonthlyReport) -> str:
    """The rows and the totals as CSV (the columns of :data:`CSV_COLUMNS`)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for r in [*report.rows, report.totals]:
        writer.writerow(
            [
                r.ma_tthc,
                r.muc_do.value if r.ma_tthc != "*" else "*",
                r.tiep_nhan,
                r.dung_han,
                r.qua_han,
                r.dang_giai_quyet,
                r.nop_truc_tuyen,
                r.thanh_toan_truc_tuyen,
                r.so_tien_truc_tuyen,
                r.danh_gia["1"],
                r.danh_gia["2"],
                r.danh_gia["3"],
            ]
        )
    return out.getvalue()
