"""The request envelope of one operation, written from a layout read out of the WSDL once.

zeep builds each envelope by walking its XSD objects (about a fifth of a look-up's in-process
cost). The population database's request is a flat sequence of strings with one nested
element, so :class:`EnvelopeTemplate` reads that layout from zeep's binding when the client is
built (field order, namespace, required fields, the ``AuthHash`` header) and writes the same
bytes zeep writes: the same XML declaration, prefixes (``soap-env``, ``ns0``), namespace
declarations, element order, an empty ``<soap-env:Header/>`` when there is no header, and text
escaped as lxml escapes it. ``tests/connectors/dancu/test_envelope.py`` holds it equal to
zeep's output byte for byte.

Anything the layout does not cover is left to zeep, which then builds the envelope (or refuses
it) exactly as before: a field the operation does not declare, a required one missing, a value
that is not a plain string of printable characters, a header other than those the WSDL
declares, a type with attributes or elements in another namespace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree
from zeep.wsdl.bindings.soap import SoapBinding
from zeep.xsd import ComplexType

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
_PROLOG = (
    f"<?xml version='1.0' encoding='utf-8'?>\n<soap-env:Envelope xmlns:soap-env=\"{SOAP_ENV}\">"
)


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    required: bool
    #: the layout of a nested element, ``None`` for a simple value
    children: _Layout | None


@dataclass(frozen=True, slots=True)
class _Layout:
    fields: tuple[_Field, ...]
    #: an xsd:choice: exactly one of the fields
    choice: bool


class Unsupported(Exception):
    """The operation's layout is more than the template writes: zeep builds its envelopes."""


def _layout(xsd_type: Any, namespace: str) -> _Layout:
    if not isinstance(xsd_type, ComplexType) or xsd_type.attributes:
        raise Unsupported("not a complex type without attributes")
    # the elements of an xsd:choice are each optional, one of them present
    kind = type(xsd_type._element).__name__
    if kind not in ("Sequence", "Choice"):
        raise Unsupported(f"an xsd:{kind.lower()}")
    choice = kind == "Choice"
    fields = []
    for name, element in xsd_type.elements:
        qname = etree.QName(element.qname)
        if qname.namespace != namespace or qname.localname != name:
            raise Unsupported(f"{name} is in another namespace")
        if element.max_occurs != 1:
            raise Unsupported(f"{name} repeats")
        child_type = element.type
        children = _layout(child_type, namespace) if isinstance(child_type, ComplexType) else None
        fields.append(_Field(name, element.min_occurs > 0 and not choice, children))
    return _Layout(tuple(fields), choice)


def _text(value: Any) -> str | None:
    """``value`` escaped as lxml writes text, or ``None`` when zeep should handle it."""
    if not isinstance(value, str) or not value or not value.isprintable():
        return None
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class EnvelopeTemplate:
    """One operation's request envelope and HTTP headers, as zeep's ``SoapBinding._create``
    makes them for the same fields (SOAP 1.1, document/literal)."""

    def __init__(self, binding: SoapBinding, operation: str) -> None:
        op = binding._operations[operation]
        body = op.input.body
        qname = etree.QName(body.qname)
        self._namespace = qname.namespace
        self._fields = _layout(body.type, qname.namespace)
        self._open = f'<ns0:{qname.localname} xmlns:ns0="{qname.namespace}">'
        self._close = f"</ns0:{qname.localname}>"
        header = op.input.header
        self._headers: frozenset[str] = frozenset()
        if header is not None and header.type is not None:
            for name, element in header.type.elements:
                if etree.QName(element.qname).namespace != qname.namespace:
                    raise Unsupported(f"header {name} is in another namespace")
            self._headers = frozenset(name for name, _element in header.type.elements)
        #: zeep's Soap11Binding: the quoted SOAPAction and text/xml
        self.http_headers = {
            "SOAPAction": f'"{op.soapaction}"',
            "Content-Type": "text/xml; charset=utf-8",
        }

    def render(self, fields: Mapping[str, Any], soap_headers: Mapping[str, Any]) -> bytes | None:
        """The envelope's bytes, or ``None`` when zeep must build it (see the module)."""
        out = [_PROLOG]
        if soap_headers:
            out.append("<soap-env:Header>")
            for name, value in soap_headers.items():
                text = _text(value)
                if name not in self._headers or text is None:
                    return None
                out.append(f'<ns0:{name} xmlns:ns0="{self._namespace}">{text}</ns0:{name}>')
            out.append("</soap-env:Header>")
        else:
            out.append("<soap-env:Header/>")
        out.append("<soap-env:Body>")
        out.append(self._open)
        if not _write(out, self._fields, fields):
            return None
        out.append(self._close)
        out.append("</soap-env:Body></soap-env:Envelope>")
        return "".join(out).encode("utf-8")


def _write(out: list[str], layout: _Layout, values: Mapping[str, Any]) -> bool:
    if not isinstance(values, Mapping) or not values:
        return False
    if layout.choice and len(values) != 1:
        return False
    used = 0
    for field in layout.fields:
        value = values.get(field.name)
        if value is None:
            if field.required:
                return False
            continue
        used += 1
        if field.children is None:
            text = _text(value)
            if text is None:
                return False
            out.append(f"<ns0:{field.name}>{text}</ns0:{field.name}>")
        else:
            out.append(f"<ns0:{field.name}>")
            if not _write(out, field.children, value):
                return False
            out.append(f"</ns0:{field.name}>")
    # a key the layout does not name: zeep refuses it
    return used == len(values)
