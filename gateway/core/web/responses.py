"""Answers shared by several routes."""

from __future__ import annotations

from fastapi.responses import Response


def csv_attachment(text: str, filename: str) -> Response:
    """A report as a CSV download named ``filename``."""
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
