"""The envelope template writes what zeep writes, byte for byte, and leaves to zeep what it
does not cover (connectors/dancu/envelope.py)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from lxml import etree

from connectors.dancu.client import LOOKUP, VERIFY, DancuClient
from connectors.dancu.config import DancuConfig
from connectors.dancu.envelope import EnvelopeTemplate

BASE: dict[str, Any] = {
    "MaYeuCau": "5f0c7e0e2b6a4f0e9a3d1c2b3a4d5e6f",
    "MaDVC": "1.001776",
    "MaTichHop": "LGSP-TEST-25",
    "MaCanBo": "CB0001",
    "MaDonVi": "000.00.01.H22",
    "SoDinhDanh": "038186737712",
    "HoVaTen": "LE PHUONG HANH",
    "NgayThangNamSinh": {"NgayThangNam": "19860621"},
}

VARIANTS: list[dict[str, Any]] = [
    {},
    {"TaiKhoan": "canbo.tiepnhan", "SoDienThoai": "0"},
    {"SoDinhDanh": None, "SoCMND": "239396562"},
    {"NgayThangNamSinh": {"Nam": "1986"}},
    {"HoVaTen": "LEPHUONGHANH", "MaCanBo": "A&B <C> \"D\" 'E'"},
    {"HoVaTen": "Nguyễn Văn Ân", "MaDonVi": "Bộ phận Một cửa"},
]


@pytest.fixture(scope="module")
def client() -> DancuClient:
    return DancuClient(DancuConfig(endpoint_url="http://sandbox/ws"), httpx.AsyncClient())


def zeep_envelope(
    client: DancuClient, operation: str, fields: dict[str, Any], headers: dict[str, str]
) -> tuple[bytes, dict[str, str]]:
    client._templates.clear()
    try:
        return client._envelope(operation, fields, headers)
    finally:
        client._templates.update(
            {op: EnvelopeTemplate(client._binding, op) for op in (LOOKUP, VERIFY)}
        )


@pytest.mark.parametrize("operation", [LOOKUP, VERIFY])
@pytest.mark.parametrize("variant", range(len(VARIANTS)))
@pytest.mark.parametrize("soap_headers", [{}, {"AuthHash": "Y2FuYm8wMDAxOnNhbmRib3g="}])
def test_the_template_writes_what_zeep_writes(
    client: DancuClient, operation: str, variant: int, soap_headers: dict[str, str]
) -> None:
    fields = {k: v for k, v in {**BASE, **VARIANTS[variant]}.items() if v is not None}
    template = client._templates[operation]
    ours = template.render(fields, soap_headers)
    assert ours is not None
    theirs, headers = zeep_envelope(client, operation, fields, soap_headers)
    assert ours == theirs
    assert template.http_headers == headers
    assert client._envelope(operation, fields, soap_headers) == (theirs, headers)


@pytest.mark.parametrize(
    "change",
    [
        {"Unknown": "x"},  # zeep refuses a field the operation does not declare
        {"MaCanBo": None},  # a required field missing
        {"HoVaTen": "LE\rPHUONG"},  # not plain printable text: zeep's escaping decides
        {"HoVaTen": ""},
        {"NgayThangNamSinh": {"NgayThangNam": "19860621", "Nam": "1986"}},  # two of a choice
        {"NgayThangNamSinh": {}},
        {"MaDVC": 17},
    ],
)
def test_what_the_template_does_not_cover_is_left_to_zeep(
    client: DancuClient, change: dict[str, Any]
) -> None:
    fields = {k: v for k, v in {**BASE, **change}.items() if v is not None}
    assert client._templates[LOOKUP].render(fields, {}) is None


def test_a_header_the_wsdl_does_not_declare_is_left_to_zeep(client: DancuClient) -> None:
    assert client._templates[LOOKUP].render(BASE, {"Other": "x"}) is None


def test_the_envelope_is_well_formed_and_names_the_operation(client: DancuClient) -> None:
    message = client._templates[LOOKUP].render(BASE, {})
    assert message is not None
    root = etree.fromstring(message)
    body = root.find("{http://schemas.xmlsoap.org/soap/envelope/}Body")
    assert body is not None
    assert body[0].tag == "{http://dancuquocgia.bca}TraCuuThongTinCongDan"
