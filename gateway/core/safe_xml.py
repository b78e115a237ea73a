"""The one lxml parser for XML from outside the gateway.

A new parser per document (lxml parsers keep state and are not to be shared between threads),
set so that entities stay unexpanded (an undeclared reference is a syntax error), no DTD is
loaded, nothing is fetched from the network, and libxml2's size and depth limits hold. Callers
that need to refuse a DOCTYPE outright still check for one: these settings make a DTD harmless,
not absent.
"""

from __future__ import annotations

from lxml import etree

__all__ = ["untrusted_parser"]


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
