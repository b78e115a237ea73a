"""What the business-registration platform's answers mean for the gateway.

No answer code of the register is public (``docs/research/issue-23-sources.md`` 2.1-2.4): the
public callers read the HTTP status and the body. The table below is keyed by HTTP status and,
for the ``lgsp-hcm`` envelope, by its ``Status`` text; it is this project's profile, kept here
and nowhere else. "Not found" and a dissolved enterprise are answers, not codes.

::

    InvalidUpstreamAnswer (gateway.core, transient)
    └── MalformedAnswer        502  the answer breaks the wire schema (the field is named)
    PermanentUpstreamError (gateway.core)
    └── EnterpriseCodeRefused  422  the platform refused the enterprise code (HTTP 400)
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.core.connector import Actor, CodeTable, ErrorRule, Resolution
from gateway.core.errors import InvalidUpstreamAnswer, PermanentUpstreamError, UpstreamError

__all__ = [
    "ERROR_TABLE",
    "HCM_SUCCESS",
    "SUCCESS",
    "EnterpriseCodeRefused",
    "MalformedAnswer",
    "resolve",
    "specific_error",
]

SUCCESS = "200"
#: the HCM LGSP envelope's ``Status`` on success (research note 2.3)
HCM_SUCCESS = "SUCCESS"


class MalformedAnswer(InvalidUpstreamAnswer):
    """The register answered outside its schema: nothing of the answer is trusted."""

    status = 502
    type_slug = "dkdn-malformed-answer"
    title = "The business register answered outside its schema"


class EnterpriseCodeRefused(PermanentUpstreamError):
    status = 422
    type_slug = "dkdn-enterprise-code-refused"
    title = "The business register refused the enterprise code"


ERROR_TABLE: Mapping[str, ErrorRule] = MappingProxyType(
    {
        SUCCESS: ErrorRule(Resolution.SUCCESS, Actor.NONE, "answered (found or not found)"),
        HCM_SUCCESS: ErrorRule(Resolution.SUCCESS, Actor.NONE, "answered (HCM LGSP envelope)"),
        "400": ErrorRule(
            Resolution.REJECT, Actor.CALLER, "the platform refused the enterprise code"
        ),
        "401": ErrorRule(
            Resolution.REAUTH, Actor.CONFIGURATION, "the token expired or was refused: renew it"
        ),
        "403": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the gateway's account may not call the business register (subscription, IP)",
        ),
        "404": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "no such service at the configured address: check base_url, path and profile",
        ),
        "429": ErrorRule(Resolution.RETRY, Actor.TRANSIENT, "the platform's rate limit"),
        "500": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the platform failed"),
        "502": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the LGSP could not reach the register"),
        "503": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the platform is unavailable"),
        "504": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the register did not answer the LGSP"),
        "FAIL": ErrorRule(
            Resolution.RETRY, Actor.SYSTEM, "the HCM LGSP envelope reports a failure"
        ),
        "ERROR": ErrorRule(
            Resolution.RETRY, Actor.SYSTEM, "the HCM LGSP envelope reports an exception"
        ),
    }
)

_SPECIFIC: Mapping[str, type[UpstreamError]] = MappingProxyType({"400": EnterpriseCodeRefused})

_CODES = CodeTable(ERROR_TABLE, _SPECIFIC)
resolve = _CODES.resolve
specific_error = _CODES.specific_error
