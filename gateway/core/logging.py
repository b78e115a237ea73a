"""Structured logging that never carries personal data or secrets.

Every line goes through :func:`mask_text`: 12-digit personal identification numbers and 9-digit
old ID card numbers become ``001******345``; values of secret-looking keys become ``***``; and
every secret the settings hold (registered with :func:`register_secrets`) is replaced wherever
it appears. One handler on the root logger renders every line, third-party ones (uvicorn,
Alembic, httpx) included, through the same mask: one JSON object per line in production.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog

# 12 digits (CCCD / số định danh cá nhân) or 9 digits (old CMND), not part of a longer number
# such as a wire timestamp (14 digits).
# Bordered by non-alphanumerics, so hex in UUIDs and digests is left alone; a UUID's last group
# is twelve hex digits that are all decimal about once in 300 UUIDs, so a run that follows
# ``hhhh-hhhh-`` (a UUID's third and fourth groups) is not taken for an ID number either.
_ID_NUMBER = re.compile(
    r"(?<![0-9A-Za-z])(?<![0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-)"
    r"([0-9]{3})([0-9]{6}|[0-9]{3})([0-9]{3})(?![0-9A-Za-z])"
)
_SECRET_KEYS = re.compile(
    r"(pass(word)?|secret|token|session|authorization|api[_-]?key|signature|data_key)", re.I
)
_secrets: set[str] = set()


def register_secrets(values: Iterable[str]) -> None:
    """Add secret values (of at least 6 characters) to mask wherever they appear."""
    _secrets.update(v for v in values if len(v) >= 6)


def mask_id_number(value: str) -> str:
    """``001090000345`` -> ``001******345``."""
    return _ID_NUMBER.sub(lambda m: m.group(1) + "*" * len(m.group(2)) + m.group(3), value)


def mask_text(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return mask_id_number(text)


def _mask_value(key: str, value: Any) -> Any:
    if _SECRET_KEYS.search(key) and value not in (None, ""):
        return "***"
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {k: _mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(key, v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return _mask_value(key, str(value)) if len(str(value)) in (9, 12) else value
    return value


def mask_event(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask every field of the event."""
    return {k: _mask_value(k, v) for k, v in event.items()}


#: libraries whose DEBUG lines dump whole requests, SQL parameters or SOAP envelopes: personal
#: data and credentials have no business there, even masked; held at WARNING
QUIETED_LOGGERS = ("httpx", "httpcore", "aiosqlite", "zeep")


def mask_event_text(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Like :func:`mask_event`, for the fields a rendered exception adds (a traceback may quote
    personal data or a secret)."""
    for key in ("exception", "stack"):
        if isinstance(event.get(key), str):
            event[key] = mask_text(event[key])
    return event


def _rename_logger(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A third-party record's logger name as ``logger`` (uvicorn.error, alembic.runtime...)."""
    record = event.get("_record")
    if record is not None and "logger" not in event:
        event["logger"] = record.name
    return event


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Configure structlog and the root logger once per process (idempotent).

    One handler on the root logger renders every line, the gateway's structlog events and the
    standard-library records of uvicorn, Alembic, SQLAlchemy or httpx alike: with ``json_lines``
    one JSON object per line (``timestamp``, ``level``, ``event``, ``logger`` for third-party
    lines, an exception as one ``exception`` field), masked (:func:`mask_event`) before it is
    rendered."""
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_lines
        # the traceback is already text (format_exc_info, below): printed as it is, no warning
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    stamp = structlog.processors.TimeStamper(fmt="iso", utc=True)
    formatter = structlog.stdlib.ProcessorFormatter(
        # third-party records: what structlog's own chain adds to the gateway's events
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            _rename_logger,
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            mask_event,
            structlog.processors.format_exc_info,
            mask_event_text,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_lgsp", False)]:
        root.removeHandler(old)
    handler._lgsp = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in QUIETED_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # uvicorn and Alembic own handlers of their own when configured by their defaults: theirs go
    # (their lines reach the root's, in JSON), so nothing prints twice or as plain text
    # (and uvicorn's own configuration may have set their level, or a logging.config call
    # disabled them: they follow the gateway's level again)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic"):
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
        library.disabled = False
        library.setLevel(logging.NOTSET)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # drop below-level events before any work
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            stamp,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
