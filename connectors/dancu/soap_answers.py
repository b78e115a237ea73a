"""Reading the population database's SOAP answers: hardened lxml, straight into the wire models.

zeep builds the requests from the WSDL; answers are read here. zeep would parse an answer into
its own object tree, which the client then turned into a dict for :mod:`schemas.dancu` to
validate: three passes over every answer, the most expensive step of a look-up after the
HTTP exchange itself. Here the answer is parsed once and its elements are read into the wire
model the operation answers with, which restates the WSDL's types with their bounds and
patterns, so validation names each bad field by its path.

Contracts:

* Nothing with a DTD, and nothing but UTF-8, reaches the parser
  (:func:`gateway.core.http.safe_xml.plain_utf8_problem`, checked by the client); the
  parser itself resolves no entity, loads no DTD, reaches no network and refuses huge trees, so
  an entity reference is a syntax error, not an expansion.
* The envelope must be SOAP 1.1 with one element in its body: a ``soap:Fault``
  (:class:`SoapFault`), or the answer element the operation declares, in the answer namespace.
  Anything else is :class:`Unreadable`.
* Inside the answer, every element must be in the answer namespace. Elements the model does
  not name are skipped (the platform may add fields); an element the model names is read as
  the model says: a record (its children), a list of records, a boolean (``xsd:boolean``'s
  lexical forms only) or text. ``xsi:nil="true"`` is an absent value, and so is an empty
  element (``<ns1:SoCMND/>``, ``<ns1:Cha/>``): real answers write unset values that way.
  A single-valued element given twice, or children where text is due, is an invalid answer
  naming the path.
"""

from __future__ import annotations

import functools
import types
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from lxml import etree
from pydantic import BaseModel, ValidationError

from gateway.core.errors import FieldError, InvalidUpstreamAnswer
from gateway.core.http.safe_xml import untrusted_parser
from gateway.core.validation import field_errors
from schemas.dancu import ANSWER_NAMESPACE

__all__ = ["SoapFault", "Unreadable", "body_element", "read_answer"]

SOAP_NAMESPACE = "http://schemas.xmlsoap.org/soap/envelope/"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"
_ENVELOPE = f"{{{SOAP_NAMESPACE}}}Envelope"
_BODY = f"{{{SOAP_NAMESPACE}}}Body"
_FAULT = f"{{{SOAP_NAMESPACE}}}Fault"
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

A = TypeVar("A", bound=BaseModel)


class Unreadable(Exception):
    """Not well-formed XML, or no SOAP envelope holding one answer element."""


@dataclass
class SoapFault(Exception):
    """A ``soap:Fault``: its ``faultcode`` (``soap:Client``, ``soap:Server``...) and text."""

    code: str
    message: str


def body_element(answer: bytes) -> etree._Element:
    """The one element in the envelope's body; a fault is raised as :class:`SoapFault`."""
    try:
        root = etree.fromstring(answer, untrusted_parser(drop_comments=True))
    except etree.XMLSyntaxError:
        raise Unreadable("not well-formed XML") from None
    if root.tag != _ENVELOPE:
        raise Unreadable("no SOAP 1.1 envelope")
    body = root.find(_BODY)
    if body is None:
        raise Unreadable("no SOAP body")
    children = [child for child in body if isinstance(child.tag, str)]
    if len(children) != 1:
        raise Unreadable(f"{len(children)} elements in the SOAP body, not one")
    element = children[0]
    if element.tag == _FAULT:
        raise SoapFault(
            code=(element.findtext("faultcode") or "").strip(),
            message=(element.findtext("faultstring") or "").strip(),
        )
    return element


def read_answer(element: etree._Element, model: type[A]) -> A:
    """The answer element read into ``model`` (named after the element it reads)."""
    name = model.__name__
    if element.tag != f"{{{ANSWER_NAMESPACE}}}{name}":
        raise Unreadable(f"{etree.QName(element).localname} where {name} was due")
    data = _record(element, model, name)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidUpstreamAnswer(
            f"the platform's answer breaks the {name} schema",
            errors=field_errors(exc, name),
        ) from None


# --- reading elements as the model says -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Field:
    record: type[BaseModel] | None  # the model of a nested record, None for a value
    many: bool
    boolean: bool


@functools.cache
def _fields(model: type[BaseModel]) -> dict[str, _Field]:
    plan: dict[str, _Field] = {}
    for name, info in model.model_fields.items():
        kinds = _kinds(info.annotation)
        records = [k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)]
        plan[info.alias or name] = _Field(
            record=records[0] if records else None,
            many=list in kinds,
            boolean=bool in kinds,
        )
    return plan


def _kinds(annotation: Any) -> set[Any]:
    """The types an annotation admits, through Optional, unions, Annotated and list."""
    origin = get_origin(annotation)
    if origin is None:
        return {annotation}
    found: set[Any] = {list} if origin is list else set()
    if origin in (Union, types.UnionType, list, Annotated):
        for arg in get_args(annotation):
            found |= _kinds(arg)
        return found
    return {origin}


def _record(element: etree._Element, model: type[BaseModel], path: str) -> dict[str, Any]:
    plan = _fields(model)
    data: dict[str, Any] = {}
    counts: dict[str, int] = {}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        qname = etree.QName(child)
        name = qname.localname
        if qname.namespace != ANSWER_NAMESPACE:
            raise _bad(f"{path}.{name}", f"not of the answer namespace {ANSWER_NAMESPACE}")
        field = plan.get(name)
        if field is None:
            continue  # a field this gateway does not read
        index = counts.get(name, 0)
        counts[name] = index + 1
        where = f"{path}.{name}[{index}]" if field.many else f"{path}.{name}"
        if index and not field.many:
            raise _bad(where, "given more than once")
        value = _value(child, field, where)
        if field.many:
            if value is not None:
                data.setdefault(name, []).append(value)
        else:
            data[name] = value
    return data


def _value(element: etree._Element, field: _Field, path: str) -> Any:
    if element.get(XSI_NIL) in ("true", "1"):
        return None
    has_children = any(isinstance(child.tag, str) for child in element)
    text = element.text or ""
    if not has_children and not text.strip():
        return None  # an empty element: the value is unset
    if field.record is not None:
        return _record(element, field.record, path)
    if has_children:
        raise _bad(path, "elements where a value is due")
    if field.boolean:
        if text.strip() not in _BOOLEANS:
            raise _bad(path, "not an xsd:boolean (true, false, 1 or 0)")
        return _BOOLEANS[text.strip()]
    return text


def _bad(path: str, message: str) -> InvalidUpstreamAnswer:
    root = path.split(".", 1)[0]
    return InvalidUpstreamAnswer(
        f"the platform's answer breaks the {root} schema", errors=[FieldError(path, message)]
    )
