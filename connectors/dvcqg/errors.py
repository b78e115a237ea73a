"""DVCQG answer codes and what each means for the gateway.

The codes are those of the DVCQG adapter and of the NGSP in front of it, as seen in public
one-stop systems (``/work/shared/reference/national-platforms.md``). The table is the one place
that decides: the client resolves every ``error_code`` here and raises through
:func:`gateway.core.connector.raise_for_rule`.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

from gateway.core.connector import Actor, ErrorRule, Resolution

__all__ = ["ERROR_TABLE", "resolve", "resolve_sync"]

_EXISTS = ErrorRule(
    Resolution.EXISTS, Actor.NONE, "dossier already exists on DVCQG; resend it as an update"
)

ERROR_TABLE: Mapping[str, ErrorRule] = MappingProxyType(
    {
        "0": ErrorRule(Resolution.SUCCESS, Actor.NONE, "accepted"),
        # both signs are seen in the wild for the same meaning
        "3": _EXISTS,
        "-3": _EXISTS,
        "100": ErrorRule(
            Resolution.REAUTH,
            Actor.CONFIGURATION,
            "DVCQG session invalid or expired, or credentials refused",
        ),
        "101": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the gateway's IP address is not on the DVCQG allow-list",
        ),
        "106": ErrorRule(
            Resolution.REJECT, Actor.CONFIGURATION, "wrong agency code (madonvi) for this account"
        ),
        "108": ErrorRule(
            Resolution.REJECT,
            Actor.CONFIGURATION,
            "the agency code belongs to another province than the account",
        ),
        "200": ErrorRule(Resolution.REJECT, Actor.CALLER, "DVCQG reports the record incomplete"),
        "201": ErrorRule(Resolution.REJECT, Actor.CALLER, "record not found on DVCQG"),
        "500": ErrorRule(Resolution.REJECT, Actor.CALLER, "DVCQG reports the data incorrect"),
    }
)


def resolve(code: str) -> ErrorRule:
    """The rule for ``code``; an unknown code is a permanent refusal blamed on the platform.

    Unknown codes are not retried: retrying something we do not understand could repeat a
    write, and an operator must look at it anyway.
    """
    rule = ERROR_TABLE.get(code.strip())
    if rule is not None:
        return rule
    return ErrorRule(
        Resolution.REJECT, Actor.SYSTEM, f"DVCQG answered with unknown error_code {code!r}"
    )


#: what the portal says of a dossier it already holds; PASETO treats an answer with this
#: phrase as "exists" whatever its code, "0" included, and resends it as an update
#: (``SyncLocalDataToDVCQGService.cs`` lines 498-503)
_EXISTS_PHRASE = "đã tồn tại"


def says_exists(message: str | None) -> bool:
    """Whether the portal's ``message`` says the dossier already exists (either Unicode
    normal form, any case)."""
    if not message:
        return False
    return _EXISTS_PHRASE in unicodedata.normalize("NFC", message).casefold()


def resolve_sync(code: str, message: str | None, *, updating: bool) -> ErrorRule:
    """The rule of a ``DongBoHoSoMC`` answer: as :func:`resolve`, except that a creation
    answered "0" with a message saying the dossier already exists is EXISTS (resend as an
    update), as PASETO reads it."""
    rule = resolve(code)
    if not updating and rule.resolution is Resolution.SUCCESS and says_exists(message):
        return _EXISTS
    return rule
