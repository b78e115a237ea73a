"""Answer codes of the exchange axis and what each means for the gateway, and the problem
types of the connector.

The VXP SDK answers ``status`` "OK" on success and carries a free ``ErrorDesc`` otherwise
(``ServiceTest.java`` of the VXP-SDK example, ``PVN-Organization/API-Gateway-iOffice``);
the ``ErrorCode`` values below are this project's documented profile, so that a refusal can be
told apart from a fault without reading prose::

    "OK"                 success
    "DUPLICATE"          the axis already holds this DocumentId (a repeat: success)
    "INVALID_PACKAGE"    the package breaks QCVN 102:2016 (the caller's data)
    "UNKNOWN_AGENCY"     a To/OrganId is not registered on the axis
    "UNAUTHORIZED"       systemid/secret refused
    "SIGNATURE_INVALID"  the package's XML-DSig signature does not verify
    "NOT_FOUND"          no such package (getEdoc / updateStatus)
    "TOO_LARGE"          the package passes the axis's size limit
    "BUSY"               the axis is overloaded (retry)
    "SYSTEM_ERROR"       the axis failed (retry)
    (none, not "OK")     the SDK's bare refusal: an unknown code, refused, never retried

Problem types::

    Conflict (gateway.core)
    └── QlvbDocumentConflict   409  the dossier already sent this document with other content
    NotFound (gateway.core)
    └── QlvbDocumentUnknown    404  no document sent for this dossier / DocumentId
    InvalidInput (gateway.core)
    └── StatusInvalid          422  a status package that is not valid, or badly signed
    GatewayError (gateway.core)
    └── StatusRejected         401  a pushed status whose HMAC, timestamp or XML-DSig is wrong
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.core.connector import Actor, CodeTable, ErrorRule, Resolution
from gateway.core.errors import Conflict, GatewayError, InvalidInput, NotFound

__all__ = [
    "CODES",
    "DUPLICATE",
    "ERROR_TABLE",
    "NOT_FOUND",
    "OK",
    "QlvbDocumentConflict",
    "QlvbDocumentUnknown",
    "StatusInvalid",
    "StatusRejected",
]

OK = "OK"
DUPLICATE = "DUPLICATE"
NOT_FOUND = "NOT_FOUND"


class QlvbDocumentConflict(Conflict):
    type_slug = "qlvb-document-conflict"
    title = "The dossier already sent this document with other content"


class QlvbDocumentUnknown(NotFound):
    type_slug = "qlvb-document-not-found"
    title = "No such document"


class StatusInvalid(InvalidInput):
    """A status package that is not valid edXML, or whose signature is refused."""

    type_slug = "qlvb-status-invalid"
    title = "The status package is invalid"


class StatusRejected(GatewayError):
    status = 401
    type_slug = "qlvb-status-rejected"
    title = "The status package is not authentic"


ERROR_TABLE: Mapping[str, ErrorRule] = MappingProxyType(
    {
        OK: ErrorRule(Resolution.SUCCESS, Actor.NONE, "accepted"),
        DUPLICATE: ErrorRule(
            Resolution.EXISTS, Actor.NONE, "the axis already holds this DocumentId"
        ),
        "INVALID_PACKAGE": ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the package breaks QCVN 102:2016"
        ),
        "UNKNOWN_AGENCY": ErrorRule(
            Resolution.REJECT, Actor.CALLER, "a receiving agency is not registered on the axis"
        ),
        "UNAUTHORIZED": ErrorRule(
            Resolution.REJECT, Actor.CONFIGURATION, "the axis refused systemid/secret"
        ),
        "SIGNATURE_INVALID": ErrorRule(
            Resolution.REJECT, Actor.CONFIGURATION, "the package's signature does not verify"
        ),
        NOT_FOUND: ErrorRule(Resolution.REJECT, Actor.SYSTEM, "the axis has no such package"),
        "TOO_LARGE": ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the package passes the axis's size limit"
        ),
        "BUSY": ErrorRule(Resolution.RETRY, Actor.TRANSIENT, "the axis is overloaded"),
        "SYSTEM_ERROR": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the axis failed"),
    }
)

CODES = CodeTable(ERROR_TABLE, specific={})
