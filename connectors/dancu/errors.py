"""Result codes of the population database (``MaKetQua``) and what each means for the gateway.

004 and 005 are the codes public one-stop systems document; the others are this gateway's
default profile of the platform (``/work/shared/reference/national-platforms.md``), kept here
and nowhere else. Codes that concern the caller surface as their own problem types, so that the
case system can tell "this procedure may not query citizens" from "the platform is down".

::

    PermanentUpstreamError (gateway.core)
    ├── ProcedureNotLicensed   403  004: the procedure is not licensed to query the database
    ├── OfficerNotPermitted    403  005: the officer may not query (or is unknown there)
    └── OfficerCredentialRefused 502  002: the officer's platform credential is wrong
    NotFound (gateway.core)
    └── CitizenNotFound        404  006: no citizen matches number, name and birth date
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.core.connector import Actor, CodeTable, ErrorRule, Resolution
from gateway.core.errors import NotFound, PermanentUpstreamError, UpstreamError

__all__ = [
    "ERROR_TABLE",
    "NOT_FOUND",
    "SUCCESS",
    "CitizenNotFound",
    "OfficerCredentialRefused",
    "OfficerNotPermitted",
    "ProcedureNotLicensed",
    "resolve",
    "specific_error",
]

SUCCESS = "000"
NOT_FOUND = "006"


class ProcedureNotLicensed(PermanentUpstreamError):
    status = 403
    type_slug = "dancu-procedure-not-licensed"
    title = "Procedure not licensed to query the population database"


class OfficerNotPermitted(PermanentUpstreamError):
    status = 403
    type_slug = "dancu-officer-not-permitted"
    title = "Officer not permitted by the population database"


class OfficerCredentialRefused(PermanentUpstreamError):
    type_slug = "dancu-officer-credential-refused"
    title = "The population database refused the officer's credential"


class CitizenNotFound(NotFound):
    type_slug = "dancu-citizen-not-found"
    title = "No citizen matches"


ERROR_TABLE: Mapping[str, ErrorRule] = MappingProxyType(
    {
        SUCCESS: ErrorRule(Resolution.SUCCESS, Actor.NONE, "answered"),
        "001": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the platform found the request invalid: its WSDL differs from the configured one",
        ),
        "002": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the platform refused the officer's credential; update it in the officer registry",
        ),
        "003": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the platform does not recognise the integration code (MaTichHop)",
        ),
        "004": ErrorRule(
            Resolution.REJECT,
            Actor.CALLER,
            "the procedure is not licensed to query the population database",
        ),
        "005": ErrorRule(
            Resolution.REJECT,
            Actor.CALLER,
            "the officer is not permitted to query the population database",
        ),
        NOT_FOUND: ErrorRule(
            Resolution.REJECT,
            Actor.CALLER,
            "no citizen matches the stated ID number, name and birth date",
        ),
        "008": ErrorRule(
            Resolution.RETRY, Actor.TRANSIENT, "the platform's request quota is exhausted"
        ),
        "009": ErrorRule(Resolution.RETRY, Actor.SYSTEM, "the platform is busy or failing"),
    }
)

_SPECIFIC: Mapping[str, type[UpstreamError]] = MappingProxyType(
    {
        "002": OfficerCredentialRefused,
        "004": ProcedureNotLicensed,
        "005": OfficerNotPermitted,
    }
)


_CODES = CodeTable(ERROR_TABLE, _SPECIFIC)
resolve = _CODES.resolve
specific_error = _CODES.specific_error
