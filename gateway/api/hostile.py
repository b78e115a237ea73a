"""Input no route should have to think about, refused before any route sees it.

Every request body in JSON, and every query string, passes here first (from
:class:`~gateway.api.middleware.GatewayMiddleware`), whatever the route:

* JSON nested deeper than :data:`MAX_JSON_DEPTH` levels (the parsers recurse: thousands of
  levels crash them, and no packet of any platform is deeper than a handful);
* bodies and query strings that are not UTF-8;
* strings carrying NUL (``\\u0000``: C strings, PostgreSQL's ``text`` and the platforms' XML all
  stop or fail at it) or a lone UTF-16 surrogate (``\\ud800``: no UTF-8 encoding exists, so
  nothing downstream could store or forward it).

Each is a 422 problem naming the field (``body.chu_ho_so``, ``query.month``). The checks cost
little on ordinary requests: the JSON is parsed here only when a cheap scan of its bytes finds a
suspect escape, to name the field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

from gateway.core.errors import FieldError

#: deeper than any packet of any platform (DVCQG's dossier with documents is 4 levels)
MAX_JSON_DEPTH = 32

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")


def is_json(content_type: str, body: bytes) -> bool:
    """Whether the body will be read as JSON: declared so, or undeclared and looking so
    (FastAPI parses an undeclared body as JSON)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind:
        return kind == "application/json" or kind.endswith("+json")
    return body.lstrip()[:1] in (b"{", b"[")


def body_problems(body: bytes) -> list[FieldError]:
    """What is wrong with a JSON body before any route parses it (empty when nothing)."""
    if not body:
        return []
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return [FieldError("body", f"not UTF-8 (byte {exc.start})")]
    depth = _depth(body)
    if depth > MAX_JSON_DEPTH:
        return [FieldError("body", f"JSON nested {depth} levels deep (at most {MAX_JSON_DEPTH})")]
    if not _SUSPECT_ESCAPE.search(body):
        return []
    try:
        document = json.loads(body)
    except ValueError:
        return []  # the route's own parser reports malformed JSON, naming where
    return [FieldError(f"body{_suffix(path)}", why) for path, why in _bad_strings(document, ())]


def query_problems(query_string: bytes) -> list[FieldError]:
    """NUL, lone surrogates and undecodable bytes in the query string, by parameter."""
    if not query_string:
        return []
    try:
        pairs = parse_qsl(
            query_string.decode("ascii"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
        )
    except UnicodeDecodeError:
        return [FieldError("query", "not UTF-8 once percent-decoded")]
    except ValueError:
        return [FieldError("query", "malformed query string")]
    found = []
    for name, value in pairs:
        why = _string_problem(name) or _string_problem(value)
        if why is not None:
            found.append(FieldError(f"query.{_printable(name)}", why))
    return found


def _depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects, strings skipped (no parse)."""
    deepest = depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b"", body)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _bad_strings(
    value: Any, path: tuple[str | int, ...]
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        why = _string_problem(value)
        if why is not None:
            yield path, why
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _bad_strings(item, (*path, i))
    elif isinstance(value, dict):
        for key, item in value.items():
            why = _string_problem(key)
            if why is not None:
                yield (*path, _printable(key)), f"field name {why}"
                continue
            yield from _bad_strings(item, (*path, key))


def _string_problem(text: str) -> str | None:
    if "\0" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone UTF-16 surrogate (not valid Unicode text)"
    return None


def _printable(name: str) -> str:
    """A field name fit for a problem document: itself, or escaped when it holds characters
    that cannot be shown (NUL, surrogates, controls)."""
    if name.isprintable() and _string_problem(name) is None:
        return name[:64]
    return name.encode("unicode_escape").decode("ascii")[:64]


def _suffix(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
