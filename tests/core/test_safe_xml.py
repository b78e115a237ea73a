"""The shared parser for XML from outside: nothing expands, nothing is fetched or read."""

from __future__ import annotations

import pytest
from lxml import etree

from gateway.core.http.safe_xml import plain_utf8_problem, untrusted_parser


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


# --- plain UTF-8, no DTD (issue 15) -------------------------------------------------------------

XXE = '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (b"<x>a</x>", None),
        (b'<?xml version="1.0" encoding="UTF-8"?>\n<x>\xc3\xa1</x>', None),
        (b"\xef\xbb\xbf<?xml version='1.0' encoding='utf-8'?><x/>", None),
        (b"<!-- <!DOCTYPE in a comment is text --><x/>", None),
        (b"<?pi data?>\n<!-- c --><x>&lt;!DOCTYPE</x>", None),
        (XXE.encode(), "DTD"),
        (b'<?xml version="1.0"?>\n<!-- <a> -->\n<!DOCTYPE x><x/>', "DTD"),
        (b"<?xml version='1.0'?><!doctype x><x/>", "DTD"),
        (("\ufeff" + XXE).encode("utf-16-le"), "UTF-16"),
        (XXE.encode("utf-16-be"), "UTF-16"),
        (("\ufeff" + XXE).encode("utf-16"), "UTF-16"),
        (XXE.encode("utf-32"), "UTF-16"),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?><x>\xe1</x>', "ISO-8859-1"),
        (b"<x>\xff</x>", "not UTF-8"),
    ],
)
def test_only_plain_utf8_documents_without_a_dtd_pass(document: bytes, problem: str | None) -> None:
    found = plain_utf8_problem(document)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found
