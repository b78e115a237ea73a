"""Answer codes of the postal service (``Status``) and what each means for the gateway.

"100" (success: PASETO VNPostServices.cs L48) and "101" (taken as handed over, like "100":
PASETO YeuCauBuuDienLayKetQuaWithoutItemCodeHandler.cs L128; read here as "the order is
already there") are public; the other codes are this project's documented profile::

    "100" success                              "105" OrderNumber used with other content
    "101" the order is already there            "106" no such order
    "102" token missing, invalid or expired     "107" the order can no longer be cancelled
    "103" CustomerCode unknown                  "108" user name or password refused
    "104" a field is invalid                    "199" system error (retry)

(This project's profile had "101" for refused credentials before the public record was read;
that meaning moved to "108".)

Problem types::

    PermanentUpstreamError (gateway.core)
    ├── PostalOrderConflict     409  105: the order number is taken by another order
    └── PostalNotCancellable    409  107: the parcel is past the point of cancelling
    NotFound (gateway.core)
    └── PostalOrderNotFound     404  106: the platform knows no such order
    GatewayError (gateway.core)
    └── WebhookRejected         401  a webhook whose signature, timestamp or form is wrong
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.core.connector import Actor, CodeTable, ErrorRule, Resolution
from gateway.core.errors import GatewayError, NotFound, PermanentUpstreamError, UpstreamError

__all__ = [
    "ERROR_TABLE",
    "EXISTS",
    "NOT_FOUND",
    "SUCCESS",
    "TOKEN_EXPIRED",
    "PostalNotCancellable",
    "PostalOrderConflict",
    "PostalOrderNotFound",
    "WebhookRejected",
    "resolve",
    "specific_error",
]

SUCCESS = "100"
EXISTS = "101"
TOKEN_EXPIRED = "102"  # noqa: S105 - an answer code, not a secret
NOT_FOUND = "106"


class PostalOrderConflict(PermanentUpstreamError):
    status = 409
    type_slug = "postal-order-conflict"
    title = "The order number is already used for another postal order"


class PostalNotCancellable(PermanentUpstreamError):
    status = 409
    type_slug = "postal-not-cancellable"
    title = "The postal order can no longer be cancelled"


class PostalOrderNotFound(NotFound):
    type_slug = "postal-order-not-found"
    title = "The postal service knows no such order"


class WebhookRejected(GatewayError):
    """A webhook refused: bad signature, stale timestamp, or not a webhook. The detail never
    says which secret was used nor what signature was expected."""

    status = 401
    type_slug = "postal-webhook-rejected"
    title = "Postal webhook rejected"


ERROR_TABLE: Mapping[str, ErrorRule] = MappingProxyType(
    {
        SUCCESS: ErrorRule(Resolution.SUCCESS, Actor.NONE, "answered"),
        EXISTS: ErrorRule(
            Resolution.EXISTS, Actor.NONE, "the order is already there (made before)"
        ),
        TOKEN_EXPIRED: ErrorRule(
            Resolution.REAUTH, Actor.TRANSIENT, "the token is missing, invalid or expired"
        ),
        "103": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the postal service does not know the customer code (CustomerCode)",
        ),
        "104": ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the postal service found a field invalid"
        ),
        "105": ErrorRule(
            Resolution.REJECT,
            Actor.CALLER,
            "the order number (OrderNumber) is already used with different content",
        ),
        NOT_FOUND: ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the postal service has no such order"
        ),
        "107": ErrorRule(
            Resolution.REJECT,
            Actor.CALLER,
            "the order is past the point where it can be cancelled",
        ),
        "108": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the postal service refused the user name or password",
        ),
        "199": ErrorRule(
            Resolution.RETRY, Actor.SYSTEM, "the postal service failed (system error)"
        ),
    }
)

_SPECIFIC: Mapping[str, type[UpstreamError]] = MappingProxyType(
    {"105": PostalOrderConflict, "107": PostalNotCancellable}
)


_CODES = CodeTable(ERROR_TABLE, _SPECIFIC)
resolve = _CODES.resolve
specific_error = _CODES.specific_error
