"""Header values that may carry Vietnamese: read them as the sender meant them.

HTTP header values are bytes; Starlette hands them over decoded as Latin-1, so ``Lý do`` sent
as raw UTF-8 arrives as ``LÃ½ do``. :func:`header_text` takes, in this order:

* ``<Name>*`` in the RFC 8187 form ``UTF-8''L%C3%BD%20do`` (what a client whose library refuses
  non-ASCII header values should send);
* ``<Name>``, percent-encoded UTF-8 (``L%C3%BD%20do``) when it holds ``%XX`` escapes;
* ``<Name>`` as raw UTF-8 bytes (what most clients send), else as Latin-1.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from starlette.requests import Request

from gateway.core.errors import FieldError, InvalidInput

__all__ = ["header_text"]

_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_EXT_VALUE = re.compile(r"^(?P<charset>[A-Za-z0-9!#$&+^_`{}~-]+)'[A-Za-z0-9-]*'(?P<value>.*)$")


def _bad(name: str, why: str) -> InvalidInput:
    return InvalidInput(f"{name}: {why}", errors=[FieldError(name, why)])


def header_text(request: Request, name: str) -> str | None:
    """The text of header ``name`` (see the module docstring), ``None`` when absent."""
    extended = request.headers.get(f"{name}*")
    if extended is not None:
        match = _EXT_VALUE.match(extended.strip())
        if match is None or match.group("charset").upper() != "UTF-8":
            raise _bad(f"{name}*", "RFC 8187 form expected: UTF-8''<percent-encoded text>")
        try:
            return unquote(match.group("value"), encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise _bad(f"{name}*", "not UTF-8 once percent-decoded") from None
    value = request.headers.get(name)
    if value is None:
        return None
    raw = value.encode("latin-1")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = value
    if text.isascii() and _ESCAPE.search(text):
        try:
            text = unquote(text, encoding="utf-8", errors="strict")
        except UnicodeDecodeError:
            raise _bad(name, "not UTF-8 once percent-decoded") from None
    return text
