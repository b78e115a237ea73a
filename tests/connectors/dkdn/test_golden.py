"""Golden packets of the business register (``tests/golden/dkdn``, see SOURCES.md), both ways:
each public answer reads into the wire schema and maps to the expected canonical answer, the
schema keeps every field of it (re-dumped, nothing lost), and the client's requests are the
golden requests byte for byte (path, query, credential)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel
from tenacity import wait_none

from connectors.dkdn.client import DkdnClient
from connectors.dkdn.config import DEFAULT_STATUS_CODES, DkdnConfig
from connectors.dkdn.mapping import from_entcert, from_hcm, from_ngsp
from schemas import dkdn as wire

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "dkdn"
BASE = "http://register.test"

CASES = [
    ("ngsp/answer-active.json", wire.NgspAnswer, from_ngsp, "gateway/ngsp-active.json"),
    ("ngsp/answer-dissolved.json", wire.NgspAnswer, from_ngsp, "gateway/ngsp-dissolved.json"),
    ("ngsp/answer-not-found.json", wire.NgspAnswer, from_ngsp, None),
    (
        "entcert/answer-suspended.json",
        wire.EntCertAnswer,
        from_entcert,
        "gateway/entcert-suspended.json",
    ),
    ("entcert/answer-not-found.json", wire.EntCertAnswer, from_entcert, None),
    ("hcm/answer-active.json", wire.HcmAnswer, from_hcm, "gateway/hcm-branch.json"),
    ("hcm/answer-not-found.json", wire.HcmAnswer, from_hcm, None),
]


def load(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value


@pytest.mark.parametrize(
    ("packet", "model", "mapper", "expected"), CASES, ids=[c[0] for c in CASES]
)
def test_golden_answer_maps_to_the_canonical_answer(
    packet: str, model: type[BaseModel], mapper: Any, expected: str | None
) -> None:
    answer = mapper(model.model_validate(load(packet)), DEFAULT_STATUS_CODES)
    if expected is None:
        assert answer is None
    else:
        assert answer is not None
        assert answer.model_dump(mode="json") == load(expected)


@pytest.mark.parametrize(("packet", "model"), [(c[0], c[1]) for c in CASES])
def test_the_schema_keeps_every_field_of_the_golden_answer(
    packet: str, model: type[BaseModel]
) -> None:
    """Read then written back (unset fields left out): the same packet, numbers as the schema
    normalises them (strings of digits -> numbers) and one object -> a list of one."""
    raw = load(packet)
    again = model.model_validate(raw).model_dump(mode="json", exclude_unset=True)
    assert _without_nulls(again) == _without_nulls(_normalised(raw))


_LISTS = {"Representatives", "BusinessActivities", "GetEntCert"}
_NUMBERS = {"NUMBER_CHANGES", "CAPITAL_AMOUNT", "SoLanDangKyThayDoi", "StatusCode"}


def _normalised(value: Any, key: str = "") -> Any:
    if key in _LISTS and not isinstance(value, list):
        return [] if value is None else [_normalised(value)]
    if isinstance(value, dict):
        return {k: _normalised(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_normalised(v) for v in value]
    if key in _NUMBERS and value is not None:
        return int(value)
    if key == "LaNganhChinh":
        return str(value)
    return value


def test_a_lone_representative_object_reads_as_a_list() -> None:
    answer = wire.NgspAnswer.model_validate(load("ngsp/answer-active.json"))
    assert answer.Data is not None
    assert [r.FULL_NAME for r in answer.Data.Representatives] == ["NGUYỄN VĂN AN"]


def _request_text(request: httpx.Request, *, body: bool = False) -> str:
    lines = [f"{request.method} {request.url.raw_path.decode()}"]
    for name in ("Authorization", "Content-Type"):
        if name.lower() in request.headers and (name == "Authorization" or body):
            lines.append(f"{name}: {request.headers[name]}")
    text = "\n".join(lines) + "\n"
    if body:
        text += "\n" + request.content.decode() + "\n"
    return text


@pytest.mark.parametrize(
    ("profile", "code", "answer", "golden"),
    [
        ("ngsp", "2801234567", "ngsp/answer-active.json", "ngsp/request.txt"),
        ("lgsp-entcert", "2802345678", "entcert/answer-suspended.json", "entcert/request.txt"),
        ("lgsp-hcm", "0312345678-001", "hcm/answer-active.json", "hcm/request.txt"),
    ],
)
async def test_the_client_sends_the_golden_request(
    profile: str, code: str, answer: str, golden: str
) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        token = mock.post("/token").respond(200, json=load("ngsp/token.json"))
        route = mock.get(url__regex=r".*chiTiet|.*TraCuu").respond(200, json=load(answer))
        async with httpx.AsyncClient() as http:
            client = DkdnClient(
                DkdnConfig(base_url=BASE, profile=profile), http, retry_wait=wait_none()
            )
            found = await client.lookup(code)
    assert found is not None
    assert found.ma_so_doanh_nghiep == code
    assert _request_text(route.calls.last.request) == (GOLDEN / golden).read_text()
    if profile == "ngsp":
        assert (
            _request_text(token.calls.last.request, body=True)
            == (GOLDEN / "ngsp/token-request.txt").read_text()
        )
    else:
        assert not token.called
