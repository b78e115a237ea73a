"""Dates and times written on the wire with four-digit years.

``strftime("%Y")`` writes the year unpadded on glibc (``date(584, 10, 23)`` gives ``5841023``
for ``%Y%m%d``), which the platforms cannot read (issue 15: they answered 502). Every packet's
date goes through :func:`wire_format`, which writes ``%Y`` as four digits.
"""

from __future__ import annotations

from datetime import date, datetime

__all__ = ["wire_format"]


def wire_format(moment: date | datetime, fmt: str) -> str:
    """``moment.strftime(fmt)`` with ``%Y`` written as a zero-padded four-digit year."""
    return moment.strftime(fmt.replace("%Y", f"{moment.year:04d}"))
