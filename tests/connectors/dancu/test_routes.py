"""Citizen look-ups through the gateway, end to end against the population-database simulator.

The gateway talks to the simulator over its WSDL (zeep) exactly as to the platform; every test
runs on SQLite and, when reachable, on PostgreSQL + Redis.
"""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
import structlog
from sqlalchemy import func, select

from connectors.dancu.sandbox import DancuSimulator, FaultConfig, get_simulator
from connectors.dancu.sandbox.population import Citizen
from connectors.dancu.usage import usage
from gateway.core.local_time import TZ, local_day
from gateway.core.log.exchange_log import body_aad
from gateway.core.runtime import Gateway
from gateway.core.settings import GovernanceSettings
from gateway.core.store.db import ExchangeEntry, utcnow
from tests.conftest import bearer
from tests.officer_factories import register_officer

LOOKUP = "/v1/dancu/citizens/lookup"
VERIFY = "/v1/dancu/citizens/verify"
DOSSIER = "000.00.01.H22-240105-0007"
# twelve digits standing alone (not inside a hex digest or a longer number)
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])")


@pytest.fixture
def sim(sandbox_app: Any) -> DancuSimulator:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/dancu":
            return get_simulator(route.app)
    raise LookupError("dancu simulator not mounted")


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    """A client allowed to look up, and officer 1 (CB0001 on the simulator) asking."""
    await register_officer(
        gateway, 1, platform_username="canbo0001", platform_password="sandbox-canbo0001"
    )
    return {**await bearer(gateway, "dancu:lookup"), "X-Officer-Id": "canbo.001"}


def ask(citizen: Citizen, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "so_dinh_danh": citizen.so_dinh_danh,
        "ho_va_ten": citizen.ho_va_ten,
        "ngay_sinh": citizen.ngay_sinh.isoformat(),
        "ma_tthc": "1.001776",
        "ma_ho_so": DOSSIER,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def calls(sim: DancuSimulator) -> int:
    return sim.stats.received


# --- the round trip ---------------------------------------------------------------------------


async def test_lookup_round_trip_maps_the_whole_record(
    api: httpx.AsyncClient, sim: DancuSimulator, headers: dict[str, str]
) -> None:
    citizen = next(c for c in sim.population.citizens if c.cha and c.vo_chong and c.chu_ho)
    r = await api.post(LOOKUP, json=ask(citizen), headers=headers)
    assert r.status_code == 200, r.text
    got = r.json()["cong_dan"]
    assert got["so_dinh_danh"] == citizen.so_dinh_danh
    assert got["ho_va_ten"] == citizen.ho_va_ten
    assert (got["ho"], got["chu_dem"], got["ten"]) == (citizen.ho, citizen.chu_dem, citizen.ten)
    assert got["ngay_sinh"] == citizen.ngay_sinh.isoformat()
    assert got["nam_sinh"] == citizen.ngay_sinh.year
    assert got["gioi_tinh"] == {"1": "nam", "2": "nu"}[citizen.gioi_tinh]
    assert got["dan_toc"]["ma"] == citizen.dan_toc
    assert got["dan_toc"]["ten"]
    assert got["so_so_ho_khau"] == citizen.so_so_ho_khau
    assert citizen.thuong_tru is not None
    assert got["thuong_tru"]["ma_tinh"] == citizen.thuong_tru.ma_tinh_thanh
    assert got["thuong_tru"]["ma_xa"] == citizen.thuong_tru.ma_phuong_xa
    assert got["thuong_tru"]["chi_tiet"] == citizen.thuong_tru.chi_tiet
    assert citizen.vo_chong is not None
    assert citizen.cha is not None
    assert citizen.chu_ho is not None
    assert got["vo_chong"]["ho_va_ten"] == citizen.vo_chong.ho_va_ten
    assert got["cha"]["ho_va_ten"] == citizen.cha.ho_va_ten
    assert got["chu_ho"]["quan_he"] == citizen.chu_ho.quan_he
    # the platform received the request the WSDL describes, from the right officer
    seen = sim.requests[-1]
    assert (seen["operation"], seen["ma_can_bo"], seen["ma_dvc"], seen["code"]) == (
        "TraCuuThongTinCongDan",
        "CB0001",
        "1.001776",
        "000",
    )
    # the platform's request id is the exchange id: auditors can match the two records
    assert seen["ma_yeu_cau"] == r.json()["exchange_id"]


async def test_verify_says_whether_stated_data_match(
    api: httpx.AsyncClient, sim: DancuSimulator, headers: dict[str, str]
) -> None:
    citizen = sim.population.citizens[10]
    right = await api.post(VERIFY, json=ask(citizen), headers=headers)
    assert right.status_code == 200, right.text
    assert right.json()["ket_qua"] == {"khop": True}
    other_day = citizen.ngay_sinh.replace(day=1 if citizen.ngay_sinh.day != 1 else 2)
    wrong = await api.post(
        VERIFY, json=ask(citizen, ngay_sinh=other_day.isoformat()), headers=headers
    )
    assert wrong.json()["ket_qua"] == {"khop": False}


# --- governance: refused before the platform is called -----------------------------------------


@pytest.mark.parametrize(
    ("officer", "drop", "field"),
    [
        (None, (), "X-Officer-Id"),
        ("canbo.khongco", (), "X-Officer-Id"),
        ("canbo.001", ("ma_tthc",), "ma_tthc"),
        ("canbo.001", ("ma_ho_so",), "ma_ho_so"),
    ],
    ids=["no-officer", "unregistered", "no-procedure", "no-dossier"],
)
async def test_refused_with_403_without_an_upstream_call(
    api: httpx.AsyncClient,
    gateway: Gateway,
    sim: DancuSimulator,
    headers: dict[str, str],
    officer: str | None,
    drop: tuple[str, ...],
    field: str,
) -> None:
    citizen = sim.population.citizens[0]
    asked = {k: v for k, v in headers.items() if k != "X-Officer-Id"}
    if officer:
        asked["X-Officer-Id"] = officer
    body = {k: v for k, v in ask(citizen).items() if k not in drop}
    r = await api.post(LOOKUP, json=body, headers=asked)
    assert r.status_code == 403, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in [e["loc"] for e in r.json()["errors"]]
    assert calls(sim) == 0
    async with gateway.db.transaction() as session:
        refusal = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == r.json()["exchange_id"])
        )
    assert refusal is not None
    assert (refusal.kind, refusal.connector, refusal.status_code) == ("refusal", "dancu", 403)
    assert refusal.officer_id == officer


async def test_a_locked_officer_is_refused_until_unlocked(
    api: httpx.AsyncClient, gateway: Gateway, sim: DancuSimulator, headers: dict[str, str]
) -> None:
    admin = await bearer(gateway, "officers:admin")
    lock = await api.post(
        "/v1/officers/canbo.001/lock", json={"reason": "Chuyển công tác"}, headers=admin
    )
    assert lock.status_code == 200, lock.text
    r = await api.post(LOOKUP, json=ask(sim.population.citizens[0]), headers=headers)
    assert r.status_code == 403
    assert "locked" in r.json()["detail"]
    assert calls(sim) == 0
    await api.post("/v1/officers/canbo.001/unlock", json={"reason": "Nhận lại"}, headers=admin)
    again = await api.post(LOOKUP, json=ask(sim.population.citizens[0]), headers=headers)
    assert again.status_code == 200


async def test_inconsistent_id_number_is_422_without_an_upstream_call(
    api: httpx.AsyncClient, sim: DancuSimulator, headers: dict[str, str]
) -> None:
    citizen = sim.population.citizens[3]
    earlier = citizen.ngay_sinh.replace(year=citizen.ngay_sinh.year - 1)
    r = await api.post(LOOKUP, json=ask(citizen, ngay_sinh=earlier.isoformat()), headers=headers)
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == ["so_dinh_danh"]
    bad = await api.post(LOOKUP, json=ask(citizen, so_dinh_danh="097090012345"), headers=headers)
    assert bad.status_code == 422
    assert "so_dinh_danh" in bad.json()["errors"][0]["loc"]
    assert calls(sim) == 0


async def test_a_client_without_the_scope_is_refused(
    api: httpx.AsyncClient, gateway: Gateway, sim: DancuSimulator
) -> None:
    await register_officer(gateway, 1)
    other = {**await bearer(gateway, "dvcqg:read"), "X-Officer-Id": "canbo.001"}
    r = await api.post(LOOKUP, json=ask(sim.population.citizens[0]), headers=other)
    assert r.status_code == 403
    assert calls(sim) == 0


# --- the platform's codes ------------------------------------------------------------------------


async def test_platform_codes_become_clear_problems(
    api: httpx.AsyncClient, gateway: Gateway, sim: DancuSimulator, headers: dict[str, str]
) -> None:
    citizen = sim.population.citizens[5]
    unlicensed = await api.post(LOOKUP, json=ask(citizen, ma_tthc="1.004227"), headers=headers)
    assert unlicensed.status_code == 403
    assert unlicensed.json()["type"] == "urn:lgsp:problem:dancu-procedure-not-licensed"
    assert unlicensed.json()["exchange_id"]

    await register_officer(
        gateway, 99, platform_username="canbo0099", platform_password="sandbox-canbo0099"
    )
    not_permitted = await api.post(
        LOOKUP, json=ask(citizen), headers={**headers, "X-Officer-Id": "canbo.099"}
    )
    assert not_permitted.status_code == 403
    assert not_permitted.json()["type"] == "urn:lgsp:problem:dancu-officer-not-permitted"

    await register_officer(gateway, 2, platform_username="canbo0002", platform_password="wrong")
    refused = await api.post(
        LOOKUP, json=ask(citizen), headers={**headers, "X-Officer-Id": "canbo.002"}
    )
    assert refused.status_code == 502
    assert refused.json()["type"] == "urn:lgsp:problem:dancu-officer-credential-refused"
    assert "wrong" not in refused.text

    nobody = await api.post(LOOKUP, json=ask(citizen, ho_va_ten="Người Không Tên"), headers=headers)
    assert nobody.status_code == 404
    assert nobody.json()["type"] == "urn:lgsp:problem:dancu-citizen-not-found"

    sim.set_faults(FaultConfig(quota_rate=1.0))
    busy = await api.post(LOOKUP, json=ask(citizen), headers=headers)
    assert busy.status_code == 503
    assert busy.json()["type"] == "urn:lgsp:problem:upstream-unavailable"


@pytest.mark.parametrize("hostile", ["xxe", "billion_laughs", "oversize", "dtd"])
@pytest.mark.timeout(30)
async def test_hostile_answers_are_refused_safely(
    api: httpx.AsyncClient,
    gateway: Gateway,
    sim: DancuSimulator,
    headers: dict[str, str],
    hostile: str,
) -> None:
    sim.set_faults(FaultConfig(hostile=hostile, hostile_count=5))  # type: ignore[arg-type]
    r = await api.post(LOOKUP, json=ask(sim.population.citizens[0]), headers=headers)
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "urn:lgsp:problem:upstream-invalid-answer"
    assert "root:" not in r.text
    async with gateway.db.transaction() as session:
        attempts = (
            await session.scalars(
                select(ExchangeEntry).where(ExchangeEntry.parent_id == r.json()["exchange_id"])
            )
        ).all()
    assert len(attempts) == 1  # refused unread, and not asked for again
    if hostile == "oversize":
        assert all(a.outcome == "error:ResponseTooLarge" for a in attempts)
        limit = gateway.connector("dancu").config.max_answer_bytes  # type: ignore[attr-defined]
        assert all(a.response_size <= limit for a in attempts)


# --- the exchange log --------------------------------------------------------------------------


def decrypt(gateway: Gateway, entry: ExchangeEntry, which: str) -> bytes:
    sealed = entry.request_body if which == "request" else entry.response_body
    assert sealed is not None
    return gateway.cipher.decrypt(sealed, body_aad(entry.entry_id, which))


async def test_answers_are_logged_encrypted_and_credentials_never(
    api: httpx.AsyncClient, gateway: Gateway, sim: DancuSimulator, headers: dict[str, str]
) -> None:
    citizen = sim.population.citizens[7]
    r = await api.post(LOOKUP, json=ask(citizen), headers=headers)
    exchange_id = r.json()["exchange_id"]
    async with gateway.db.transaction() as session:
        inbound = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == exchange_id)
        )
        attempt = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.parent_id == exchange_id)
        )
    assert inbound is not None
    assert attempt is not None
    assert (inbound.officer_id, inbound.purpose) == ("canbo.001", f"1.001776 {DOSSIER}")
    for entry in (inbound, attempt):
        for body in (entry.request_body, entry.response_body):
            assert body
            assert citizen.so_dinh_danh.encode() not in body
            assert citizen.ten.encode() not in body
    answer = json.loads(decrypt(gateway, inbound, "response"))
    assert answer["so_dinh_danh"] == citizen.so_dinh_danh
    sent = decrypt(gateway, attempt, "request")
    assert citizen.so_dinh_danh.encode() in sent
    assert b'<ns0:AuthHash xmlns:ns0="http://dancuquocgia.bca">***</ns0:AuthHash>' in sent
    assert b"sandbox-canbo0001" not in sent


async def test_no_id_number_unmasked_in_any_log_line(
    api: httpx.AsyncClient,
    sim: DancuSimulator,
    headers: dict[str, str],
    capfd: pytest.CaptureFixture[str],
    logging_at_debug: None,
) -> None:
    structlog.get_logger("test").warning("test.marker")
    citizens = sim.population.citizens[20:25]
    for citizen in citizens:
        await api.post(LOOKUP, json=ask(citizen), headers=headers)
        await api.post(VERIFY, json=ask(citizen), headers=headers)
    await api.post(LOOKUP, json=ask(citizens[0], ho_va_ten="Không Có"), headers=headers)
    await api.post(LOOKUP, json=ask(citizens[0]), headers={})
    sim.set_faults(FaultConfig(hostile="xxe", hostile_count=5))
    await api.post(LOOKUP, json=ask(citizens[1]), headers=headers)
    out, err = capfd.readouterr()
    assert "test.marker" in err
    lines = out + err
    assert not ID_NUMBER.findall(lines)
    for citizen in citizens:
        assert citizen.so_dinh_danh not in lines
    assert "sandbox-canbo0001" not in lines


# --- usage and spikes ---------------------------------------------------------------------------


async def test_the_usage_report_counts_what_the_log_holds(
    api: httpx.AsyncClient, gateway: Gateway, sim: DancuSimulator, headers: dict[str, str]
) -> None:
    citizens = sim.population.citizens[30:36]
    for citizen in citizens:
        await api.post(LOOKUP, json=ask(citizen), headers=headers)
    await api.post(VERIFY, json=ask(citizens[0]), headers=headers)
    await api.post(LOOKUP, json=ask(citizens[0], ho_va_ten="Không Có"), headers=headers)
    await api.post(LOOKUP, json=ask(citizens[0], ma_tthc=None), headers=headers)
    reviewer = await bearer(gateway, "governance:read")
    month = local_day(utcnow()).strftime("%Y-%m")
    r = await api.get("/v1/dancu/usage", params={"month": month}, headers=reviewer)
    assert r.status_code == 200, r.text
    row = next(x for u in r.json()["units"] for x in u["rows"] if x["tai_khoan"] == "canbo.001")
    assert (row["answered"], row["failed"], row["refused"]) == (7, 1, 1)
    async with gateway.db.transaction() as session:
        logged = await session.scalar(
            select(func.count())
            .select_from(ExchangeEntry)
            .where(
                ExchangeEntry.connector == "dancu",
                ExchangeEntry.officer_id == "canbo.001",
                ExchangeEntry.kind.in_(("inbound", "refusal")),
            )
        )
    assert logged == row["total"] == 9
    report = await usage(gateway.db, month=month)
    assert report.totals.total == 9
    assert str(TZ) == r.json()["timezone"]


async def test_a_spike_raises_one_alert_and_locks_when_configured(
    api: httpx.AsyncClient, gateway: Gateway, sim: DancuSimulator, headers: dict[str, str]
) -> None:
    gateway.settings.governance = GovernanceSettings(
        spike_daily_ceiling=3, spike_min_daily=1, spike_auto_lock=True
    )
    citizens = sim.population.citizens[40:44]
    statuses = [
        (await api.post(LOOKUP, json=ask(c), headers=headers)).status_code for c in citizens
    ]
    # the third look-up reaches the ceiling: it goes through, the lock refuses the next
    assert statuses == [200, 200, 200, 403]
    reviewer = await bearer(gateway, "governance:read")
    alerts = (await api.get("/v1/governance/alerts", headers=reviewer)).json()["items"]
    assert [(a["officer"], a["kind"], a["count"]) for a in alerts] == [("canbo.001", "spike", 3)]
    metrics = (await api.get("/metrics")).text
    assert re.search(r'lgsp_officer_alerts_total\{kind="spike"\} [1-9]', metrics)
    assert calls(sim) == 3
