"""The officer named by ``X-Officer-Id`` is matched exactly or refused (seed 004, Điều 8): never
cut to length, folded in case, or taken for a Unicode look-alike (issue 15)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry
from tests.conftest import bearer
from tests.officer_factories import register_officer

LOOKUP = "/v1/dancu/citizens/lookup"
LONG_LOGIN = "c" + "a" * 63  # the longest login there is: 64 characters
SHORT_LOGIN = "canbo.001"
BODY = {
    "so_dinh_danh": "001090000001",
    "ho_va_ten": "NGUYEN VAN AN",
    "ngay_sinh": "1990-01-01",
    "ma_tthc": "1.001776",
    "ma_ho_so": "000.00.01.H22-240105-0007",
}


async def _platform_calls(sandbox_app: Any) -> int:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sandbox_app), base_url="http://sandbox"
    ) as sandbox:
        stats = (await sandbox.get("/dancu/_sandbox/stats")).json()
    return int(stats["received"])


@pytest.fixture
async def client_headers(gateway: Gateway) -> dict[str, str]:
    await register_officer(gateway, 1, tai_khoan=SHORT_LOGIN)
    await register_officer(gateway, 2, tai_khoan=LONG_LOGIN)
    return await bearer(gateway, "dancu:lookup")


@pytest.mark.parametrize(
    "claimed",
    [
        pytest.param(LONG_LOGIN + "x", id="longer-than-64-starting-with-a-login"),
        pytest.param(LONG_LOGIN + "a" * 200, id="far-longer"),
        pytest.param(SHORT_LOGIN + "x", id="suffix"),
        pytest.param("x" + SHORT_LOGIN, id="prefix"),
        pytest.param(SHORT_LOGIN[:-1], id="truncated"),
        pytest.param("CANBO.001", id="upper-case"),
        pytest.param("Canbo.001", id="mixed-case"),
        pytest.param("canbo .001", id="inner-space"),
        pytest.param("c\u0430nbo.001", id="cyrillic-a"),
        pytest.param("canbo\u2024001", id="one-dot-leader"),
        pytest.param("\uff43anbo.001", id="fullwidth-c"),
        pytest.param("canbo.001\u200b", id="zero-width-space"),
        pytest.param("canbo.00\u0661", id="arabic-indic-digit"),
    ],
)
async def test_an_officer_id_that_is_not_exactly_a_login_is_refused(
    api: httpx.AsyncClient,
    gateway: Gateway,
    sandbox_app: Any,
    client_headers: dict[str, str],
    claimed: str,
) -> None:
    # sent as its UTF-8 bytes, as a client would put it on the wire
    headers: dict[str, Any] = {**client_headers, "X-Officer-Id": claimed.encode("utf-8")}
    answer = await api.post(LOOKUP, json=BODY, headers=headers)
    assert answer.status_code == 403, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in answer.json()["errors"]] == ["X-Officer-Id"]
    assert await _platform_calls(sandbox_app) == 0
    async with gateway.db.transaction() as session:
        refusal = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == answer.json()["exchange_id"])
        )
    assert refusal is not None
    # the refusal is kept, never under the officer the id resembles: under the id itself
    # when it is a well-formed login of nobody, else under no officer
    assert refusal.officer_id not in (SHORT_LOGIN, LONG_LOGIN)
    assert refusal.officer_id in (None, claimed)
    if not claimed.isascii():
        assert refusal.officer_id is None


@pytest.mark.parametrize("login", [SHORT_LOGIN, LONG_LOGIN])
async def test_the_exact_login_is_taken(
    api: httpx.AsyncClient, sandbox_app: Any, client_headers: dict[str, str], login: str
) -> None:
    # surrounding blanks are not part of an HTTP field value (RFC 9110 §5.5)
    headers = {**client_headers, "X-Officer-Id": f" {login}\t"}
    answer = await api.post(LOOKUP, json=BODY, headers=headers)
    # the officer passed: whatever the platform answers, it was asked
    assert answer.status_code != 403, answer.text
    assert await _platform_calls(sandbox_app) >= 1
