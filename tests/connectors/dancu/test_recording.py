"""What the exchange log and the logs keep of a population-database call.

The recorded attempt (the :class:`Crossing` the recording transport hands its sink) keeps the
envelope as sent, except the officer's credential (``AuthHash`` -> ``***``); no log line holds
an ID number in clear, a citizen's name, or an envelope, even at DEBUG.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
from collections.abc import AsyncIterator, Callable
from datetime import date

import httpx
import pytest
import structlog
from lxml import etree
from pydantic import SecretStr
from tenacity import wait_none

from connectors.dancu.client import DancuClient, OfficerCredential
from connectors.dancu.config import BUNDLED_WSDL, DancuConfig
from connectors.dancu.connector import DancuConnector
from connectors.dancu.models import YeuCauCongDan
from gateway.core.errors import GatewayError
from gateway.core.http.recording import AttemptContext, attempt_context, build_client
from gateway.core.log.exchange_log import Crossing
from tests.connectors.dancu import answers

ENDPOINT = "http://dancu.test/dancu/ws"
REQ_NS = "http://dancuquocgia.bca"
SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
USERNAME = "canbo.0042"
PASSWORD = "Mật-khẩu-7731"
USER_PASS = f"{USERNAME}:{PASSWORD}"
AUTH_HASH = base64.b64encode(USER_PASS.encode()).decode()
MA_HO_SO = "000.00.01.H22-240105-0007"
# a 12-digit run not preceded/followed by an alphanumeric: an ID number in clear
ID_IN_CLEAR = re.compile(r"(?<![0-9A-Za-z])[0-9]{12}(?![0-9A-Za-z])")

Respond = Callable[[httpx.Request], httpx.Response]


def ask() -> YeuCauCongDan:
    return YeuCauCongDan(
        so_dinh_danh=answers.SO_DINH_DANH,
        ho_va_ten=answers.HO_VA_TEN,
        ngay_sinh=date.fromisoformat(answers.NGAY_SINH),
        ma_tthc="1.001776",
        ma_ho_so=MA_HO_SO,
    )


def streamed(content: bytes, status: int = 200) -> httpx.Response:
    headers = {"Content-Type": "text/xml", "Content-Length": str(len(content))}
    return httpx.Response(status, headers=headers, stream=answers.Chunks(content))


def credential(username: str = USERNAME, password: str = PASSWORD) -> OfficerCredential:
    return OfficerCredential(ma_can_bo="CB-0042", username=username, password=SecretStr(password))


class Stand:
    """The platform (MockTransport) and the exchange log's sink, seen from the test."""

    def __init__(self, respond: Respond) -> None:
        self.respond = respond
        self.sent: list[httpx.Request] = []
        self.crossings: list[Crossing] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return self.respond(request)

    async def sink(self, crossing: Crossing) -> None:
        self.crossings.append(crossing)


@pytest.fixture
def stand() -> Stand:
    def respond(request: httpx.Request) -> httpx.Response:
        if "XacThuc" in request.headers.get("SOAPAction", ""):
            return streamed(answers.verify(ton_tai=True))
        return streamed(answers.lookup())

    return Stand(respond)


@pytest.fixture
async def http(stand: Stand) -> AsyncIterator[httpx.AsyncClient]:
    client = build_client(
        connector="dancu", sink=stand.sink, transport=httpx.MockTransport(stand.handle)
    )
    async with client:
        yield client


@pytest.fixture
def config() -> DancuConfig:
    return DancuConfig(endpoint_url=ENDPOINT)


@pytest.fixture
def client(config: DancuConfig, http: httpx.AsyncClient) -> DancuClient:
    return DancuClient(config, http, retry_wait=wait_none())


def assert_no_credential(data: bytes | str | None, *officers: OfficerCredential) -> None:
    text = data.decode() if isinstance(data, bytes) else (data or "")
    for officer in officers or (credential(),):
        password = officer.password.get_secret_value()
        assert officer.auth_hash() not in text
        assert f"{officer.username}:{password}" not in text
        assert password not in text


def recorded_auth_hash(crossing: Crossing) -> str | None:
    assert crossing.request is not None
    envelope = etree.fromstring(crossing.request)
    return envelope.findtext(f"{{{SOAP_NS}}}Header/{{{REQ_NS}}}AuthHash")


# --- the recorded attempt --------------------------------------------------------------------


async def test_the_recorded_request_is_the_envelope_without_the_credential(
    client: DancuClient, stand: Stand
) -> None:
    context = AttemptContext(
        operation="lookup_citizen",
        parent_id="01JEXCHANGE0042",
        officer_id="canbo.0042",
        purpose=f"1.001776 {MA_HO_SO}",
        ma_ho_so=MA_HO_SO,
    )
    with attempt_context(context):
        await client.lookup(ask(), credential())

    [sent] = stand.sent
    [crossing] = stand.crossings
    # the platform got the credential; the record has *** in its place and nothing else changed
    assert AUTH_HASH.encode() in sent.content
    assert crossing.request == sent.content.replace(AUTH_HASH.encode(), b"***")
    assert recorded_auth_hash(crossing) == "***"
    assert_no_credential(crossing.request)
    assert_no_credential(crossing.detail)
    request = crossing.request or b""
    for kept in (
        b"<ns0:MaYeuCau>01JEXCHANGE0042</ns0:MaYeuCau>",
        b"<ns0:MaCanBo>CB-0042</ns0:MaCanBo>",
        answers.SO_DINH_DANH.encode(),
        b"NGUYEN VAN DUC",
        b"19900517",
    ):
        assert kept in request
    assert crossing.kind == "attempt"
    assert crossing.connector == "dancu"
    assert crossing.operation == "lookup_citizen:TraCuuThongTinCongDan"
    assert crossing.outcome == "answered"
    assert crossing.status_code == 200
    assert crossing.response == answers.lookup()
    assert (crossing.parent_id, crossing.officer_id, crossing.ma_ho_so) == (
        "01JEXCHANGE0042",
        "canbo.0042",
        MA_HO_SO,
    )
    assert crossing.purpose == f"1.001776 {MA_HO_SO}"
    assert crossing.detail == f"POST {ENDPOINT}"


async def test_the_operation_is_named_after_the_soap_action(
    client: DancuClient, stand: Stand
) -> None:
    await client.lookup(ask(), credential())
    with attempt_context(AttemptContext(operation="verify_citizen")):
        await client.verify(ask(), credential())

    assert [c.operation for c in stand.crossings] == [
        "unscoped:TraCuuThongTinCongDan",
        "verify_citizen:XacThucThongTinCongDan",
    ]
    assert all(recorded_auth_hash(c) == "***" for c in stand.crossings)


async def test_every_retried_attempt_is_recorded_redacted(config: DancuConfig) -> None:
    answers_in_turn = iter([answers.lookup("009"), answers.lookup("008"), answers.lookup()])
    stand = Stand(lambda _: streamed(next(answers_in_turn)))
    config = DancuConfig(endpoint_url=ENDPOINT, read_retry_attempts=3)
    async with build_client(
        connector="dancu", sink=stand.sink, transport=httpx.MockTransport(stand.handle)
    ) as http:
        client = DancuClient(config, http, retry_wait=wait_none())
        with attempt_context(AttemptContext(operation="lookup_citizen", parent_id="EX-7")):
            await client.lookup(ask(), credential())

    assert len(stand.crossings) == 3
    for crossing in stand.crossings:
        assert recorded_auth_hash(crossing) == "***"
        assert_no_credential(crossing.request)
        assert crossing.parent_id == "EX-7"
    assert [c.response for c in stand.crossings][-1] == answers.lookup()


async def test_concurrent_officers_each_have_their_own_credential_redacted(
    client: DancuClient, stand: Stand
) -> None:
    officers = [credential(f"canbo.{i:04d}", f"Mật-khẩu-{i:04d}-xyz") for i in range(8)]

    await asyncio.gather(*(client.lookup(ask(), o) for o in officers))

    assert len(stand.crossings) == len(officers)
    for crossing in stand.crossings:
        assert recorded_auth_hash(crossing) == "***"
        assert_no_credential(crossing.request, *officers)
    # while each officer's own hash did go out
    sent = sorted(
        etree.fromstring(r.content).findtext(f"{{{SOAP_NS}}}Header/{{{REQ_NS}}}AuthHash") or ""
        for r in stand.sent
    )
    assert sent == sorted(o.auth_hash() for o in officers)


async def test_a_refused_call_is_recorded_redacted_too(config: DancuConfig) -> None:
    echo = f"AuthHash {AUTH_HASH} ({USER_PASS}) is not valid"
    stand = Stand(lambda _: streamed(answers.lookup("002", message=echo)))
    async with build_client(
        connector="dancu", sink=stand.sink, transport=httpx.MockTransport(stand.handle)
    ) as http:
        client = DancuClient(config, http, retry_wait=wait_none())
        with pytest.raises(GatewayError) as caught:
            await client.lookup(ask(), credential())

    [crossing] = stand.crossings
    assert recorded_auth_hash(crossing) == "***"
    assert_no_credential(crossing.request)
    # what the platform said is kept as it said it (encrypted in the exchange log)
    assert crossing.response == answers.lookup("002", message=echo)
    assert_no_credential(str(caught.value))


async def test_the_health_check_is_recorded_as_a_wsdl_fetch(config: DancuConfig) -> None:
    stand = Stand(lambda _: streamed(BUNDLED_WSDL.read_bytes()))
    async with build_client(
        connector="dancu", sink=stand.sink, transport=httpx.MockTransport(stand.handle)
    ) as http:
        result = await DancuConnector(config, http).check()

    assert result.ok, result.detail
    [crossing] = stand.crossings
    assert crossing.operation == "unscoped:wsdl"
    assert crossing.outcome == "answered"
    assert crossing.request == b""
    assert [r.method for r in stand.sent] == ["GET"]


# --- logs ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("logging_at_debug")
async def test_no_log_line_holds_an_id_number_a_name_or_an_envelope(
    config: DancuConfig, capfd: pytest.CaptureFixture[str]
) -> None:
    structlog.get_logger("test").warning("dancu.marker", note="start")
    hostile = iter([answers.xxe(), answers.billion_laughs(), answers.lookup("004")])
    first_sink_call = [True]

    async def sink(crossing: Crossing) -> None:
        # the exchange log fails once: the transport logs that loudly
        if first_sink_call[0]:
            first_sink_call[0] = False
            raise RuntimeError("exchange log unavailable")

    def respond(request: httpx.Request) -> httpx.Response:
        if "XacThuc" in request.headers.get("SOAPAction", ""):
            return streamed(answers.verify(ton_tai=False))
        try:
            return streamed(next(hostile))
        except StopIteration:
            return streamed(answers.lookup())

    async with build_client(
        connector="dancu", sink=sink, transport=httpx.MockTransport(respond)
    ) as http:
        # built under DEBUG: zeep parses the WSDL with its loggers at WARNING
        client = DancuClient(DancuConfig(endpoint_url=ENDPOINT, read_retry_attempts=1), http)
        with attempt_context(AttemptContext(operation="lookup_citizen", officer_id="canbo.0042")):
            for _ in range(3):
                with pytest.raises(GatewayError):
                    await client.lookup(ask(), credential())
            citizen = await client.lookup(ask(), credential())
            verdict = await client.verify(ask(), credential())
    assert citizen.so_dinh_danh == answers.SO_DINH_DANH
    assert verdict.khop is False

    captured = capfd.readouterr()
    out = captured.out + captured.err
    assert "dancu.marker" in out  # the capture works
    assert "exchange_log_write_failed" in out  # and holds the lines of these calls
    assert ID_IN_CLEAR.findall(out) == []
    for private in (
        answers.SO_DINH_DANH,
        "NGUYEN VAN DUC",
        "Nguyễn",
        "Đức",
        "19900517",
        # pieces of an envelope (the traceback above quotes our source, which names elements)
        "soap-env:",
        "<soap:",
        "<ns0:",
        "<dc:",
    ):
        assert private not in out, private
    assert_no_credential(out)


@pytest.mark.usefixtures("logging_at_debug")
def test_zeep_loggers_stay_quiet_at_debug() -> None:
    assert logging.getLogger().isEnabledFor(logging.DEBUG)
    for name in (
        "zeep",
        "zeep.transports",
        "zeep.wsdl",
        "zeep.wsdl.bindings.soap",
        "zeep.xsd",
        "zeep.xsd.schema",
    ):
        assert not logging.getLogger(name).isEnabledFor(logging.DEBUG), name
        assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
