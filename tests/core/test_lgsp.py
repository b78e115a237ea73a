"""The LGSP transport (gateway.core.http.lgsp): tokens obtained, attached, reused, renewed,
logged."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from gateway.core.errors import ConfigurationError
from gateway.core.http.lgsp import (
    LgspSettings,
    LgspTransport,
    LgspUnavailable,
    lgsp_outer,
    parse_token_answer,
)
from gateway.core.http.recording import AttemptContext, attempt_context, build_client
from gateway.core.log.exchange_log import Crossing

TOKEN_URL = "https://lgsp.test/token"
API = "https://lgsp.test/dancu/ws"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeLgsp:
    """An LGSP answering the token endpoint and the calls, keeping what it received."""

    def __init__(self, *, token_answer: Callable[[int], httpx.Response] | None = None) -> None:
        self.token_requests: list[httpx.Request] = []
        self.calls: list[httpx.Request] = []
        self.refuse_tokens: set[str] = set()
        self._token_answer = token_answer

    def handler(self, request: httpx.Request) -> httpx.Response:
        if str(request.url) == TOKEN_URL:
            self.token_requests.append(request)
            n = len(self.token_requests)
            if self._token_answer is not None:
                return self._token_answer(n)
            return httpx.Response(
                200, json={"access_token": f"tok-{n}", "token_type": "Bearer", "expires_in": 600}
            )
        self.calls.append(request)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token in self.refuse_tokens:
            return httpx.Response(401, json={"error": "invalid_token"})
        return httpx.Response(200, content=b"<ok/>")


def _client(
    lgsp: FakeLgsp, settings: LgspSettings, clock: Clock | None = None
) -> tuple[httpx.AsyncClient, list[Crossing]]:
    recorded: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        recorded.append(crossing)

    def outer(recording: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        return LgspTransport(recording, settings, clock=clock or Clock())

    client = build_client(
        connector="dancu",
        sink=sink,
        transport=httpx.MockTransport(lgsp.handler),
        outer=outer,
    )
    return client, recorded


def _settings(**kw: Any) -> LgspSettings:
    return LgspSettings(token_url=TOKEN_URL, **kw)


async def test_access_key_style_sends_the_partner_identity_and_the_bearer_token() -> None:
    lgsp = FakeLgsp()
    settings = _settings(
        access_key="AK",
        secret_key="SK",
        app_name="MOTCUA",
        partner_code="000.00.00.H22",
        partner_code_cus="000.00.01.H22",
    )
    client, _ = _client(lgsp, settings)
    async with client:
        for _ in range(3):
            answer = await client.post(API, content=b"<soap/>")
            assert answer.status_code == 200

    # one token for the three calls (OpenCPS QLCDIntegrationActionImpl.getToken)
    assert len(lgsp.token_requests) == 1
    token_request = lgsp.token_requests[0]
    assert token_request.method == "POST"
    assert token_request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert token_request.content == b"grant_type=client_credentials"
    identity = json.loads(base64.b64decode(token_request.headers["lgspaccesstoken"]))
    assert identity == {
        "AccessKey": "AK",
        "SecretKey": "SK",
        "AppName": "MOTCUA",
        "PartnerCode": "000.00.00.H22",
        "PartnerCodeCus": "000.00.01.H22",
    }
    assert "authorization" not in token_request.headers
    # every call: the bearer token and the same identity (ApiThirdPartyServiceImpl
    # .callApiWithRawBody); the body is the platform's own packet, untouched
    for call in lgsp.calls:
        assert call.headers["authorization"] == "Bearer tok-1"
        assert call.headers["lgspaccesstoken"] == token_request.headers["lgspaccesstoken"]
        assert call.content == b"<soap/>"


async def test_client_credentials_style_authenticates_with_http_basic() -> None:
    lgsp = FakeLgsp()
    settings = _settings(auth="client-credentials", consumer_key="ck", consumer_secret="cs")
    client, _ = _client(lgsp, settings)
    async with client:
        await client.post(API, json={"a": 1})
    token_request = lgsp.token_requests[0]
    assert token_request.headers["authorization"] == "Basic " + base64.b64encode(b"ck:cs").decode()
    assert token_request.content == b"grant_type=client_credentials"
    assert "lgspaccesstoken" not in token_request.headers
    assert lgsp.calls[0].headers["authorization"] == "Bearer tok-1"
    assert "lgspaccesstoken" not in lgsp.calls[0].headers


async def test_a_token_is_renewed_before_it_expires() -> None:
    lgsp = FakeLgsp()
    clock = Clock()
    client, _ = _client(lgsp, _settings(refresh_margin_seconds=30), clock)
    async with client:
        await client.get(API)
        clock.now += 600 - 31  # still inside the lifetime, outside the margin
        await client.get(API)
        assert len(lgsp.token_requests) == 1
        clock.now += 2  # within 30 s of expiry: renewed
        await client.get(API)
    assert len(lgsp.token_requests) == 2
    assert [c.headers["authorization"] for c in lgsp.calls] == [
        "Bearer tok-1",
        "Bearer tok-1",
        "Bearer tok-2",
    ]


async def test_a_token_the_lgsp_no_longer_honours_is_replaced_once() -> None:
    lgsp = FakeLgsp()
    client, _ = _client(lgsp, _settings())
    async with client:
        await client.get(API)
        lgsp.refuse_tokens.add("tok-1")  # revoked before its time
        answer = await client.post(API, content=b"<again/>")
        assert answer.status_code == 200
        assert [c.headers["authorization"] for c in lgsp.calls] == [
            "Bearer tok-1",
            "Bearer tok-1",
            "Bearer tok-2",
        ]
        assert lgsp.calls[-1].content == b"<again/>"
        # refused again with the fresh token: the 401 goes to the connector, no loop
        lgsp.refuse_tokens.update({"tok-2", "tok-3"})
        answer = await client.get(API)
    assert answer.status_code == 401
    assert len(lgsp.token_requests) == 3


async def test_concurrent_calls_share_one_token_request() -> None:
    lgsp = FakeLgsp()
    client, _ = _client(lgsp, _settings())
    async with client:
        answers = await asyncio.gather(*(client.get(API) for _ in range(8)))
    assert all(a.status_code == 200 for a in answers)
    assert len(lgsp.token_requests) == 1


async def test_the_token_request_is_logged_with_the_token_blanked() -> None:
    lgsp = FakeLgsp()
    client, recorded = _client(lgsp, _settings(secret_key="very-secret-key"))
    async with client:
        with attempt_context(AttemptContext(operation="lookup_citizen", parent_id="ex-1")):
            await client.post(API, content=b"<soap/>")
    operations = [c.operation for c in recorded]
    assert operations == ["lookup_citizen:lgsp-token", "lookup_citizen"]
    token_entry = recorded[0]
    assert token_entry.parent_id == "ex-1"
    assert token_entry.request == b"grant_type=client_credentials"
    assert token_entry.response is not None
    assert json.loads(token_entry.response)["access_token"] == "***"
    for crossing in recorded:
        for body in (crossing.request, crossing.response or b""):
            assert b"tok-1" not in body
            assert b"very-secret-key" not in body


@pytest.mark.parametrize("status", [400, 401, 403])
async def test_refused_credentials_stop_the_call_with_a_clear_error(status: int) -> None:
    lgsp = FakeLgsp(token_answer=lambda _n: httpx.Response(status, json={"error": "x"}))
    client, _ = _client(lgsp, _settings(auth="client-credentials"))
    async with client:
        with pytest.raises(LgspUnavailable) as caught:
            await client.get(API)
    assert "LGSP_LGSP__CONSUMER_SECRET" in caught.value.detail
    assert lgsp.calls == []  # nothing went to the platform without a token


async def test_a_failing_token_endpoint_is_transient() -> None:
    lgsp = FakeLgsp(token_answer=lambda _n: httpx.Response(503))
    client, _ = _client(lgsp, _settings())
    async with client:
        with pytest.raises(LgspUnavailable) as caught:
            await client.get(API)
    assert caught.value.status == 503
    assert "HTTP 503" in caught.value.detail


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"access_token": "t", "expires_in": "3600"}', ("t", 3600.0)),
        (b'{"access_token": " t ", "token_type": "bearer"}', ("t", 300.0)),
        (b'{"access_token": "t", "token_type": "Bearer", "expires_in": ""}', ("t", 300.0)),
        (b'{"access_token": "t", "scope": "default", "extra": [1]}', ("t", 300.0)),
    ],
)
def test_token_answers_are_read_tolerantly(body: bytes, expected: tuple[str, float]) -> None:
    assert parse_token_answer(body, default_seconds=300.0) == expected


@pytest.mark.parametrize(
    "body",
    [
        b"<html>login</html>",
        b"[]",
        b'{"token": "t"}',
        b'{"access_token": ""}',
        b'{"access_token": 12}',
        b'{"access_token": "t", "token_type": "mac"}',
        b'{"access_token": "t", "expires_in": "soon"}',
        b'{"access_token": "t", "expires_in": -5}',
    ],
)
def test_unusable_token_answers_are_refused(body: bytes) -> None:
    with pytest.raises(LgspUnavailable):
        parse_token_answer(body, default_seconds=300.0)


def test_production_refuses_the_development_placeholders() -> None:
    with pytest.raises(ConfigurationError, match="LGSP_LGSP__SECRET_KEY"):
        lgsp_outer(LgspSettings(), environment="production")
    with pytest.raises(ConfigurationError, match="LGSP_LGSP__CONSUMER_SECRET"):
        lgsp_outer(LgspSettings(auth="client-credentials"), environment="production")
    # real credentials: accepted
    lgsp_outer(LgspSettings(secret_key="a-real-one"), environment="production")
    lgsp_outer(LgspSettings(), environment="development")


def test_the_token_url_must_be_http() -> None:
    with pytest.raises(ValueError, match="token_url"):
        LgspSettings(token_url="ftp://lgsp.test/token")
