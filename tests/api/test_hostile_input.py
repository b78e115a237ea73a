"""Hostile input refused before any route reads it (gateway.api.hostile): a 422 problem naming
the field, recorded, nothing changed; never a 500."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from gateway.api.hostile import MAX_JSON_DEPTH, body_problems, is_json, query_problems
from gateway.core.db import ExchangeEntry, OutboxItem
from gateway.core.runtime import Gateway
from tests.conftest import bearer

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
