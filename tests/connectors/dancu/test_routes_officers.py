"""The officer registry and governance over HTTP: scopes, problem+json, and nothing personal or
secret in any answer or log line."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from connectors.dancu import governance, officers
from gateway.core.local_time import local_day
from gateway.core.logging import configure_logging
from gateway.core.runtime import Gateway
from gateway.core.settings import GovernanceSettings
from gateway.core.store.db import ExchangeEntry, utcnow
from tests.conftest import bearer
from tests.officer_factories import (
    UNIT_B,
    daily_lookups,
    id_number,
    insert,
    local_noon,
    lookup,
    officer_fields,
    password,
    register_officer,
)


@pytest.fixture
async def admin(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "officers:admin", name="quan-tri")


@pytest.fixture
async def reviewer(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "governance:read", name="thanh-tra")


def assert_nothing_secret(text: str, *numbers: int) -> None:
    for n in numbers:
        assert id_number(n) not in text
        assert password(n) not in text
        assert f"user{n:03d}" not in text


async def test_register_answers_201_without_the_id_number_or_credential(
    gateway: Gateway, api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    r = await api.post("/v1/officers", json=officer_fields(1), headers=admin)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["tai_khoan"] == "canbo.001"
    assert body["so_dinh_danh"] == "001******001"
    assert body["status"] == "active"
    assert [(e["kind"], e["actor"]) for e in body["history"]] == [("registered", "api:quan-tri")]
    assert not [k for k in body if k.startswith("platform")]
    assert_nothing_secret(r.text, 1)


async def test_the_registry_needs_the_admin_scope(
    gateway: Gateway, api: httpx.AsyncClient, reviewer: dict[str, str]
) -> None:
    await register_officer(gateway, 1)
    looker = await bearer(gateway, "dancu:lookup")
    for headers in (reviewer, looker):
        assert (
            await api.post("/v1/officers", json=officer_fields(2), headers=headers)
        ).status_code == 403
        assert (await api.get("/v1/officers", headers=headers)).status_code == 403
        r = await api.post(
            "/v1/officers/canbo.001/lock", json={"reason": "thử khóa"}, headers=headers
        )
        assert r.status_code == 403
        assert r.headers["content-type"] == "application/problem+json"
    assert (await api.get("/v1/officers")).status_code == 401
    assert [v.status for v in await officers.list_officers(db=gateway.db)] == ["active"]


async def test_invalid_and_duplicate_registrations_are_problems_naming_the_field(
    gateway: Gateway, api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    bad = await api.post(
        "/v1/officers", json=officer_fields(1, so_dinh_danh="003090000001"), headers=admin
    )
    assert bad.status_code == 422
    problem = bad.json()
    assert problem["type"] == "urn:lgsp:problem:invalid-input"
    assert [e["loc"] for e in problem["errors"]] == ["so_dinh_danh"]
    assert "003 is not a province code" in problem["errors"][0]["msg"]
    assert "003090000001" not in bad.text

    missing = await api.post(
        "/v1/officers",
        json={k: v for k, v in officer_fields(1).items() if k != "platform_password"},
        headers=admin,
    )
    assert missing.status_code == 422
    assert [e["loc"] for e in missing.json()["errors"]] == ["platform_password"]

    assert (
        await api.post("/v1/officers", json=officer_fields(1), headers=admin)
    ).status_code == 201
    again = await api.post(
        "/v1/officers", json=officer_fields(2, tai_khoan="canbo.001"), headers=admin
    )
    assert again.status_code == 409
    assert [e["loc"] for e in again.json()["errors"]] == ["tai_khoan"]
    assert_nothing_secret(bad.text + missing.text + again.text, 1, 2)


async def test_a_refused_registration_keeps_no_password_even_encrypted(
    gateway: Gateway, api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    """Refusals keep their request body for auditors; the platform password is redacted."""
    r = await api.post("/v1/officers", json=officer_fields(1, don_vi="U"), headers=admin)
    assert r.status_code == 422
    exchange_id = r.json()["exchange_id"]
    async with gateway.db.sessions() as session:
        entry = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == exchange_id)
        )
    assert entry is not None
    assert entry.kind == "refusal"
    stored = json.loads(gateway.log.open_body(entry, "request") or b"{}")
    assert stored["platform_password"] == "***"
    assert stored["tai_khoan"] == "canbo.001"
    r = await api.post(
        "/v1/officers",
        content=b"not json " + password(1).encode(),
        headers={**admin, "Content-Type": "application/json"},
    )
    assert r.status_code == 422
    async with gateway.db.sessions() as session:
        entries = (await session.scalars(select(ExchangeEntry))).all()
    for e in entries:
        body = gateway.log.open_body(e, "request") or b""
        assert password(1).encode() not in body


async def test_list_get_lock_unlock(
    gateway: Gateway, api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await register_officer(gateway, 1)
    await register_officer(gateway, 2, don_vi=UNIT_B)

    listed = (await api.get("/v1/officers", headers=admin)).json()["items"]
    assert [o["tai_khoan"] for o in listed] == ["canbo.002", "canbo.001"]
    by_unit = await api.get("/v1/officers", params={"unit": UNIT_B}, headers=admin)
    assert [o["tai_khoan"] for o in by_unit.json()["items"]] == ["canbo.002"]
    assert (await api.get("/v1/officers?status=gone", headers=admin)).status_code == 422

    no_reason = await api.post("/v1/officers/canbo.001/lock", json={}, headers=admin)
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["loc"] == "reason"
    locked = await api.post(
        "/v1/officers/canbo.001/lock", json={"reason": "chuyển công tác"}, headers=admin
    )
    assert locked.status_code == 200, locked.text
    assert (locked.json()["status"], locked.json()["status_reason"]) == (
        "locked",
        "chuyển công tác",
    )
    twice = await api.post(
        "/v1/officers/canbo.001/lock", json={"reason": "chuyển công tác"}, headers=admin
    )
    assert twice.status_code == 409
    locked_only = await api.get("/v1/officers", params={"status": "locked"}, headers=admin)
    assert [o["tai_khoan"] for o in locked_only.json()["items"]] == ["canbo.001"]

    unlocked = await api.post(
        "/v1/officers/canbo.001/unlock", json={"reason": "nhận lại nhiệm vụ"}, headers=admin
    )
    assert unlocked.json()["status"] == "active"
    shown = (await api.get("/v1/officers/canbo.001", headers=admin)).json()
    assert [(e["kind"], e["actor"], e["reason"]) for e in shown["history"]] == [
        ("registered", "test", None),
        ("locked", "api:quan-tri", "chuyển công tác"),
        ("unlocked", "api:quan-tri", "nhận lại nhiệm vụ"),
    ]
    missing = await api.get("/v1/officers/canbo.404", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:lgsp:problem:not-found"
    assert (
        await api.post("/v1/officers/canbo.404/unlock", json={"reason": "abc"}, headers=admin)
    ).status_code == 404


async def test_update_and_replace_the_credential(
    gateway: Gateway, api: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    await register_officer(gateway, 1)
    r = await api.patch(
        "/v1/officers/canbo.001",
        json={"don_vi": UNIT_B, "so_dinh_danh": id_number(9), "reason": "điều chuyển"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["don_vi"], r.json()["so_dinh_danh"]) == (UNIT_B, "001******009")
    assert r.json()["history"][-1]["changes"] == ["don_vi", "so_dinh_danh"]
    assert id_number(9) not in r.text

    r = await api.put(
        "/v1/officers/canbo.001/credential",
        json={"platform_username": "moi001", "platform_password": "Rotated-pass-2026"},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert "Rotated-pass-2026" not in r.text
    assert "moi001" not in r.text
    officer = await officers.authorize(gateway.db, gateway.cipher, tai_khoan="canbo.001")
    assert officer.platform_password.get_secret_value() == "Rotated-pass-2026"
    refused = await api.put(
        "/v1/officers/canbo.001/credential",
        json={"platform_username": "a:b", "platform_password": "Rotated-pass-2027"},
        headers=admin,
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == "platform_username"


async def test_usage_report_as_json_and_csv_under_both_paths(
    gateway: Gateway, api: httpx.AsyncClient, reviewer: dict[str, str]
) -> None:
    await register_officer(gateway, 1)
    await register_officer(gateway, 2, don_vi=UNIT_B)
    day = date(2026, 3, 10)
    at = local_noon(day)
    await insert(
        gateway,
        [
            *daily_lookups(gateway, "canbo.001", [3, 4], last_day=day),
            lookup(gateway, "canbo.002", at, outcome="not-found"),
            lookup(gateway, "canbo.002", at, kind="refusal", operation="POST /v1/dancu/x"),
        ],
    )
    for path in ("/v1/governance/usage", "/v1/dancu/usage"):
        r = await api.get(path, params={"month": "2026-03"}, headers=reviewer)
        assert r.status_code == 200, r.text
        report = r.json()
        assert report["month"] == "2026-03"
        assert report["totals"] == {
            "officers": 2,
            "answered": 7,
            "failed": 1,
            "refused": 1,
            "total": 9,
        }
        units = {u["don_vi"]: u for u in report["units"]}
        assert units[UNIT_B]["rows"][0]["tai_khoan"] == "canbo.002"
        assert (units[UNIT_B]["failed"], units[UNIT_B]["refused"]) == (1, 1)

        as_csv = await api.get(path, params={"month": "2026-03", "format": "csv"}, headers=reviewer)
        assert as_csv.status_code == 200
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert "dancu-usage-2026-03.csv" in as_csv.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(as_csv.text)))
        assert [r["total"] for r in rows if r["row"] == "total"] == ["9"]
        assert_nothing_secret(r.text + as_csv.text, 1, 2)

    bad = await api.get("/v1/dancu/usage", params={"month": "2026-3"}, headers=reviewer)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["loc"] == "query.month"
    # the quarterly report (seed 004, Điều 29.8.b)
    quarterly = await api.get(
        "/v1/governance/usage", params={"quarter": "2026-Q1", "format": "csv"}, headers=reviewer
    )
    assert quarterly.status_code == 200
    assert "dancu-usage-2026-Q1.csv" in quarterly.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(quarterly.text)))
    assert [r["total"] for r in rows if r["row"] == "total"] == ["9"]
    for params in ({"quarter": "2026-Q5"}, {"quarter": "2026-Q1", "month": "2026-03"}):
        refused = await api.get("/v1/dancu/usage", params=params, headers=reviewer)
        assert refused.status_code == 422, params
        assert "quarter" in refused.json()["errors"][0]["loc"]
    this_month = await api.get("/v1/governance/usage", headers=reviewer)
    assert this_month.json()["month"] == local_day(utcnow()).strftime("%Y-%m")
    admin_only = await bearer(gateway, "officers:admin")
    assert (await api.get("/v1/dancu/usage", headers=admin_only)).status_code == 403


async def test_idle_alerts_and_acknowledgement(
    gateway: Gateway,
    api: httpx.AsyncClient,
    reviewer: dict[str, str],
    admin: dict[str, str],
) -> None:
    await register_officer(gateway, 1)
    idle = await api.get("/v1/governance/idle", headers=reviewer)
    assert idle.json() == {"idle_days": 365, "items": []}
    # registered just now: idle for zero days, so a 1-day period finds nobody yet either
    assert (await api.get("/v1/governance/idle?days=1", headers=reviewer)).json()["items"] == []

    day = date(2026, 5, 2)
    await insert(gateway, daily_lookups(gateway, "canbo.001", [30], last_day=day))
    await governance.scan_spikes(
        gateway.db, day=day, settings=GovernanceSettings(spike_daily_ceiling=30)
    )
    listed = (await api.get("/v1/governance/alerts", headers=reviewer)).json()["items"]
    assert [(a["officer"], a["day"], a["rule"], a["count"]) for a in listed] == [
        ("canbo.001", "2026-05-02", "ceiling", 30)
    ]
    alert_id = listed[0]["id"]
    url = f"/v1/governance/alerts/{alert_id}/ack"
    assert (await api.post(url, json={"note": "đã xác minh"}, headers=reviewer)).status_code == 403
    done = await api.post(url, json={"note": "đã xác minh"}, headers=admin)
    assert done.status_code == 200, done.text
    assert (done.json()["acknowledged_by"], done.json()["acknowledged_note"]) == (
        "api:quan-tri",
        "đã xác minh",
    )
    assert (await api.post(url, headers=admin)).status_code == 409
    assert (await api.post("/v1/governance/alerts/424242/ack", headers=admin)).status_code == 404
    still_open = await api.get("/v1/governance/alerts", params={"open": "true"}, headers=reviewer)
    assert still_open.json()["items"] == []


async def test_openapi_lists_the_routes_with_stable_ids_and_no_secret(
    gateway: Gateway, app: Any
) -> None:
    document = app.openapi()
    ids = {
        op["operationId"]
        for path, item in document["paths"].items()
        for op in item.values()
        if path.startswith(("/v1/officers", "/v1/governance", "/v1/dancu/usage"))
    }
    assert ids == {
        "officers-register",
        "officers-list",
        "officers-get",
        "officers-update",
        "officers-set-credential",
        "officers-lock",
        "officers-unlock",
        "governance-usage",
        "governance-idle",
        "governance-alerts",
        "governance-ack-alert",
        "dancu-usage",
    }
    schema = document["components"]["schemas"]["RegisterOfficer"]["properties"]
    assert schema["platform_password"]["examples"] == ["<platform password>"]
    assert schema["platform_password"]["writeOnly"] is True


async def test_no_id_number_or_password_in_any_log_line(
    gateway: Gateway,
    api: httpx.AsyncClient,
    admin: dict[str, str],
    restore_logging: None,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging("DEBUG", json_lines=True)
    caplog.set_level(logging.DEBUG)
    await api.post("/v1/officers", json=officer_fields(1), headers=admin)
    await api.post("/v1/officers", json=officer_fields(2, don_vi="U"), headers=admin)
    await api.post(
        "/v1/officers", json=officer_fields(3, so_dinh_danh="003090000003"), headers=admin
    )
    await api.put(
        "/v1/officers/canbo.001/credential",
        json={"platform_username": "user001", "platform_password": password(4)},
        headers=admin,
    )
    await api.post("/v1/officers/canbo.001/lock", json={"reason": "kiểm tra"}, headers=admin)
    await api.get("/v1/officers/canbo.001", headers=admin)
    captured = capfd.readouterr()
    logs = captured.err + captured.out + caplog.text
    assert "officer_registered" in logs
    assert "officer_credential_changed" in logs
    for clear in (
        id_number(1),
        id_number(2),
        "003090000003",
        password(1),
        password(2),
        password(4),
    ):
        assert clear not in logs
