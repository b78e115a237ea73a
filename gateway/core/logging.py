"""Structured logging that never carries personal data or secrets.

Every line goes through :func:`mask_text`: 12-digit personal identification numbers and 9-digit
old ID card numbers become ``001******345``; values of secret-looking keys become ``***``; and
every secret the settings hold (registered with :func:`register_secrets`) is replaced wherever
it appears. The same mask runs as a ``logging.Filter`` on the root handler, so third-party
lines (uvicorn, httpx) are masked too.
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


class MaskingFormatter(logging.Formatter):
    """Masks the whole formatted line: the filter below sees only the message, not the
    traceback a third-party ``logger.exception`` appends (which may quote personal data)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


#: libraries whose DEBUG lines dump whole requests, SQL parameters or SOAP envelopes: personal
#: data and credentials have no business there, even masked; held at WARNING
QUIETED_LOGGERS = ("httpx", "httpcore", "aiosqlite", "zeep")


def configure_logging(level: str = "INFO", *, json_lines: bool = True) -> None:
    """Configure structlog and the root logger once per process (idempotent)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(MaskingFilter())
    handler.setFormatter(MaskingFormatter("%(message)s"))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_lgsp", False)]:
        root.removeHandler(old)
    handler._lgsp = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in QUIETED_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_lines
        # the traceback is already text (format_exc_info, below): printed as it is, no warning
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # drop below-level events before any work
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_event,
            structlog.processors.format_exc_info,
            renderer,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
