"""The LGSP simulator in front of the platform simulators (gateway.sandbox_lgsp)."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request

from gateway.sandbox_lgsp import CONSUMER, PARTNER, LgspSimulator, create_lgsp_app


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def _echo_platform() -> FastAPI:
    """A platform that shows what reached it."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def echo(path: str, request: Request) -> dict[str, Any]:
        return {
            "path": path,
            "query": str(request.url.query),
            "headers": {k: v for k, v in request.headers.items()},
            "body": (await request.body()).decode(),
        }

    return app


def _partner_header(**changes: str) -> str:
    return base64.b64encode(json.dumps({**PARTNER, **changes}).encode()).decode()


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def lgsp(clock: Clock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_lgsp_app({"dancu": _echo_platform()}, LgspSimulator(clock))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lgsp"
    ) as client:
        yield client


async def _token(lgsp: httpx.AsyncClient, **headers: str) -> str:
    answer = await lgsp.post("/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    token: str = body["access_token"]
    return token


async def test_a_relayed_call_reaches_the_platform_without_the_lgsp_credentials(
    lgsp: httpx.AsyncClient,
) -> None:
    identity = _partner_header()
    token = await _token(lgsp, lgspaccesstoken=identity)
    answer = await lgsp.post(
        "/dancu/ws?wsdl=1",
        content=b"<Envelope/>",
        headers={
            "Authorization": f"Bearer {token}",
            "lgspaccesstoken": identity,
            "Content-Type": "application/xml",
            "timestamp": "20261203101500",
        },
    )
    assert answer.status_code == 200
    seen = answer.json()
    assert seen["path"] == "ws"
    assert seen["query"] == "wsdl=1"
    assert seen["body"] == "<Envelope/>"
    assert seen["headers"]["x-lgsp-relay"] == "sandbox-lgsp-relay"
    assert seen["headers"]["content-type"] == "application/xml"
    assert seen["headers"]["timestamp"] == "20261203101500"  # the platform's own headers pass
    assert "authorization" not in seen["headers"]
    assert "lgspaccesstoken" not in seen["headers"]
    stats = (await lgsp.get("/_sandbox/stats")).json()
    assert stats["tokens_issued"] == 1
    assert stats["relayed"] == {"dancu": 1}


async def test_client_credentials_with_http_basic(lgsp: httpx.AsyncClient) -> None:
    token = await _token(lgsp, Authorization=_basic(*CONSUMER))
    answer = await lgsp.get("/dancu/x", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"lgspaccesstoken": _partner_header(SecretKey="wrong")},
        {"lgspaccesstoken": "not base64!"},
        {"lgspaccesstoken": base64.b64encode(b"[1]").decode()},
        {"Authorization": _basic(CONSUMER[0], "wrong")},
        {"Authorization": "Bearer something"},
    ],
)
async def test_the_token_endpoint_refuses_unknown_clients(
    lgsp: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    answer = await lgsp.post("/token", data={"grant_type": "client_credentials"}, headers=headers)
    assert answer.status_code == 401
    assert answer.json() == {"error": "invalid_client"}


async def test_the_token_endpoint_wants_client_credentials(lgsp: httpx.AsyncClient) -> None:
    answer = await lgsp.post(
        "/token", data={"grant_type": "password"}, headers={"lgspaccesstoken": _partner_header()}
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"


async def test_calls_without_a_good_token_are_refused(
    lgsp: httpx.AsyncClient, clock: Clock
) -> None:
    identity = _partner_header()
    token = await _token(lgsp, lgspaccesstoken=identity)
    good = {"Authorization": f"Bearer {token}", "lgspaccesstoken": identity}
    cases: list[dict[str, str]] = [
        {},
        {"Authorization": "Bearer forged", "lgspaccesstoken": identity},
        {"Authorization": f"Bearer {token}"},  # the identity must come with the call too
        {"Authorization": f"Bearer {token}", "lgspaccesstoken": _partner_header(AppName="X")},
    ]
    for headers in cases:
        answer = await lgsp.get("/dancu/x", headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
    assert (await lgsp.get("/dancu/x", headers=good)).status_code == 200
    clock.now += 3600  # expired
    assert (await lgsp.get("/dancu/x", headers=good)).status_code == 401
    stats = (await lgsp.get("/_sandbox/stats")).json()
    assert stats["refused"] == {"dancu": 5}
    assert stats["relayed"] == {"dancu": 1}


async def test_revoked_tokens_and_faults(lgsp: httpx.AsyncClient) -> None:
    token = await _token(lgsp, Authorization=_basic(*CONSUMER))
    headers = {"Authorization": f"Bearer {token}"}
    assert (await lgsp.post("/_sandbox/revoke")).json() == {"revoked": 1}
    assert (await lgsp.get("/dancu/x", headers=headers)).status_code == 401

    await lgsp.put("/_sandbox/faults", json={"token_status": 503})
    answer = await lgsp.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": _basic(*CONSUMER)},
    )
    assert answer.status_code == 503
    await lgsp.put("/_sandbox/faults", json={"relay_status": 504, "token_lifetime_seconds": 60})
    token = await _token_with_lifetime(lgsp, 60)
    answer = await lgsp.get("/dancu/x", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 504
    assert (await lgsp.get("/_sandbox/stats")).json()["faults_injected"] == 2


async def _token_with_lifetime(lgsp: httpx.AsyncClient, seconds: int) -> str:
    answer = await lgsp.post(
        "/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": _basic(*CONSUMER)},
    )
    assert answer.json()["expires_in"] == seconds
    token: str = answer.json()["access_token"]
    return token


async def test_an_unknown_service_is_not_found(lgsp: httpx.AsyncClient) -> None:
    token = await _token(lgsp, Authorization=_basic(*CONSUMER))
    answer = await lgsp.get("/nowhere/x", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404


async def test_a_platform_that_breaks_is_a_bad_gateway() -> None:
    broken = FastAPI()

    @broken.get("/boom")
    async def boom() -> None:
        raise RuntimeError("the platform fell over")

    app = create_lgsp_app({"dvcqg": broken})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://lgsp"
    ) as lgsp:
        token = await _token(lgsp, Authorization=_basic(*CONSUMER))
        answer = await lgsp.get("/dvcqg/boom", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 502
