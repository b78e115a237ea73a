"""Logins through the gateway, end to end against the simulated VNeID and DVCQG SSO.

The user's browser is played by a client of the simulator: it opens the authorisation URL the
gateway made (with the simulator's ``login_hint`` standing in for the user choosing an
account) and brings back the code and state of the redirect.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import structlog
from sqlalchemy import select

from connectors.vneid.sandbox import (
    BUSINESS_ACCOUNT,
    LEVEL1_CITIZEN,
    LEVEL2_CITIZEN,
    FaultConfig,
    OidcSimulator,
    get_simulator,
)
from gateway.core.log.exchange_log import body_aad
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry
from tests.conftest import bearer

REDIRECT = {
    "vneid": "http://127.0.0.1:8080/dang-nhap/vneid",
    "dvcqg": "http://127.0.0.1:8080/dang-nhap/dvcqg",
}
PROVIDERS = ("vneid", "dvcqg")


@pytest.fixture
def oidc(sandbox_app: Any) -> OidcSimulator:
    for route in sandbox_app.routes:
        if getattr(route, "path", "") == "/vneid":
            return get_simulator(route.app)
    raise LookupError("vneid simulator not mounted")


@pytest.fixture
async def browser(sandbox_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as client:
        yield client


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "identity:login")


async def start(
    api: httpx.AsyncClient, headers: dict[str, str], provider: str, **body: Any
) -> dict[str, Any]:
    r = await api.post(
        f"/v1/identity/{provider}/authorize",
        json={"redirect_uri": REDIRECT[provider], **body},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


async def approve(browser: httpx.AsyncClient, url: str, who: str) -> dict[str, str]:
    # (params= would replace the URL's query, not add to it)
    r = await browser.get(f"{url}&{urlencode({'login_hint': who})}")
    assert r.status_code == 302, r.text
    location = r.headers["location"]
    assert location.startswith("http://127.0.0.1:8080/dang-nhap/")
    query = parse_qs(urlsplit(location).query)
    return {"code": query["code"][0], "state": query["state"][0]}


async def login(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    headers: dict[str, str],
    provider: str,
    who: str = LEVEL2_CITIZEN,
    **body: Any,
) -> httpx.Response:
    started = await start(api, headers, provider, **body)
    back = await approve(browser, started["authorization_url"], who)
    assert back["state"] == started["state"]
    return await api.post(f"/v1/identity/{provider}/callback", json=back, headers=headers)


# --- the happy path ----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_full_login(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    headers: dict[str, str],
    gateway: Gateway,
    provider: str,
) -> None:
    started = await start(api, headers, provider)
    query = parse_qs(urlsplit(started["authorization_url"]).query)
    # what OpenCPS and PASETO send, then what the gateway adds (PKCE: both advertise S256)
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["openid"]
    assert query["redirect_uri"] == [REDIRECT[provider]]
    assert query.get("acr_values") == (["LoA1"] if provider == "dvcqg" else None)
    assert query["code_challenge_method"] == ["S256"]
    assert query["nonce"]
    back = await approve(browser, started["authorization_url"], LEVEL2_CITIZEN)
    r = await api.post(f"/v1/identity/{provider}/callback", json=back, headers=headers)
    assert r.status_code == 200, r.text
    identity = r.json()["dinh_danh"]
    assert identity["provider"] == provider
    assert identity["so_dinh_danh"] == LEVEL2_CITIZEN
    assert identity["ho_va_ten"] == "Nguyễn Văn An"
    assert identity["ngay_sinh"] == "1990-05-15"
    assert identity["loai_tai_khoan"] == "cong_dan"
    assert identity["muc_dam_bao"] == 2
    assert identity["tech_id"]
    # the tokens stay inside: only a client trusted with them may read them
    session = r.json()["session_id"]
    assert "access_token" not in r.text
    denied = await api.get(f"/v1/identity/sessions/{session}/tokens", headers=headers)
    assert denied.status_code == 403
    trusted = await bearer(gateway, "identity:tokens")
    tokens = await api.get(f"/v1/identity/sessions/{session}/tokens", headers=trusted)
    assert tokens.status_code == 200
    assert tokens.json()["id_token"].count(".") == 2


async def test_state_is_single_use_and_bound_to_its_provider(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    started = await start(api, headers, "vneid")
    back = await approve(browser, started["authorization_url"], LEVEL2_CITIZEN)
    wrong = await api.post("/v1/identity/dvcqg/callback", json=back, headers=headers)
    assert wrong.status_code == 400
    assert wrong.json()["type"] == "urn:lgsp:problem:identity-login-state-invalid"
    # the attempt at the wrong provider used the state up
    again = await api.post("/v1/identity/vneid/callback", json=back, headers=headers)
    assert again.status_code == 400
    unknown = await api.post(
        "/v1/identity/vneid/callback",
        json={"code": "x", "state": "never-issued-state-0123456789"},
        headers=headers,
    )
    assert unknown.status_code == 400


async def test_a_replayed_callback_is_refused(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    started = await start(api, headers, "vneid")
    back = await approve(browser, started["authorization_url"], LEVEL2_CITIZEN)
    first = await api.post("/v1/identity/vneid/callback", json=back, headers=headers)
    assert first.status_code == 200
    replay = await api.post("/v1/identity/vneid/callback", json=back, headers=headers)
    assert replay.status_code == 400
    assert replay.json()["type"] == "urn:lgsp:problem:identity-login-state-invalid"


# --- providers as the public callers meet them ------------------------------------------------


@pytest.mark.parametrize("switch", ["legacy_provider", "missing_nonce", "no_pkce"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_provider_without_pkce_or_nonce_still_works(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    headers: dict[str, str],
    gateway: Gateway,
    oidc: OidcSimulator,
    provider: str,
    switch: str,
) -> None:
    # no S256 in discovery (OpenCPS and PASETO send no PKCE), no nonce in the ID token: the
    # code flow makes both optional (OpenID Connect Core 1.0, 3.1.2.1; RFC 7636)
    oidc.set_faults(FaultConfig.model_validate({switch: True}))
    for client in gateway.connector("vneid").clients.values():  # type: ignore[attr-defined]
        client._metadata = None  # discovery read again, as after its TTL
    started = await start(api, headers, provider)
    query = parse_qs(urlsplit(started["authorization_url"]).query)
    pkce = switch == "missing_nonce"
    assert ("code_challenge" in query) is pkce
    assert ("code_challenge_method" in query) is pkce
    assert query["nonce"]  # always sent; checked only where returned
    back = await approve(browser, started["authorization_url"], LEVEL2_CITIZEN)
    assert list(oidc.logins)[-1]["pkce"] is pkce
    r = await api.post(f"/v1/identity/{provider}/callback", json=back, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["dinh_danh"]["so_dinh_danh"] == LEVEL2_CITIZEN
    # the state stays single-use without PKCE and nonce
    again = await api.post(f"/v1/identity/{provider}/callback", json=back, headers=headers)
    assert again.status_code == 400


async def test_a_wrong_nonce_is_refused_even_from_a_provider_without_pkce(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    headers: dict[str, str],
    oidc: OidcSimulator,
    gateway: Gateway,
) -> None:
    oidc.set_faults(FaultConfig(no_pkce=True, replay_nonce=True))
    for client in gateway.connector("vneid").clients.values():  # type: ignore[attr-defined]
        client._metadata = None
    r = await login(api, browser, headers, "dvcqg")
    assert r.status_code == 502, r.text
    assert r.json()["type"] == "urn:lgsp:problem:identity-token-rejected"
    assert "nonce" in r.json()["detail"]


# --- misbehaving providers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("switch", "problem"),
    [
        ("expired_token", "identity-token-rejected"),
        ("wrong_audience", "identity-token-rejected"),
        ("wrong_issuer", "identity-token-rejected"),
        ("bad_signature", "identity-token-rejected"),
        ("alg_none", "identity-token-rejected"),
        ("hmac_with_public_key", "identity-token-rejected"),
        ("replay_nonce", "identity-token-rejected"),
        ("userinfo_sub_mismatch", "identity-userinfo-mismatch"),
    ],
)
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_each_misbehaviour_is_refused_and_logged(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    headers: dict[str, str],
    gateway: Gateway,
    oidc: OidcSimulator,
    provider: str,
    switch: str,
    problem: str,
) -> None:
    if switch == "replay_nonce":  # a first login whose nonce the provider will replay
        assert (await login(api, browser, headers, provider)).status_code == 200
    oidc.set_faults(FaultConfig.model_validate({switch: True}))
    r = await login(api, browser, headers, provider)
    assert r.status_code == 502, r.text
    assert r.json()["type"] == f"urn:lgsp:problem:{problem}"
    async with gateway.db.transaction() as session:
        entry = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == r.json()["exchange_id"])
        )
    assert entry is not None
    assert (entry.connector, entry.outcome) == ("vneid", problem)


@pytest.mark.parametrize("endpoint", ["token", "userinfo", "jwks", "discovery"])
async def test_a_failing_endpoint_is_a_clear_transient_error(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    headers: dict[str, str],
    oidc: OidcSimulator,
    gateway: Gateway,
    endpoint: str,
) -> None:
    if endpoint == "discovery":
        oidc.set_faults(FaultConfig(fail_endpoint="discovery"))
        connector = gateway.connector("vneid")
        for client in connector.clients.values():  # type: ignore[attr-defined]
            client._metadata = None  # a cold gateway
        r = await api.post(
            "/v1/identity/vneid/authorize",
            json={"redirect_uri": REDIRECT["vneid"]},
            headers=headers,
        )
        assert r.status_code == 503
        return
    started = await start(api, headers, "vneid")
    back = await approve(browser, started["authorization_url"], LEVEL2_CITIZEN)
    oidc.set_faults(FaultConfig.model_validate({"fail_endpoint": endpoint}))
    r = await api.post("/v1/identity/vneid/callback", json=back, headers=headers)
    assert r.status_code in (502, 503), r.text
    assert r.json()["type"] in (
        "urn:lgsp:problem:upstream-unavailable",
        "urn:lgsp:problem:upstream-invalid-answer",
    )


async def test_key_rotation_needs_no_restart(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    headers: dict[str, str],
    oidc: OidcSimulator,
) -> None:
    assert (await login(api, browser, headers, "vneid")).status_code == 200
    fetched = oidc.stats.jwks_fetched["vneid"]
    oidc.rotate_keys("vneid", keep_previous=False)  # the cached key is gone at once
    assert (await login(api, browser, headers, "vneid")).status_code == 200
    assert oidc.stats.jwks_fetched["vneid"] == fetched + 1  # one refresh for the unknown kid
    assert (await login(api, browser, headers, "vneid")).status_code == 200
    assert oidc.stats.jwks_fetched["vneid"] == fetched + 1  # and then cached again


# --- assurance level ---------------------------------------------------------------------------


async def test_a_lower_level_than_required_is_refused(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, headers: dict[str, str], gateway: Gateway
) -> None:
    low = await login(api, browser, headers, "vneid", LEVEL1_CITIZEN, muc_dam_bao_toi_thieu=2)
    assert low.status_code == 403
    assert low.json()["type"] == "urn:lgsp:problem:identity-assurance-too-low"
    fine = await login(api, browser, headers, "vneid", LEVEL1_CITIZEN)
    assert fine.json()["dinh_danh"]["muc_dam_bao"] == 1
    connector = gateway.connector("vneid")
    connector.config.min_level_by_procedure["2.000477"] = 2  # type: ignore[attr-defined]
    by_procedure = await login(api, browser, headers, "dvcqg", LEVEL1_CITIZEN, ma_tthc="2.000477")
    assert by_procedure.status_code == 403


async def test_logout_url_ends_the_session(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    r = await login(api, browser, headers, "dvcqg")
    session = r.json()["session_id"]
    out = await api.post(
        "/v1/identity/dvcqg/logout",
        json={"session_id": session, "post_logout_redirect_uri": "http://127.0.0.1:8080/"},
        headers=headers,
    )
    assert out.status_code == 200, out.text
    url = out.json()["logout_url"]
    assert "id_token_hint=" in url
    ended = await browser.get(url)
    assert ended.status_code == 302
    again = await api.post(
        "/v1/identity/dvcqg/logout",
        json={"session_id": session, "post_logout_redirect_uri": "http://127.0.0.1:8080/"},
        headers=headers,
    )
    assert again.status_code == 400


# --- what is kept and what is said ------------------------------------------------------------


async def test_no_token_secret_or_id_number_in_logs_or_kept_answers(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    headers: dict[str, str],
    gateway: Gateway,
    oidc: OidcSimulator,
    capfd: pytest.CaptureFixture[str],
    logging_at_debug: None,
) -> None:
    structlog.get_logger("test").warning("test.marker")
    ok = await login(api, browser, headers, "vneid")
    oidc.set_faults(FaultConfig(bad_signature=True))
    await login(api, browser, headers, "dvcqg")
    trusted = await bearer(gateway, "identity:tokens")
    tokens = (
        await api.get(f"/v1/identity/sessions/{ok.json()['session_id']}/tokens", headers=trusted)
    ).json()
    out, err = capfd.readouterr()
    lines = out + err
    assert "test.marker" in lines
    for secret in (
        tokens["access_token"],
        tokens["id_token"],
        "sandbox-vneid-secret",
        "sandbox-dvcqg-sso-secret",
        LEVEL2_CITIZEN,
    ):
        assert secret not in lines
    assert not re.findall(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])", lines)
    # the exchange log keeps the token answer with its tokens blanked
    async with gateway.db.transaction() as session:
        attempts = (
            await session.scalars(
                select(ExchangeEntry).where(ExchangeEntry.operation.like("%token"))
            )
        ).all()
    assert attempts
    for attempt in attempts:
        assert attempt.response_body is not None
        kept = gateway.cipher.decrypt(attempt.response_body, body_aad(attempt.entry_id, "response"))
        answer = json.loads(kept)
        assert answer["access_token"] == "***"
        assert answer["id_token"] == "***"
        assert attempt.request_body is not None
        sent = gateway.cipher.decrypt(attempt.request_body, body_aad(attempt.entry_id, "request"))
        assert b"sandbox-vneid-secret" not in sent
        assert b"sandbox-dvcqg-sso-secret" not in sent


async def test_a_slow_endpoint_times_out_cleanly(
    api: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    headers: dict[str, str],
    oidc: OidcSimulator,
    gateway: Gateway,
) -> None:
    started = await start(api, headers, "vneid")
    back = await approve(browser, started["authorization_url"], LEVEL2_CITIZEN)
    client = gateway.connector("vneid").clients["vneid"]  # type: ignore[attr-defined]
    client._deadline = 0.2  # the configured timeout, shortened for the test
    oidc.set_faults(FaultConfig(slow_endpoint="token", slow_seconds=2))
    r = await api.post("/v1/identity/vneid/callback", json=back, headers=headers)
    assert r.status_code == 503, r.text
    assert r.json()["type"] == "urn:lgsp:problem:upstream-unavailable"
    assert "did not answer token within 0.2 s" in r.json()["detail"]
    async with gateway.db.transaction() as session:
        attempt = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.parent_id == r.json()["exchange_id"])
        )
    assert attempt is not None
    assert attempt.outcome == "error:Cancelled"


async def test_a_business_account_logs_in_with_its_codes(
    api: httpx.AsyncClient, browser: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    r = await login(api, browser, headers, "dvcqg", BUSINESS_ACCOUNT)
    assert r.status_code == 200, r.text
    who = r.json()["dinh_danh"]
    assert who["loai_tai_khoan"] == "doanh_nghiep"
    assert who["ma_so_doanh_nghiep"] == "0401234567"
    assert who["ma_so_thue"] == "0401234567"
    assert who["thu_dien_tu"]
    # OpenCPS reads a business's name and address (DVCQGSSOActionImpl.java lines 639, 644)
    assert who["ten_doanh_nghiep"].startswith("Công ty")
    assert who["dia_chi"]
