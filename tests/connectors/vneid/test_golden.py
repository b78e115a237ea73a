"""Golden packets from the public record (``tests/golden/vneid/``, see its SOURCES.md).

(a) What the gateway sends, against what the public callers send: every parameter of their
authorization request and every field of their token request is in ours, with the same value
where it is configuration and the same type where it is drawn per login, in their order; what
we add is exactly the nonce and, where the provider advertises S256, PKCE.
(b) What the providers answer, as the public readers read it, through our reader: the userinfo
claims into the canonical identity, the token answer into a token set.
(c) The public callers' own requests accepted by our simulator, and its answers in the JSON
types the public readers declare.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from connectors.vneid.client import OidcClient, code_challenge
from connectors.vneid.config import VneidConfig
from connectors.vneid.mapping import map_claims
from connectors.vneid.sandbox import (
    DEFAULT_SECRETS,
    LEVEL2_CITIZEN,
    FaultConfig,
    create_app,
    get_simulator,
)

GOLDEN = Path(__file__).parents[2] / "golden" / "vneid"
BASE = "http://sandbox"
AUTHORIZE = sorted(p.name for p in GOLDEN.glob("authorize_*.json"))
USERINFO = sorted(p.name for p in GOLDEN.glob("userinfo_*.json"))
#: parameters that are configuration: ours must carry the public caller's value
CONFIGURED = ("response_type", "client_id", "redirect_uri", "scope", "acr_values")


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return data


class Recorder(httpx.AsyncBaseTransport):
    """The simulator behind a transport that keeps every request it carries."""

    def __init__(self, app: FastAPI) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)


@pytest.fixture
def app() -> FastAPI:
    return create_app()


@pytest.fixture
def recorder(app: FastAPI) -> Recorder:
    return Recorder(app)


@pytest.fixture
async def http(recorder: Recorder) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=recorder, base_url=BASE) as client:
        yield client


def oidc(http: httpx.AsyncClient, provider: str) -> OidcClient:
    config = VneidConfig(vneid_issuer=f"{BASE}/vneid", dvcqg_issuer=f"{BASE}/dvcqg")
    return OidcClient(config.provider(provider), http, jwks_ttl_seconds=3600)  # type: ignore[arg-type]


def pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)


# --- (a) what we send --------------------------------------------------------------------------


@pytest.mark.parametrize("name", AUTHORIZE)
@pytest.mark.parametrize("s256", [True, False], ids=["s256", "no-s256"])
async def test_our_authorization_request_carries_everything_the_public_caller_sends(
    http: httpx.AsyncClient, app: FastAPI, name: str, s256: bool
) -> None:
    packet = golden(name)
    provider = packet["provider"]
    get_simulator(app).set_faults(FaultConfig(no_pkce=not s256))
    client = oidc(http, provider)
    meta = await client.metadata()
    assert meta.pkce is s256
    verifier = "v" * 64
    url = client.authorization_url(
        meta,
        redirect_uri=packet["params"]["redirect_uri"],
        state="a-random-single-use-state-0123456789",
        nonce="a-random-nonce-0123456789",
        code_challenge=code_challenge(verifier) if meta.pkce else None,
    )
    assert urlsplit(url).path == f"/{provider}{packet['endpoint_path']}"
    ours = pairs(url)
    names = [k for k, _ in ours]
    assert len(names) == len(set(names))
    sent = dict(ours)
    public: dict[str, str] = packet["params"]
    for param, value in public.items():
        assert param in sent, f"{param} is missing from our request"
        assert isinstance(sent[param], type(value))
        if param in CONFIGURED:
            assert sent[param] == value, param
    assert sent["state"]  # ours: random and single-use, theirs: base64 of a return URL
    # the public caller's parameters, in its order, then ours
    assert [n for n in names if n in public] == list(public)
    assert names[: len(public)] == list(public)
    which = "provider_advertises_s256" if s256 else "provider_without_s256"
    assert names[len(public) :] == packet["added_by_the_gateway"][which]


@pytest.mark.parametrize("pkce", [True, False])
async def test_our_token_request_carries_every_field_opencps_sends(
    http: httpx.AsyncClient, recorder: Recorder, pkce: bool
) -> None:
    packet = golden("token_request_opencps.json")
    client = oidc(http, packet["provider"])
    # a real code from the simulator, through the authorization request the gateway makes
    meta = await client.metadata()
    verifier = "v" * 64 if pkce else None
    url = client.authorization_url(
        meta,
        redirect_uri=packet["form"]["redirect_uri"],
        state="s" * 20,
        nonce="n" * 20,
        code_challenge=code_challenge(verifier) if verifier else None,
    )
    approved = await http.get(f"{url}&login_hint={LEVEL2_CITIZEN}")  # (params= replaces)
    code = httpx.URL(approved.headers["location"]).params["code"]
    await client.exchange_code(
        code=code, redirect_uri=packet["form"]["redirect_uri"], code_verifier=verifier
    )
    (sent,) = [r for r in recorder.requests if r.url.path.endswith(packet["endpoint_path"])]
    assert sent.method == "POST"
    assert sent.headers["content-type"] == packet["content_type"]
    ours = parse_qsl(sent.content.decode(), keep_blank_values=True)
    names = [k for k, _ in ours]
    public: dict[str, str] = packet["form"]
    assert names[: len(public)] == list(public)
    which = "login_used_pkce" if pkce else "login_without_pkce"
    assert names[len(public) :] == packet["added_by_the_gateway"][which]
    for field in ("grant_type", "redirect_uri", "client_id", "client_secret"):
        assert dict(ours)[field] == public[field]


# --- (b) what the providers answer, through our reader ----------------------------------------


def expected_of(packet: dict[str, Any]) -> list[tuple[dict[str, Any], Any]]:
    if "answers" in packet:
        return [(packet["answers"][k], packet["expected"][k]) for k in packet["answers"]]
    return [(packet["answer"], packet["expected"])]


@pytest.mark.parametrize("name", USERINFO)
def test_userinfo_as_the_public_readers_read_it_maps_to_the_identity(name: str) -> None:
    packet = golden(name)
    for answer, expected in expected_of(packet):
        who = map_claims(packet["provider"], {"sub": answer["sub"]}, answer)
        shown = who.model_dump(mode="json")
        assert {k: shown[k] for k in expected} == expected
        assert who.sub == answer["sub"]
        assert who.provider == packet["provider"]


async def test_the_token_answer_as_paseto_reads_it() -> None:
    packet = golden("token_answer_paseto.json")
    issuer = f"{BASE}/dvcqg"

    def provider(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "issuer": issuer,
                    "authorization_endpoint": f"{issuer}/oauth2/authorize",
                    "token_endpoint": f"{issuer}/oauth2/token",
                    "userinfo_endpoint": f"{issuer}/oauth2/userinfo",
                    "jwks_uri": f"{issuer}/oauth2/jwks",
                },
            )
        return httpx.Response(200, json=packet["answer"])

    async with httpx.AsyncClient(transport=httpx.MockTransport(provider)) as http:
        client = oidc(http, "dvcqg")
        tokens = await client.exchange_code(
            code="c", redirect_uri="http://127.0.0.1:8080/dang-nhap/dvcqg", code_verifier=None
        )
    expected = packet["expected"]
    assert tokens.expires_in == expected["expires_in"]
    assert tokens.scope == expected["scope"]
    assert (tokens.refresh_token is not None) is expected["refresh_token"]
    assert tokens.access_token.get_secret_value() == packet["answer"]["access_token"]


# --- (c) the public callers' requests against our simulator -----------------------------------


@pytest.mark.parametrize("name", AUTHORIZE)
async def test_the_public_callers_login_is_accepted_by_the_simulator(
    http: httpx.AsyncClient, name: str
) -> None:
    packet = golden(name)
    provider = packet["provider"]
    # built as OpenCPS and PASETO build it: the query concatenated, nothing encoded
    query = "&".join(f"{k}={v}" for k, v in packet["params"].items())
    url = f"/{provider}{packet['endpoint_path']}?{query}&login_hint={LEVEL2_CITIZEN}"
    approved = await http.get(url)
    assert approved.status_code == 302, approved.text
    back = httpx.URL(approved.headers["location"]).params
    assert back["state"] == packet["params"]["state"]
    # OpenCPS's token request, then its userinfo request (POST, Bearer, JSON content type:
    # DVCQGSSOActionImpl.java lines 362-368)
    form = {**golden("token_request_opencps.json")["form"], "code": back["code"]}
    form["redirect_uri"] = packet["params"]["redirect_uri"]
    form["client_secret"] = DEFAULT_SECRETS[provider]
    token_path = "/oauth2/token" if provider == "dvcqg" else "/token"
    answer = await http.post(f"/{provider}{token_path}", data=form)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    userinfo_path = "/oauth2/userinfo" if provider == "dvcqg" else "/userinfo"
    claims = await http.post(
        f"/{provider}{userinfo_path}",
        headers={
            "Authorization": f"Bearer {tokens['access_token']}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        },
    )
    assert claims.status_code == 200
    assert claims.json()["SoDinhDanh"] == LEVEL2_CITIZEN


@pytest.mark.parametrize(
    ("provider", "reader"),
    [("vneid", "userinfo_vneid_paseto.json"), ("dvcqg", "userinfo_dvcqg_paseto.json")],
)
async def test_the_simulators_claims_have_the_types_the_public_readers_declare(
    http: httpx.AsyncClient, provider: str, reader: str
) -> None:
    declared: dict[str, Any] = golden(reader)["answer"]
    client = oidc(http, provider)
    meta = await client.metadata()
    url = client.authorization_url(
        meta,
        redirect_uri=f"http://127.0.0.1:8080/dang-nhap/{provider}",
        state="s" * 20,
        nonce="n" * 20,
        code_challenge=None,
    )
    approved = await http.get(f"{url}&login_hint={LEVEL2_CITIZEN}")  # (params= replaces)
    code = httpx.URL(approved.headers["location"]).params["code"]
    tokens = await client.exchange_code(
        code=code, redirect_uri=f"http://127.0.0.1:8080/dang-nhap/{provider}", code_verifier=None
    )
    sub = (await client.verify_id_token(tokens.id_token.get_secret_value(), nonce="n" * 20))["sub"]
    claims = await client.userinfo(tokens.access_token, expected_sub=sub)
    shared = set(claims) & set(declared)
    assert {"sub", "LoaiTaiKhoan", "SoDinhDanh", "HoVaTen", "TechID", "loAs"} <= shared
    for name in shared:
        assert type(claims[name]) is type(declared[name]), name
    # and the identity the gateway makes of them
    who = map_claims(provider, {"sub": sub}, claims)
    assert (who.so_dinh_danh, who.muc_dam_bao) == (LEVEL2_CITIZEN, 2)
