"""Golden packets both ways: each file read into the wire models and written back to the same
tree; the package built from a canonical document is the golden one; statuses map to states."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from lxml import etree

from connectors.qlvb.config import QlvbConfig
from connectors.qlvb.edxml import build_edoc, build_status, parse_edoc, parse_status
from connectors.qlvb.mapping import STATUS_BY_CODE, VanBanGui, report_from_wire, to_wire
from schemas import qlvb as wire
from tests.connectors.qlvb.support import document

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "qlvb"
MAX = 1024 * 1024
STATUS_FILES = sorted(p for p in GOLDEN.glob("status_*.edxml") if "bkav" not in p.name)


def canonical(data: bytes) -> bytes:
    parser = etree.XMLParser(remove_blank_text=True)
    out: bytes = etree.tostring(etree.fromstring(data, parser), method="c14n")
    return out


def golden_document() -> VanBanGui:
    body = document(
        noi_dung="Chuyển hồ sơ để xin ý kiến thẩm định",
        han_xu_ly="2024-01-12",
        tep_dinh_kem=[
            {
                "ten_tep": "cong-van.pdf",
                "loai": "application/pdf",
                "noi_dung": base64.b64encode(b"%PDF-1.7 golden").decode(),
                "mo_ta": "Công văn xin ý kiến",
            }
        ],
    )
    return VanBanGui.model_validate(body)


def test_the_sources_name_every_golden_file() -> None:
    sources = (GOLDEN / "SOURCES.md").read_text(encoding="utf-8")
    for path in GOLDEN.glob("*.edxml"):
        assert f"`{path.name}`" in sources, path.name


def test_the_new_document_is_built_exactly_as_the_golden_packet() -> None:
    package = to_wire(golden_document(), QlvbConfig(), now=datetime(2024, 1, 5, 2, tzinfo=UTC))
    built = build_edoc(package)
    assert canonical(built) == canonical((GOLDEN / "edoc_new.edxml").read_bytes())
    assert built.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_the_golden_document_reads_back_into_the_same_package() -> None:
    data = (GOLDEN / "edoc_new.edxml").read_bytes()
    package = parse_edoc(data, max_bytes=MAX)
    header = package.MessageHeader
    assert header.DocumentId == "000.00.00.H22,2024/01/05,125/TTHCC-MC"
    assert header.PromulgationInfo.PromulgationDate == date(2024, 1, 5)
    assert header.DueDate == date(2024, 1, 12)
    assert [t.OrganId for t in header.To] == ["000.00.12.H22"]
    assert package.Bussiness.BussinessDocType == 0
    assert package.References[0].ContentId == package.Attachments[0].ContentId == "cid:1"
    assert base64.b64decode(package.Attachments[0].ContentTransferEncoded) == b"%PDF-1.7 golden"
    assert canonical(build_edoc(package)) == canonical(data)
    expected = to_wire(golden_document(), QlvbConfig(), now=datetime(2024, 1, 5, 2, tzinfo=UTC))
    assert package == expected


@pytest.mark.parametrize("path", STATUS_FILES, ids=lambda p: p.name)
def test_every_status_packet_both_ways(path: Path) -> None:
    data = path.read_bytes()
    package = parse_status(data, max_bytes=MAX)
    code = path.stem.rsplit("_", 1)[1]
    assert package.MessageHeader.StatusCode == code
    assert canonical(build_status(package)) == canonical(data)
    report = report_from_wire(package)
    assert report.status == STATUS_BY_CODE[code]
    assert report.document_id == "000.00.00.H22,2024/01/05,125/TTHCC-MC"
    assert report.organ_id == "000.00.12.H22"
    assert report.at.utcoffset() is not None
    assert report.at.utcoffset().total_seconds() == 7 * 3600


def test_every_status_code_has_a_golden_packet_and_a_state() -> None:
    codes = {p.stem.rsplit("_", 1)[1] for p in STATUS_FILES}
    assert codes == set(wire.STATUS_CODES) == set(STATUS_BY_CODE)


def test_bkav_dates_are_read_but_never_written() -> None:
    data = (GOLDEN / "status_processing_05_bkav_dates.edxml").read_bytes()
    package = parse_status(data, max_bytes=MAX)
    assert package.MessageHeader.ResponseFor.PromulgationDate == date(2024, 1, 5)
    assert package.MessageHeader.Timestamp == datetime(2024, 1, 5, 13, 30)
    written = build_status(package)
    assert b"2024/01/05 13:30:00" in written
    assert b"05/01/2024" not in written
