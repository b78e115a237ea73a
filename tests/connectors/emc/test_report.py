"""The monthly report computed from known data: received, on time against late by the due
date, in progress at the month's end, online submissions, online payments and ratings, in local
time (a dossier received at 00:30 on the 1st, Việt Nam time, belongs to that month even though
it is the previous day in UTC); the route, the submission through the outbox to the simulator
(a second submission replaces the month), and the monthly job (once per month)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import func, select

from connectors.emc import EmcConnector, submission
from connectors.emc import report as monthly
from connectors.emc.tables import EmcDossier
from gateway.core import events
from gateway.core.runtime import Gateway
from gateway.core.store.db import OutboxItem, utcnow
from tests.conftest import bearer
from tests.connectors.emc.support import deliver_all, emc_simulator

VN = timezone(timedelta(hours=7))
ONLINE_PARTIAL, ONLINE_FULL = "truc_tuyen_mot_phan", "truc_tuyen_toan_trinh"


def at(day: str, hour: int = 9, minute: int = 0) -> datetime:
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hour, minute, tzinfo=VN)


def dossier(code: str, ma_tthc: str, level: str, **values: Any) -> EmcDossier:
    row = {
        "ma_ho_so": f"000.00.01.H22-240105-{code}",
        "ma_tthc": ma_tthc,
        "muc_do": level,
        "kenh_thuc_hien": "truc_tiep",
        "trang_thai": "dang_xu_ly",
        "tu_dvcqg": False,
        "ngay_tiep_nhan": None,
        "ngay_hen_tra": None,
        "ngay_ket_thuc": None,
        "source": "scan",
        "last_exchange_id": "00000000-0000-0000-0000-000000000000",
        "events": 1,
        "updated_at": utcnow(),
    }
    row.update(values)
    return EmcDossier(**row)


def known() -> list[EmcDossier]:
    """Fresh rows each time (an ORM object belongs to the session that stored it)."""
    return [
        # procedure P1, online partial: on time, late, in progress at the month's end
        dossier(
            "0001",
            "1.000001",
            ONLINE_PARTIAL,
            kenh_thuc_hien="truc_tuyen",
            trang_thai="da_tra_ket_qua",
            ngay_tiep_nhan=at("2024-01-05"),
            ngay_hen_tra=at("2024-01-10", 17),
            ngay_ket_thuc=at("2024-01-07"),
        ),
        dossier(
            "0002",
            "1.000001",
            ONLINE_PARTIAL,
            trang_thai="da_xu_ly",
            ngay_tiep_nhan=at("2024-01-06"),
            ngay_hen_tra=at("2024-01-10", 17),
            ngay_ket_thuc=at("2024-01-20"),
        ),
        dossier(
            "0003",
            "1.000001",
            ONLINE_PARTIAL,
            kenh_thuc_hien="truc_tuyen",
            ngay_tiep_nhan=at("2024-01-31", 23, 30),
            ngay_hen_tra=at("2024-02-05"),
        ),
        # received at 00:30 on 1 February, local time: February's, not January's
        dossier("0004", "1.000001", ONLINE_PARTIAL, ngay_tiep_nhan=at("2024-02-01", 0, 30)),
        # P2, online full: received in December, finished on time in January; one still open
        dossier(
            "0005",
            "1.000002",
            ONLINE_FULL,
            trang_thai="da_tra_ket_qua",
            ngay_tiep_nhan=at("2023-12-20"),
            ngay_hen_tra=at("2024-01-05"),
            ngay_ket_thuc=at("2024-01-03"),
        ),
        dossier("0006", "1.000002", ONLINE_FULL, ngay_tiep_nhan=at("2023-12-28")),
        # P3: a refused dossier counts nowhere; a withdrawn one was received, never in progress
        dossier(
            "0007",
            "1.000003",
            ONLINE_FULL,
            trang_thai="khong_tiep_nhan",
            ngay_tiep_nhan=at("2024-01-08"),
        ),
        dossier(
            "0008", "1.000003", ONLINE_FULL, trang_thai="rut_ho_so", ngay_tiep_nhan=at("2024-01-09")
        ),
    ]


async def seed(gateway: Gateway) -> None:
    async with gateway.db.transaction() as session:
        for row in known():
            session.add(row)
    first = "000.00.01.H22-240105-0001"
    for type_, subject, payload, when in (
        ("payment.paid", first, {"amount": 50_000, "status": "paid"}, at("2024-01-05", 10)),
        ("payment.paid", first, {"amount": 7_000, "status": "paid"}, at("2024-02-02")),
        ("payment.paid", "000.00.01.H22-240105-0099", {"amount": 10_000}, at("2024-01-15")),
        ("payment.failed", first, {"amount": 1}, at("2024-01-05")),
        (
            "dvcqg.rating.received",
            "DG-1",
            {"noi_dung": {"MaHoSo": first, "MucDo": 1}},
            at("2024-01-09"),
        ),
        (
            "dvcqg.rating.received",
            "DG-2",
            {"noi_dung": {"MaHoSo": "000.00.01.H22-240105-0002", "MucDo": 3}},
            at("2024-01-21"),
        ),
    ):
        await events.publish_now(
            gateway,
            type=type_,
            source=type_.split(".")[0],
            payload=payload,
            subject=subject,
            occurred_at=when,
        )


def figures(row: monthly.ReportRow) -> tuple[Any, ...]:
    return (
        row.tiep_nhan,
        row.dung_han,
        row.qua_han,
        row.dang_giai_quyet,
        row.nop_truc_tuyen,
        row.thanh_toan_truc_tuyen,
        row.so_tien_truc_tuyen,
        row.danh_gia,
    )


async def test_january_from_known_data(gateway: Gateway) -> None:
    await seed(gateway)
    report = await monthly.compute(gateway, month="2024-01", ma_don_vi="000.00.00.H56")
    rows = {(r.ma_tthc, r.muc_do.value): figures(r) for r in report.rows}
    assert rows == {
        ("1.000001", ONLINE_PARTIAL): (3, 1, 1, 1, 2, 1, 50_000, {"1": 1, "2": 0, "3": 1}),
        ("1.000002", ONLINE_FULL): (0, 1, 0, 1, 0, 0, 0, {"1": 0, "2": 0, "3": 0}),
        ("1.000003", ONLINE_FULL): (1, 0, 0, 0, 0, 0, 0, {"1": 0, "2": 0, "3": 0}),
    }
    assert figures(report.totals)[:7] == (4, 2, 1, 2, 2, 1, 50_000)
    assert report.unattributed.thanh_toan_truc_tuyen == 1
    assert report.unattributed.so_tien_truc_tuyen == 10_000

    february = await monthly.compute(gateway, month="2024-02", ma_don_vi="000.00.00.H56")
    p1 = next(r for r in february.rows if r.ma_tthc == "1.000001")
    # 0003 still open and 0004 received; 0004 and 0003 both in progress at February's end
    assert (p1.tiep_nhan, p1.dang_giai_quyet, p1.so_tien_truc_tuyen) == (1, 2, 7_000)

    aggregate = monthly.to_aggregate(report, site_id=3800)
    assert [(line.MaTTHC, line.MucDo, line.TiepNhan) for line in aggregate.DuLieu] == [
        ("1.000001", "3", 3),
        ("1.000002", "4", 0),
        ("1.000003", "4", 1),
    ]
    csv = monthly.csv_text(report).splitlines()
    assert csv[0].startswith("ma_tthc,muc_do,tiep_nhan")
    assert csv[-1].startswith("*,*,4,2,1,2,2,1,50000")


async def test_the_route_answers_the_same_report_and_refuses_a_bad_month(
    gateway: Gateway, api: httpx.AsyncClient
) -> None:
    await seed(gateway)
    headers = await bearer(gateway, "emc:read")
    r = await api.get("/v1/emc/reports/2024-01", headers=headers)
    assert r.status_code == 200, r.text
    local = await monthly.compute(gateway, month="2024-01", ma_don_vi="000.00.00.H56")
    assert r.json()["rows"] == local.model_dump(mode="json")["rows"]
    bad = await api.get("/v1/emc/reports/2024-13", headers=headers)
    assert bad.status_code == 422
    assert bad.headers["content-type"] == "application/problem+json"
    assert "month" in bad.json()["errors"][0]["loc"]
    forbidden = await api.get(
        "/v1/emc/reports/2024-01", headers=await bearer(gateway, "emc:submit")
    )
    assert forbidden.status_code == 403


async def test_submission_reaches_the_endpoint_and_a_second_replaces_it(
    gateway: Gateway, api: httpx.AsyncClient, sandbox_app: Any
) -> None:
    await seed(gateway)
    headers = await bearer(gateway, "emc:submit", "emc:read")
    r = await api.post("/v1/emc/reports/2024-01/submit", headers=headers)
    assert r.status_code == 202, r.text
    await deliver_all(gateway)
    state = (await api.get(f"/v1/exchanges/{r.json()['exchange_id']}", headers=headers)).json()
    assert state["state"] == "delivered"
    sim = emc_simulator(sandbox_app)
    (kept,) = sim.aggregates.values()
    lines = {(x["MaTTHC"], x["MucDo"]): x for x in kept["packet"]["DuLieu"]}
    assert lines[("1.000001", "3")]["DaGiaiQuyetQuaHan"] == 1
    assert lines[("1.000001", "3")]["SoTienThanhToanTrucTuyen"] == 50_000
    assert kept["packet"]["MaDonVi"] == "000.00.00.H56"

    again = await api.post("/v1/emc/reports/2024-01/submit", headers=headers)
    assert again.status_code == 202
    await deliver_all(gateway)
    assert len(sim.aggregates) == 1
    assert sim.stats.aggregates_accepted + sim.stats.aggregates_replaced == 2 - (
        sim.stats.aggregate_duplicates
    )


async def test_the_monthly_job_queues_last_month_once(gateway: Gateway) -> None:
    connector = gateway.connector("emc")
    assert isinstance(connector, EmcConnector)
    config = connector.config.model_copy(update={"report_day": 3})
    assert [j.name for j in EmcConnector(config, httpx.AsyncClient()).periodic_jobs(gateway)] == [
        "emc_track_syncs",
        "emc_monthly_report",
    ]
    assert await submission.monthly_job(gateway, config, now=at("2024-02-02")) == 0  # too early
    assert await submission.monthly_job(gateway, config, now=at("2024-02-03")) == 1
    assert await submission.monthly_job(gateway, config, now=at("2024-02-20")) == 0
    async with gateway.db.reading() as session:
        keys = (
            await session.scalars(
                select(OutboxItem.ordering_key).where(OutboxItem.operation == submission.SUBMIT)
            )
        ).all()
        count = await session.scalar(select(func.count()).select_from(OutboxItem))
    assert keys == ["emc:report:000.00.00.H56:2024-01"]
    assert count == 1
