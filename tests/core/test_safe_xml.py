"""The shared parser for XML from outside: nothing expands, nothing is fetched or read."""

from __future__ import annotations

from lxml import etree

from gateway.core.safe_xml import untrusted_parser


def text_of(document: bytes, **options: bool) -> str:
    root = etree.fromstring(document, untrusted_parser(**options))
    return "".join(root.itertext())


def test_an_internal_entity_is_not_expanded() -> None:
    doc = b'<!DOCTYPE x [<!ENTITY e "EXPANDED">]><x>a&e;b</x>'

    assert "EXPANDED" not in text_of(doc)


def test_an_external_entity_reads_nothing_from_disk() -> None:
    doc = b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'

    assert "root:" not in text_of(doc)


def test_comments_and_instructions_stay_unless_dropped() -> None:
    doc = b"<x>a<!-- note --><?pi data?>b</x>"

    kept = etree.fromstring(doc, untrusted_parser())
    dropped = etree.fromstring(doc, untrusted_parser(drop_comments=True))

    assert len(kept) == 2
    assert len(dropped) == 0
    assert dropped.text == "ab"
