"""Hostile input refused before any route reads it (gateway.api.hostile): a 422 problem naming
the field, recorded, nothing changed; never a 500."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from connectors.postal.client import SIGNATURE_HEADER, TIMESTAMP_HEADER
from gateway.api.hostile import MAX_JSON_DEPTH, body_problems, is_json, query_problems
from gateway.core.clients import known_scopes
from gateway.core.errors import InvalidInput
from gateway.core.local_time import month_bounds, parse_day
from gateway.core.runtime import Gateway
from gateway.core.store.db import ExchangeEntry, OutboxItem
from tests.conftest import bearer
from tests.factories import dossier

DOSSIER_ROUTE = "/v1/dvcqg/dossiers"


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


HOSTILE_BODIES: list[tuple[str, str, bytes, str]] = [
    ("nested 5000 deep", "/callbacks/payment/dvcqg", _nested(5000), "body"),
    ("objects nested 40 deep", DOSSIER_ROUTE, b'{"a":' * 40 + b"1" + b"}" * 40, "body"),
    (
        "lone surrogate",
        DOSSIER_ROUTE,
        b'{"ma_ho_so": "x", "chu_ho_so": "A\\ud800B"}',
        "body.chu_ho_so",
    ),
    ("lone low surrogate", DOSSIER_ROUTE, b'{"trich_yeu": "\\udc00"}', "body.trich_yeu"),
    ("NUL in a field", DOSSIER_ROUTE, b'{"chu_ho_so": "Nguy\\u0000en"}', "body.chu_ho_so"),
    (
        "NUL in a fee line",
        DOSSIER_ROUTE,
        b'{"le_phi": [{"ten": "ok"}, {"ten": "L\\u0000"}]}',
        "body.le_phi[1].ten",
    ),
    ("NUL in a field name", DOSSIER_ROUTE, b'{"chu\\u0000": 1}', "body.chu\\x00"),
    ("not UTF-8", DOSSIER_ROUTE, b'{"chu_ho_so": "\xff\xfe"}', "body"),
    (
        "postal webhook",
        "/callbacks/postal/vnpost",
        b'{"OrderNumber": "\\u0000"}',
        "body.OrderNumber",
    ),
]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [pytest.param(p, b, f, id=name) for name, p, b, f in HOSTILE_BODIES],
)
async def test_hostile_bodies_are_refused_naming_the_field(
    api: httpx.AsyncClient, gateway: Gateway, path: str, body: bytes, field: str
) -> None:
    headers = {**await bearer(gateway, "dvcqg:sync"), "Content-Type": "application/json"}
    answer = await api.post(path, content=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["type"] == "urn:lgsp:problem:invalid-input"
    assert problem["errors"][0]["loc"] == field
    assert problem["exchange_id"]
    async with gateway.db.transaction() as session:
        refusal = await session.scalar(
            select(ExchangeEntry).where(ExchangeEntry.entry_id == problem["exchange_id"])
        )
        queued = await session.scalar(select(func.count()).select_from(OutboxItem))
    assert refusal is not None
    assert refusal.kind == "refusal"
    assert queued == 0  # nothing accepted


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("month=2026-%00", "query.month"),
        ("from=%ED%A0%80", "query"),  # a surrogate encoded in UTF-8: not UTF-8
        ("from=%FF", "query"),
        ("x%00y=1", "query.x\\x00y"),
    ],
)
async def test_hostile_query_strings_are_refused(
    api: httpx.AsyncClient, gateway: Gateway, query: str, field: str
) -> None:
    headers = await bearer(gateway, "ops:read")
    answer = await api.get(f"/v1/connectors?{query}", headers=headers)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["loc"] == field


async def test_ordinary_requests_pass_untouched(api: httpx.AsyncClient, gateway: Gateway) -> None:
    headers = await bearer(gateway, "ops:read")
    # paired surrogates (an emoji) and ordinary escapes are text, not hostile
    assert (await api.get("/v1/connectors?note=%F0%9F%98%80", headers=headers)).status_code == 200
    assert body_problems(b'{"a": "\\ud83d\\ude00 \\u00e9 \\\\u0000"}') == []


def test_depth_is_counted_outside_strings() -> None:
    deep_text = json.dumps({"s": "[" * 1000 + "{" * 1000})
    assert body_problems(deep_text.encode()) == []
    ok = b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH
    assert body_problems(ok) == []
    assert body_problems(b"[" + ok + b"]")[0].loc == "body"


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", b"{}", True),
        ("application/problem+json; charset=utf-8", b"{}", True),
        ("", b"  [1]", True),
        ("", b"a=1", False),
        ("application/x-www-form-urlencoded", b"{", False),
        ("text/xml", b"<a/>", False),
    ],
)
def test_which_bodies_are_read_as_json(content_type: str, body: bytes, expected: bool) -> None:
    assert is_json(content_type, body) is expected


def test_query_problems_name_each_parameter() -> None:
    found: list[Any] = query_problems(b"a=1&b=%00&c=ok&d=x%00")
    assert [e.loc for e in found] == ["query.b", "query.d"]


# --- edge values reaching the routes (each a 4xx problem naming the field, never a 500) ------

EDGE_QUERIES: list[tuple[str, str, str]] = [
    ("payment reconciliation, year 9999", "/v1/payments/reconciliation?date=9999-12-31", "date"),
    ("payment reconciliation, year 584", "/v1/payments/reconciliation?date=0584-10-23", "date"),
    ("postal reconciliation, year 9999", "/v1/postal/reconciliation?date=9999-12-31", "date"),
    ("usage, month 0000-01", "/v1/governance/usage?month=0000-01", "month"),
    ("usage, month 9999-12", "/v1/dancu/usage?month=9999-12", "month"),
    ("ratings, years 1 to 9999", "/v1/dvcqg/ratings?from=0001-01-01&to=9999-12-31", "from"),
    ("ratings, to year 9999", "/v1/dvcqg/ratings?from=2026-01-01&to=9999-12-31", "to"),
]


@pytest.mark.parametrize(
    ("path", "field"), [pytest.param(p, f, id=name) for name, p, f in EDGE_QUERIES]
)
async def test_dates_at_the_edge_are_refused_naming_the_field(
    api: httpx.AsyncClient, gateway: Gateway, path: str, field: str
) -> None:
    headers = await bearer(gateway, *known_scopes())
    answer = await api.get(path, headers=headers)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    locs = [e["loc"] for e in answer.json()["errors"]]
    assert any(loc.split(".")[-1] == field for loc in locs), locs


async def test_a_webhook_timestamp_of_unicode_digits_is_refused(
    api: httpx.AsyncClient, gateway: Gateway
) -> None:
    for stamp in ("\u00b2", "\u0661\u0662\u0663"):  # superscript two; Arabic-Indic 123
        answer = await api.post(
            "/callbacks/postal/vnpost",
            content=b'{"OrderNumber": "x"}',
            headers=[
                (b"Content-Type", b"application/json"),
                (TIMESTAMP_HEADER.encode(), stamp.encode()),
                (SIGNATURE_HEADER.encode(), b"00"),
            ],
        )
        assert answer.status_code == 401, answer.text
        assert answer.headers["content-type"] == "application/problem+json"


def test_days_are_parsed_strictly_within_range() -> None:
    assert parse_day("2026-03-31") == date(2026, 3, 31)
    for text, message in [
        ("20260331", "YYYY-MM-DD"),
        ("2026-02-30", "no such day"),
        ("9999-12-31", "must be within"),
        ("0584-10-23", "must be within"),
    ]:
        with pytest.raises(InvalidInput) as info:
            parse_day(text)
        assert message in info.value.errors[0].msg
    with pytest.raises(InvalidInput):
        month_bounds("0000-01")
    start, end = month_bounds("2099-12")
    assert end > start


# --- per-field bounds from the portal's packet definitions ------------------------------------

FEE = {"ten": "Lệ phí", "hinh_thuc_thu": 1, "gia": 8000, "loai": 1}
OVER_BOUND: list[tuple[str, dict[str, Any], str]] = [
    ("900 KB owner's name", {"chu_ho_so": "A" * 900_000}, "chu_ho_so"),
    ("4001-character summary", {"trich_yeu": "x" * 4001}, "trich_yeu"),
    ("long fee name", {"le_phi": [{**FEE, "ten": "L" * 4001}]}, "le_phi[0].ten"),
    ("101 fee lines", {"le_phi": [FEE] * 101}, "le_phi"),
    (
        "received in year 584",
        {"ngay_tiep_nhan": "0584-10-23T08:00:00+07:00"},
        "ngay_tiep_nhan",
    ),
]


@pytest.mark.parametrize(
    ("overrides", "field"), [pytest.param(o, f, id=name) for name, o, f in OVER_BOUND]
)
async def test_what_the_portal_would_refuse_is_refused_on_arrival(
    api: httpx.AsyncClient, gateway: Gateway, overrides: dict[str, Any], field: str
) -> None:
    headers = await bearer(gateway, "dvcqg:sync")
    answer = await api.post(DOSSIER_ROUTE, json=dossier(**overrides), headers=headers)
    assert answer.status_code == 422, answer.text[:500]
    assert answer.headers["content-type"] == "application/problem+json"
    assert [e["loc"] for e in answer.json()["errors"]] == [field]
    async with gateway.db.transaction() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxItem)) == 0
