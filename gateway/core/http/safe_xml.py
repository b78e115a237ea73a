"""The one lxml parser for XML from outside the gateway.

A new parser per document (lxml parsers keep state and are not to be shared between threads),
set so that entities stay unexpanded (an undeclared reference is a syntax error), no DTD is
loaded, nothing is fetched from the network, and libxml2's size and depth limits hold. Callers
that need to refuse a DOCTYPE outright still check for one: these settings make a DTD harmless,
not absent.
"""

from __future__ import annotations

import re

from lxml import etree

__all__ = ["plain_utf8_problem", "untrusted_parser"]

_DECLARATION = re.compile(rb"^<\?xml\s[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")
_OTHER_BOMS = (b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\xff\xfe\x00\x00")


def untrusted_parser(*, drop_comments: bool = False) -> etree.XMLParser:
    """A fresh hardened parser; ``drop_comments`` also drops comments and processing
    instructions, for readers of data (never for signed documents, whose bytes count)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=drop_comments,
        remove_pis=drop_comments,
    )


def plain_utf8_problem(data: bytes) -> str | None:
    """Why ``data`` is not a plain UTF-8 XML document, or ``None`` when it is.

    The platforms answer in UTF-8. A document in another encoding (UTF-16 above all) hides its
    markup from byte-level checks such as "refuse any DOCTYPE unread", so it is refused before
    any parser sees it, as is any document declaring a DOCTYPE. A UTF-8 byte-order mark is
    allowed; an XML declaration naming another encoding is not.
    """
    if data.startswith(_OTHER_BOMS) or b"\x00" in data[:4096]:
        return "not UTF-8 (UTF-16 or UTF-32)"
    body = data.removeprefix(b"\xef\xbb\xbf")
    declared = _DECLARATION.match(body)
    if declared is not None and declared.group(1).lower() not in (b"utf-8", b"utf8"):
        return f"declares encoding {declared.group(1)[:32].decode('ascii')!r}, not UTF-8"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 (byte {exc.start})"
    # the prologue: the declaration, comments, PIs and blanks before the root element
    at = 0
    while True:
        at = len(body) - len(body[at:].lstrip())
        if body.startswith(b"<?", at):
            closing = b"?>"
        elif body.startswith(b"<!--", at):
            closing = b"-->"
        elif body[at : at + 9].upper() == b"<!DOCTYPE":
            return "declares a DTD (DOCTYPE)"
        else:
            return None  # the root element (or not XML at all: the parser says so)
        end = body.find(closing, at + 2)
        if end < 0:
            return None
        at = end + len(closing)
