"""Outside XML read safely on both sides (the connector's reader and the simulator's own):
DTDs, external entities and entity expansion refused unread, sizes bounded, other encodings
refused, the standard's rules enforced with the element named."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectors.qlvb.config import QlvbConfig
from connectors.qlvb.edxml import EdxmlError, build_edoc, parse_edoc, parse_status
from connectors.qlvb.mapping import VanBanGui, to_wire
from connectors.qlvb.sandbox import Refused, read_package
from tests.connectors.qlvb.support import document

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "qlvb"
STATUS = (GOLDEN / "status_processing_05.edxml").read_bytes()
EDOC = (GOLDEN / "edoc_new.edxml").read_bytes()
NS = b'xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016"'
MAX = 64 * 1024

XXE = (
    b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    b"<edXML " + NS + b"><a>&x;</a></edXML>"
)
LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE edXML [<!ENTITY a "aaaaaaaaaa">'
    b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>'
    b"<edXML " + NS + b"><a>&c;</a></edXML>"
)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (XXE, "DTD"),
        (LAUGHS, "DTD"),
        (b"\xff\xfe" + STATUS.decode().encode("utf-16-le"), "UTF-8"),
        (STATUS.replace(b"encoding='UTF-8'", b"encoding='ISO-8859-1'"), "UTF-8"),
        (STATUS[:200], "well-formed"),
        (b"<edXML xmlns='urn:other'/>", "namespace"),
        (STATUS + b" " * MAX, "larger"),
    ],
)
def test_the_connector_refuses_dangerous_or_foreign_xml_unread(data: bytes, why: str) -> None:
    with pytest.raises(EdxmlError) as refused:
        parse_status(data, max_bytes=MAX)
    assert why in str(refused.value)


@pytest.mark.parametrize("data", [XXE, LAUGHS, EDOC + b" " * MAX, b"<x/>"])
def test_the_simulator_refuses_them_too(data: bytes) -> None:
    with pytest.raises(Refused):
        read_package(data, max_bytes=MAX, trusted=[])


@pytest.mark.parametrize(
    ("old", "new", "loc"),
    [
        (b"<edXML:StatusCode>05<", b"<edXML:StatusCode>07<", "StatusCode"),
        (b"<edXML:Timestamp>2024/01/05 13:30:00<", b"<edXML:Timestamp>yesterday<", "Timestamp"),
        (b"000.00.00.H22,2024/01/05,125/TTHCC-MC", b"125/TTHCC-MC", "DocumentId"),
        (b"<edXML:ResponseFor>", b"<edXML:Other>", "ResponseFor"),
    ],
)
def test_a_bad_status_names_its_element(old: bytes, new: bytes, loc: str) -> None:
    data = STATUS.replace(old, new).replace(
        b"</edXML:ResponseFor>", b"</edXML:Other>", int(b"Other" in new)
    )
    with pytest.raises(EdxmlError) as refused:
        parse_status(data, max_bytes=MAX)
    assert loc in refused.value.loc


def edoc(**overrides: object) -> bytes:
    package = to_wire(
        VanBanGui.model_validate(document(**overrides)), QlvbConfig(), now=datetime.now(UTC)
    )
    return build_edoc(package)


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        (b"<edXML:Subject>", b"<edXML:Subject>" + b"x" * 500, "Subject"),
        (
            b"<AttachmentName>cong-van.pdf",
            b"<AttachmentName>" + b"a" * 200 + b".pdf",
            "AttachmentName",
        ),
        (b"<ContentId>cid:1</ContentId>", b"<ContentId>cid:2</ContentId>", "ContentId"),
        (
            b",2024/01/05,125/TTHCC-MC</edXML:DocumentId>",
            b",05/01/2024,125/TTHCC-MC</edXML:DocumentId>",
            "DocumentId",
        ),
    ],
)
def test_both_sides_enforce_the_standards_rules(old: bytes, new: bytes, where: str) -> None:
    data = edoc().replace(old, new, 1)
    assert data != edoc()
    with pytest.raises(Refused) as refused:
        read_package(data, max_bytes=MAX, trusted=[])
    assert where in refused.value.where
    with pytest.raises(EdxmlError):
        parse_edoc(data, max_bytes=MAX)


def test_the_hub_is_strict_on_dates_where_the_connector_reads_tolerantly() -> None:
    old, new = b"<edXML:PromulgationDate>2024/01/05", b"<edXML:PromulgationDate>05/01/2024"
    data = edoc().replace(old, new, 1)
    with pytest.raises(Refused) as refused:
        read_package(data, max_bytes=MAX, trusted=[])
    assert "PromulgationDate" in refused.value.where
    assert parse_edoc(data, max_bytes=MAX).MessageHeader.PromulgationInfo.PromulgationDate.day == 5


def test_recipients_must_exist_and_differ() -> None:
    one = edoc()
    start = one.index(b"<edXML:To>")
    end = one.index(b"</edXML:To>") + len(b"</edXML:To>")
    twice = one[:end] + one[start:end] + one[end:]
    none = one[:start] + one[end:]
    for data, why in ((twice, "duplicate"), (none, "at least one")):
        with pytest.raises(Refused) as refused:
            read_package(data, max_bytes=MAX, trusted=[])
        assert why in refused.value.why
        with pytest.raises(EdxmlError):
            parse_edoc(data, max_bytes=MAX)


def test_attachments_travel_base64_and_are_counted() -> None:
    received = read_package(edoc(), max_bytes=MAX, trusted=[])
    content = base64.b64decode(document()["tep_dinh_kem"][0]["noi_dung"])
    assert received.attachments == [
        {"content_id": "cid:1", "name": "cong-van.pdf", "bytes": len(content)}
    ]
