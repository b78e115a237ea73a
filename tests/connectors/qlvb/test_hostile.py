"""Hostile input to the document management routes and callback (adversarial review, issue 23):
every refusal is problem+json naming the field, recorded, and changes nothing; never a 500."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from tenacity import wait_none

from connectors.qlvb.client import QlvbClient
from connectors.qlvb.config import QlvbConfig
from connectors.qlvb.connector import QlvbConnector
from connectors.qlvb.mapping import VanBanGui
from connectors.qlvb.routes import (
    CALLBACK_EXAMPLE,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    callback_signature,
)
from gateway.core.errors import GatewayError, InvalidUpstreamAnswer
from gateway.core.http.recording import build_client
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry, OutboxItem
from tests.conftest import bearer
from tests.connectors.qlvb.support import CALLBACK, DOCUMENTS, Axis, axis_of, document

SECRET = b"sandbox-qlvb-callback"


@pytest.fixture
async def headers(gateway: Gateway) -> dict[str, str]:
    return await bearer(gateway, "qlvb:send", "qlvb:read")


async def counts(gw: Gateway) -> tuple[int, int]:
    async with gw.db.transaction() as session:
        outbox = await session.scalar(select(func.count()).select_from(OutboxItem))
        refusals = await session.scalar(
            select(func.count()).select_from(ExchangeEntry).where(ExchangeEntry.kind == "refusal")
        )
    return int(outbox or 0), int(refusals or 0)


def problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"trich_yeu": "V/v hồ sơ\x00"}, "trich_yeu"),
        ({"noi_ban_hanh": "Phú\x01Thọ"}, "noi_ban_hanh"),
        ({"noi_dung": "a\x0bb"}, "noi_dung"),
        ({"nguoi_ky": {"ho_ten": "Trần\x00Bình"}}, "nguoi_ky.ho_ten"),
        ({"nguoi_ky": {"ho_ten": "Bình", "chuc_vu": "\ufffe"}}, "nguoi_ky.chuc_vu"),
    ],
)
async def test_text_xml_cannot_carry_is_refused_naming_the_field(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    overrides: dict[str, Any],
    field: str,
) -> None:
    before = await counts(gateway)
    r = await api.post(DOCUMENTS, json=document(**overrides), headers=headers)
    body = problem(r, 422)
    assert any(e["loc"].removeprefix("body.") == field for e in body["errors"]), body
    outbox, refusals = await counts(gateway)
    assert (outbox, refusals) == (before[0], before[1] + 1)


async def test_a_lone_surrogate_is_refused_not_a_500(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str]
) -> None:
    raw = httpx.Request("POST", "http://x", json=document()).content
    raw = raw.replace(b'"Ph\\u00fa Th\\u1ecd"', b'"\\ud800"').replace(
        "Phú Thọ".encode(), b"\\ud800"
    )
    assert b"\\ud800" in raw
    r = await api.post(
        DOCUMENTS, content=raw, headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "signature",
    ["é" * 64, "\u00ff" + "0" * 63, "zz", " " * 64],
)
async def test_a_forged_signature_of_any_shape_is_401(
    api: httpx.AsyncClient, gateway: Gateway, signature: str
) -> None:
    stamp = str(int(time.time()))
    r = await api.post(
        CALLBACK,
        content=b"<edXML/>",
        headers={
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: signature.encode("latin-1"),  # type: ignore[dict-item]
            "Content-Type": "application/xml",
        },
    )
    problem(r, 401)


# "an hour ago" is computed in the test: a value of the wall clock in the parameters would
# differ between the xdist workers that collect them
@pytest.mark.parametrize(
    "stamp", ["", "-1", "1e9", "\u00b2\u00b3", "0", "99999999999", "an hour ago"]
)
async def test_missing_odd_or_stale_timestamps_are_401(
    api: httpx.AsyncClient, gateway: Gateway, stamp: str
) -> None:
    if stamp == "an hour ago":
        stamp = str(int(time.time()) - 3600)
    body = b"<edXML/>"
    r = await api.post(
        CALLBACK,
        content=body,
        headers={
            TIMESTAMP_HEADER: stamp.encode("latin-1"),  # type: ignore[dict-item]
            SIGNATURE_HEADER: callback_signature(SECRET, stamp, body) if stamp.isascii() else "0",
            "Content-Type": "application/xml",
        },
    )
    problem(r, 401)


@pytest.mark.parametrize(
    "path",
    [
        "000.00.01.H22-240105-0007%2F..%2Fx",
        "..%2F..%2Fadmin",
        "%00",
        "000.00.01.H22-240105-0007%00",
        "x" * 5000,
    ],
)
async def test_odd_dossier_codes_in_the_path_are_refused(
    api: httpx.AsyncClient, gateway: Gateway, headers: dict[str, str], path: str
) -> None:
    r = await api.get(f"{DOCUMENTS}/{path}", headers=headers)
    assert r.status_code in (404, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"", "application/json"),
        (b"null", "application/json"),
        (b"[]", "application/json"),
        (b"{", "application/json"),
        (b"<x/>", "application/xml"),
        (b'{"ma_ho_so": 1}', "text/plain"),
    ],
)
async def test_empty_or_foreign_bodies_are_422(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    content: bytes,
    ctype: str,
) -> None:
    before = await counts(gateway)
    r = await api.post(DOCUMENTS, content=content, headers={**headers, "Content-Type": ctype})
    problem(r, 422)
    assert (await counts(gateway))[0] == before[0]


def signed(body: bytes) -> dict[str, str]:
    stamp = str(int(time.time()))
    return {
        TIMESTAMP_HEADER: stamp,
        SIGNATURE_HEADER: callback_signature(SECRET, stamp, body),
        "Content-Type": "application/xml",
    }


@pytest.fixture
def sent(app: Any, sandbox_app: Any, platform: httpx.AsyncClient) -> Axis:
    """The axis, pushing into the gateway (the example's document is sent by the test)."""
    axis = axis_of(sandbox_app, platform)
    axis.push_into(app)
    return axis


async def send_example(
    api: httpx.AsyncClient, app: Any, headers: dict[str, str], axis: Axis
) -> None:
    """The document CALLBACK_EXAMPLE reports on, delivered to the axis."""
    r = await api.post(DOCUMENTS, json=document(), headers=headers)
    assert r.status_code == 202, r.text
    while await app.state.delivery.run_once():
        await axis.pusher.drain()


@pytest.mark.parametrize(
    "stamp",
    [
        "0001/01/01 00:00:00",
        "9999/12/31 23:59:59",
        "2024/02/30 10:00:00",
        "2024/01/05 25:61:00",
        "",
        "x" * 10_000,
    ],
)
async def test_a_status_at_an_absurd_time_is_refused_not_a_500(
    api: httpx.AsyncClient,
    app: Any,
    gateway: Gateway,
    headers: dict[str, str],
    sent: Axis,
    stamp: str,
) -> None:
    await send_example(api, app, headers, sent)
    body = CALLBACK_EXAMPLE.replace("2024/01/05 13:30:00", stamp).encode()
    r = await api.post(CALLBACK, content=body, headers=signed(body))
    problem(r, 422)
    r = await api.get(f"{DOCUMENTS}/000.00.01.H22-240105-0007", headers=headers)
    assert r.json()["documents"][0]["recipients"][0]["history"] == []


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&x;</edXML>',
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        b'<edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">&b;</edXML>',
        b'<?xml version="1.0" encoding="UTF-16"?><edXML/>',
        b"\xef\xbb\xbf<edXML xmlns='http://www.mic.gov.vn/TBT/QCVN_102_2016'>\x00</edXML>",
        b"",
        CALLBACK_EXAMPLE.encode().replace(b"<edXML:StatusCode>05", b"<edXML:StatusCode>99"),
        CALLBACK_EXAMPLE.encode().replace(b"<edXML:StatusCode>05", b"<edXML:StatusCode>\xff"),
    ],
)
async def test_signed_but_dangerous_or_invalid_packages_are_422(
    api: httpx.AsyncClient, gateway: Gateway, body: bytes
) -> None:
    before = await counts(gateway)
    r = await api.post(CALLBACK, content=body, headers=signed(body))
    problem(r, 422)
    assert (await counts(gateway))[1] == before[1] + 1


async def test_a_package_past_the_bound_is_refused(
    api: httpx.AsyncClient, gateway: Gateway
) -> None:
    from tests.connectors.qlvb.support import connector_of

    bound = connector_of(gateway).config.max_package_bytes
    body = CALLBACK_EXAMPLE.encode().replace(
        b"</edXML:Description>", b" " * (bound + 1) + b"</edXML:Description>"
    )
    r = await api.post(CALLBACK, content=body, headers=signed(body))
    assert r.status_code in (413, 422), r.text
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"ma_ho_so": "000.00.01.H22-240105-000\u0667"}, "ma_ho_so"),
        ({"ma_ho_so": "\uff10\uff10\uff10.00.01.H22-240105-0007"}, "ma_ho_so"),
        ({"ma_co_quan_nhan": ["\uff10\uff10\uff10.00.12.H22"]}, "ma_co_quan_nhan"),
        ({"so_van_ban": "12\x015"}, "so_van_ban"),
        ({"ky_hieu": "TTHCC\x7f-MC\ufffe"}, "ky_hieu"),
    ],
)
async def test_codes_in_foreign_digits_or_controls_are_refused(
    api: httpx.AsyncClient,
    gateway: Gateway,
    headers: dict[str, str],
    overrides: dict[str, Any],
    field: str,
) -> None:
    r = await api.post(DOCUMENTS, json=document(**overrides), headers=headers)
    body = problem(r, 422)
    # the patterns take ASCII digits only ([0-9]; \d would take any Unicode digit); an item
    # of a list is named with its index (ma_co_quan_nhan[0])
    assert any(e["loc"].removeprefix("body.").partition("[")[0] == field for e in body["errors"]), (
        body
    )


@pytest.mark.parametrize("secret", ["", "short-key"])
def test_an_empty_or_short_callback_secret_is_refused_without_quoting_it(secret: str) -> None:
    with pytest.raises(ValidationError) as caught:
        QlvbConfig.model_validate({"callback_secret": secret})
    assert caught.value.errors()[0]["loc"] == ("callback_secret",)
    if secret:
        assert secret not in caught.value.errors()[0]["msg"]


AXIS = "http://axis.test"


async def axis_answering(answer: httpx.Response) -> tuple[QlvbClient, QlvbConnector]:
    async def sink(_crossing: Any) -> None:
        return None

    http = build_client(
        connector="qlvb", sink=sink, transport=httpx.MockTransport(lambda _request: answer)
    )
    config = QlvbConfig.model_validate({"base_url": AXIS})
    return QlvbClient(config, http, retry_wait=wait_none()), QlvbConnector(config, http)


@pytest.mark.parametrize("doc_id", ["vxp\u0000001", "vxp\n001", "vxp 001", "vxp-\u00e9"])
@pytest.mark.parametrize("code", ["", "DUPLICATE"])
async def test_an_axis_id_that_is_not_printable_ascii_is_not_trusted(
    doc_id: str, code: str
) -> None:
    client, connector = await axis_answering(
        httpx.Response(200, json={"status": "OK", "ErrorCode": code, "DocID": doc_id})
    )
    data = connector.package(VanBanGui.model_validate(document()))
    with pytest.raises(InvalidUpstreamAnswer):
        await client.send_edoc(data)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text=""),
        httpx.Response(200, text="<html><body>Đăng nhập</body></html>"),
        httpx.Response(200, json={"status": 1}),
        httpx.Response(200, json=[{"status": "OK"}]),
        httpx.Response(200, json={"status": "OK", "DocID": "x" * 101}),
        httpx.Response(200, json={"status": "OK", "ErrorCode": "", "DocID": ""}),
        httpx.Response(200, json={"status": "FAIL", "ErrorCode": "\u0000" * 5}),
    ],
)
async def test_malformed_send_answers_are_upstream_errors(answer: httpx.Response) -> None:
    client, connector = await axis_answering(answer)
    data = connector.package(VanBanGui.model_validate(document()))
    with pytest.raises(GatewayError) as caught:
        await client.send_edoc(data)
    assert caught.value.status >= 500 or caught.value.status == 422


async def test_a_replayed_callback_changes_nothing(
    api: httpx.AsyncClient, app: Any, gateway: Gateway, headers: dict[str, str], sent: Axis
) -> None:
    await send_example(api, app, headers, sent)
    body = CALLBACK_EXAMPLE.encode()
    stamped = signed(body)
    first = await api.post(CALLBACK, content=body, headers=stamped)
    assert first.status_code == 200, first.text
    view = (await api.get(f"{DOCUMENTS}/000.00.01.H22-240105-0007", headers=headers)).json()
    for _ in range(3):
        again = await api.post(CALLBACK, content=body, headers=stamped)
        assert again.json() == {"status": "OK", "ErrorDesc": ""}
    after = (await api.get(f"{DOCUMENTS}/000.00.01.H22-240105-0007", headers=headers)).json()
    assert after == view
    assert len(after["documents"][0]["recipients"][0]["history"]) == 1
