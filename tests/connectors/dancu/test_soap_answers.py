"""Reading answers straight into the wire models: the structure rules zeep used to enforce.

The client's tests cover the mapping of every field, the codes, faults, statuses and hostile
answers end to end; these pin what the reader itself decides.
"""

from __future__ import annotations

import pytest

from connectors.dancu.soap_answers import (
    SoapFault,
    Unreadable,
    body_element,
    read_answer,
)
from gateway.core.errors import InvalidUpstreamAnswer
from gateway.core.http.safe_xml import plain_utf8_problem
from schemas import dancu as wire
from tests.connectors.dancu import answers

XSI = "http://www.w3.org/2001/XMLSchema-instance"


def collection(inner: str) -> bytes:
    head = answers.elements({"MaYeuCau": "req-1", "MaKetQua": "000"})
    return answers.envelope(f"<dc:CongdanCollection>{head}{inner}</dc:CongdanCollection>")


def read_lookup(content: bytes) -> wire.CongdanCollection:
    return read_answer(body_element(content), wire.CongdanCollection)


def read_verify(content: bytes) -> wire.KetQuaXacThuc:
    return read_answer(body_element(content), wire.KetQuaXacThuc)


def invalid_paths(content: bytes) -> list[str]:
    with pytest.raises(InvalidUpstreamAnswer) as caught:
        read_lookup(content)
    return [e.loc for e in caught.value.errors]


def test_a_full_answer_reads_into_the_model_with_lists_and_records() -> None:
    first = answers.record()
    second = answers.record(SoDinhDanh="001090000001", Cha=None)
    content = collection(
        f"<dc:CongDan>{answers.elements(first)}</dc:CongDan>"
        f"<dc:CongDan>{answers.elements(second)}</dc:CongDan>"
    )

    answer = read_lookup(content)

    assert [c.SoDinhDanh for c in answer.CongDan] == [answers.SO_DINH_DANH, "001090000001"]
    assert answer.CongDan[0].HoVaTen == wire.HoTen(Ho="Nguyễn", ChuDem="Văn", Ten="Đức")
    assert answer.CongDan[0].ThuongTru is not None
    assert answer.CongDan[0].ThuongTru.MaPhuongXa == "00160"
    assert answer.CongDan[1].Cha is None


def test_the_same_answer_reads_the_same_whatever_the_prefixes() -> None:
    content = answers.lookup().replace(b"dc:", b"ns7:").replace(b"xmlns:dc=", b"xmlns:ns7=")

    assert read_lookup(content) == read_lookup(answers.lookup())


def test_fields_the_gateway_does_not_read_are_skipped() -> None:
    record = answers.elements(answers.record()) + "<dc:TruongMoi>gì đó</dc:TruongMoi>"

    answer = read_lookup(collection(f"<dc:CongDan>{record}</dc:CongDan>"))

    assert answer.CongDan[0].SoDinhDanh == answers.SO_DINH_DANH


def test_a_nil_element_is_an_absent_value() -> None:
    record = answers.record(SoCMND=None)
    inner = answers.elements(record).replace(
        "<dc:GioiTinh>", f'<dc:SoCMND xmlns:xsi="{XSI}" xsi:nil="true"/><dc:GioiTinh>'
    )

    answer = read_lookup(collection(f"<dc:CongDan>{inner}</dc:CongDan>"))

    assert answer.CongDan[0].SoCMND is None


def test_a_single_valued_field_given_twice_is_invalid_naming_it() -> None:
    inner = answers.elements(answers.record()) + "<dc:GioiTinh>2</dc:GioiTinh>"

    assert invalid_paths(collection(f"<dc:CongDan>{inner}</dc:CongDan>")) == [
        "CongdanCollection.CongDan[0].GioiTinh"
    ]


def test_children_where_a_value_is_due_are_invalid() -> None:
    inner = answers.elements(answers.record(GioiTinh={"Ma": "1"}))

    assert invalid_paths(collection(f"<dc:CongDan>{inner}</dc:CongDan>")) == [
        "CongdanCollection.CongDan[0].GioiTinh"
    ]


def test_an_element_of_another_namespace_is_invalid() -> None:
    foreign = '<x:SoDinhDanh xmlns:x="urn:other">1</x:SoDinhDanh>'
    inner = answers.elements(answers.record()) + foreign

    assert invalid_paths(collection(f"<dc:CongDan>{inner}</dc:CongDan>")) == [
        "CongdanCollection.CongDan[0].SoDinhDanh"
    ]


def test_more_citizens_than_the_bound_are_invalid() -> None:
    one = f"<dc:CongDan>{answers.elements(answers.record())}</dc:CongDan>"

    assert invalid_paths(collection(one * 17)) == ["CongdanCollection.CongDan"]


@pytest.mark.parametrize(("text", "value"), [("true", True), ("1", True), ("false", False)])
def test_booleans_take_the_xsd_forms(text: str, value: bool) -> None:
    content = answers.verify(ton_tai=None).replace(
        b"</dc:KetQuaXacThuc>", f"<dc:TonTai>{text}</dc:TonTai></dc:KetQuaXacThuc>".encode()
    )

    assert read_verify(content).TonTai is value


@pytest.mark.parametrize("text", ["", "  "])
def test_an_empty_value_is_unset(text: str) -> None:
    # real answers write an unset value as an empty element (tolerant read, issue 14)
    content = answers.verify(ton_tai=None).replace(
        b"</dc:KetQuaXacThuc>", f"<dc:TonTai>{text}</dc:TonTai></dc:KetQuaXacThuc>".encode()
    )

    assert read_verify(content).TonTai is None


@pytest.mark.parametrize("text", ["yes", "True ish"])
def test_other_booleans_are_invalid(text: str) -> None:
    content = answers.verify(ton_tai=None).replace(
        b"</dc:KetQuaXacThuc>", f"<dc:TonTai>{text}</dc:TonTai></dc:KetQuaXacThuc>".encode()
    )

    with pytest.raises(InvalidUpstreamAnswer) as caught:
        read_verify(content)

    assert [e.loc for e in caught.value.errors] == ["KetQuaXacThuc.TonTai"]


def test_another_operations_answer_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="KetQuaXacThuc where CongdanCollection was due"):
        read_lookup(answers.verify())


@pytest.mark.parametrize(
    "content",
    [
        b"<?xml version='1.0'?><unclosed>",
        b'<dc:CongdanCollection xmlns:dc="http://www.mic.gov.vn/dancu/1.0"/>',
        answers.envelope("").replace(b"<soap:Body></soap:Body>", b""),
        answers.envelope("<dc:A/><dc:B/>"),
        # an entity nobody declared: a syntax error, never an expansion
        answers.lookup().replace(b"<dc:MaKetQua>000", b"<dc:MaKetQua>&zero;"),
    ],
)
def test_what_is_no_envelope_with_one_answer_is_unreadable(content: bytes) -> None:
    with pytest.raises(Unreadable):
        body_element(content)


def test_a_fault_is_raised_with_its_code_and_text() -> None:
    with pytest.raises(SoapFault) as caught:
        body_element(answers.fault("soap:Client", "MaDVC sai định dạng"))

    assert caught.value.code == "soap:Client"
    assert caught.value.message == "MaDVC sai định dạng"


@pytest.mark.parametrize(
    ("content", "refused"),
    [
        (answers.xxe(), True),
        (b"<!-- c -->\n<?pi x?><!doctype x><x/>", True),
        (answers.lookup(), False),
        (b"<x><!DOCTYPE-like text></x>", False),
        (answers.xxe().decode().replace("utf-8", "utf-16").encode("utf-16"), True),
    ],
)
def test_a_dtd_or_another_encoding_is_told_before_parsing(content: bytes, refused: bool) -> None:
    assert (plain_utf8_problem(content) is not None) is refused
