"""DVCQG answer codes and what each means for the gateway.

The codes are those of the DVCQG adapter and of the NGSP in front of it, as seen in public
one-stop systems (``/work/shared/reference/national-platforms.md``). The table is the one place
that decides: the client resolves every ``error_code`` here and raises through
:func:`gateway.core.connector.raise_for_rule`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gateway.core.connector import Actor, ErrorRule, Resolution

__all__ = ["ERROR_TABLE", "resolve"]

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
