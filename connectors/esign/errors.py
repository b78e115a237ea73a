"""eSign errors: the signing services' codes and what each means, and the problem types.

Codes of the two services (this project's profile; ``national-platforms.md``, eSign)::

    CSC-style service (OAuth-like ``error``)      hash-signing service (``status``)
    invalid_request    caller, reject             0     answered
    invalid_token      refresh the token          4001  a field is invalid (caller)
    access_denied      configuration, reject      4004  no such user or credential (configuration)
                                                  4041  no such transaction (caller)
    invalid_credential configuration, reject      4010  the API key is refused (reauth)
    server_error       retry                      4030  the holder denied the signature (caller)
    temporarily_unavailable  retry                4080  the approval expired (caller)
                                                  5000  system error (retry)

Problem types::

    GatewayError (gateway.core)
    ├── InvalidInput
    │   └── UnsupportedDocument       422  not a PDF / XML / CMS this gateway can handle
    ├── PacketSignatureInvalid        401  a signed packet whose signature does not verify
    └── UpstreamError
        ├── PermanentUpstreamError
        │   └── SigningRefused        502  the service or the holder refused to sign
        └── TransientUpstreamError
            └── ApprovalPending       503  the holder has not approved yet (try later)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.core.connector import Actor, ErrorRule, Resolution
from gateway.core.errors import (
    GatewayError,
    InvalidInput,
    PermanentUpstreamError,
    TransientUpstreamError,
)

__all__ = [
    "DENIED",
    "ERROR_TABLE",
    "SUCCESS",
    "UNKNOWN_TRANSACTION",
    "ApprovalPending",
    "PacketSignatureInvalid",
    "SigningRefused",
    "UnsupportedDocument",
    "resolve",
]

SUCCESS = "0"
DENIED = "4030"
UNKNOWN_TRANSACTION = "4041"


class UnsupportedDocument(InvalidInput):
    type_slug = "esign-unsupported-document"
    title = "The document is not one the gateway can sign or verify"


class PacketSignatureInvalid(GatewayError):
    """A signed packet whose detached signature is missing, malformed or does not verify."""

    status = 401
    type_slug = "esign-packet-signature-invalid"
    title = "Packet signature invalid"


class SigningRefused(PermanentUpstreamError):
    type_slug = "esign-signing-refused"
    title = "The signing service or the certificate holder refused to sign"


class ApprovalPending(TransientUpstreamError):
    type_slug = "esign-approval-pending"
    title = "The certificate holder has not approved the signature yet"


ERROR_TABLE: Mapping[str, ErrorRule] = MappingProxyType(
    {
        SUCCESS: ErrorRule(Resolution.SUCCESS, Actor.NONE, "answered"),
        "4001": ErrorRule(Resolution.REJECT, Actor.CALLER, "the service found a field invalid"),
        "4004": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the service knows no such user or credential: check USER_ID and CREDENTIAL_ID",
        ),
        "4010": ErrorRule(Resolution.REAUTH, Actor.CONFIGURATION, "the service refused the key"),
        UNKNOWN_TRANSACTION: ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the service knows no such transaction"
        ),
        DENIED: ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the certificate holder denied the signature"
        ),
        "4080": ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the holder did not approve before it expired"
        ),
        "5000": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the service failed (system error)"),
        "invalid_request": ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the service found the request invalid"
        ),
        "invalid_token": ErrorRule(
            Resolution.REAUTH, Actor.TRANSIENT, "the access token expired or was revoked"
        ),
        "access_denied": ErrorRule(
            Resolution.REJECT, Actor.CONFIGURATION, "the service refused the gateway's login"
        ),
        "invalid_credential": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the credential is unknown, disabled, or its PIN was refused",
        ),
        "server_error": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the service failed"),
        "temporarily_unavailable": ErrorRule(
            Resolution.RETRY, Actor.TRANSIENT, "the service is temporarily unavailable"
        ),
    }
)


def resolve(code: str) -> ErrorRule:
    """The rule for ``code``; an unknown code is a refusal blamed on the service."""
    rule = ERROR_TABLE.get(code.strip())
    if rule is not None:
        return rule
    return ErrorRule(
        Resolution.REJECT, Actor.SYSTEM, f"the service answered with unknown code {code[:32]!r}"
    )
