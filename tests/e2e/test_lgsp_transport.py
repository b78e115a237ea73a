"""Connectors through the provincial LGSP, end to end: the gateway's LGSP transport against the
sandbox's LGSP simulator, in front of the platform simulators."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.core.errors import ConfigurationError
from gateway.core.health import connector_health
from gateway.core.http.lgsp import LgspSettings
from gateway.core.registry import load_specs
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry
from gateway.core.store.state import StateStore
from gateway.sandbox_lgsp import LgspSimulator
from tests.conftest import make_settings, started_gateway


def lgsp_simulator(sandbox_app: Any) -> LgspSimulator:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/lgsp":
            sim: LgspSimulator = route.app.state.simulator
            return sim
    raise LookupError("the LGSP simulator is not mounted")


@pytest.mark.parametrize("auth", ["access-key", "client-credentials"])
async def test_connectors_reach_their_platforms_through_the_lgsp(
    database_url: str, state_store: StateStore, sandbox_app: Any, auth: str
) -> None:
    gw = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        connectors={"dvcqg": {"transport": "lgsp"}, "payment": {"transport": "lgsp"}},
        lgsp=LgspSettings(auth=auth),  # type: ignore[arg-type]
    )
    try:
        assert gw.lgsp_settings.token_url == "http://sandbox/lgsp/token"
        for slug in ("dvcqg", "payment"):
            result = await gw.connector(slug).check()
            assert result.ok, result.detail
        # a connector left direct does not go through the LGSP
        assert (await gw.connector("postal").check()).ok
        # the ops view says which way each connector goes
        transports = {c["slug"]: c["transport"] for c in await connector_health(gw)}
        assert transports["dvcqg"] == transports["payment"] == "lgsp"
        assert transports["postal"] == "direct"
        async with gw.db.transaction() as session:
            entries = (await session.scalars(select(ExchangeEntry))).all()
        token_entries = [e for e in entries if e.operation.endswith("lgsp-token")]
        # (DVCQG's token came at start-up, with the catalogue, before the test emptied the log)
        assert {e.connector for e in token_entries} == {"payment"}
        for entry in token_entries:
            assert entry.status_code == 200
            answer = gw.log.open_body(entry, "response")
            assert answer is not None
            assert json.loads(answer)["access_token"] == "***"
    finally:
        await gw.aclose()

    sim = lgsp_simulator(sandbox_app)
    stats = sim.stats.as_dict()
    assert stats["tokens_issued"] == 2  # one per connector, reused for its calls
    assert set(stats["relayed"]) == {"dvcqg", "payment"}
    assert stats["refused"] == {}
    relayed = [
        e for e in entries if e.kind == "attempt" and e.detail and "/lgsp/dvcqg/" in e.detail
    ]
    assert relayed, "the DVCQG calls went to the LGSP's address"


async def test_a_revoked_token_is_replaced_without_failing_the_call(
    database_url: str, state_store: StateStore, sandbox_app: Any
) -> None:
    gw = await started_gateway(
        database_url, state_store, sandbox_app, connectors={"dvcqg": {"transport": "lgsp"}}
    )
    try:
        assert (await gw.connector("dvcqg").check()).ok
        sim = lgsp_simulator(sandbox_app)
        sim.revoke_all()
        assert (await gw.connector("dvcqg").check()).ok
    finally:
        await gw.aclose()
    assert sim.stats.tokens_issued == 2
    assert sim.stats.refused == {"dvcqg": 1}


async def test_the_lgsp_refusing_the_gateway_fails_the_check_naming_the_setting(
    database_url: str, state_store: StateStore, sandbox_app: Any
) -> None:
    gw = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        connectors={"dvcqg": {"transport": "lgsp"}},
        lgsp=LgspSettings(secret_key="not-the-lgsp-secret"),  # type: ignore[arg-type]
    )
    try:
        result = await gw.connector("dvcqg").check()
    finally:
        await gw.aclose()
    assert not result.ok
    assert "LGSP_LGSP__SECRET_KEY" in result.detail
    assert "not-the-lgsp-secret" not in result.detail


def test_a_connector_that_is_only_reached_directly_refuses_the_lgsp(tmp_path: Any) -> None:
    direct_only = [slug for slug, spec in load_specs().items() if spec.direct_only]
    assert direct_only, "identity is reached directly (the citizen's browser goes there)"
    slug = direct_only[0]
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/x.db", connectors={slug: {"transport": "lgsp"}}
    )
    with pytest.raises(ConfigurationError, match=f"LGSP_CONNECTORS__{slug.upper()}__TRANSPORT"):
        Gateway(settings)


def test_an_unknown_transport_is_refused(tmp_path: Any) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path}/x.db", connectors={"dvcqg": {"transport": "ngsp"}}
    )
    with pytest.raises(ConfigurationError, match="LGSP_CONNECTORS__DVCQG__TRANSPORT"):
        Gateway(settings)


# --- VNPost through the LGSP (OpenCPS VNPostManagementImpl: the LGSP's bearer, no VNPost token)


@pytest.mark.parametrize("routing", ["path", "service"])
async def test_postal_orders_go_through_the_lgsp_without_a_vnpost_token(
    database_url: str, state_store: StateStore, sandbox_app: Any, routing: str
) -> None:
    from connectors.postal.sandbox import get_simulator
    from gateway.api.main import create_app
    from tests.conftest import bearer
    from tests.connectors.postal.support import SCOPES, SHIPMENTS, postal_app, shipment

    gw = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        connectors={"postal": {"transport": "lgsp", "lgsp_routing": routing}},
        lgsp=LgspSettings(auth="client-credentials"),
    )
    postal = get_simulator(postal_app(sandbox_app))
    try:
        application = create_app(gw, run_workers=False, start=False)
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application), base_url="http://gateway"
            ) as api,
        ):
            headers = await bearer(gw, *SCOPES)
            accepted = await api.post(SHIPMENTS, json=shipment("delivery"), headers=headers)
            assert accepted.status_code == 202, accepted.text
            while await application.state.delivery.run_once():
                pass
            exchange = (
                await api.get(f"/v1/exchanges/{accepted.json()['exchange_id']}", headers=headers)
            ).json()
            assert exchange["state"] == "delivered", exchange
            assert (await gw.connector("postal").check()).ok
    finally:
        await gw.aclose()
    assert postal.stats.orders_created == 1
    assert postal.stats.tokens_issued == 0  # the LGSP holds VNPost's credential
    sim = lgsp_simulator(sandbox_app)
    assert sim.stats.relayed["postal"] >= 2
    assert sim.stats.tokens_issued == 1


# --- the population database through the LGSP (OpenCPS QLCDIntegrationActionImpl) -----------


async def test_citizen_look_ups_go_through_the_lgsp_with_no_platform_credential(
    database_url: str, state_store: StateStore, sandbox_app: Any
) -> None:
    from connectors.dancu.sandbox import get_simulator as dancu_simulator
    from gateway.api.main import create_app
    from tests.conftest import bearer
    from tests.officer_factories import register_officer

    gw = await started_gateway(
        database_url,
        state_store,
        sandbox_app,
        connectors={"dancu": {"transport": "lgsp", "credential": "lgsp"}},
    )
    dancu = next(
        dancu_simulator(r.app) for r in sandbox_app.routes if getattr(r, "path", "") == "/dancu"
    )
    citizen = dancu.population.citizens[0]
    try:
        await register_officer(gw, 1)
        headers = {**await bearer(gw, "dancu:lookup"), "X-Officer-Id": "canbo.001"}
        application = create_app(gw, run_workers=False, start=False)
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=application), base_url="http://gateway"
            ) as api,
        ):
            answer = await api.post(
                "/v1/dancu/citizens/lookup",
                json={
                    "so_dinh_danh": citizen.so_dinh_danh,
                    "ho_va_ten": citizen.ho_va_ten,
                    "ngay_sinh": citizen.ngay_sinh.isoformat(),
                    "ma_tthc": "1.001776",
                    "ma_ho_so": "000.00.01.H22-240105-0007",
                },
                headers=headers,
            )
            assert answer.status_code == 200, answer.text
        async with gw.db.transaction() as session:
            attempts = (
                await session.scalars(
                    select(ExchangeEntry).where(
                        ExchangeEntry.connector == "dancu", ExchangeEntry.kind == "attempt"
                    )
                )
            ).all()
        bodies = [gw.log.open_body(a, "request") or b"" for a in attempts]
    finally:
        await gw.aclose()
    sim = lgsp_simulator(sandbox_app)
    assert sim.stats.relayed.get("dancu", 0) >= 1
    (seen,) = [r for r in dancu.requests if r.get("operation") == "TraCuuThongTinCongDan"][-1:]
    assert seen["authhash"] is False  # the LGSP holds the platform's credential
    assert seen["credential"] == "lgsp"
    envelopes = [b for b in bodies if b"TraCuuThongTinCongDan" in b]
    assert envelopes
    assert all(b"AuthHash" not in b for b in envelopes)
