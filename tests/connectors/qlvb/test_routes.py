"""The routes: a document accepted (202) or refused naming the field (422, nothing queued),
the same request answered the same (200), other content 409, Idempotency-Key replays; the
status callback authenticated, de-duplicated, never regressing, refusing what is malformed or
badly signed."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.qlvb.routes import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    DocumentAccepted,
    DossierDocuments,
    StatusAnswer,
    callback_signature,
)
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry, OutboxItem
from tests.conftest import bearer
from tests.connectors.qlvb.support import (
    AGENCY,
    CALLBACK,
    DOCUMENT_ID,
    DOCUMENTS,
    DOSSIER,
    OTHER_AGENCY,
    Axis,
    axis_of,
    document,
    event_types,
)

SECRET = b"sandbox-qlvb-callback"


@pytest.fixture
def axis(sandbox_app: Any, platform: httpx.AsyncClient, app: Any) -> Axis:
    a = axis_of(sandbox_app, platform)
    a.push_into(app)
    return a


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "qlvb:send", "qlvb:read")


def declared(model: Any, r: httpx.Response) -> Any:
    assert model.model_validate(r.json()).model_dump(mode="json") == r.json()
    return r.json()


async def send(api: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> Any:
    r = await api.post(DOCUMENTS, json=document(**overrides), headers=headers)
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"{DOCUMENTS}/{DOSSIER}"
    return declared(DocumentAccepted, r)


async def deliver_all(app: Any, axis: Axis) -> None:
    while await app.state.delivery.run_once():
        await axis.pusher.drain()
    await axis.pusher.drain()


async def view(api: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, Any]:
    r = await api.get(f"{DOCUMENTS}/{DOSSIER}", headers=headers)
    assert r.status_code == 200, r.text
    body = declared(DossierDocuments, r)
    found: dict[str, Any] = body["documents"][0]
    return found


def signed(body: bytes, stamp: str | None = None) -> dict[str, str]:
    stamp = stamp or str(int(time.time()))
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: callback_signature(SECRET, stamp, body),
        "Content-Type": "application/xml",
    }


def pdf_b64(size: int) -> str:
    return base64.b64encode(b"%" * size).decode()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ma_co_quan_nhan": []}, "ma_co_quan_nhan"),
        ({"ma_co_quan_nhan": [AGENCY, AGENCY]}, "ma_co_quan_nhan"),
        ({"ma_co_quan_nhan": ["H22"]}, "ma_co_quan_nhan[0]"),
        ({"trich_yeu": "x" * 501}, "trich_yeu"),
        ({"ma_ho_so": "bad"}, "ma_ho_so"),
        ({"so_van_ban": "12/3"}, "so_van_ban"),
        ({"nguoi_ky": {"ho_ten": ""}}, "nguoi_ky.ho_ten"),
        ({"ma_loai_van_ban": 998}, "ma_loai_van_ban"),
        ({"tep_dinh_kem": []}, "tep_dinh_kem"),
        (
            {
                "tep_dinh_kem": [
                    {"ten_tep": "x" * 201, "loai": "application/pdf", "noi_dung": "QUJD"}
                ]
            },
            "tep_dinh_kem[0].ten_tep",
        ),
        (
            {"tep_dinh_kem": [{"ten_tep": "a.pdf", "loai": "application/pdf", "noi_dung": "!!!!"}]},
            "tep_dinh_kem[0].noi_dung",
        ),
        (
            {
                "tep_dinh_kem": [
                    {"ten_tep": "a.pdf", "loai": "application/pdf", "noi_dung": pdf_b64(600_000)}
                ]
            },
            "tep_dinh_kem[0].noi_dung",
        ),
    ],
)
async def test_bad_documents_are_refused_naming_the_field(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    overrides: dict[str, Any],
    field: str,
) -> None:
    r = await api.post(DOCUMENTS, json=document(**overrides), headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert field in [e["loc"] for e in r.json()["errors"]]
    async with gateway.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 0
        refusals = await session.scalar(
            select(func.count()).select_from(ExchangeEntry).where(ExchangeEntry.kind == "refusal")
        )
    assert refusals == 1
    assert (await api.get(f"{DOCUMENTS}/{DOSSIER}", headers=headers)).status_code == 404


async def test_scopes_are_required(api: httpx.AsyncClient, gateway: Gateway) -> None:
    reader = await bearer(gateway, "qlvb:read")
    assert (await api.post(DOCUMENTS, json=document(), headers=reader)).status_code == 403
    assert (await api.post(DOCUMENTS, json=document())).status_code == 401
    sender = await bearer(gateway, "qlvb:send")
    assert (await api.get(f"{DOCUMENTS}/{DOSSIER}", headers=sender)).status_code == 403


async def test_the_same_document_is_one_and_other_content_conflicts(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], axis: Axis
) -> None:
    first = await send(api, headers)
    again = await api.post(DOCUMENTS, json=document(), headers=headers)
    assert again.status_code == 200
    assert declared(DocumentAccepted, again)["exchange_id"] == first["exchange_id"]
    other = await api.post(DOCUMENTS, json=document(trich_yeu="Khác"), headers=headers)
    assert other.status_code == 409
    elsewhere = document(ma_ho_so="000.00.01.H22-240105-0008")
    taken = await api.post(DOCUMENTS, json=elsewhere, headers=headers)
    assert taken.status_code == 409
    assert "so_van_ban" in [e["loc"] for e in taken.json()["errors"]]
    assert other.json()["type"] == "urn:lgsp:problem:qlvb-document-conflict"
    await deliver_all(app, axis)
    assert axis.sim.stats.documents == 1
    async with gateway.db.reading() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 1


async def test_an_idempotency_key_replays_the_first_answer(
    api: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    keyed = {**headers, "Idempotency-Key": "qlvb-doc-1"}
    r1 = await api.post(DOCUMENTS, json=document(), headers=keyed)
    r2 = await api.post(DOCUMENTS, json=document(), headers=keyed)
    assert r1.status_code == r2.status_code == 202
    assert r2.headers["Idempotent-Replayed"] == "true"
    assert r1.json() == r2.json()
    r3 = await api.post(DOCUMENTS, json=document(trich_yeu="Khác"), headers=keyed)
    assert r3.status_code == 422


async def test_a_redelivery_after_a_lost_answer_makes_one_document(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], axis: Axis
) -> None:
    # the axis takes the package and the connection drops before its answer: the outbox
    # delivers again, the axis answers DUPLICATE with the same DocID
    axis.sim.set_faults(axis.sim.faults.model_copy(update={"drop_rate": 1.0}))
    await send(api, headers)
    assert await app.state.delivery.run_once()
    axis.sim.set_faults(axis.sim.faults.model_copy(update={"drop_rate": 0.0}))
    doc = await view(api, headers)
    for _ in range(200):  # the retry is due after its backoff (tens of milliseconds)
        if doc["status"] == "sent":
            break
        await app.state.delivery.run_once()
        await asyncio.sleep(0.01)
        doc = await view(api, headers)
    assert doc["status"] == "sent"
    assert doc["axis_doc_id"] == axis.sim.documents[DOCUMENT_ID].doc_id
    assert axis.sim.stats.documents == 1
    assert axis.sim.stats.duplicates == 1


async def test_pushed_statuses_are_applied_once_and_never_regress(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], axis: Axis
) -> None:
    await send(api, headers, ma_co_quan_nhan=[AGENCY, OTHER_AGENCY])
    await deliver_all(app, axis)
    await axis.advance(organ_id=AGENCY)  # 01
    await axis.advance(organ_id=AGENCY)  # 03
    assert all(s.pushed == 200 for s in axis.sim.statuses)
    # the same package again (a hub sending twice): taken, nothing changes
    before = await view(api, headers)
    dup = await axis.platform.post(f"/qlvb/_sandbox/statuses/{axis.sim.statuses[-1].id}/duplicate")
    assert dup.status_code == 200
    await axis.pusher.drain()
    assert axis.sim.statuses[-1].pushed == 200
    assert await view(api, headers) == before
    # out of order: 06 arrives, then a late 04: history only
    await axis.advance(organ_id=AGENCY, code="06")
    await axis.advance(organ_id=AGENCY, code="04")
    doc = await view(api, headers)
    mine = next(r for r in doc["recipients"] if r["ma_co_quan_nhan"] == AGENCY)
    other = next(r for r in doc["recipients"] if r["ma_co_quan_nhan"] == OTHER_AGENCY)
    assert mine["status"] == "processed"
    assert mine["status_code"] == "06"
    assert [(h["status_code"], h["applied"]) for h in mine["history"]] == [
        ("01", True),
        ("03", True),
        ("06", True),
        ("04", False),
    ]
    assert other["status"] == "sent"
    assert other["history"] == []
    # the other agency rejects; then asks nothing more
    await axis.advance(organ_id=OTHER_AGENCY, reject=True)
    doc = await view(api, headers)
    other = next(r for r in doc["recipients"] if r["ma_co_quan_nhan"] == OTHER_AGENCY)
    assert other["status"] == "rejected"
    assert await event_types(gateway) == [
        "qlvb.sent",
        "qlvb.received",
        "qlvb.registered",
        "qlvb.processed",
        "qlvb.rejected",
    ]


async def test_the_recall_line(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], axis: Axis
) -> None:
    await send(api, headers)
    await deliver_all(app, axis)
    await axis.advance()  # 01
    await axis.advance(code="13")
    await axis.advance(code="15")
    await axis.advance(code="13")  # late: history only
    recipient = (await view(api, headers))["recipients"][0]
    assert recipient["status"] == "received"
    assert recipient["recall"] == "recall_accepted"
    types = await event_types(gateway)
    assert types[-2:] == ["qlvb.recall_requested", "qlvb.recall_accepted"]


async def test_the_callback_refuses_what_is_not_authentic_or_not_valid(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], axis: Axis
) -> None:
    await send(api, headers)
    await deliver_all(app, axis)
    axis.sim.config = axis.sim.config.model_copy(update={"callback_url": None})
    [item] = await axis.advance()
    body = item["body"].encode()
    assert (await api.post(CALLBACK, content=body)).status_code == 401
    stale = signed(body, stamp="1000000000")
    assert (await api.post(CALLBACK, content=body, headers=stale)).status_code == 401
    altered = body.replace(b"01</", b"06</")
    r = await api.post(CALLBACK, content=altered, headers=signed(body))
    assert r.status_code == 401
    assert r.json()["type"] == "urn:lgsp:problem:qlvb-status-rejected"
    for bad in (body[: len(body) // 2], b"<edXML xmlns='urn:other'/>"):
        r = await api.post(CALLBACK, content=bad, headers=signed(bad))
        assert r.status_code == 422, r.text
        assert r.json()["type"] == "urn:lgsp:problem:qlvb-status-invalid"
    unknown = body.replace(b"125/TTHCC-MC", b"126/TTHCC-MC")
    assert (await api.post(CALLBACK, content=unknown, headers=signed(unknown))).status_code == 404
    assert (await view(api, headers))["recipients"][0]["history"] == []
    r = await api.post(CALLBACK, content=body, headers=signed(body))
    assert r.status_code == 200
    declared(StatusAnswer, r)
    assert (await view(api, headers))["recipients"][0]["status"] == "received"
    async with gateway.db.reading() as session:
        kinds = (
            await session.scalars(
                select(ExchangeEntry.outcome)
                .where(ExchangeEntry.connector == "qlvb")
                .where(ExchangeEntry.kind.in_(["refusal", "callback"]))
                .order_by(ExchangeEntry.id)
            )
        ).all()
    assert kinds.count("qlvb-status-rejected") == 3
    assert kinds.count("qlvb-status-invalid") == 2
    assert kinds[-1] == "applied"
