"""eSign errors: the signing services' codes and what each means, and the problem types.

Codes of the two services::

    CSC-style service (``error``; this project's   SmartCA (``status_code``; VNPT's integration
    CSC profile)                                   document v4.1 §3.1)
    invalid_request    caller, reject              200  SUCCESS
    invalid_token      refresh the token           400  BAD_REQUEST (caller)
    access_denied      configuration, reject       401  SP_CREDENTIAL_INVALID: the SP's account
    invalid_credential configuration, reject            or the holder (configuration)
    server_error       retry                       403  CREDENTIAL_STATUS_INVALID: the
    temporarily_unavailable  retry                      certificate (configuration)
                                                   500  SERVAR_INTERNAL_ERROR (retry)

The gateway's own codes for what a status answer says (:mod:`connectors.esign.profiles`):
``denied`` (the holder refused), ``expired`` (not approved in time), ``unknown_transaction``
(the service knows no such transaction: not delivered yet), ``certificate`` (no certificate
to sign with).

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
    "EXPIRED",
    "SUCCESS",
    "UNKNOWN_TRANSACTION",
    "ApprovalPending",
    "PacketSignatureInvalid",
    "SigningRefused",
    "UnsupportedDocument",
    "resolve",
]

SUCCESS = "200"
DENIED = "denied"
EXPIRED = "expired"
UNKNOWN_TRANSACTION = "unknown_transaction"


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
        "400": ErrorRule(Resolution.REJECT, Actor.CALLER, "the service found the request invalid"),
        "401": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the service refused the provider's account or the holder: check SP_ID, "
            "SP_PASSWORD and USER_ID",
        ),
        "403": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the service refused the certificate (not in force, or not the holder's): check "
            "SERIAL_NUMBER",
        ),
        "500": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the service failed (internal error)"),
        UNKNOWN_TRANSACTION: ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the service knows no such transaction"
        ),
        DENIED: ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the certificate holder denied the signature"
        ),
        EXPIRED: ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the holder did not approve before it expired"
        ),
        "certificate": ErrorRule(
            Resolution.REJECT, Actor.CONFIGURATION, "no certificate of the holder to sign with"
        ),
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
