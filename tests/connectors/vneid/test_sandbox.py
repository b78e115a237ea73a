"""The identity simulator runs the authorization code flow with PKCE for both providers, rotates
its keys, and misbehaves exactly as its switches say."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.routing import Mount

from connectors.vneid.config import VneidConfig
from connectors.vneid.sandbox import (
    BUSINESS_ACCOUNT,
    DEFAULT_CLIENT_ID,
    DEFAULT_REDIRECT_URIS,
    DEFAULT_SECRETS,
    DENY_HINT,
    IMPOSTOR_AUDIENCE,
    LEVEL1_CITIZEN,
    LEVEL2_CITIZEN,
    ORGANISATION_ACCOUNT,
    PATHS,
    STALE_NONCE,
    Client,
    OidcSimulator,
    create_app,
    get_simulator,
    issuer_for,
    pkce_challenge,
)

BASE = "http://sandbox"
CLIENT_ID = "lgsp-sandbox"
SECRET = {"vneid": "sandbox-vneid-secret", "dvcqg": "sandbox-dvcqg-sso-secret"}
REDIRECT = {
    "vneid": "http://127.0.0.1:8080/dang-nhap/vneid",
    "dvcqg": "http://127.0.0.1:8080/dang-nhap/dvcqg",
}
PROVIDERS = ["vneid", "dvcqg"]


def path(provider: str, endpoint: str) -> str:
    return f"/{provider}{PATHS[provider][endpoint]}"  # type: ignore[index]


@pytest.fixture
def app() -> FastAPI:
    return create_app()


@pytest.fixture
def sim(app: FastAPI) -> OidcSimulator:
    return get_simulator(app)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


@dataclass
class Login:
    provider: str
    code: str
    state: str
    nonce: str
    verifier: str


def auth_params(provider: str, **overrides: str) -> dict[str, str]:
    verifier = secrets.token_urlsafe(48)
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT[provider],
        "scope": "openid profile",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": pkce_challenge(verifier),
        "code_challenge_method": "S256",
        "login_hint": LEVEL2_CITIZEN,
        "_verifier": verifier,
    }
    if provider == "dvcqg":
        params["acr_values"] = "LoA1"
    params.update(overrides)
    return params


async def login(http: httpx.AsyncClient, provider: str, **overrides: str) -> Login:
    params = auth_params(provider, **overrides)
    verifier = params.pop("_verifier")
    answer = await http.get(path(provider, "authorization"), params=params)
    assert answer.status_code == 302, answer.text
    location = httpx.URL(answer.headers["location"])
    assert str(location.copy_with(query=None)) == REDIRECT[provider]
    assert location.params["state"] == params["state"]
    return Login(provider, location.params["code"], params["state"], params["nonce"], verifier)


async def redeem(http: httpx.AsyncClient, done: Login, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT[done.provider],
        "code_verifier": done.verifier,
        "client_id": CLIENT_ID,
        "client_secret": SECRET[done.provider],
    }
    form.update(overrides)
    return await http.post(path(done.provider, "token"), data=form)


async def tokens(http: httpx.AsyncClient, provider: str, **overrides: str) -> dict[str, Any]:
    answer = await redeem(http, await login(http, provider, **overrides))
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def key_set(http: httpx.AsyncClient, provider: str) -> KeySet:
    answer = await http.get(path(provider, "jwks"))
    assert answer.status_code == 200
    return KeySet.import_key_set(answer.json())


def unverified(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes]:
    head, payload, signature = token.split(".")

    def decode(segment: str) -> bytes:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))

    return json.loads(decode(head)), json.loads(decode(payload)), decode(signature)


async def kids(http: httpx.AsyncClient, provider: str) -> list[str]:
    return [key["kid"] for key in (await http.get(path(provider, "jwks"))).json()["keys"]]


# --- discovery and the honest flow ---------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_discovery_names_the_wire_profile_paths(
    client: httpx.AsyncClient, provider: str
) -> None:
    answer = await client.get(f"/{provider}/.well-known/openid-configuration")
    assert answer.status_code == 200
    document = answer.json()
    issuer = f"{BASE}/{provider}"
    assert document["issuer"] == issuer == issuer_for(BASE, provider)  # type: ignore[arg-type]
    expected = {
        "vneid": ("/auth", "/token", "/userinfo", "/jwks", "/logout"),
        "dvcqg": (
            "/oauth2/authorize",
            "/oauth2/token",
            "/oauth2/userinfo",
            "/oauth2/jwks",
            "/oidc/logout",
        ),
    }[provider]
    names = ("authorization", "token", "userinfo", "jwks_uri", "end_session")
    for name, suffix in zip(names, expected, strict=True):
        key = name if name == "jwks_uri" else f"{name}_endpoint"
        assert document[key] == issuer + suffix
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["response_types_supported"] == ["code"]
    assert set(document["token_endpoint_auth_methods_supported"]) == {
        "client_secret_post",
        "client_secret_basic",
    }


async def test_the_issuer_keeps_the_mount_point() -> None:
    mounted = Starlette(routes=[Mount("/vneid", app=create_app())])
    transport = httpx.ASGITransport(app=mounted)
    async with httpx.AsyncClient(transport=transport, base_url="http://host:9000") as http:
        document = (await http.get("/vneid/dvcqg/.well-known/openid-configuration")).json()
        assert document["issuer"] == issuer_for("http://host:9000/vneid", "dvcqg")
        assert document["issuer"] == "http://host:9000/vneid/dvcqg"
        assert document["token_endpoint"] == "http://host:9000/vneid/dvcqg/oauth2/token"
        params = auth_params("dvcqg")
        verifier = params.pop("_verifier")
        answer = await http.get("/vneid/dvcqg/oauth2/authorize", params=params)
        code = httpx.URL(answer.headers["location"]).params["code"]
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT["dvcqg"],
            "code_verifier": verifier,
            "client_id": CLIENT_ID,
            "client_secret": SECRET["dvcqg"],
        }
        answer = await http.post("/vneid/dvcqg/oauth2/token", data=form)
        assert unverified(answer.json()["id_token"])[1]["iss"] == "http://host:9000/vneid/dvcqg"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_full_login_with_pkce(
    client: httpx.AsyncClient, sim: OidcSimulator, provider: str
) -> None:
    done = await login(client, provider)
    answer = await redeem(client, done)
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 600
    assert body["access_token"]
    assert body["refresh_token"]
    assert body["scope"] == "openid profile"

    token = jwt.decode(body["id_token"], await key_set(client, provider), algorithms=["RS256"])
    assert token.header["alg"] == "RS256"
    assert token.header["kid"] == sim.keys[provider].current.kid  # type: ignore[index]
    claims = token.claims
    assert claims["iss"] == f"{BASE}/{provider}"
    assert claims["aud"] == CLIENT_ID
    assert claims["azp"] == CLIENT_ID
    assert claims["nonce"] == done.nonce
    assert claims["acr"] == "LoA2"
    now = time.time()
    assert abs(claims["iat"] - now) < 5
    assert claims["exp"] == claims["iat"] + 600
    assert claims["nbf"] == claims["iat"]
    assert claims["auth_time"] <= claims["iat"]

    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    userinfo = await client.get(path(provider, "userinfo"), headers=bearer)
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == claims["sub"]
    assert userinfo.json()["SoDinhDanh"] == LEVEL2_CITIZEN


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_client_secret_basic_is_accepted(client: httpx.AsyncClient, provider: str) -> None:
    done = await login(client, provider)
    answer = await redeem(
        client,
        done,
        client_id="",
        client_secret="",
    )
    assert answer.status_code == 401  # no credentials at all
    done = await login(client, provider)
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT[provider],
        "code_verifier": done.verifier,
    }
    auth = httpx.BasicAuth(CLIENT_ID, SECRET[provider])
    answer = await client.post(path(provider, "token"), data=form, auth=auth)
    assert answer.status_code == 200, answer.text


async def test_two_authentication_methods_at_once_are_refused(client: httpx.AsyncClient) -> None:
    done = await login(client, "vneid")
    form = {
        "grant_type": "authorization_code",
        "code": done.code,
        "redirect_uri": REDIRECT["vneid"],
        "code_verifier": done.verifier,
        "client_secret": SECRET["vneid"],
    }
    auth = httpx.BasicAuth(CLIENT_ID, SECRET["vneid"])
    answer = await client.post(path("vneid", "token"), data=form, auth=auth)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


# --- claims --------------------------------------------------------------------------------


async def userinfo_of(client: httpx.AsyncClient, provider: str, hint: str) -> dict[str, Any]:
    body = await tokens(client, provider, login_hint=hint)
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    answer = await client.get(path(provider, "userinfo"), headers=bearer)
    assert answer.status_code == 200
    claims: dict[str, Any] = answer.json()
    assert claims["sub"] == unverified(body["id_token"])[1]["sub"]
    return claims


async def test_vneid_userinfo_claims(client: httpx.AsyncClient) -> None:
    # PASETO UserInfoVneidRequest.cs: LoaiTaiKhoan and IAL are numbers
    claims = await userinfo_of(client, "vneid", LEVEL2_CITIZEN)
    assert set(claims) == {
        "sub",
        "LoaiTaiKhoan",
        "SoDinhDanh",
        "HoVaTen",
        "NgayThangNamSinh",
        "TechID",
        "loAs",
        "IAL",
        "userProfileUri",
        "logoutUri",
    }
    assert claims["LoaiTaiKhoan"] == 1
    assert claims["HoVaTen"] == "Nguyễn Văn An"
    assert claims["NgayThangNamSinh"] == "19900515"
    assert (claims["loAs"], claims["IAL"]) == ("LoA2", 2)
    assert claims["logoutUri"].startswith(f"{BASE}/vneid/")
    level1 = await userinfo_of(client, "vneid", LEVEL1_CITIZEN)
    assert (level1["loAs"], level1["IAL"]) == ("LoA1", 1)
    assert level1["NgayThangNamSinh"] == "20011102"


async def test_dvcqg_userinfo_claims(client: httpx.AsyncClient) -> None:
    # OpenCPS DVCQGSSOActionImpl.java, PASETO UserInfoDvcqgRequest.cs, fat2fast/yii2-auth
    citizen = await userinfo_of(client, "dvcqg", LEVEL2_CITIZEN)
    assert citizen["LoaiTaiKhoan"] == "1"
    assert citizen["NgayThangNamSinh"] == "19900515"
    assert citizen["SoCMND"] == "012345678"
    assert citizen["ThuDienTu"] == "nguyen.van.an@example.com"
    assert citizen["SoDienThoai"] == "0912345678"
    assert citizen["loginIdp"] == "BCA"
    assert "IAL" not in citizen
    assert "MaSoDoanhNghiep" not in citizen
    assert "TenDoanhNghiep" not in citizen
    business = await userinfo_of(client, "dvcqg", BUSINESS_ACCOUNT)
    assert business["LoaiTaiKhoan"] == "2"
    assert business["MaSoDoanhNghiep"] == business["MaSoThue"] == "0401234567"
    assert business["TenDoanhNghiep"].startswith("Công ty")
    assert set(business) == {
        "sub",
        "LoaiTaiKhoan",
        "SoDinhDanh",
        "MaSoThue",
        "MaSoDoanhNghiep",
        "TenDoanhNghiep",
        "DiaChi",
        "HoVaTen",
        "NgayThangNamSinh",
        "ThuDienTu",
        "SoDienThoai",
        "TechID",
        "loAs",
        "loginIdp",
        "userProfileUri",
        "logoutUri",
    }
    organisation = await userinfo_of(client, "dvcqg", ORGANISATION_ACCOUNT)
    assert organisation["LoaiTaiKhoan"] == "3"
    assert organisation["MaSoThue"] == "0600123456"
    assert organisation["TenDoanhNghiep"]
    assert "MaSoDoanhNghiep" not in organisation


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_userinfo_answers_a_post_as_opencps_sends_it(
    client: httpx.AsyncClient, provider: str
) -> None:
    # OpenCPS rc-3.0 DVCQGSSOActionImpl.java lines 362-368: POST, Bearer, JSON content type
    body = await tokens(client, provider)
    headers = {
        "Authorization": f"Bearer {body['access_token']}",
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    answer = await client.post(path(provider, "userinfo"), headers=headers)
    assert answer.status_code == 200
    assert answer.json()["SoDinhDanh"] == LEVEL2_CITIZEN


async def test_sub_is_stable_per_account_and_differs_per_provider(
    client: httpx.AsyncClient,
) -> None:
    listed = {c["so_dinh_danh"]: c for c in (await client.get("/_sandbox/citizens")).json()}
    assert {LEVEL2_CITIZEN, LEVEL1_CITIZEN, BUSINESS_ACCOUNT, ORGANISATION_ACCOUNT} <= set(listed)
    subs = listed[LEVEL1_CITIZEN]["sub"]
    assert subs["vneid"] != subs["dvcqg"]
    for provider in PROVIDERS:
        for _ in range(2):
            body = await tokens(client, provider, login_hint=LEVEL1_CITIZEN)
            claims = unverified(body["id_token"])[1]
            assert claims["sub"] == subs[provider]
            assert claims["acr"] == "LoA1"


async def test_the_test_accounts_have_valid_numbers() -> None:
    from schemas.cccd import validate

    sim = OidcSimulator()
    kinds = {c.loai_tai_khoan for c in sim.citizens.values()}
    levels = {c.level for c in sim.citizens.values()}
    assert kinds == {"1", "2", "3"}
    assert levels == {1, 2}
    for citizen in sim.citizens.values():
        validate(citizen.so_dinh_danh, birth_date=citizen.ngay_sinh)


async def test_reprs_hide_numbers_and_secrets(sim: OidcSimulator) -> None:
    assert LEVEL2_CITIZEN not in repr(sim.citizens[LEVEL2_CITIZEN])
    assert "001******345" in repr(sim.citizens[LEVEL2_CITIZEN])
    assert SECRET["vneid"] not in repr(sim.clients["vneid"][CLIENT_ID])


async def test_login_by_tech_id(client: httpx.AsyncClient, sim: OidcSimulator) -> None:
    tech_id = sim.citizens[BUSINESS_ACCOUNT].tech_id
    claims = await userinfo_of(client, "vneid", tech_id)
    assert claims["SoDinhDanh"] == BUSINESS_ACCOUNT
    assert claims["TechID"] == tech_id


# --- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_code_is_single_use(client: httpx.AsyncClient, provider: str) -> None:
    done = await login(client, provider)
    assert (await redeem(client, done)).status_code == 200
    again = await redeem(client, done)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_pkce_mismatch_is_refused_and_spends_the_code(client: httpx.AsyncClient) -> None:
    done = await login(client, "dvcqg")
    wrong = await redeem(client, done, code_verifier=secrets.token_urlsafe(48))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert "code_verifier" in wrong.json()["error_description"]
    assert (await redeem(client, done)).status_code == 400
    done = await login(client, "dvcqg")
    missing = await redeem(client, done, code_verifier="")
    assert missing.json()["error"] == "invalid_grant"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_wrong_client_secret_is_refused(client: httpx.AsyncClient, provider: str) -> None:
    done = await login(client, provider)
    answer = await redeem(client, done, client_secret="not-the-secret")
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
    auth = httpx.BasicAuth(CLIENT_ID, "not-the-secret")
    form = {"grant_type": "authorization_code", "code": done.code}
    basic = await client.post(path(provider, "token"), data=form, auth=auth)
    assert basic.status_code == 401
    assert basic.headers["www-authenticate"].startswith("Basic")


async def test_the_other_providers_secret_is_refused(client: httpx.AsyncClient) -> None:
    done = await login(client, "vneid")
    answer = await redeem(client, done, client_secret=SECRET["dvcqg"])
    assert answer.status_code == 401


async def test_redirect_uri_must_equal_the_authorizations(client: httpx.AsyncClient) -> None:
    done = await login(client, "vneid")
    answer = await redeem(client, done, redirect_uri=REDIRECT["vneid"] + "/other")
    assert answer.json()["error"] == "invalid_grant"


async def test_a_code_expires_after_60_seconds(
    client: httpx.AsyncClient, sim: OidcSimulator
) -> None:
    done = await login(client, "vneid")
    sim.clock = lambda: time.time() + 61
    answer = await redeem(client, done)
    assert answer.json() == {
        "error": "invalid_grant",
        "error_description": "the authorization code has expired",
    }


async def test_a_code_of_one_provider_is_unknown_at_the_other(client: httpx.AsyncClient) -> None:
    done = await login(client, "vneid")
    done.provider = "dvcqg"
    answer = await redeem(client, done, redirect_uri=REDIRECT["vneid"])
    assert answer.json()["error"] == "invalid_grant"


async def test_unsupported_grant_and_bad_bodies(client: httpx.AsyncClient) -> None:
    form = {"grant_type": "password", "client_id": CLIENT_ID, "client_secret": SECRET["vneid"]}
    answer = await client.post(path("vneid", "token"), data=form)
    assert answer.json()["error"] == "unsupported_grant_type"
    answer = await client.post(path("vneid", "token"), json=form)
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    body = "grant_type=authorization_code&grant_type=refresh_token"
    headers = {"content-type": "application/x-www-form-urlencoded"}
    answer = await client.post(path("vneid", "token"), content=body, headers=headers)
    assert answer.json()["error"] == "invalid_request"


async def test_an_unregistered_redirect_uri_is_refused_without_redirect(
    client: httpx.AsyncClient,
) -> None:
    params = auth_params("vneid", redirect_uri="https://evil.example/callback")
    params.pop("_verifier")
    answer = await client.get(path("vneid", "authorization"), params=params)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert answer.json()["error"] == "invalid_request"
    assert "redirect_uri" in answer.json()["error_description"]
    # one provider's redirect URI is not registered at the other
    params = auth_params("dvcqg", redirect_uri=REDIRECT["vneid"])
    params.pop("_verifier")
    answer = await client.get(path("dvcqg", "authorization"), params=params)
    assert answer.status_code == 400


@pytest.mark.parametrize(
    ("provider", "change", "error"),
    [
        ("vneid", {"client_id": "someone-else"}, "invalid_client"),
        ("vneid", {"response_type": "token"}, "unsupported_response_type"),
        ("vneid", {"scope": "profile"}, "invalid_scope"),
        ("vneid", {"state": ""}, "invalid_request"),
        ("vneid", {"nonce": "n" * 600}, "invalid_request"),
        ("vneid", {"code_challenge": ""}, "invalid_request"),
        ("vneid", {"code_challenge": "short"}, "invalid_request"),
        ("vneid", {"code_challenge_method": "plain"}, "invalid_request"),
        ("vneid", {"code_challenge_method": ""}, "invalid_request"),
        ("dvcqg", {"code_challenge_method": "plain"}, "invalid_request"),
        ("vneid", {"state": "x" * 600}, "invalid_request"),
        ("dvcqg", {"acr_values": ""}, "invalid_request"),
        ("dvcqg", {"acr_values": "LoA9"}, "invalid_request"),
        ("vneid", {"login_hint": "999999999999"}, "invalid_request"),
    ],
)
async def test_an_invalid_authorization_request_is_refused(
    client: httpx.AsyncClient, provider: str, change: dict[str, str], error: str
) -> None:
    params = auth_params(provider, **change)
    params.pop("_verifier")
    answer = await client.get(path(provider, "authorization"), params=params)
    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert answer.json()["error"] == error


async def test_the_authorization_request_may_be_posted(client: httpx.AsyncClient) -> None:
    params = auth_params("dvcqg")
    params.pop("_verifier")
    answer = await client.post(path("dvcqg", "authorization"), data=params)
    assert answer.status_code == 302
    assert "code" in httpx.URL(answer.headers["location"]).params


async def test_a_parameter_given_twice_is_refused(client: httpx.AsyncClient) -> None:
    params = auth_params("vneid")
    params.pop("_verifier")
    pairs = [*params.items(), ("state", "another")]
    answer = await client.get(path("vneid", "authorization"), params=tuple(pairs))
    assert answer.status_code == 400


async def test_without_login_hint_a_login_page_lists_the_accounts(
    client: httpx.AsyncClient,
) -> None:
    params = auth_params("dvcqg")
    params.pop("_verifier")
    params.pop("login_hint")
    answer = await client.get(path("dvcqg", "authorization"), params=params)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    page = answer.text
    assert "Nguyễn Văn An" in page
    assert "Trần Thị Bích Ngọc" in page
    assert LEVEL2_CITIZEN not in page  # masked; the buttons carry TechIDs
    assert params["state"] in page
    assert 'value="LoA1"' in page


async def test_a_cancelled_login_redirects_with_access_denied(client: httpx.AsyncClient) -> None:
    params = auth_params("vneid", login_hint=DENY_HINT)
    params.pop("_verifier")
    answer = await client.get(path("vneid", "authorization"), params=params)
    assert answer.status_code == 302
    location = httpx.URL(answer.headers["location"])
    assert location.params["error"] == "access_denied"
    assert location.params["state"] == params["state"]
    assert "code" not in location.params


# --- userinfo ------------------------------------------------------------------------------


async def test_userinfo_refuses_unknown_foreign_and_expired_tokens(
    client: httpx.AsyncClient, sim: OidcSimulator
) -> None:
    answer = await client.get(path("vneid", "userinfo"), headers={"Authorization": "Bearer x"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert (await client.get(path("vneid", "userinfo"))).status_code == 401
    body = await tokens(client, "vneid")
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.get(path("dvcqg", "userinfo"), headers=bearer)).status_code == 401
    assert (await client.post(path("vneid", "userinfo"), headers=bearer)).status_code == 200
    sim.clock = lambda: time.time() + 601
    assert (await client.get(path("vneid", "userinfo"), headers=bearer)).status_code == 401


async def test_a_refresh_token_is_single_use(client: httpx.AsyncClient) -> None:
    body = await tokens(client, "dvcqg")
    form = {
        "grant_type": "refresh_token",
        "refresh_token": body["refresh_token"],
        "client_id": CLIENT_ID,
        "client_secret": SECRET["dvcqg"],
    }
    renewed = await client.post(path("dvcqg", "token"), data=form)
    assert renewed.status_code == 200
    assert renewed.json()["access_token"] != body["access_token"]
    assert (await client.post(path("dvcqg", "token"), data=form)).json()["error"] == (
        "invalid_grant"
    )


# --- keys ----------------------------------------------------------------------------------


async def test_rotation_keeps_the_previous_key_published(
    client: httpx.AsyncClient, sim: OidcSimulator
) -> None:
    before = await tokens(client, "vneid")
    old_kid = unverified(before["id_token"])[0]["kid"]
    assert await kids(client, "vneid") == [old_kid]

    answer = await client.post("/_sandbox/rotate-keys", json={"provider": "vneid"})
    assert answer.status_code == 200
    new_kid = answer.json()["vneid"]["current"]
    assert new_kid != old_kid
    assert answer.json()["vneid"]["published"] == [new_kid, old_kid]
    assert await kids(client, "vneid") == [new_kid, old_kid]

    after = await tokens(client, "vneid")
    assert unverified(after["id_token"])[0]["kid"] == new_kid
    published = await key_set(client, "vneid")
    for body in (before, after):  # both verify against the JWKS: no downtime
        jwt.decode(body["id_token"], published, algorithms=["RS256"])
    # the other provider did not rotate
    assert answer.json()["dvcqg"]["published"] == [sim.keys["dvcqg"].current.kid]


async def test_rotation_without_keeping_drops_the_old_key_at_once(
    client: httpx.AsyncClient,
) -> None:
    before = await tokens(client, "dvcqg")
    old_kid = unverified(before["id_token"])[0]["kid"]
    answer = await client.post(
        "/_sandbox/rotate-keys", json={"provider": "dvcqg", "keep_previous": False}
    )
    new_kid = answer.json()["dvcqg"]["current"]
    assert await kids(client, "dvcqg") == [new_kid]
    assert old_kid != new_kid
    with pytest.raises(JoseError):
        jwt.decode(before["id_token"], await key_set(client, "dvcqg"), algorithms=["RS256"])


async def test_only_the_last_previous_key_stays(client: httpx.AsyncClient) -> None:
    first = (await kids(client, "vneid"))[0]
    await client.post("/_sandbox/rotate-keys")  # both providers
    await client.post("/_sandbox/rotate-keys")
    published = await kids(client, "vneid")
    assert len(published) == 2
    assert first not in published


async def test_jwks_is_public_keys_only(client: httpx.AsyncClient) -> None:
    for provider in PROVIDERS:
        for key in (await client.get(path(provider, "jwks"))).json()["keys"]:
            assert key["kty"] == "RSA"
            assert key["use"] == "sig"
            assert key["alg"] == "RS256"
            assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


async def test_default_keys_are_shared_and_reset_restores_them(client: httpx.AsyncClient) -> None:
    default = await kids(client, "vneid")
    assert get_simulator(create_app()).keys["vneid"].current.kid == default[0]
    await client.post("/_sandbox/rotate-keys")
    await client.post("/_sandbox/reset")
    assert await kids(client, "vneid") == default
    answer = await client.post("/_sandbox/reset", json={"fresh_keys": True})
    fresh = answer.json()["keys"]["vneid"]["published"]
    assert len(fresh) == 1
    assert fresh != default
    assert await kids(client, "vneid") == fresh


# --- misbehaviour switches -----------------------------------------------------------------


async def faults(client: httpx.AsyncClient, **switches: Any) -> None:
    answer = await client.put("/_sandbox/faults", json=switches)
    assert answer.status_code == 200, answer.text


async def test_expired_token(client: httpx.AsyncClient) -> None:
    await faults(client, expired_token=True)
    body = await tokens(client, "vneid")
    claims = jwt.decode(body["id_token"], await key_set(client, "vneid")).claims
    assert claims["exp"] < time.time() - 3500
    assert claims["iat"] == claims["exp"] - 600


async def test_wrong_audience(client: httpx.AsyncClient) -> None:
    await faults(client, wrong_audience=True)
    body = await tokens(client, "dvcqg")
    claims = jwt.decode(body["id_token"], await key_set(client, "dvcqg")).claims
    assert claims["aud"] == claims["azp"] == IMPOSTOR_AUDIENCE


async def test_wrong_issuer_is_the_other_providers(client: httpx.AsyncClient) -> None:
    await faults(client, wrong_issuer=True)
    for provider, other in (("vneid", "dvcqg"), ("dvcqg", "vneid")):
        body = await tokens(client, provider)
        claims = jwt.decode(body["id_token"], await key_set(client, provider)).claims
        assert claims["iss"] == f"{BASE}/{other}"


async def test_bad_signature(client: httpx.AsyncClient, sim: OidcSimulator) -> None:
    await faults(client, bad_signature=True)
    body = await tokens(client, "vneid")
    header, claims, signature = unverified(body["id_token"])
    assert header == {"typ": "JWT", "alg": "RS256", "kid": sim.keys["vneid"].current.kid}
    assert claims["aud"] == CLIENT_ID
    assert len(signature) == 256
    with pytest.raises(BadSignatureError):
        jwt.decode(body["id_token"], await key_set(client, "vneid"), algorithms=["RS256"])


async def test_alg_none(client: httpx.AsyncClient) -> None:
    await faults(client, alg_none=True)
    body = await tokens(client, "dvcqg")
    assert body["id_token"].endswith(".")
    header, claims, signature = unverified(body["id_token"])
    assert header["alg"] == "none"
    assert signature == b""
    assert claims["iss"] == f"{BASE}/dvcqg"
    with pytest.raises(JoseError):
        jwt.decode(body["id_token"], await key_set(client, "dvcqg"), algorithms=["RS256"])


async def test_hmac_keyed_with_the_public_key(
    client: httpx.AsyncClient, sim: OidcSimulator
) -> None:
    await faults(client, hmac_with_public_key=True)
    body = await tokens(client, "vneid")
    header, _claims, signature = unverified(body["id_token"])
    assert header["alg"] == "HS256"
    # an attacker can compute it: the key is the PEM anyone can build from the JWKS
    public_pem = sim.keys["vneid"].current.as_pem(private=False)
    signing_input = body["id_token"].rsplit(".", 1)[0].encode()
    assert signature == hmac.new(public_pem, signing_input, hashlib.sha256).digest()
    with pytest.raises(JoseError):
        jwt.decode(body["id_token"], await key_set(client, "vneid"), algorithms=["RS256"])


async def test_replay_nonce_sends_the_previous_logins_nonce(client: httpx.AsyncClient) -> None:
    await faults(client, replay_nonce=True)
    first = await login(client, "vneid")
    first_token = unverified((await redeem(client, first)).json()["id_token"])[1]
    assert first_token["nonce"] == STALE_NONCE  # nothing earlier to replay
    second = await login(client, "vneid")
    claims = unverified((await redeem(client, second)).json()["id_token"])[1]
    assert claims["nonce"] == first.nonce != second.nonce


async def test_missing_nonce(client: httpx.AsyncClient) -> None:
    await faults(client, missing_nonce=True)
    claims = unverified((await tokens(client, "dvcqg"))["id_token"])[1]
    assert "nonce" not in claims


# --- the public callers' flow, and providers without PKCE or nonce ---------------------------


def public_params(provider: str) -> dict[str, str]:
    """An authorization request exactly as the public callers send it: OpenCPS rc-3.0
    DVCQGSSOActionImpl.java lines 123-124, PASETO dvcQuocGia/index.tsx line 34 (DVCQG) and
    DichVuCongComponent.tsx line 59 (VNeID, without acr_values). No nonce, no PKCE."""
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT[provider],
        "scope": "openid",
        "acr_values": "LoA1",
        "state": base64.b64encode(b"token@http://127.0.0.1:8080/dich-vu-cong").decode(),
    }
    if provider == "vneid":
        del params["acr_values"]
    return params


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_the_public_callers_flow_is_accepted(
    client: httpx.AsyncClient, sim: OidcSimulator, provider: str
) -> None:
    params = public_params(provider)
    answer = await client.get(
        path(provider, "authorization"), params={**params, "login_hint": LEVEL2_CITIZEN}
    )
    assert answer.status_code == 302, answer.text
    back = httpx.URL(answer.headers["location"]).params
    assert back["state"] == params["state"]
    # OpenCPS DVCQGSSOTerm.java line 28: the token request, client_secret_post, no verifier
    form = {
        "grant_type": "authorization_code",
        "code": back["code"],
        "redirect_uri": REDIRECT[provider],
        "client_id": CLIENT_ID,
        "client_secret": SECRET[provider],
    }
    answer = await client.post(path(provider, "token"), data=form)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "nonce" not in unverified(body["id_token"])[1]
    assert body["scope"] == "openid"
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    assert (await client.post(path(provider, "userinfo"), headers=bearer)).status_code == 200
    assert list(sim.logins)[-1]["pkce"] is False
    assert list(sim.logins)[-1]["nonce"] is False


async def test_a_verifier_for_a_code_without_challenge_is_refused(
    client: httpx.AsyncClient,
) -> None:
    # a provider with PKCE sees a client that lost track of its login (Keycloak refuses too)
    done = await login(client, "vneid", code_challenge="", code_challenge_method="")
    assert (await redeem(client, done)).json()["error"] == "invalid_grant"


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_verifier_is_required_for_a_code_bound_to_a_challenge(
    client: httpx.AsyncClient, provider: str
) -> None:
    done = await login(client, provider)
    answer = await redeem(client, done, code_verifier="")
    assert answer.json()["error"] == "invalid_grant"


async def test_without_pkce_the_provider_ignores_it(
    client: httpx.AsyncClient, sim: OidcSimulator
) -> None:
    await faults(client, no_pkce=True, provider="dvcqg")
    dvcqg = (await client.get(path("dvcqg", "discovery"))).json()
    assert "code_challenge_methods_supported" not in dvcqg
    vneid = (await client.get(path("vneid", "discovery"))).json()
    assert vneid["code_challenge_methods_supported"] == ["S256"]
    # the challenge is ignored, so any verifier (or none) redeems the code
    done = await login(client, "dvcqg")
    assert list(sim.logins)[-1]["pkce"] is False
    answer = await redeem(client, done, code_verifier="x" * 43)
    assert answer.status_code == 200, answer.text
    claims = unverified(answer.json()["id_token"])[1]
    assert claims["nonce"] == done.nonce  # a nonce still comes back
    done = await login(client, "dvcqg", code_challenge="junk", code_challenge_method="plain")
    assert (await redeem(client, done, code_verifier="")).status_code == 200


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_legacy_provider_advertises_no_pkce_and_returns_no_nonce(
    client: httpx.AsyncClient, provider: str
) -> None:
    await faults(client, legacy_provider=True)
    document = (await client.get(path(provider, "discovery"))).json()
    assert "code_challenge_methods_supported" not in document
    done = await login(client, provider)  # with a nonce and a challenge, both ignored
    answer = await redeem(client, done, code_verifier="")
    assert answer.status_code == 200, answer.text
    assert "nonce" not in unverified(answer.json()["id_token"])[1]


async def test_userinfo_sub_mismatch(client: httpx.AsyncClient) -> None:
    await faults(client, userinfo_sub_mismatch=True)
    body = await tokens(client, "vneid")
    bearer = {"Authorization": f"Bearer {body['access_token']}"}
    userinfo = (await client.get(path("vneid", "userinfo"), headers=bearer)).json()
    assert userinfo["sub"] != unverified(body["id_token"])[1]["sub"]
    assert userinfo["SoDinhDanh"] == LEVEL2_CITIZEN


@pytest.mark.parametrize("endpoint", ["token", "userinfo", "jwks", "discovery"])
async def test_fail_endpoint(client: httpx.AsyncClient, endpoint: str) -> None:
    body = await tokens(client, "vneid")
    await faults(client, fail_endpoint=endpoint)
    calls = {
        "discovery": client.get("/vneid/.well-known/openid-configuration"),
        "jwks": client.get(path("vneid", "jwks")),
        "userinfo": client.get(
            path("vneid", "userinfo"), headers={"Authorization": f"Bearer {body['access_token']}"}
        ),
    }
    if endpoint == "token":
        answer = await redeem(client, await login(client, "vneid"))
    else:
        answer = await calls.pop(endpoint)
    for other in calls.values():
        assert (await other).status_code == 200
    assert answer.status_code == 500
    assert answer.json()["error"] == "server_error"


async def test_slow_endpoint_and_latency(client: httpx.AsyncClient) -> None:
    await faults(client, slow_endpoint="jwks", slow_seconds=0.2)
    started = time.perf_counter()
    assert (await client.get(path("dvcqg", "jwks"))).status_code == 200
    assert time.perf_counter() - started >= 0.2
    await faults(client, latency_ms=100)
    started = time.perf_counter()
    await client.get(path("vneid", "discovery"))
    assert time.perf_counter() - started >= 0.1


async def test_switches_can_be_limited_to_one_provider(client: httpx.AsyncClient) -> None:
    await faults(client, alg_none=True, fail_endpoint="discovery", provider="dvcqg")
    assert (await client.get(path("dvcqg", "discovery"))).status_code == 500
    assert (await client.get(path("vneid", "discovery"))).status_code == 200
    assert unverified((await tokens(client, "vneid"))["id_token"])[0]["alg"] == "RS256"
    assert unverified((await tokens(client, "dvcqg"))["id_token"])[0]["alg"] == "none"


async def test_switches_hold_until_reset(client: httpx.AsyncClient) -> None:
    await faults(client, wrong_audience=True)
    for _ in range(2):
        assert unverified((await tokens(client, "vneid"))["id_token"])[1]["aud"] != CLIENT_ID
    assert (await client.get("/_sandbox/faults")).json()["wrong_audience"] is True
    assert (await client.post("/_sandbox/reset")).status_code == 200
    assert (await client.get("/_sandbox/faults")).json()["wrong_audience"] is False
    assert unverified((await tokens(client, "vneid"))["id_token"])[1]["aud"] == CLIENT_ID


async def test_unknown_switches_are_refused(client: httpx.AsyncClient) -> None:
    answer = await client.put("/_sandbox/faults", json={"alg_nonee": True})
    assert answer.status_code == 422
    answer = await client.put("/_sandbox/faults", json={"fail_endpoint": "elsewhere"})
    assert answer.status_code == 422


# --- end session ---------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_end_session_redirects_to_a_registered_uri(
    client: httpx.AsyncClient, provider: str
) -> None:
    id_token = (await tokens(client, provider))["id_token"]
    params = {
        "id_token_hint": id_token,
        "post_logout_redirect_uri": "http://127.0.0.1:8080/",
        "state": "xyz",
    }
    answer = await client.get(path(provider, "end_session"), params=params)
    assert answer.status_code == 302
    assert answer.headers["location"] == "http://127.0.0.1:8080/?state=xyz"
    params.pop("state")
    answer = await client.post(path(provider, "end_session"), data=params)  # a form, too
    assert answer.status_code == 302
    assert answer.headers["location"] == "http://127.0.0.1:8080/"
    # without a place to return to, the provider shows its own page
    answer = await client.get(path(provider, "end_session"), params={"id_token_hint": id_token})
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")


async def test_end_session_refusals(client: httpx.AsyncClient, sim: OidcSimulator) -> None:
    vneid_token = (await tokens(client, "vneid"))["id_token"]
    registered = "http://127.0.0.1:8080/dang-xuat/dvcqg"
    cases = [
        {"id_token_hint": vneid_token, "post_logout_redirect_uri": "https://evil.example/"},
        {"post_logout_redirect_uri": registered},
        {"id_token_hint": "not.a.token", "post_logout_redirect_uri": registered},
    ]
    for params in cases:
        answer = await client.get(path("vneid", "end_session"), params=params)
        assert answer.status_code == 400, params
        assert "location" not in answer.headers
    # a token of the other provider, and an unsigned one, were not issued here
    params = {"id_token_hint": vneid_token, "post_logout_redirect_uri": registered}
    assert (await client.get(path("dvcqg", "end_session"), params=params)).status_code == 400
    await faults(client, alg_none=True)
    params["id_token_hint"] = (await tokens(client, "dvcqg"))["id_token"]
    assert (await client.get(path("dvcqg", "end_session"), params=params)).status_code == 400
    # an expired hint is fine (logout after the session ended)
    await faults(client, expired_token=True)
    params["id_token_hint"] = (await tokens(client, "dvcqg"))["id_token"]
    assert (await client.get(path("dvcqg", "end_session"), params=params)).status_code == 302


# --- administration ------------------------------------------------------------------------


async def test_stats_count_calls_codes_tokens_and_jwks(client: httpx.AsyncClient) -> None:
    await tokens(client, "vneid")
    await client.get(path("vneid", "jwks"))
    await client.get(path("vneid", "jwks"))
    await client.get("/vneid/.well-known/openid-configuration")
    await faults(client, fail_endpoint="jwks")
    await client.get(path("vneid", "jwks"))
    done = await login(client, "dvcqg")
    await redeem(client, done, client_secret="wrong")
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["calls"]["vneid"]["jwks"] == 3
    assert stats["jwks_fetched"] == {"vneid": 2, "dvcqg": 0}
    assert stats["calls"]["vneid"]["discovery"] == 1
    assert stats["calls"]["vneid"]["authorization"] == 1
    assert stats["codes_issued"] == {"vneid": 1, "dvcqg": 1}
    assert stats["tokens_issued"] == {"vneid": 1, "dvcqg": 0}
    assert stats["errors"]["dvcqg"] == {"invalid_client": 1}
    await client.post("/_sandbox/reset")
    assert (await client.get("/_sandbox/stats")).json()["codes_issued"] == {"vneid": 0, "dvcqg": 0}


async def test_logins_are_listed_masked(client: httpx.AsyncClient) -> None:
    await login(client, "vneid")
    await login(client, "dvcqg", login_hint=LEVEL1_CITIZEN)
    answer = await client.get("/_sandbox/logins", params={"limit": 10})
    entries = answer.json()
    assert [(e["provider"], e["level"]) for e in entries] == [("vneid", 2), ("dvcqg", 1)]
    # what each authorization request carried, for tests that check the gateway's requests
    assert [(e["pkce"], e["nonce"], e["acr_values"]) for e in entries] == [
        (True, True, None),
        (True, True, "LoA1"),
    ]
    assert entries[0]["citizen"] == "001******345"
    assert LEVEL2_CITIZEN not in answer.text
    assert LEVEL1_CITIZEN not in answer.text


async def test_a_test_account_can_be_added(client: httpx.AsyncClient) -> None:
    account = {
        "so_dinh_danh": "092201009876",
        "ho_va_ten": "Võ Minh Khôi",
        "ngay_sinh": "2001-01-31",
        "level": 1,
    }
    answer = await client.post("/_sandbox/citizens", json=account)
    assert answer.status_code == 200, answer.text
    claims = await userinfo_of(client, "vneid", "092201009876")
    assert (claims["HoVaTen"], claims["IAL"], claims["NgayThangNamSinh"]) == (
        "Võ Minh Khôi",
        1,
        "20010131",
    )
    contradicting = {**account, "ngay_sinh": "1999-01-31"}
    assert (await client.post("/_sandbox/citizens", json=contradicting)).status_code == 422
    business = {**account, "loai_tai_khoan": "2"}  # no business code
    assert (await client.post("/_sandbox/citizens", json=business)).status_code == 422


async def test_a_client_can_be_registered(client: httpx.AsyncClient) -> None:
    registration = {
        "provider": "vneid",
        "client_id": "another-app",
        "client_secret": "another-secret",
        "redirect_uris": ["http://test/callback"],
        "post_logout_redirect_uris": ["http://test/"],
    }
    assert (await client.post("/_sandbox/clients", json=registration)).status_code == 200
    listed = (await client.get("/_sandbox/clients")).json()
    assert "another-secret" not in json.dumps(listed)
    assert {c["client_id"] for c in listed["vneid"]} == {CLIENT_ID, "another-app"}
    params = auth_params("vneid", client_id="another-app", redirect_uri="http://test/callback")
    verifier = params.pop("_verifier")
    answer = await client.get(path("vneid", "authorization"), params=params)
    code = httpx.URL(answer.headers["location"]).params["code"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": "http://test/callback",
        "code_verifier": verifier,
        "client_id": "another-app",
        "client_secret": "another-secret",
    }
    answer = await client.post(path("vneid", "token"), data=form)
    assert unverified(answer.json()["id_token"])[1]["aud"] == "another-app"


async def test_clients_can_be_registered_when_the_app_is_built() -> None:
    mot_cua = Client.registered("dvcqg", "mot-cua", "s3cret", ["https://motcua.example.gov.vn/sso"])
    sim = get_simulator(create_app(clients={"dvcqg": [mot_cua]}))
    client = sim.clients["dvcqg"]["mot-cua"]
    assert client.client_secret == "s3cret"
    assert client.redirect_uris == ("https://motcua.example.gov.vn/sso",)
    assert "https://motcua.example.gov.vn/" in client.post_logout_redirect_uris
    assert CLIENT_ID not in sim.clients["dvcqg"]
    assert CLIENT_ID in sim.clients["vneid"]
    sim.reset()
    assert set(sim.clients["dvcqg"]) == {"mot-cua"}


def test_the_default_registrations_are_the_gateways_sandbox_defaults() -> None:
    # the simulator keeps its own provider definitions; the gateway's defaults must name them
    config = VneidConfig()
    for name in PROVIDERS:
        provider = config.provider(name)  # type: ignore[arg-type]
        assert provider.client_id == DEFAULT_CLIENT_ID
        assert provider.client_secret.get_secret_value() == DEFAULT_SECRETS[name]  # type: ignore[index]
        assert provider.redirect_uris == DEFAULT_REDIRECT_URIS[name]  # type: ignore[index]
