"""The OpenID Connect client against a scripted provider (httpx.MockTransport).

Discovery and its validation, the authorization and logout URLs, the code exchange and each of
its failures, every ID-token check (with the forgeries a relying party must refuse), key
rotation with a counted number of key-set reads, userinfo's subject check, and what reaches the
exchange log, the errors and the logs: never a token, a code, a verifier or a secret.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlsplit

import httpx
import pytest
from joserfc.jwk import Key
from pydantic import SecretStr

from connectors.vneid.client import OidcClient, ProviderMetadata, TokenSet, code_challenge
from connectors.vneid.config import ProviderConfig, VneidConfig
from connectors.vneid.errors import CodeRejected, IdTokenRejected, UserinfoMismatch
from gateway.core.errors import (
    GatewayError,
    InvalidInput,
    InvalidUpstreamAnswer,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.recording import build_client
from gateway.core.log.exchange_log import Crossing
from tests.connectors.vneid import keys

NOW = 1_750_000_000.0
CLIENT_ID = "lgsp-test-client"
# characters that form-encoding changes, so that redaction must cover the encoded form
SECRET = "Bí-mật&client=secret+7731/x"
CODE = "authz-code-6f1c2e9a4b7d"
VERIFIER = "v3r1f13r-" + "A" * 50
NONCE = "nonce-3d9a1b7c5e"
STATE = "state-8b2f4d6a0c"
SUB = "vneid-sub-0001"
ACCESS_TOKEN = "access-token-5a7e9c1b3d"
REFRESH_TOKEN = "refresh-token-2c4e6a8b0d"
VNEID_ISSUER = "https://vneid.test/vneid"
DVCQG_ISSUER = "https://sso.dichvucong.test/dvcqg"
REDIRECT = "https://gateway.test/dang-nhap/vneid"
TTL = 3600


def config(**overrides: Any) -> VneidConfig:
    return VneidConfig.model_validate(
        {
            "vneid_issuer": VNEID_ISSUER,
            "vneid_client_id": CLIENT_ID,
            "vneid_client_secret": SECRET,
            "vneid_redirect_uris": [REDIRECT],
            "dvcqg_issuer": DVCQG_ISSUER,
            "dvcqg_client_id": CLIENT_ID,
            "dvcqg_client_secret": SECRET,
            "dvcqg_redirect_uris": ["https://gateway.test/dang-nhap/dvcqg"],
            "dvcqg_scopes": ["openid", "profile"],
            **overrides,
        }
    )


def claims(**changes: Any) -> dict[str, Any]:
    """Good ID-token claims; a change of ``None`` removes the claim."""
    base: dict[str, Any] = {
        "iss": VNEID_ISSUER,
        "sub": SUB,
        "aud": CLIENT_ID,
        "exp": int(NOW) + 300,
        "iat": int(NOW) - 5,
        "nonce": NONCE,
        "auth_time": int(NOW) - 30,
        "acr": "LoA2",
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


Handler = Callable[[httpx.Request], httpx.Response]


class Provider:
    """A scripted OpenID provider; ``hits`` counts requests per endpoint, ``script`` replaces
    an endpoint's answer."""

    def __init__(self, issuer: str = VNEID_ISSUER, *, dvcqg: bool = False) -> None:
        self.issuer = issuer
        prefix = "/oauth2" if dvcqg else ""
        self.paths = {
            "authorize": f"{prefix}/authorize" if dvcqg else "/auth",
            "token": f"{prefix}/token",
            "userinfo": f"{prefix}/userinfo",
            "jwks": f"{prefix}/jwks",
            "logout": "/oidc/logout" if dvcqg else "/logout",
        }
        self.discovery: dict[str, Any] = {
            "issuer": issuer,
            "authorization_endpoint": issuer + self.paths["authorize"],
            "token_endpoint": issuer + self.paths["token"],
            "userinfo_endpoint": issuer + self.paths["userinfo"],
            "jwks_uri": issuer + self.paths["jwks"],
            "end_session_endpoint": issuer + self.paths["logout"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "response_types_supported": ["code"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
        }
        self.published: list[Key] = [keys.RSA_1]
        self.id_token = keys.sign(claims())
        self.userinfo: dict[str, Any] = {"sub": SUB, "HoVaTen": "Nguyễn Văn An", "loAs": "LoA2"}
        self.hits: Counter[str] = Counter()
        self.requests: dict[str, list[httpx.Request]] = {}
        self.script: dict[str, Handler] = {}

    def token_answer(self) -> dict[str, Any]:
        return {
            "access_token": ACCESS_TOKEN,
            "token_type": "Bearer",
            "expires_in": 3600,
            "id_token": self.id_token,
            "refresh_token": REFRESH_TOKEN,
            "scope": "openid profile",
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(urlsplit(self.issuer).path)
        names = {v: k for k, v in self.paths.items()}
        name = "discovery" if path == "/.well-known/openid-configuration" else names.get(path)
        if name is None:
            return httpx.Response(404)
        self.hits[name] += 1
        self.requests.setdefault(name, []).append(request)
        if name in self.script:
            return self.script[name](request)
        if name == "discovery":
            return httpx.Response(200, json=self.discovery)
        if name == "jwks":
            return httpx.Response(200, json=keys.jwks(*self.published))
        if name == "token":
            return httpx.Response(200, json=self.token_answer())
        if name == "userinfo":
            if request.headers.get("authorization") != f"Bearer {ACCESS_TOKEN}":
                return httpx.Response(401, json={"error": "invalid_token"})
            return httpx.Response(200, json=self.userinfo)
        return httpx.Response(405)


@pytest.fixture
def provider() -> Provider:
    return Provider()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def http(provider: Provider) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(provider.handle)) as client:
        yield client


def vneid(cfg: VneidConfig | None = None) -> ProviderConfig:
    return (cfg or config()).provider("vneid")


@pytest.fixture
def client(http: httpx.AsyncClient, clock: Clock) -> OidcClient:
    return OidcClient(vneid(), http, jwks_ttl_seconds=TTL, clock=clock)


def answer(status: int, body: Any = None, **kwargs: Any) -> Handler:
    def respond(_request: httpx.Request) -> httpx.Response:
        if isinstance(body, bytes | str):
            return httpx.Response(status, content=body, **kwargs)
        return httpx.Response(status, json=body, **kwargs)

    return respond


# --- discovery -----------------------------------------------------------------------------


async def test_discovery_is_read_once_and_kept_for_the_ttl(
    client: OidcClient, provider: Provider, clock: Clock
) -> None:
    meta = await client.metadata()
    assert meta == ProviderMetadata(
        issuer=VNEID_ISSUER,
        authorization_endpoint=f"{VNEID_ISSUER}/auth",
        token_endpoint=f"{VNEID_ISSUER}/token",
        userinfo_endpoint=f"{VNEID_ISSUER}/userinfo",
        jwks_uri=f"{VNEID_ISSUER}/jwks",
        end_session_endpoint=f"{VNEID_ISSUER}/logout",
        id_token_signing_alg_values_supported=("RS256",),
        code_challenge_methods_supported=("S256",),
    )
    clock.now += TTL - 1
    assert await client.metadata() is meta
    assert provider.hits["discovery"] == 1
    clock.now += 2
    await client.metadata()
    assert provider.hits["discovery"] == 2


async def test_concurrent_callers_share_one_discovery_fetch(
    client: OidcClient, provider: Provider
) -> None:
    results = await asyncio.gather(*(client.metadata() for _ in range(8)))
    assert provider.hits["discovery"] == 1
    assert len({id(r) for r in results}) == 1


async def test_discovery_naming_another_issuer_is_refused(
    client: OidcClient, provider: Provider
) -> None:
    provider.discovery["issuer"] = "https://evil.test/vneid"
    with pytest.raises(PermanentUpstreamError) as refused:
        await client.metadata()
    assert [e.loc for e in refused.value.errors] == ["issuer"]
    # a trailing slash is another issuer too: the comparison is exact
    provider.discovery["issuer"] = VNEID_ISSUER + "/"
    with pytest.raises(PermanentUpstreamError):
        await client.metadata()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"token_endpoint": "javascript:alert(1)"}, "token_endpoint"),
        ({"jwks_uri": None}, "jwks_uri"),
        ({"authorization_endpoint": "ftp://vneid.test/auth"}, "authorization_endpoint"),
        ({"end_session_endpoint": 7}, "end_session_endpoint"),
        ({"code_challenge_methods_supported": "S256"}, "code_challenge_methods_supported"),
    ],
)
async def test_discovery_with_a_bad_endpoint_is_refused(
    client: OidcClient, provider: Provider, change: dict[str, Any], field: str
) -> None:
    provider.discovery.update(change)
    with pytest.raises(InvalidUpstreamAnswer) as refused:
        await client.metadata()
    assert field in [e.loc for e in refused.value.errors]


async def test_discovery_without_allowed_algorithms_is_refused(
    client: OidcClient, provider: Provider
) -> None:
    provider.discovery["id_token_signing_alg_values_supported"] = ["HS256", "none"]
    with pytest.raises(PermanentUpstreamError, match="none of the allowed"):
        await client.metadata()


@pytest.mark.parametrize("methods", [None, [], ["plain"]], ids=["absent", "empty", "plain"])
async def test_discovery_without_s256_means_logins_without_pkce(
    client: OidcClient, provider: Provider, methods: list[str] | None
) -> None:
    # the providers as the public callers meet them: no PKCE, which the login then leaves out
    if methods is None:
        del provider.discovery["code_challenge_methods_supported"]
    else:
        provider.discovery["code_challenge_methods_supported"] = methods
    meta = await client.metadata()
    assert meta.pkce is False
    url = client.authorization_url(
        meta, redirect_uri=REDIRECT, state=STATE, nonce=NONCE, code_challenge=None
    )
    assert "code_challenge" not in query(url)
    assert "code_challenge_method" not in query(url)
    with pytest.raises(InvalidInput, match="cannot be built") as refused:
        client.authorization_url(
            meta,
            redirect_uri=REDIRECT,
            state=STATE,
            nonce=NONCE,
            code_challenge=code_challenge(VERIFIER),
        )
    assert [e.loc for e in refused.value.errors] == ["code_challenge"]


async def test_discovery_without_end_session_endpoint_is_accepted(
    client: OidcClient, provider: Provider
) -> None:
    del provider.discovery["end_session_endpoint"]
    meta = await client.metadata()
    assert meta.end_session_endpoint is None
    assert (
        client.end_session_url(meta, id_token_hint="x", post_logout_redirect_uri=None, state=None)
        is None
    )


@pytest.mark.parametrize(
    ("script", "error"),
    [
        (answer(503, {"error": "down"}), TransientUpstreamError),
        (answer(200, b"<html>maintenance</html>"), InvalidUpstreamAnswer),
        (answer(200, [1, 2]), InvalidUpstreamAnswer),
        (answer(200, b"{" + b" " * 70_000 + b"}"), InvalidUpstreamAnswer),
        (answer(404, b"not here"), PermanentUpstreamError),
    ],
    ids=["503", "html", "array", "too-large", "404"],
)
async def test_discovery_failures(
    client: OidcClient, provider: Provider, script: Handler, error: type[Exception]
) -> None:
    provider.script["discovery"] = script
    with pytest.raises(error):
        await client.metadata()


async def test_unreachable_provider_is_transient(clock: Clock) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(fail)) as http:
        client = OidcClient(vneid(), http, jwks_ttl_seconds=TTL, clock=clock)
        with pytest.raises(TransientUpstreamError, match="unreachable"):
            await client.metadata()


# --- authorization and logout URLs ---------------------------------------------------------


def query(url: str) -> dict[str, str]:
    parsed = parse_qs(urlsplit(url).query, strict_parsing=True)
    assert all(len(v) == 1 for v in parsed.values()), parsed
    return {k: v[0] for k, v in parsed.items()}


async def test_authorization_url_for_vneid(client: OidcClient) -> None:
    meta = await client.metadata()
    challenge = code_challenge(VERIFIER)
    url = client.authorization_url(
        meta, redirect_uri=REDIRECT, state=STATE, nonce=NONCE, code_challenge=challenge
    )
    assert url.startswith(f"{VNEID_ISSUER}/auth?")
    assert meta.pkce is True
    # the public callers' parameters in their order (PASETO DichVuCongComponent.tsx line
    # 59: scope=openid, no acr_values at VNeID), then the nonce and PKCE
    assert list(query(url).items()) == [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", STATE),
        ("nonce", NONCE),
        ("code_challenge", challenge),
        ("code_challenge_method", "S256"),
    ]


def test_code_challenge_is_s256() -> None:
    # RFC 7636 appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


async def test_authorization_url_for_dvcqg_carries_acr_values(clock: Clock) -> None:
    sso = Provider(DVCQG_ISSUER, dvcqg=True)
    async with httpx.AsyncClient(transport=httpx.MockTransport(sso.handle)) as http:
        client = OidcClient(config().provider("dvcqg"), http, jwks_ttl_seconds=TTL, clock=clock)
        meta = await client.metadata()
        url = client.authorization_url(
            meta,
            redirect_uri="https://gateway.test/dang-nhap/dvcqg",
            state=STATE,
            nonce=NONCE,
            code_challenge=code_challenge(VERIFIER),
        )
    assert url.startswith(f"{DVCQG_ISSUER}/oauth2/authorize?")
    params = query(url)
    assert params["acr_values"] == "LoA1"
    assert params["code_challenge_method"] == "S256"
    assert params["scope"] == "openid profile"


async def test_openid_scope_is_always_asked(http: httpx.AsyncClient, clock: Clock) -> None:
    client = OidcClient(
        vneid(config(vneid_scopes=["profile"])), http, jwks_ttl_seconds=TTL, clock=clock
    )
    meta = await client.metadata()
    url = client.authorization_url(
        meta, redirect_uri=REDIRECT, state=STATE, nonce=NONCE, code_challenge="x" * 43
    )
    assert query(url)["scope"] == "openid profile"
    assert "acr_values" not in query(url)


async def test_authorization_url_refuses_an_unregistered_redirect_uri(client: OidcClient) -> None:
    meta = await client.metadata()
    with pytest.raises(InvalidInput) as refused:
        client.authorization_url(
            meta,
            redirect_uri="https://evil.test/callback",
            state=STATE,
            nonce=NONCE,
            code_challenge=code_challenge(VERIFIER),
        )
    assert [e.loc for e in refused.value.errors] == ["redirect_uri"]
    with pytest.raises(InvalidInput) as refused:
        client.authorization_url(
            meta, redirect_uri=REDIRECT, state="", nonce="", code_challenge="plain-verifier"
        )
    assert [e.loc for e in refused.value.errors] == ["state", "nonce", "code_challenge"]


async def test_end_session_url(client: OidcClient) -> None:
    meta = await client.metadata()
    url = client.end_session_url(
        meta,
        id_token_hint="id.token.hint",
        post_logout_redirect_uri="https://gateway.test/da-dang-xuat",
        state=STATE,
    )
    assert url is not None
    assert url.startswith(f"{VNEID_ISSUER}/logout?")
    assert query(url) == {
        "id_token_hint": "id.token.hint",
        "post_logout_redirect_uri": "https://gateway.test/da-dang-xuat",
        "state": STATE,
    }
    without_hint = client.end_session_url(
        meta, id_token_hint=None, post_logout_redirect_uri=None, state=None
    )
    assert without_hint is not None
    assert query(without_hint) == {"client_id": CLIENT_ID}
    with pytest.raises(InvalidInput):
        client.end_session_url(
            meta, id_token_hint=None, post_logout_redirect_uri="javascript:x", state=None
        )


# --- code exchange -------------------------------------------------------------------------


async def exchange(client: OidcClient) -> TokenSet:
    return await client.exchange_code(code=CODE, redirect_uri=REDIRECT, code_verifier=VERIFIER)


async def test_code_exchange(client: OidcClient, provider: Provider) -> None:
    tokens = await exchange(client)
    assert tokens.access_token.get_secret_value() == ACCESS_TOKEN
    assert tokens.id_token.get_secret_value() == provider.id_token
    assert tokens.refresh_token is not None
    assert tokens.refresh_token.get_secret_value() == REFRESH_TOKEN
    assert (tokens.expires_in, tokens.scope) == (3600, "openid profile")
    assert ACCESS_TOKEN not in repr(tokens)
    (sent,) = provider.requests["token"]
    assert sent.method == "POST"
    assert sent.headers["content-type"] == "application/x-www-form-urlencoded"
    form = {k: v[0] for k, v in parse_qs(sent.content.decode()).items()}
    # OpenCPS DVCQGSSOTerm.java line 28, in its order, then the verifier
    assert list(form.items()) == [
        ("grant_type", "authorization_code"),
        ("code", CODE),
        ("redirect_uri", REDIRECT),
        ("client_id", CLIENT_ID),
        ("client_secret", SECRET),
        ("code_verifier", VERIFIER),
    ]


async def test_code_exchange_without_pkce_sends_no_verifier(
    client: OidcClient, provider: Provider
) -> None:
    await client.exchange_code(code=CODE, redirect_uri=REDIRECT, code_verifier=None)
    (sent,) = provider.requests["token"]
    assert "code_verifier" not in parse_qs(sent.content.decode())


async def test_code_exchange_defaults(client: OidcClient, provider: Provider) -> None:
    provider.script["token"] = answer(
        200,
        {"access_token": ACCESS_TOKEN, "token_type": "bearer", "id_token": provider.id_token},
    )
    tokens = await exchange(client)
    assert tokens.refresh_token is None
    assert (tokens.expires_in, tokens.scope) == (0, "openid")
    # what OpenCPS reads is all there may be: no token_type (read as Bearer), expires_in as a
    # string (PASETO OutPutOauthToken.cs types it string)
    provider.script["token"] = answer(
        200, {"access_token": ACCESS_TOKEN, "id_token": provider.id_token, "expires_in": "3600"}
    )
    assert (await exchange(client)).expires_in == 3600


async def test_code_exchange_refuses_an_unregistered_redirect_uri(
    client: OidcClient, provider: Provider
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await client.exchange_code(
            code=CODE, redirect_uri="https://evil.test/cb", code_verifier="short"
        )
    assert [e.loc for e in refused.value.errors] == ["redirect_uri", "code_verifier"]
    assert provider.hits["token"] == 0


@pytest.mark.parametrize(
    ("script", "error", "code"),
    [
        (
            answer(400, {"error": "invalid_grant", "error_description": f"code {CODE} used"}),
            CodeRejected,
            "invalid_grant",
        ),
        (answer(400, b"bad request"), CodeRejected, None),
        (answer(401, {"error": "invalid_client"}), UpstreamAuthError, "invalid_client"),
        (answer(400, {"error": "invalid_client"}), UpstreamAuthError, "invalid_client"),
        (
            answer(400, {"error": "unauthorized_client"}),
            PermanentUpstreamError,
            "unauthorized_client",
        ),
        (answer(503, b"unavailable", headers={"Retry-After": "7"}), TransientUpstreamError, None),
        (answer(200, b"<html>ok</html>"), InvalidUpstreamAnswer, None),
    ],
    ids=["invalid_grant", "400", "401", "invalid_client", "config", "503", "non-json"],
)
async def test_code_exchange_failures(
    client: OidcClient,
    provider: Provider,
    script: Handler,
    error: type[GatewayError],
    code: str | None,
) -> None:
    provider.script["token"] = script
    with pytest.raises(error) as refused:
        await exchange(client)
    assert type(refused.value) is error
    assert getattr(refused.value, "code", None) == code
    assert CODE not in str(refused.value)


async def test_code_rejected_is_a_client_error(client: OidcClient, provider: Provider) -> None:
    provider.script["token"] = answer(400, {"error": "invalid_grant"})
    with pytest.raises(CodeRejected) as refused:
        await exchange(client)
    assert refused.value.status == 400
    assert refused.value.type_slug == "identity-code-rejected"
    assert "log in again" in refused.value.detail


async def test_transient_token_failure_keeps_retry_after(
    client: OidcClient, provider: Provider
) -> None:
    provider.script["token"] = answer(503, b"", headers={"Retry-After": "7"})
    with pytest.raises(TransientUpstreamError) as refused:
        await exchange(client)
    assert refused.value.retry_after == 7.0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"id_token": None}, "id_token"),
        ({"token_type": "mac"}, "token_type"),
        ({"access_token": ""}, "access_token"),
        ({"expires_in": "soon"}, "expires_in"),
    ],
)
async def test_code_exchange_answer_is_validated(
    client: OidcClient, provider: Provider, change: dict[str, Any], field: str
) -> None:
    body = {**provider.token_answer(), **change}
    provider.script["token"] = answer(200, {k: v for k, v in body.items() if v is not None})
    with pytest.raises(InvalidUpstreamAnswer) as refused:
        await exchange(client)
    assert [e.loc for e in refused.value.errors] == [field]


async def test_unreachable_token_endpoint_is_transient(
    client: OidcClient, provider: Provider
) -> None:
    def fail(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    provider.script["token"] = fail
    with pytest.raises(TransientUpstreamError, match="ReadTimeout"):
        await exchange(client)


# --- ID token verification -----------------------------------------------------------------


async def test_a_good_id_token_passes(client: OidcClient) -> None:
    verified = await client.verify_id_token(keys.sign(claims()), nonce=NONCE)
    assert verified == claims()


async def test_an_id_token_without_nonce_passes(client: OidcClient) -> None:
    # a provider that does not return nonces, as the public callers meet it; one that returns
    # another login's nonce is refused (FORGED["wrong-nonce"])
    verified = await client.verify_id_token(keys.sign(claims(nonce=None)), nonce=NONCE)
    assert "nonce" not in verified


async def test_several_audiences_with_azp_pass(client: OidcClient) -> None:
    token = keys.sign(claims(aud=[CLIENT_ID, "other-rp"], azp=CLIENT_ID))
    assert (await client.verify_id_token(token, nonce=NONCE))["azp"] == CLIENT_ID


async def test_other_allowed_algorithms_pass(client: OidcClient, provider: Provider) -> None:
    provider.published = [keys.RSA_1, keys.RSA_2, keys.EC_1]
    await client.verify_id_token(keys.sign(claims(), keys.EC_1, alg="ES256"), nonce=NONCE)
    await client.verify_id_token(keys.sign(claims(), keys.RSA_2, alg="PS256"), nonce=NONCE)


async def test_leeway_is_honoured(client: OidcClient, clock: Clock) -> None:
    # the provider's clock runs 30 s behind and 30 s ahead: within the 60 s leeway
    late = keys.sign(claims(exp=int(NOW) - 30))
    early = keys.sign(claims(iat=int(NOW) + 30, nbf=int(NOW) + 30))
    assert (await client.verify_id_token(late, nonce=NONCE))["sub"] == SUB
    assert (await client.verify_id_token(early, nonce=NONCE))["sub"] == SUB


async def test_no_leeway_means_none(http: httpx.AsyncClient, clock: Clock) -> None:
    client = OidcClient(vneid(config(leeway_seconds=0)), http, jwks_ttl_seconds=TTL, clock=clock)
    with pytest.raises(IdTokenRejected) as refused:
        await client.verify_id_token(keys.sign(claims(exp=int(NOW) - 1)), nonce=NONCE)
    assert refused.value.check == "exp"


FORGED: dict[str, tuple[Callable[[], str], str]] = {
    "expired": (lambda: keys.sign(claims(exp=int(NOW) - 61)), "exp"),
    "not-yet-valid": (lambda: keys.sign(claims(nbf=int(NOW) + 61)), "nbf"),
    "issued-in-the-future": (lambda: keys.sign(claims(iat=int(NOW) + 61)), "iat"),
    "wrong-aud": (lambda: keys.sign(claims(aud="another-rp")), "aud"),
    "aud-list-without-us": (lambda: keys.sign(claims(aud=["a", "b"], azp="a")), "aud"),
    "wrong-iss": (lambda: keys.sign(claims(iss="https://evil.test/vneid")), "iss"),
    "azp-mismatch": (lambda: keys.sign(claims(azp="another-rp")), "azp"),
    "several-aud-without-azp": (lambda: keys.sign(claims(aud=[CLIENT_ID, "x"])), "azp"),
    "bad-signature": (lambda: keys.sign(claims(), keys.ROGUE, kid="rsa-1"), "signature"),
    "tampered": (lambda: keys.tampered(keys.sign(claims()), claims(sub="x")), "signature"),
    "wrong-nonce": (lambda: keys.sign(claims(nonce="replayed-nonce")), "nonce"),
    "nonce-list": (lambda: keys.sign(claims(nonce=[NONCE])), "nonce"),
    "empty-nonce": (lambda: keys.sign(claims(nonce="")), "nonce"),
    "missing-sub": (lambda: keys.sign(claims(sub=None)), "sub"),
    "empty-sub": (lambda: keys.sign(claims(sub="")), "sub"),
    "missing-exp": (lambda: keys.sign(claims(exp=None)), "exp"),
    "missing-iat": (lambda: keys.sign(claims(iat=None)), "iat"),
    "missing-kid": (lambda: keys.sign(claims(), kid=""), "kid"),
    # the published rsa-1 declares alg RS256
    "ps256-with-an-rs256-key": (
        lambda: keys.sign(claims(), keys.ROGUE, alg="PS256", kid="rsa-1"),
        "kid",
    ),
    "es256-under-an-rsa-kid": (
        lambda: keys.sign(claims(), keys.EC_1, alg="ES256", kid="rsa-1"),
        "kid",
    ),
    "not-a-jwt": (lambda: "not.a-jwt", "format"),
    "jwe-shaped": (lambda: "a.b.c.d.e", "format"),
}


@pytest.mark.parametrize("name", FORGED)
async def test_a_bad_id_token_is_refused(client: OidcClient, name: str) -> None:
    build, check = FORGED[name]
    with pytest.raises(IdTokenRejected) as refused:
        await client.verify_id_token(build(), nonce=NONCE)
    assert refused.value.check == check, refused.value.detail
    assert refused.value.status == 502
    assert refused.value.type_slug == "identity-token-rejected"


@pytest.mark.parametrize(
    "forge",
    [lambda: keys.unsigned(claims()), lambda: keys.hmac_with_public_key(claims())],
    ids=["alg-none", "hs256-keyed-with-the-public-key"],
)
async def test_forbidden_algorithms_are_refused_before_any_key_is_read(
    client: OidcClient, provider: Provider, forge: Callable[[], str]
) -> None:
    with pytest.raises(IdTokenRejected) as refused:
        await client.verify_id_token(forge(), nonce=NONCE)
    assert refused.value.check == "alg"
    assert provider.hits["jwks"] == 0


async def test_unknown_kid_causes_exactly_one_refresh(
    client: OidcClient, provider: Provider
) -> None:
    await client.verify_id_token(keys.sign(claims()), nonce=NONCE)
    assert provider.hits["jwks"] == 1
    stranger = keys.sign(claims(), keys.RSA_2)  # never published
    with pytest.raises(IdTokenRejected) as refused:
        await client.verify_id_token(stranger, nonce=NONCE)
    assert refused.value.check == "kid"
    assert provider.hits["jwks"] == 2
    with pytest.raises(IdTokenRejected):
        await client.verify_id_token(stranger, nonce=NONCE)
    assert provider.hits["jwks"] == 3  # one per token, never more


async def test_a_cold_cache_is_not_read_twice_for_an_unknown_kid(
    client: OidcClient, provider: Provider
) -> None:
    with pytest.raises(IdTokenRejected):
        await client.verify_id_token(keys.sign(claims(), keys.RSA_2), nonce=NONCE)
    assert provider.hits["jwks"] == 1


async def test_key_rotation_is_followed(client: OidcClient, provider: Provider) -> None:
    await client.verify_id_token(keys.sign(claims()), nonce=NONCE)
    provider.published = [keys.RSA_2, keys.RSA_1]  # the provider rotates
    rotated = keys.sign(claims(), keys.RSA_2)
    assert (await client.verify_id_token(rotated, nonce=NONCE))["sub"] == SUB
    assert provider.hits["jwks"] == 2
    # both keys are now known: no further read
    await client.verify_id_token(rotated, nonce=NONCE)
    await client.verify_id_token(keys.sign(claims()), nonce=NONCE)
    assert provider.hits["jwks"] == 2


async def test_concurrent_unknown_kids_share_one_refresh(
    client: OidcClient, provider: Provider
) -> None:
    await client.verify_id_token(keys.sign(claims()), nonce=NONCE)
    provider.published = [keys.RSA_2]
    rotated = keys.sign(claims(), keys.RSA_2)
    await asyncio.gather(*(client.verify_id_token(rotated, nonce=NONCE) for _ in range(6)))
    assert provider.hits["jwks"] == 2


async def test_the_key_set_is_read_again_after_its_ttl(
    client: OidcClient, provider: Provider, clock: Clock
) -> None:
    await client.verify_id_token(keys.sign(claims()), nonce=NONCE)
    clock.now += TTL + 1
    await client.verify_id_token(keys.sign(claims(exp=int(clock.now) + 60)), nonce=NONCE)
    assert provider.hits["jwks"] == 2


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"keys": "none"}, InvalidUpstreamAnswer),
        ({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "rsa-1"}]}, InvalidUpstreamAnswer),
        ({"keys": [{"kty": "RSA", "kid": "rsa-1", "n": "x"}]}, InvalidUpstreamAnswer),
    ],
    ids=["not-a-list", "symmetric-only", "broken-rsa"],
)
async def test_an_unusable_key_set_is_refused(
    client: OidcClient, provider: Provider, body: dict[str, Any], error: type[Exception]
) -> None:
    provider.script["jwks"] = answer(200, body)
    with pytest.raises(error):
        await client.verify_id_token(keys.sign(claims()), nonce=NONCE)


async def test_unusable_keys_beside_good_ones_are_ignored(
    client: OidcClient, provider: Provider
) -> None:
    published = keys.jwks(keys.RSA_1)
    published["keys"][:0] = [
        {"kty": "oct", "k": "c2VjcmV0", "kid": "sym"},
        {**keys.RSA_2.as_dict(private=False), "use": "enc"},
        {"kty": "OKP", "crv": "X25519", "x": "abc", "kid": "pq"},
    ]
    provider.script["jwks"] = answer(200, published)
    await client.verify_id_token(keys.sign(claims()), nonce=NONCE)
    with pytest.raises(IdTokenRejected) as refused:
        await client.verify_id_token(keys.sign(claims(), keys.RSA_2), nonce=NONCE)
    assert refused.value.check == "kid"


# --- userinfo ------------------------------------------------------------------------------


async def test_userinfo(client: OidcClient, provider: Provider) -> None:
    info = await client.userinfo(SecretStr(ACCESS_TOKEN), expected_sub=SUB)
    assert info == provider.userinfo
    (sent,) = provider.requests["userinfo"]
    assert sent.headers["authorization"] == f"Bearer {ACCESS_TOKEN}"


@pytest.mark.parametrize("sub", ["someone-else", None, ""])
async def test_userinfo_about_another_subject_is_refused(
    client: OidcClient, provider: Provider, sub: str | None
) -> None:
    provider.userinfo["sub"] = sub
    with pytest.raises(UserinfoMismatch) as refused:
        await client.userinfo(SecretStr(ACCESS_TOKEN), expected_sub=SUB)
    assert refused.value.status == 502
    assert refused.value.type_slug == "identity-userinfo-mismatch"


async def test_userinfo_failures(client: OidcClient, provider: Provider) -> None:
    with pytest.raises(UpstreamAuthError):
        await client.userinfo(SecretStr("expired-token"), expected_sub=SUB)
    provider.script["userinfo"] = answer(
        200, b"eyJ.eyJ.sig", headers={"Content-Type": "application/jwt"}
    )
    with pytest.raises(InvalidUpstreamAnswer, match="signed userinfo"):
        await client.userinfo(SecretStr(ACCESS_TOKEN), expected_sub=SUB)
    provider.script["userinfo"] = answer(502, b"")
    with pytest.raises(TransientUpstreamError):
        await client.userinfo(SecretStr(ACCESS_TOKEN), expected_sub=SUB)


# --- what the exchange log, the errors and the logs keep -----------------------------------

HIDDEN = (SECRET, quote_plus(SECRET), CODE, VERIFIER, ACCESS_TOKEN, REFRESH_TOKEN)


async def test_recorded_requests_hold_no_secret_code_or_verifier(
    provider: Provider, clock: Clock
) -> None:
    crossings: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        crossings.append(crossing)

    http = build_client(
        connector="vneid", sink=sink, transport=httpx.MockTransport(provider.handle)
    )
    async with http:
        client = OidcClient(vneid(), http, jwks_ttl_seconds=TTL, clock=clock)
        tokens = await exchange(client)
        verified = await client.verify_id_token(tokens.id_token.get_secret_value(), nonce=NONCE)
        await client.userinfo(tokens.access_token, expected_sub=verified["sub"])
        provider.script["token"] = answer(400, {"error": "invalid_grant"})
        with pytest.raises(CodeRejected):
            await exchange(client)
    operations = [c.operation for c in crossings]
    assert operations == [
        "unscoped:vneid.discovery",
        "unscoped:vneid.token",
        "unscoped:vneid.jwks",
        "unscoped:vneid.userinfo",
        "unscoped:vneid.token",
    ]
    token_requests = [c.request for c in crossings if c.operation.endswith(".token")]
    for recorded in token_requests:
        form = parse_qs(recorded.decode())
        assert form["client_secret"] == ["***"]
        assert form["code"] == ["***"]
        assert form["code_verifier"] == ["***"]
        assert form["client_id"] == [CLIENT_ID]
    for crossing in crossings:
        for value in HIDDEN:
            assert value.encode() not in crossing.request, (crossing.operation, value)
            assert value not in crossing.detail


async def test_no_token_or_secret_in_errors_or_logs(
    provider: Provider,
    clock: Clock,
    logging_at_debug: None,
    capfd: pytest.CaptureFixture[str],
) -> None:
    tokens_seen: list[str] = []
    errors: list[str] = []

    async def refused(call: Any) -> None:
        try:
            await call
        except GatewayError as exc:
            errors.append(f"{exc} {exc.detail} {[e.as_dict() for e in exc.errors]!r}")
        else:
            raise AssertionError("accepted")

    async def sink(_crossing: Crossing) -> None:
        return None

    http = build_client(
        connector="vneid", sink=sink, transport=httpx.MockTransport(provider.handle)
    )
    async with http:
        client = OidcClient(vneid(), http, jwks_ttl_seconds=TTL, clock=clock)
        good = await exchange(client)
        # the provider echoes the whole request back in its error description
        echo = f"bad request: code={CODE} code_verifier={VERIFIER} client_secret={SECRET}"
        for status, error in ((400, "invalid_grant"), (401, "invalid_client"), (500, "x")):
            provider.script["token"] = answer(status, {"error": error, "error_description": echo})
            await refused(exchange(client))
        for name in FORGED:
            forged = FORGED[name][0]()
            tokens_seen.append(forged)
            await refused(client.verify_id_token(forged, nonce=NONCE))
        await refused(client.verify_id_token(keys.unsigned(claims()), nonce=NONCE))
        await refused(client.verify_id_token(keys.hmac_with_public_key(claims()), nonce=NONCE))
        provider.userinfo["sub"] = "someone-else"
        await refused(client.userinfo(good.access_token, expected_sub=SUB))
        provider.script["userinfo"] = answer(401, {"error": "invalid_token"})
        await refused(client.userinfo(good.access_token, expected_sub=SUB))
    out, err = capfd.readouterr()
    logged = out + err
    assert "identity.id_token_rejected" in logged
    assert "identity.userinfo_mismatch" in logged
    hidden = [*HIDDEN, good.id_token.get_secret_value(), *(t for t in tokens_seen if len(t) > 20)]
    for value in hidden:
        assert value not in logged, value
        for text in errors:
            assert value not in text, (value, text)
    # the checks are named
    assert any("nonce does not match" in e for e in errors)
    assert json.dumps(errors)  # plain text


async def test_an_oversized_answer_is_cut_off_by_the_recording_client(
    provider: Provider, clock: Clock
) -> None:
    crossings: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        crossings.append(crossing)

    huge = keys.jwks(keys.RSA_1)
    huge["padding"] = "x" * 300_000
    provider.script["jwks"] = answer(200, huge)
    http = build_client(
        connector="vneid", sink=sink, transport=httpx.MockTransport(provider.handle)
    )
    async with http:
        client = OidcClient(vneid(), http, jwks_ttl_seconds=TTL, clock=clock)
        with pytest.raises(InvalidUpstreamAnswer, match="larger than"):
            await client.verify_id_token(keys.sign(claims()), nonce=NONCE)
    assert crossings[-1].outcome == "error:ResponseTooLarge"


def test_id_token_rejected_without_a_named_check() -> None:
    # the login flow raises it for a replayed nonce, with a detail only
    error = IdTokenRejected("the nonce was already used")
    assert (error.check, error.status, error.detail) == (None, 502, "the nonce was already used")
