"""Answer codes of the payment platform (``error_code``) and what each means for the gateway.

This project's profile of the platform (``/work/shared/reference/national-platforms.md``)::

    "0"  answered                      "04" a field is invalid (caller)
    "01" checksum wrong (configuration) "14" no such MaThamChieu (caller)
    "02" partner unknown (configuration) "99" system error (retry)
    "03" MaThamChieu reused with other content (caller; same content answers the same URL)

Problem types::

    PermanentUpstreamError (gateway.core)
    ├── PaymentChecksumRefused   502  01: the platform refused our checksum
    └── PaymentReferenceConflict 409  03: MaThamChieu already used for another payment
    NotFound (gateway.core)
    └── PaymentNotFound          404  14: the platform knows no such MaThamChieu
    GatewayError (gateway.core)
    └── CallbackRejected         401  a callback whose checksum (or form) is wrong
        └── CallbackStale        401  signed, but its ThoiGianGD is too far from now (a late
                                      or replayed callback; the poller settles the payment)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.core.connector import Actor, CodeTable, ErrorRule, Resolution
from gateway.core.errors import GatewayError, NotFound, PermanentUpstreamError, UpstreamError

__all__ = [
    "ERROR_TABLE",
    "NOT_FOUND",
    "SUCCESS",
    "SUCCESS_QUERY",
    "CallbackRejected",
    "CallbackStale",
    "PaymentChecksumRefused",
    "PaymentNotFound",
    "PaymentReferenceConflict",
    "resolve",
    "specific_error",
]

SUCCESS = "0"
#: a flat answer's MaLoi when the platform answered (QUERY; INIT in OpenCPS's reading)
SUCCESS_QUERY = "00"
NOT_FOUND = "14"


class PaymentChecksumRefused(PermanentUpstreamError):
    type_slug = "payment-checksum-refused"
    title = "The payment platform refused the gateway's checksum"


class PaymentReferenceConflict(PermanentUpstreamError):
    status = 409
    type_slug = "payment-reference-conflict"
    title = "The payment reference is already used for another payment"


class PaymentNotFound(NotFound):
    type_slug = "payment-not-found"
    title = "The payment platform knows no such payment"


class CallbackRejected(GatewayError):
    """A callback refused: its checksum is wrong, or it is not a callback. The detail never
    says which secret or key was used, nor what checksum was expected."""

    status = 401
    type_slug = "payment-callback-rejected"
    title = "Payment callback rejected"


class CallbackStale(CallbackRejected):
    """A correctly signed callback whose transaction time (``ThoiGianGD``) lies further from
    now than ``callback_tolerance_seconds``: a late delivery or a replay. Refused so that an
    old signed callback cannot be played back; the poller asks the platform instead."""

    type_slug = "payment-callback-stale"
    title = "Payment callback too old (or from the future)"


ERROR_TABLE: Mapping[str, ErrorRule] = MappingProxyType(
    {
        SUCCESS: ErrorRule(Resolution.SUCCESS, Actor.NONE, "answered"),
        "01": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the platform found the checksum (MaXacThuc) wrong: check the secret or keys and "
            "the checksum variant",
        ),
        "02": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the platform does not know the partner code (MaDoiTac)",
        ),
        "03": ErrorRule(
            Resolution.REJECT,
            Actor.CALLER,
            "the payment reference (MaThamChieu) is already used with different content",
        ),
        "04": ErrorRule(Resolution.REJECT, Actor.CALLER, "the platform found a field invalid"),
        NOT_FOUND: ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the platform knows no such payment reference"
        ),
        "99": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the platform failed (system error)"),
    }
)

_SPECIFIC: Mapping[str, type[UpstreamError]] = MappingProxyType(
    {"01": PaymentChecksumRefused, "03": PaymentReferenceConflict}
)


_CODES = CodeTable(ERROR_TABLE, _SPECIFIC)
resolve = _CODES.resolve
specific_error = _CODES.specific_error
