"""Feedback, ratings and questions from the national portal, end to end against the DVCQG
simulator: pushed and pulled, de-duplicated, announced; feedback deadlines across holidays and
overdue feedback; answers sent back through the outbox with their publication flag; ratings per
agency and per officer.

Every test runs on SQLite and, when reachable, on PostgreSQL + Redis.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.dvcqg import DvcqgConnector
from connectors.dvcqg.routes_portal import CitizenPushAnswer
from connectors.dvcqg.sandbox import DvcqgSimulator
from connectors.dvcqg.tables import PortalItem
from gateway.core import events
from gateway.core.delivery.workers import DeliveryService
from gateway.core.runtime import Gateway
from gateway.core.store.db import Event
from tests.conftest import bearer
from tests.connectors.dvcqg.test_routes_online import portal, sim

__all__ = ["portal", "sim"]  # fixtures used by name

CITIZENS = "/callbacks/dvcqg/citizens"
TET_2026 = [date(2026, 2, d) for d in range(16, 21)]


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "dvcqg:read", "dvcqg:sync")


async def make(portal: httpx.AsyncClient, loai: str, **options: Any) -> list[dict[str, Any]]:
    r = await portal.post(f"/dvcqg/_sandbox/citizen-items/{loai}", json=options or None)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def push(
    api: httpx.AsyncClient, portal: httpx.AsyncClient, loai: str, **options: Any
) -> httpx.Response:
    r = await portal.post(f"/dvcqg/_sandbox/citizen-items/{loai}/push", json=options or None)
    assert r.status_code == 200, r.text
    request = r.json()
    return await api.post(CITIZENS, content=request["body"].encode(), headers=request["headers"])


def acks(r: httpx.Response) -> list[tuple[str, str]]:
    assert r.status_code == 200, r.text
    # the answer is exactly the one the OpenAPI document declares
    assert CitizenPushAnswer.model_validate(r.json()).model_dump(mode="json") == r.json()
    return [(a["Ma"], a["KetQua"]) for a in r.json()["result"]]


async def rows(gateway: Gateway, model: Any) -> list[Any]:
    async with gateway.db.sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def drain(gateway: Gateway) -> None:
    service = DeliveryService(gateway)
    while await service.run_once():
        pass


def online(gateway: Gateway) -> Any:
    connector = gateway.connector("dvcqg")
    assert isinstance(connector, DvcqgConnector)
    return connector.online


# --- feedback ---------------------------------------------------------------------------------


async def test_feedback_is_stored_announced_with_its_deadline_across_tet(
    api: httpx.AsyncClient,
    gateway: Gateway,
    portal: httpx.AsyncClient,
    headers: dict[str, str],
) -> None:
    gateway.settings.calendar.holidays = TET_2026
    [old] = await make(portal, "PhanAnhKienNghi", sent_at="20260212100000")
    [new] = await make(portal, "PhanAnhKienNghi")
    assert acks(await push(api, portal, "PhanAnhKienNghi")) == [
        (old["MaPhanAnh"], "accepted"),
        (new["MaPhanAnh"], "accepted"),
    ]
    assert acks(await push(api, portal, "PhanAnhKienNghi", ids=[old["MaPhanAnh"]])) == [
        (old["MaPhanAnh"], "duplicate")
    ]
    [first, _] = await rows(gateway, Event)
    data = events.event_dict(gateway.cipher, first)["data"]
    assert (first.type, data["han_tra_loi"]) == ("dvcqg.feedback.received", "2026-03-05")
    assert data["noi_dung"]["NoiDung"] == old["NoiDung"]

    listed = (await api.get("/v1/dvcqg/feedback", headers=headers)).json()["feedback"]
    assert [(f["ma_phan_anh"], f["trang_thai"], f["tre_han"]) for f in listed] == [
        (old["MaPhanAnh"], "overdue", True),
        (new["MaPhanAnh"], "open", False),
    ]
    overdue = (await api.get("/v1/dvcqg/feedback?status=overdue", headers=headers)).json()
    assert [f["ma_phan_anh"] for f in overdue["feedback"]] == [old["MaPhanAnh"]]


async def test_an_answer_goes_back_to_the_portal_once_with_its_publication_flag(
    api: httpx.AsyncClient,
    gateway: Gateway,
    portal: httpx.AsyncClient,
    sim: DvcqgSimulator,
    headers: dict[str, str],
) -> None:
    [item] = await make(portal, "PhanAnhKienNghi")
    code = item["MaPhanAnh"]
    acks(await push(api, portal, "PhanAnhKienNghi"))
    body = {"noi_dung": "Hồ sơ đã có kết quả.", "co_quan_tra_loi": "Sở Tư pháp", "cong_khai": True}
    r = await api.post(f"/v1/dvcqg/feedback/{code}/answer", json=body, headers=headers)
    assert r.status_code == 202, r.text
    assert r.json()["on_time"] is True
    again = await api.post(f"/v1/dvcqg/feedback/{code}/answer", json=body, headers=headers)
    assert again.status_code == 409
    assert again.json()["type"] == "urn:lgsp:problem:dvcqg-item-answered"
    await drain(gateway)
    [sent] = sim.online.answers.values()
    assert (sent["Ma"], sent["NoiDungTraLoi"], sent["CongKhai"]) == (code, body["noi_dung"], 1)
    exchange = (await api.get(r.json()["links"]["self"], headers=headers)).json()
    assert exchange["state"] == "delivered"
    listed = (await api.get("/v1/dvcqg/feedback?status=answered", headers=headers)).json()
    [answered] = listed["feedback"]
    assert (answered["cong_khai"], answered["tre_han"]) == (True, False)


async def test_an_unknown_item_cannot_be_answered(
    api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    body = {"noi_dung": "x", "co_quan_tra_loi": "y", "cong_khai": False}
    r = await api.post("/v1/dvcqg/feedback/PH-999999/answer", json=body, headers=headers)
    assert r.status_code == 404
    assert r.json()["type"] == "urn:lgsp:problem:dvcqg-item-unknown"


async def test_a_forged_citizen_push_is_refused(
    api: httpx.AsyncClient, gateway: Gateway, portal: httpx.AsyncClient
) -> None:
    await make(portal, "PhanAnhKienNghi")
    r = await push(api, portal, "PhanAnhKienNghi", wrong_signature=True)
    assert r.status_code == 401
    assert await rows(gateway, PortalItem) == []


async def test_a_bad_field_is_named_without_the_union_tag(
    api: httpx.AsyncClient, gateway: Gateway, portal: httpx.AsyncClient, sim: DvcqgSimulator
) -> None:
    [item] = await make(portal, "DanhGia")
    sim.online.items["DanhGia"][item["MaDanhGia"]]["MucDo"] = 4
    r = await push(api, portal, "DanhGia")
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == "data[0].MucDo"
    assert await rows(gateway, PortalItem) == []


# --- questions --------------------------------------------------------------------------------


async def test_questions_are_pulled_and_answered_through_dong_bo_hoi_dap(
    api: httpx.AsyncClient,
    gateway: Gateway,
    portal: httpx.AsyncClient,
    sim: DvcqgSimulator,
    headers: dict[str, str],
) -> None:
    [question] = await make(portal, "HoiDap")
    assert await online(gateway).pull_items_round(gateway) == 1
    assert sim.online.item_acks == {("HoiDap", question["MaCauHoi"]): "accepted"}
    [event] = await rows(gateway, Event)
    assert event.type == "dvcqg.question.received"
    body = {"noi_dung": "Cần tờ khai và giấy chứng sinh.", "co_quan_tra_loi": "UBND xã"}
    r = await api.post(
        f"/v1/dvcqg/questions/{question['MaCauHoi']}/answer",
        json={**body, "cong_khai": False},
        headers=headers,
    )
    assert r.status_code == 202, r.text
    assert r.json()["on_time"] is None  # questions have no statutory deadline here
    await drain(gateway)
    assert [(a["Loai"], a["Ma"], a["CongKhai"]) for a in sim.online.items_dict()["answers"]] == [
        ("HoiDap", question["MaCauHoi"], 0)
    ]


async def test_a_pulled_item_that_breaks_its_schema_is_acknowledged_rejected(
    gateway: Gateway, portal: httpx.AsyncClient, sim: DvcqgSimulator
) -> None:
    good, bad = await make(portal, "PhanAnhKienNghi", count=2)
    sim.online.items["PhanAnhKienNghi"][bad["MaPhanAnh"]]["NgayGui"] = "hôm qua"
    assert await online(gateway).pull_items_round(gateway) == 1
    assert sim.online.item_acks == {
        ("PhanAnhKienNghi", good["MaPhanAnh"]): "accepted",
        ("PhanAnhKienNghi", bad["MaPhanAnh"]): "rejected",
    }
    assert [i.item_id for i in await rows(gateway, PortalItem)] == [good["MaPhanAnh"]]


# --- ratings ----------------------------------------------------------------------------------


async def test_ratings_are_aggregated_per_agency_and_officer(
    api: httpx.AsyncClient,
    gateway: Gateway,
    portal: httpx.AsyncClient,
    headers: dict[str, str],
) -> None:
    plan = [(1, "CB0001"), (1, "CB0001"), (2, "CB0001"), (3, "CB0002"), (2, None)]
    for level, officer in plan:
        await make(portal, "DanhGia", muc_do=level, ma_can_bo=officer, sent_at="20260310090000")
    await make(portal, "DanhGia", muc_do=3, ma_can_bo="CB0001", sent_at="20260401090000")
    pushed = acks(await push(api, portal, "DanhGia"))
    assert [k for _, k in pushed] == ["accepted"] * 6
    r = await api.get("/v1/dvcqg/ratings?from=2026-03-01&to=2026-03-31", headers=headers)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["tong"] == 5
    [agency] = report["co_quan"]
    assert agency == {
        "ma_co_quan": "000.00.01.H22",
        "rat_hai_long": 2,
        "hai_long": 2,
        "khong_hai_long": 1,
        "tong": 5,
        "ty_le_hai_long": 0.8,
    }
    assert [
        (o["ma_can_bo"], o["rat_hai_long"], o["hai_long"], o["khong_hai_long"])
        for o in report["can_bo"]
    ] == [("CB0001", 2, 1, 0), ("CB0002", 0, 0, 1)]
    backwards = await api.get("/v1/dvcqg/ratings?from=2026-03-31&to=2026-03-01", headers=headers)
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["loc"] == "to"


# --- results to the citizen's data store ------------------------------------------------------


def result(**overrides: Any) -> dict[str, Any]:
    import base64

    body: dict[str, Any] = {
        "ma_ho_so": "000.00.01.H22-240105-0007",
        "ma_giay_to": "KQ-240105-0007-1",
        "chu_so_huu": {"so_dinh_danh": "025185001234", "ho_va_ten": "Nguyễn Thị Thu Hà"},
        "ten_giay_to": "Giấy khai sinh",
        "so_ky_hieu": "123/2026/KS",
        "ngay_cap": "2026-03-02T09:00:00+07:00",
        "co_quan_cap": "UBND xã Tân Lập",
        "tep": {
            "ten": "giay-khai-sinh.pdf",
            "dinh_dang": "application/pdf",
            "noi_dung_base64": base64.b64encode(b"%PDF-1.7 ket qua").decode(),
        },
    }
    body.update(overrides)
    return body


async def test_a_result_reaches_the_citizens_data_store(
    api: httpx.AsyncClient, gateway: Gateway, sim: DvcqgSimulator, headers: dict[str, str]
) -> None:
    import base64

    text = {"ten": "ket-qua.txt", "dinh_dang": "text/plain", "noi_dung_base64": ""}
    text["noi_dung_base64"] = base64.b64encode(b"ket qua giai quyet").decode()
    r = await api.post("/v1/dvcqg/results", json=result(tep=text), headers=headers)
    assert r.status_code == 202, r.text
    await drain(gateway)
    [stored] = sim.online.data_store.values()
    assert stored["content"] == b"ket qua giai quyet"  # no embedded signature for plain text
    assert (stored["MaGiayTo"], stored["DaKySo"], stored["NgayCap"]) == (
        "KQ-240105-0007-1",
        0,
        "20260302090000",
    )
    # the case system sends it again (a retry on its side): the store keeps one
    again = await api.post("/v1/dvcqg/results", json=result(tep=text), headers=headers)
    assert again.status_code == 202
    await drain(gateway)
    assert len(sim.online.data_store) == 1
    assert sim.online.data_store_repeats == 1


async def test_a_pdf_result_is_signed_by_the_esign_connector_first(
    api: httpx.AsyncClient, gateway: Gateway, sim: DvcqgSimulator, headers: dict[str, str]
) -> None:
    import base64

    from connectors.esign import EsignConnector
    from connectors.esign.documents import sample_pdf

    pdf = sample_pdf("KET QUA GIAI QUYET HO SO 000.00.01.H22-240105-0007")
    tep = {"ten": "ket-qua.pdf", "dinh_dang": "application/pdf"}
    tep["noi_dung_base64"] = base64.b64encode(pdf).decode()
    r = await api.post("/v1/dvcqg/results", json=result(tep=tep), headers=headers)
    assert r.status_code == 202, r.text
    await drain(gateway)
    [stored] = sim.online.data_store.values()
    assert stored["DaKySo"] == 1
    assert stored["content"].startswith(pdf[:8])
    assert stored["content"] != pdf
    esign = gateway.connector("esign")
    assert isinstance(esign, EsignConnector)
    report = await esign.verify(stored["content"])
    assert report.verdict == "valid", report


async def test_a_result_waits_for_the_timestamp_authority_not_the_case_system(
    api: httpx.AsyncClient,
    gateway: Gateway,
    sim: DvcqgSimulator,
    headers: dict[str, str],
    sandbox_app: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 18: with the TSA down the result is accepted (202) and signed when delivered,
    once the authority is back; nothing goes out unsigned meanwhile."""
    import base64

    from connectors.esign.documents import sample_pdf
    from connectors.esign.sandbox import FaultConfig
    from gateway.core.delivery import outbox, workers
    from gateway.core.delivery.workers import DeliveryService
    from gateway.core.store.db import utcnow
    from tests.connectors.esign.test_routes import esign_simulator

    now = [utcnow()]
    monkeypatch.setattr(outbox, "utcnow", lambda: now[0])
    monkeypatch.setattr(workers, "utcnow", lambda: now[0])

    async def rounds() -> None:
        for _ in range(3):
            now[0] += timedelta(minutes=5)  # the retries come due, nobody waits
            while await DeliveryService(gateway).run_once():
                pass

    tsa = esign_simulator(sandbox_app)
    tsa.set_faults(FaultConfig(tsa_down=True))
    tep = {"ten": "kq.pdf", "dinh_dang": "application/pdf"}
    tep["noi_dung_base64"] = base64.b64encode(sample_pdf()).decode()
    r = await api.post("/v1/dvcqg/results", json=result(tep=tep), headers=headers)
    assert r.status_code == 202, r.text
    await rounds()
    assert sim.online.data_store == {}
    tsa.set_faults(FaultConfig())
    await rounds()
    [stored] = sim.online.data_store.values()
    assert stored["DaKySo"] == 1
    assert b"/ByteRange" in stored["content"]


async def test_results_are_not_signed_when_signing_is_turned_off(
    api: httpx.AsyncClient, gateway: Gateway, sim: DvcqgSimulator, headers: dict[str, str]
) -> None:
    import base64

    from connectors.esign.documents import sample_pdf

    connector = gateway.connector("dvcqg")
    assert isinstance(connector, DvcqgConnector)
    connector.config.sign_results = False
    pdf = sample_pdf()
    tep = {"ten": "kq.pdf", "dinh_dang": "application/pdf"}
    tep["noi_dung_base64"] = base64.b64encode(pdf).decode()
    r = await api.post("/v1/dvcqg/results", json=result(tep=tep), headers=headers)
    assert r.status_code == 202
    await drain(gateway)
    [stored] = sim.online.data_store.values()
    assert (stored["DaKySo"], stored["content"]) == (0, pdf)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"tep": {"ten": "a.pdf", "dinh_dang": "application/pdf", "noi_dung_base64": "!!"}},
            "tep.noi_dung_base64",
        ),
        ({"chu_so_huu": {"so_dinh_danh": "12345", "ho_va_ten": "A"}}, "chu_so_huu.so_dinh_danh"),
        ({"ngay_cap": "2026-03-02T09:00:00"}, "ngay_cap"),
    ],
)
async def test_a_bad_result_is_refused_naming_the_field(
    api: httpx.AsyncClient,
    sim: DvcqgSimulator,
    headers: dict[str, str],
    overrides: dict[str, Any],
    field: str,
) -> None:
    r = await api.post("/v1/dvcqg/results", json=result(**overrides), headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == field
    assert sim.online.data_store == {}


# --- every kind, both ways --------------------------------------------------------------------

EVENT_OF = {
    "PhanAnhKienNghi": "dvcqg.feedback.received",
    "DanhGia": "dvcqg.rating.received",
    "HoiDap": "dvcqg.question.received",
}
ID_OF = {"PhanAnhKienNghi": "MaPhanAnh", "DanhGia": "MaDanhGia", "HoiDap": "MaCauHoi"}


@pytest.mark.parametrize("loai", sorted(EVENT_OF))
@pytest.mark.parametrize("via", ["push", "pull"])
async def test_each_kind_arrives_pushed_or_pulled_once(
    api: httpx.AsyncClient,
    gateway: Gateway,
    portal: httpx.AsyncClient,
    sim: DvcqgSimulator,
    loai: str,
    via: str,
) -> None:
    [item] = await make(portal, loai)
    item_id = item[ID_OF[loai]]
    if via == "push":
        assert acks(await push(api, portal, loai)) == [(item_id, "accepted")]
        assert acks(await push(api, portal, loai, ids=[item_id])) == [(item_id, "duplicate")]
    else:
        assert await online(gateway).pull_items_round(gateway) == 1
        assert sim.online.item_acks == {(loai, item_id): "accepted"}
        assert await online(gateway).pull_items_round(gateway) == 0
    [stored] = await rows(gateway, PortalItem)
    assert (stored.item_id, stored.via) == (item_id, via)
    assert [(e.type, e.subject) for e in await rows(gateway, Event)] == [(EVENT_OF[loai], item_id)]


# --- citizens on a schedule -------------------------------------------------------------------


async def _wait_for(probe: Any, seconds: float = 10) -> None:
    import asyncio
    import time

    deadline = time.monotonic() + seconds
    while not await probe():
        assert time.monotonic() < deadline, "the scheduled citizens did not arrive"
        await asyncio.sleep(0.05)


async def test_scheduled_citizens_pushed_by_the_portal_itself(
    app: Any, gateway: Gateway, portal: httpx.AsyncClient, sim: DvcqgSimulator
) -> None:
    from connectors.dvcqg.tables import PortalDossier

    sim.online.push_transport = httpx.ASGITransport(app=app)
    schedule = {
        "every_seconds": 0.05,
        "dossiers": 1,
        "feedback": 1,
        "ratings": 1,
        "questions": 1,
        "push_url": "http://gateway",
    }
    try:
        r = await portal.put("/dvcqg/_sandbox/citizens/schedule", json=schedule)
        assert r.status_code == 200, r.text

        async def arrived() -> bool:
            kinds = {i.kind for i in await rows(gateway, PortalItem)}
            return bool(await rows(gateway, PortalDossier)) and len(kinds) == 3

        await _wait_for(arrived)
    finally:
        await portal.delete("/dvcqg/_sandbox/citizens/schedule")
        sim.online.push_transport = None
    pushed = {code for (code, _), ket_qua in sim.online.acks.items() if ket_qua == "accepted"}
    stored = {d.ma_ho_so for d in await rows(gateway, PortalDossier)}
    assert pushed
    assert pushed <= stored  # whatever the portal was told is accepted, the gateway holds
    assert all(d.via == "push" for d in await rows(gateway, PortalDossier))


async def test_scheduled_citizens_wait_to_be_pulled_without_a_push_url(
    gateway: Gateway, portal: httpx.AsyncClient, sim: DvcqgSimulator
) -> None:
    r = await portal.put(
        "/dvcqg/_sandbox/citizens/schedule", json={"every_seconds": 0.05, "questions": 1}
    )
    assert r.status_code == 200
    try:

        async def made() -> bool:
            return bool(sim.online.submissions) and bool(sim.online.items["HoiDap"])

        await _wait_for(made)
    finally:
        await portal.delete("/dvcqg/_sandbox/citizens/schedule")
    assert await online(gateway).pull_round(gateway) >= 1
    assert await online(gateway).pull_items_round(gateway) >= 1
