"""The example platform's simulator: it keeps the notes it is sent."""

from __future__ import annotations

from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def create_app() -> Starlette:
    notes: list[dict[str, Any]] = []

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    async def keep(request: Request) -> JSONResponse:
        notes.append(await request.json())
        return JSONResponse({"id": len(notes)}, status_code=201)

    async def listing(_request: Request) -> JSONResponse:
        return JSONResponse({"notes": notes})

    return Starlette(
        routes=[
            Route("/health", health),
            Route("/notes", keep, methods=["POST"]),
            Route("/_sandbox/notes", listing),
        ]
    )
