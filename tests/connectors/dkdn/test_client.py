"""The business-register client against scripted answers (respx): the NGSP token fetched once,
cached and renewed on refusal; retries of transient failures, bounded; malformed answers named;
the consumer secret and the token kept out of the exchange log and of every error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from tenacity import wait_none

from connectors.dkdn.client import DkdnClient
from connectors.dkdn.config import DkdnConfig
from connectors.dkdn.errors import EnterpriseCodeRefused, MalformedAnswer
from gateway.core.errors import (
    InvalidInput,
    PermanentUpstreamError,
    TransientUpstreamError,
    UpstreamAuthError,
)
from gateway.core.http.recording import build_client
from gateway.core.log.exchange_log import Crossing

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "dkdn"
BASE = "http://register.test"
PATH = "/apiCSDLDKDN/1.0/chiTietDoanhNghiep"
CODE = "2801234567"
SECRET = "Client-Secret-9c1e77"
TOKEN = "tok-5a0f-golden"


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


_OPEN: list[httpx.AsyncClient] = []
_ROUTER: list[respx.MockRouter] = []


def client_for(clock: Clock | None = None, **overrides: Any) -> tuple[DkdnClient, list[Crossing]]:
    """A client over the recording transport (its crossings kept) in front of the scripted
    register, as the gateway builds it."""
    recorded: list[Crossing] = []

    async def sink(crossing: Crossing) -> None:
        recorded.append(crossing)

    transport = httpx.MockTransport(_ROUTER[-1].async_handler)
    http = build_client(connector="dkdn", sink=sink, transport=transport)
    _OPEN.append(http)
    config = DkdnConfig.model_validate({"base_url": BASE, "consumer_secret": SECRET, **overrides})
    return DkdnClient(config, http, retry_wait=wait_none(), clock=clock or Clock()), recorded


@pytest.fixture
async def mock() -> Any:
    router = respx.MockRouter(base_url=BASE, assert_all_called=False)
    router.post("/token").respond(
        200, json={"access_token": TOKEN, "token_type": "bearer", "expires_in": 600}
    )
    _ROUTER.append(router)
    yield router
    _ROUTER.pop()
    while _OPEN:
        await _OPEN.pop().aclose()


async def test_found_active_enterprise(mock: respx.MockRouter) -> None:
    mock.get(PATH).respond(200, json=golden("ngsp/answer-active.json"))
    client, _ = client_for()
    found = await client.lookup(CODE)
    assert found is not None
    assert found.tinh_trang.trang_thai == "active"
    assert [n.ma for n in found.nganh_nghe if n.chinh] == ["4690"]
    request = mock.routes[1].calls.last.request
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.url.params["msdn"] == CODE


async def test_not_found_is_an_answer(mock: respx.MockRouter) -> None:
    mock.get(PATH).respond(200, json={"Data": {}})
    client, _ = client_for()
    assert await client.lookup(CODE) is None
    mock.get(PATH).respond(200, json={"Data": None})
    assert await client.lookup(CODE) is None


async def test_the_token_is_cached_and_renewed_before_it_expires(mock: respx.MockRouter) -> None:
    mock.get(PATH).respond(200, json={"Data": {}})
    clock = Clock()
    client, _ = client_for(clock)
    await client.lookup(CODE)
    await client.lookup(CODE)
    assert client.tokens_fetched == 1
    clock.now += 600 - 59  # inside the renewal margin (60 s)
    await client.lookup(CODE)
    assert client.tokens_fetched == 2


async def test_a_refused_token_is_renewed_once(mock: respx.MockRouter) -> None:
    route = mock.get(PATH)
    route.side_effect = [httpx.Response(401), httpx.Response(200, json={"Data": {}})]
    client, _ = client_for()
    assert await client.lookup(CODE) is None
    assert client.tokens_fetched == 2
    route.side_effect = None
    route.respond(401)
    with pytest.raises(UpstreamAuthError):
        await client.lookup(CODE)


async def test_refused_consumer_key_is_an_auth_error(mock: respx.MockRouter) -> None:
    mock.post("/token").respond(401, json={"error": "invalid_client"})
    client, _ = client_for()
    with pytest.raises(UpstreamAuthError) as caught:
        await client.lookup(CODE)
    assert SECRET not in str(caught.value)


async def test_5xx_then_recovery_is_retried(mock: respx.MockRouter) -> None:
    route = mock.get(PATH)
    route.side_effect = [
        httpx.Response(503),
        httpx.ConnectError("refused"),
        httpx.Response(200, json=golden("ngsp/answer-active.json")),
    ]
    client, recorded = client_for()
    found = await client.lookup(CODE)
    assert found is not None
    assert route.call_count == 3
    lookups = [c for c in recorded if c.operation.endswith("dkdn.lookup_enterprise")]
    assert len(lookups) == 3


async def test_retries_are_bounded(mock: respx.MockRouter) -> None:
    route = mock.get(PATH).respond(502)
    client, _ = client_for(read_retry_attempts=2)
    with pytest.raises(TransientUpstreamError):
        await client.lookup(CODE)
    assert route.call_count == 2


async def test_rate_limit_is_transient(mock: respx.MockRouter) -> None:
    mock.get(PATH).respond(429, headers={"Retry-After": "3"})
    client, _ = client_for(read_retry_attempts=1)
    with pytest.raises(TransientUpstreamError) as caught:
        await client.lookup(CODE)
    assert caught.value.retry_after == 3


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"<html>502</html>", "(body)"),
        (b"[]", "(body)"),
        (b'{"Data": {"MainInformation": {"NAME": {"x": 1}}}}', "Data.MainInformation.NAME"),
        (
            b'{"Data": {"MainInformation": {"ENTERPRISE_GDT_CODE": "2801234567", "NAME": "A",'
            b' "FOUNDING_DATE": "soon"}}}',
            "Data.MainInformation.FOUNDING_DATE",
        ),
        (b'{"Data": {"MainInformation": {"NAME": "A"}}}', "ENTERPRISE_GDT_CODE"),
        (
            b'{"Data": {"MainInformation": {"ENTERPRISE_GDT_CODE": "2809999999", "NAME": "A"}}}',
            "Data.MainInformation.ENTERPRISE_GDT_CODE",
        ),
    ],
)
async def test_malformed_answers_name_the_field(
    mock: respx.MockRouter, body: bytes, field: str
) -> None:
    mock.get(PATH).respond(200, content=body)
    client, _ = client_for(read_retry_attempts=1)
    with pytest.raises(MalformedAnswer) as caught:
        await client.lookup(CODE)
    assert caught.value.status == 502
    assert caught.value.errors[0].loc == field


async def test_a_bad_code_is_refused_before_anything_is_sent(mock: respx.MockRouter) -> None:
    client, recorded = client_for()
    for code in ("123", "28012345678", "2801234567-1", " 2801234567", "2801234567-0011"):
        with pytest.raises(InvalidInput) as caught:
            await client.lookup(code)
        assert caught.value.errors[0].loc == "ma_so_doanh_nghiep"
    assert recorded == []


async def test_the_register_refusing_the_code(mock: respx.MockRouter) -> None:
    mock.get(PATH).respond(400, json={"error": "invalid msdn"})
    client, _ = client_for()
    with pytest.raises(EnterpriseCodeRefused):
        await client.lookup(CODE)
    mock.get(PATH).respond(404)
    with pytest.raises(PermanentUpstreamError):
        await client.lookup(CODE)


async def test_through_the_lgsp_no_token_of_ours(mock: respx.MockRouter) -> None:
    route = mock.get(PATH).respond(200, json={"Data": {}})
    client, _ = client_for(transport="lgsp")
    assert await client.lookup(CODE) is None
    assert "Authorization" not in route.calls.last.request.headers
    assert client.tokens_fetched == 0


async def test_entcert_profile_sends_no_token(mock: respx.MockRouter) -> None:
    route = mock.get("/apiDKKD/DoanhNghiep/chiTietDoanhNghiep").respond(
        200, json=golden("entcert/answer-suspended.json")
    )
    client, _ = client_for(profile="lgsp-entcert")
    found = await client.lookup("2802345678")
    assert found is not None
    assert found.tinh_trang.trang_thai == "suspended"
    assert found.tinh_trang.tam_ngung_den is not None
    assert "Authorization" not in route.calls.last.request.headers


async def test_hcm_envelope_failure_is_transient_and_the_access_key_is_sent(
    mock: respx.MockRouter,
) -> None:
    route = mock.get("/TraCuuThongTinDoanhNghiep")
    route.side_effect = [
        httpx.Response(200, json={"StatusCode": 500, "Status": "FAIL", "ThrowException": True}),
        httpx.Response(200, json=golden("hcm/answer-not-found.json")),
    ]
    client, _ = client_for(profile="lgsp-hcm", access_key="eyJBY2Nlc3NLZXkiOiJ4In0=")
    assert await client.lookup("0312345678-001") is None
    assert route.calls.last.request.headers["Authorization"] == "eyJBY2Nlc3NLZXkiOiJ4In0="


async def test_the_status_table_is_configurable(mock: respx.MockRouter) -> None:
    answer = golden("ngsp/answer-dissolved.json")
    mock.get(PATH).respond(200, json=answer)
    client, _ = client_for(status_codes={"ACT": "active", "GT": "dissolved"})
    found = await client.lookup("2801234568")
    assert found is not None
    assert found.tinh_trang.trang_thai == "unknown"  # DIS is not in this table
    assert found.tinh_trang.con_hoat_dong is False


async def test_secret_and_token_stay_out_of_the_exchange_log(mock: respx.MockRouter) -> None:
    mock.get(PATH).respond(200, json={"Data": {}})
    client, recorded = client_for()
    await client.lookup(CODE)
    token_entry = next(c for c in recorded if c.operation.endswith("dkdn.token"))
    text = b"".join((c.request or b"") + (c.response or b"") for c in recorded)
    assert SECRET.encode() not in text
    assert TOKEN.encode() not in text
    assert b"***" in (token_entry.response or b"")


async def test_an_answer_past_the_bound_is_refused(mock: respx.MockRouter) -> None:
    mock.get(PATH).respond(200, content=b'{"Data": {"x": "' + b"a" * 5000 + b'"}}')
    client, _ = client_for(max_answer_bytes=4096, read_retry_attempts=1)
    with pytest.raises(TransientUpstreamError):
        await client.lookup(CODE)


async def test_a_timeout_is_retried(mock: respx.MockRouter) -> None:
    route = mock.get(PATH)
    route.side_effect = [httpx.ReadTimeout("slow"), httpx.Response(200, json={"Data": {}})]
    client, recorded = client_for()
    assert await client.lookup(CODE) is None
    assert route.call_count == 2
    outcomes = [c.outcome for c in recorded if c.operation.endswith("lookup_enterprise")]
    assert outcomes == ["error:ReadTimeout", "answered"]
