"""The ops console through HTTP (issue 20): logging in, what each page shows, who may act,
what an action records. The browser test is ``test_console_browser.py``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, update

from gateway.api.console import SECURITY_HEADERS
from gateway.api.console.session import COOKIE, ConsoleSessions
from gateway.core.clients import create_client
from gateway.core.delivery import outbox
from gateway.core.runtime import Gateway
from gateway.core.store.db import ApiClient, ExchangeEntry, OutboxItem
from tests.audit import retired_dead_letter
from tests.conftest import serving
from tests.factories import ma_ho_so

FORM = {"content-type": "application/x-www-form-urlencoded"}
TEMPLATES = Path(__file__).resolve().parents[2] / "gateway" / "api" / "console" / "templates"


async def _client(gw: Gateway, name: str, *scopes: str) -> str:
    return (await create_client(gw.db, name=name, scopes=list(scopes)))[1]


async def _login(api: httpx.AsyncClient, key: str) -> httpx.Response:
    return await api.post("/ops/login", content=f"key={key}&next=/ops/dlq", headers=FORM)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page
    return found.group(1)


async def test_the_console_needs_a_login_with_ops_read(gateway: Gateway) -> None:
    reader = await _client(gateway, "case-system", "dvcqg:sync")
    async with serving(gateway) as api:
        first = await api.get("/ops")
        assert first.status_code == 303
        assert first.headers["location"] == "/ops/login?next=/ops"
        page = await api.get("/ops/login")
        assert page.status_code == 200
        assert 'type="password" name="key"' in page.text
        # a key without ops:read, and a wrong key: refused, recorded, the key never kept
        for key in (reader, "lgsp_wrong_key"):
            refused = await _login(api, key)
            assert refused.status_code == 401
            assert "ops:read" in refused.text
            assert COOKIE not in refused.headers.get("set-cookie", "")
        fragment = await api.get("/ops/fragments/connectors", headers={"HX-Request": "true"})
        assert fragment.status_code == 401
        assert fragment.headers["HX-Redirect"].startswith("/ops/login")
    async with gateway.db.reading() as session:
        refusals = (
            await session.scalars(
                select(ExchangeEntry).where(
                    ExchangeEntry.kind == "refusal", ExchangeEntry.operation == "POST /ops/login"
                )
            )
        ).all()
    assert len(refusals) == 2
    for entry in refusals:
        assert entry.status_code == 401
        assert entry.request_body is None  # the key is not in the log, encrypted or not
        assert reader not in (entry.detail or "")


async def test_the_overview_shows_every_connector_and_the_log(gateway: Gateway) -> None:
    key = await _client(gateway, "truc-van-hanh", "ops:read")
    await retired_dead_letter(gateway, 1, ma_ho_so=ma_ho_so(1))
    async with serving(gateway) as api:
        logged_in = await _login(api, key)
        assert logged_in.status_code == 303
        assert logged_in.headers["location"] == "/ops/dlq"
        cookie = logged_in.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=strict" in cookie
        assert "Path=/ops" in cookie
        assert key not in cookie  # the session names the client, never the key
        page = await api.get("/ops")
        assert page.status_code == 200
        for name, value in SECURITY_HEADERS.items():
            assert page.headers[name] == value
        rows = re.findall(r'data-slug="([a-z]+)" data-state="([a-z-]+)"', page.text)
        assert [slug for slug, _ in rows] == list(gateway.specs)
        assert all(state == "idle" for _, state in rows)
        assert "Nhật ký trao đổi" in page.text  # Vietnamese by default
        english = await api.get("/ops?lang=en")
        assert "Exchange log" in english.text
        assert "lgsp_ops_lang=en" in english.headers["set-cookie"]
        assert "Platform connectors" in (await api.get("/ops")).text  # remembered
        fragment = await api.get("/ops/fragments/connectors")
        assert fragment.text.lstrip().startswith('<table id="connectors"')
        asset = await api.get("/ops/static/htmx-2.0.11.min.js")
        assert asset.status_code == 200
        assert asset.content.startswith(b"var htmx=")


async def test_only_ops_admin_acts_and_every_action_is_recorded(gateway: Gateway) -> None:
    dead = await retired_dead_letter(gateway, 1, ma_ho_so=ma_ho_so(1))
    other = await retired_dead_letter(gateway, 2, ma_ho_so=ma_ho_so(2))
    reader = await _client(gateway, "chi-xem", "ops:read")
    admin = await _client(gateway, "quan-tri", "ops:read", "ops:admin")
    async with serving(gateway) as api:
        await _login(api, reader)
        page = await api.get("/ops/dlq")
        assert dead in page.text
        assert 'name="replay"' not in page.text  # no buttons for a reader
        forged = await api.post(
            f"/ops/dlq/{dead}/replay", content="csrf=x&reason=thu%20lai", headers=FORM
        )
        assert forged.status_code == 403
    async with serving(gateway) as api:
        await _login(api, admin)
        page = await api.get(f"/ops/dlq?dossier={ma_ho_so(1)}")
        assert dead in page.text
        assert other not in page.text  # filtered by dossier
        token = _csrf(page.text)
        # without the session's token, or without a reason: refused, nothing changes
        no_token = await api.post(
            f"/ops/dlq/{dead}/replay", content="reason=thu%20lai", headers=FORM
        )
        assert no_token.status_code == 403
        no_reason = await api.post(
            f"/ops/dlq/{dead}/replay", content=f"csrf={token}&reason=x", headers=FORM
        )
        assert no_reason.status_code == 422
        assert (await outbox.list_dead(gateway.db))[0].exchange_id == dead
        # from the page with htmx: the row comes back, marked
        replayed = await api.post(
            f"/ops/dlq/{dead}/replay",
            content=f"csrf={token}&reason=n%E1%BB%81n%20t%E1%BA%A3ng%20%C4%91%C3%A3%20s%E1%BB%ADa",
            headers={**FORM, "HX-Request": "true"},
        )
        assert replayed.status_code == 200, replayed.text
        assert 'class="done"' in replayed.text
        # without JavaScript: a redirect to the list, which says so
        skipped = await api.post(
            f"/ops/dlq/{other}/skip",
            content=f"csrf={token}&reason=n%E1%BB%81n+c%C5%A9",
            headers=FORM,
        )
        assert skipped.status_code == 303
        assert skipped.headers["location"] == "/ops/dlq?done=skipped"
    async with gateway.db.reading() as session:
        statuses = dict(
            (await session.execute(select(OutboxItem.exchange_id, OutboxItem.status))).all()
        )
        decisions = (
            await session.scalars(
                select(ExchangeEntry)
                .where(ExchangeEntry.kind == "decision")
                .order_by(ExchangeEntry.id)
            )
        ).all()
        refusals = (
            await session.scalars(
                select(ExchangeEntry.status_code).where(
                    ExchangeEntry.kind == "refusal", ExchangeEntry.operation.like("POST /ops/dlq%")
                )
            )
        ).all()
    assert statuses[dead] == "queued"
    assert statuses[other] == "skipped"
    made: list[tuple[Any, ...]] = [
        (d.operation, d.parent_id, d.client, d.purpose) for d in decisions
    ]
    assert made == [
        ("dlq:replay", dead, "console:quan-tri", "nền tảng đã sửa"),
        ("dlq:skip", other, "console:quan-tri", "nền cũ"),
    ]
    assert sorted(refusals) == [403, 403, 422]


async def test_a_revoked_client_loses_the_console_at_once(gateway: Gateway) -> None:
    key = await _client(gateway, "tam-thoi", "ops:read")
    async with serving(gateway) as api:
        await _login(api, key)
        assert (await api.get("/ops")).status_code == 200
        async with gateway.db.transaction() as session:
            await session.execute(
                update(ApiClient).where(ApiClient.name == "tam-thoi").values(active=False)
            )
        assert (await api.get("/ops")).status_code == 303


def test_a_session_cookie_cannot_be_forged_or_outlive_its_day() -> None:
    sessions = ConsoleSessions(b"k" * 32)
    token = sessions.issue("quan-tri", now=1_000_000.0)
    session = sessions.read(token, now=1_000_001.0)
    assert session is not None
    assert session.client == "quan-tri"
    assert sessions.read(token, now=1_000_000.0 + 8 * 3600 + 1) is None
    body, mac = token.split(".")
    assert sessions.read(body + "." + mac[:-2] + "AA", now=1_000_001.0) is None
    assert ConsoleSessions(b"x" * 32).read(token, now=1_000_001.0) is None  # another key
    assert sessions.csrf_ok(session, sessions.csrf(session))
    assert not sessions.csrf_ok(session, "")


def test_the_console_loads_nothing_from_outside() -> None:
    """No CDN, no web font: every src and href is the console's own (the CSP says the same)."""
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text(encoding="utf-8")
        for url in re.findall(r'(?:src|href|action|hx-get|hx-post)="([^"]*)"', text):
            assert url.startswith(("/ops", "?", "{{")), (template.name, url)
        assert "http://" not in text
        assert "https://" not in text


async def test_alerts_are_acknowledged_from_the_page(gateway: Gateway) -> None:
    from connectors.dancu.governance import list_alerts
    from connectors.dancu.tables import GovernanceAlert
    from gateway.core.store.db import utcnow

    async with gateway.db.transaction() as session:
        session.add(
            GovernanceAlert(
                kind="spike",
                officer="canbo.001",
                day=utcnow().date(),
                rule="ceiling",
                count=900,
                threshold=500.0,
                median=None,
                detail="900 look-ups in a day, over the ceiling of 500",
                locked=False,
                created_at=utcnow(),
            )
        )
    admin = await _client(gateway, "quan-tri", "ops:read", "ops:admin")
    async with serving(gateway) as api:
        await _login(api, admin)
        overview = await api.get("/ops")
        assert '<a href="/ops/alerts" id="alerts-open">1</a>' in overview.text
        page = await api.get("/ops/alerts")
        assert "canbo.001" in page.text
        ref = re.search(r'data-ref="([0-9]+)"', page.text)
        assert ref is not None
        done = await api.post(
            f"/ops/alerts/dancu/{ref.group(1)}/ack",
            content=f"csrf={_csrf(page.text)}&note=da+xac+minh",
            headers=FORM,
        )
        assert done.status_code == 303
        again = await api.post(
            f"/ops/alerts/dancu/{ref.group(1)}/ack",
            content=f"csrf={_csrf(page.text)}",
            headers=FORM,
        )
        assert again.status_code == 409  # once only
    (alert,) = await list_alerts(gateway.db)
    assert alert.acknowledged_by == "console:quan-tri"
    assert alert.acknowledged_note == "da xac minh"
